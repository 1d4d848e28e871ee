// The request inspector (I), as the window's (pacnet/window/hud.py, panels.py): the latest
// calls, each as the article's eight steps lit as far as the client knows, its outcome (x3: three
// attempts) and its latency. A call that did not end SUCCESS is pinned: kept on show, however
// many calls come after it, until U unpins it; P freezes the latest calls while play goes on.
//
//   outcome                     1 2 3 4 5 6 7 8
//   SUCCESS                     + + + + + + + +
//   POST_FAILED                 x . . . . . . .    nothing left the client
//   RETRYABLE / FATAL at 3      + + x . + + + +    the server refused; its reply came back
//   UNKNOWN, no reply           + ? ? ? ? ? ? ?    sent, then silence: anything may be true
//   UNKNOWN, unreadable reply   + + ? ? + + x .    a reply came, but what it says is unreadable
//   UNKNOWN, not applied        + + + + + + + x    the server acted; the client failed
//
// (+ passed, x failed here, ? unknown, . never reached: pacnet/trace/steps.py, held to this by
// tests/test_web_inspector.py). The steps' names come from the server (classify.json), in words
// as the workshop heads its exercises: DELIVER_REPLY is "DELIVER REPLY".

export const INSPECTED = 8; // rows of the inspector
export const PINNED = 4; // failed calls kept on show until dismissed (U): the newest ones
export const TITLE = "INSPECTOR: the eight steps, as far as the client knows";

/** Where each step happens, in step order: client, network, server (they fail independently). */
export const STEP_DOMAINS = ["cli", "net", "srv", "srv", "srv", "net", "cli", "cli"];

const KNOWN = { "+": "passed", x: "failed here", "?": "unknown", ".": "never reached" };

/** The eight steps of a call that ended in `outcome`, failing at the step named `step` (null:
 * not known), as the client knows them: a string of + x ? and ., one per step. `steps`: the
 * steps' names in order. */
export function strip(outcome, step, steps) {
  const at = step === null ? 0 : steps.indexOf(step) + 1;
  switch (outcome) {
    case "SUCCESS":
      return "++++++++";
    case "POST_FAILED":
      return "x.......";
    case "RETRYABLE":
    case "FATAL": {
      const failed = at || 3; // VALIDATE_REQUEST, when the code does not say
      const server = [2, 3, 4].map((s) => (s < failed ? "+" : s === failed ? "x" : "."));
      return `+${server.join("")}++++`;
    }
    default:
      if (at === 7) return "++??++x.";
      if (at === 8) return "+++++++x";
      return "+???????";
  }
}

/** A step's name in words: `DELIVER_REPLY` is `DELIVER REPLY`. */
export const words = (name) => name.replaceAll("_", " ");

/** What the inspector keeps: the latest calls, the pinned failures, the frozen rows. */
export class Inspector {
  constructor() {
    this.open = false;
    this.inspected = []; // the latest INSPECTED calls, newest last
    this.pinned = []; // calls that did not end SUCCESS, newest last, until dismissed
    this.frozen = null; // the latest calls as they were when paused (P); null: live
    this.version = 0; // changes whenever the rows may have
  }

  record(result) {
    this.inspected = [...this.inspected, result].slice(-INSPECTED);
    if (result.outcome !== "SUCCESS") this.pinned = [...this.pinned, result].slice(-PINNED);
    this.version += 1;
  }

  /** The rows shown: the pinned failures first, then the latest calls (as they were when
   * paused, if it is), INSPECTED rows in all, newest at the bottom. */
  rows() {
    const latest = (this.frozen ?? this.inspected).filter((result) => !this.pinned.includes(result));
    const room = INSPECTED - this.pinned.length;
    return [
      ...this.pinned.map((result) => ({ result, pinned: true })),
      ...(room > 0 ? latest.slice(-room) : []).map((result) => ({ result, pinned: false })),
    ];
  }

  /** P: freeze the latest calls (again: live). Pinned failures still come and go. */
  pause() {
    this.frozen = this.frozen === null ? [...this.inspected] : null;
    this.version += 1;
  }

  /** U: unpin every failed call. */
  dismiss() {
    this.pinned = [];
    this.version += 1;
  }

  get title() {
    return TITLE + (this.frozen !== null ? " - PAUSED (P)" : " (P: pause, U: unpin)");
  }
}

/** The latency of a call as the inspector writes it. */
export function latency(ms) {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** The inspector on the page: a table, redrawn when its rows may have changed. */
export class InspectorPanel {
  /**
   * @param {HTMLElement} root the inspector's element (play.html's #inspector)
   * @param {string[]} steps the eight steps' names, in order (classify.json)
   */
  constructor(root, steps) {
    this.root = root;
    this.steps = steps;
    this.drawn = -1;
    // Three rows of heads, as the window's: each step's number, its name in words, its domain.
    const head = root.querySelector("thead");
    const [numbers, names, domains] = [head.insertRow(), head.insertRow(), head.insertRow()];
    numbers.append(cell("th", "", "action"));
    names.append(cell("th", "", "action"));
    domains.append(cell("th", "call", "action"));
    steps.forEach((name, i) => {
      numbers.append(cell("th", String(i + 1), "step number"));
      names.append(cell("th", words(name), "step name"));
      domains.append(cell("th", STEP_DOMAINS[i], "step domain"));
    });
    numbers.append(cell("th", "", "outcome"), cell("th", "", "latency"));
    names.append(cell("th", "", "outcome"), cell("th", "", "latency"));
    domains.append(cell("th", "outcome", "outcome"), cell("th", "latency", "latency"));
    this.body = root.querySelector("tbody");
  }

  /** Show `inspector` (hide it when closed); redraws only what changed since last time. */
  show(inspector) {
    this.root.hidden = !inspector.open;
    if (!inspector.open || this.drawn === inspector.version) return;
    this.drawn = inspector.version;
    this.root.querySelector("h2").textContent = inspector.title;
    this.root.classList.toggle("paused", inspector.frozen !== null);
    this.body.replaceChildren(...inspector.rows().map((row) => this._row(row)));
  }

  _row({ result, pinned }) {
    const tr = document.createElement("tr");
    tr.className = `${result.outcome}${pinned ? " pinned" : ""}`;
    tr.append(cell("td", result.action, "action"));
    [...strip(result.outcome, result.step, this.steps)].forEach((known, i) => {
      const td = cell("td", known === "?" ? "?" : "", `step ${KNOWN[known].replaceAll(" ", "-")}`);
      td.title = `${i + 1} ${words(this.steps[i])}: ${KNOWN[known]}`;
      tr.append(td);
    });
    const tries = result.attempts.length > 1 ? ` x${result.attempts.length}` : "";
    tr.append(cell("td", result.outcome + tries, "outcome"), cell("td", latency(result.latencyMs), "latency"));
    return tr;
  }
}

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  element.className = className;
  return element;
}
