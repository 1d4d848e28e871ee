// What the page says beside the board: every call counted by action and outcome, its retries
// (how many attempts for how many calls, and whether the budget paused them), the latest
// failures in words, the score and lives, the connection, the client's faults, the exercise
// the room is in and the faults on behind the page's address (faults.js); and, when I opens it,
// the request inspector (inspector.js). Each outcome has the one colour it has everywhere in
// pacnet (play.css, from pacnet/protocol/outcome.py).

import { Inspector, InspectorPanel } from "./inspector.js";
import { DEADLINE_MS, describe } from "./remote.js";
import { deadlineOf } from "./retry.js";

const FAILURES_SHOWN = 6;
export const BUDGET_SPENT = "retry budget spent: retries paused";

/** What the page says of its retries, as the window's calls panel does (pacnet/window/hud.py
 * calls_line): how many attempts its calls took, and whether the budget has paused them. */
export function retriesLine(board) {
  if (board.policy === null) {
    return { state: "retries: off", count: `one attempt per call, ${DEADLINE_MS} ms deadline each` };
  }
  const count = `${board.attempts.total()} attempts for ${board.tally.total()} calls`;
  return { state: "retries: on", count, paused: !board.budget.allows };
}

/** The policy in words, from its numbers (retry.js). */
function policyWords(policy) {
  const s = (ms) => `${ms / 1000} s`;
  return (
    `up to ${policy.maxAttempts} attempts of ${policy.attemptTimeoutMs} ms each, the same requestId, ` +
    `within ${s(deadlineOf(policy, "move"))} for a move and ${s(policy.deadlineMs)} for the others`
  );
}

export class Hud {
  /**
   * @param {HTMLElement} root the HUD's element (play.html's #hud)
   * @param {RemoteBoard} board whose calls it counts (remote.js: `tally` and `attempts`)
   * @param {HTMLElement} inspector the inspector's element (play.html's #inspector)
   * @param {string[]} steps the eight steps' names, in order (classify.json)
   */
  constructor(root, board, inspector, steps) {
    this.root = root;
    this.tally = board.tally;
    this.attempts = board.attempts;
    this.failures = [];
    this.carried = {}; // the exercise's calls a C cleared from this screen, by action and outcome
    this.cells = new Map(); // "action outcome" -> <td>
    this.inspector = new Inspector();
    this.panel = new InspectorPanel(inspector, steps);
    this._buildTable(root.querySelector("#calls"));
  }

  _buildTable(table) {
    const head = table.createTHead().insertRow();
    head.insertCell().textContent = "call";
    for (const outcome of this.tally.outcomes) {
      const th = document.createElement("th");
      th.textContent = outcome;
      th.className = `outcome ${outcome}`;
      head.append(th);
    }
    this.body = table.createTBody();
  }

  /** A call the loop made (the board has counted it): kept for the failures and the inspector. */
  record(result) {
    this.inspector.record(result);
    if (result.outcome !== "SUCCESS") {
      this.failures.unshift({ at: new Date(), result });
      this.failures.length = Math.min(this.failures.length, FAILURES_SHOWN);
      this._failuresChanged = true;
    }
  }

  /** Start the counts afresh, the attempts and the latest failures (C, or a new exercise);
   * the inspector keeps its rows, as the window's does. C clears this screen only: the calls
   * it cleared are carried into what the page reports, which counts from the exercise's start,
   * so one player's C never takes calls away from the room's totals. */
  resetCounts(newExercise = false) {
    this.carried = newExercise ? {} : this.exerciseCounts();
    this.tally.reset();
    this.attempts.reset();
    this.failures = [];
    this._failuresChanged = true;
  }

  /** Every call of the exercise so far, by action and outcome, C or no C: what the page reports. */
  exerciseCounts() {
    const sums = {};
    for (const counts of [this.carried, this.tally.counts]) {
      for (const [action, row] of Object.entries(counts)) {
        sums[action] ??= {};
        for (const [outcome, n] of Object.entries(row)) sums[action][outcome] = (sums[action][outcome] ?? 0) + n;
      }
    }
    return sums;
  }

  /** Bring the HUD up to date (a few times a second is plenty). */
  update(game, board, feed) {
    this._counts();
    if (this._failuresChanged) this._failures();
    this._failuresChanged = false;
    this._status(game.view);
    this._connection(board);
    this._retries(board);
    this._faults(board.faults);
    this._exercise(feed);
    this.panel.show(this.inspector);
  }

  _retries(board) {
    const line = retriesLine(board);
    const text = (id, words) => {
      const element = this.root.querySelector(id);
      if (element.textContent !== words) element.textContent = words;
      return element;
    };
    text("#retries-state", line.state).classList.toggle("off", board.policy === null);
    text("#retries-count", line.count);
    text("#retries-policy", board.policy === null ? "" : policyWords(board.policy));
    text("#retries-paused", line.paused ? BUDGET_SPENT : "");
  }

  _counts() {
    for (const [action, row] of Object.entries(this.tally.counts)) {
      for (const [outcome, n] of Object.entries(row)) {
        const key = `${action} ${outcome}`;
        if (!this.cells.has(key)) this._addRow(action);
        const cell = this.cells.get(key);
        const text = String(n);
        if (cell.textContent !== text) {
          cell.textContent = text;
          cell.classList.toggle("none", n === 0);
        }
      }
    }
  }

  _addRow(action) {
    const row = this.body.insertRow();
    row.insertCell().textContent = action;
    for (const outcome of this.tally.outcomes) {
      const cell = row.insertCell();
      cell.className = `count ${outcome} none`;
      cell.textContent = "0";
      this.cells.set(`${action} ${outcome}`, cell);
    }
  }

  _failures() {
    const list = this.root.querySelector("#failures");
    list.replaceChildren(
      ...this.failures.map(({ at, result }) => {
        const item = document.createElement("li");
        item.className = result.outcome;
        const step = result.step ? ` (step ${result.step})` : "";
        item.textContent = `${at.toLocaleTimeString()} ${describe(result)}${step}`;
        return item;
      }),
    );
  }

  _status(view) {
    const me = view.mine();
    const status = this.root.querySelector("#status");
    if (view.notice) status.textContent = view.notice;
    else if (me !== null) status.textContent = `SCORE ${me.score ?? 0}   LIVES ${"●".repeat(me.lives ?? 0)}`;
    else if (view.gameOver) status.textContent = "GAME OVER - press Enter to play again";
    else if (view.missing(performance.now())) status.textContent = "not back yet - press Enter to join again";
    else if (view.maze !== null) status.textContent = "caught... back in a moment";
    else status.textContent = "joining...";
    status.classList.toggle("bad", view.gameOver);
    this.root.querySelector("#level").textContent = `LEVEL ${view.level}`;
  }

  _connection(board) {
    const line = this.root.querySelector("#connection");
    const wait = Math.max(0, board.nextTryAt - performance.now());
    line.textContent =
      board.state === "open"
        ? `connected to ${board.url}`
        : board.state === "reconnecting"
          ? `connection lost: next try in ${Math.round(wait)} ms (${board.lastError})`
          : `connecting to ${board.url}...`;
    line.classList.toggle("bad", board.state !== "open");
  }

  // The exercise, and the faults on in every domain, each as the window shows it.
  _exercise(feed) {
    const exercise = feed.exercise;
    const heading = this.root.querySelector("#exercise");
    const label = exercise?.label ? `: ${exercise.label}` : "";
    const words = exercise === null ? "" : `exercise ${exercise.number}${label}`;
    if (heading.textContent !== words) heading.textContent = words;
    const lines = feed.faults.map((status) => `fault ${status.fault.id}: ${status.description}`);
    if (!feed.connected) lines.push("the /faults feed cannot be reached: the faults on are not known");
    else if (lines.length === 0) lines.push("none");
    const list = this.root.querySelector("#faults-on");
    if (list.dataset.shown === lines.join("\n")) return;
    list.dataset.shown = lines.join("\n");
    list.replaceChildren(
      ...lines.map((line, i) => {
        const item = document.createElement("li");
        item.textContent = line;
        item.classList.toggle("on", i < feed.faults.length);
        return item;
      }),
    );
  }

  _faults(faults) {
    for (const [id, on] of [["offline", faults.offline], ["apply-fails", faults.applyFails]]) {
      const item = this.root.querySelector(`#fault-${id}`);
      item.classList.toggle("on", on);
      item.querySelector("b").textContent = on ? "ON" : "off";
    }
  }
}
