// What the page says beside the board: every call counted by action and outcome, the latest
// failures in words, the score and lives, the connection, the client's faults, the exercise
// the room is in and the faults on behind the page's address (faults.js). Each outcome
// has the one colour it has everywhere in pacnet (play.css, from pacnet/protocol/outcome.py).

import { ARTICLE_CALLS } from "./protocol.js";
import { describe } from "./remote.js";

const FAILURES_SHOWN = 6;

/** Calls by action and outcome: `counts.move.UNKNOWN`. */
export class Tally {
  constructor(outcomes) {
    this.outcomes = outcomes;
    this.counts = {};
    for (const action of [...ARTICLE_CALLS, "join"]) this._row(action);
  }

  _row(action) {
    this.counts[action] ??= Object.fromEntries(this.outcomes.map((o) => [o, 0]));
    return this.counts[action];
  }

  record(result) {
    this._row(result.action)[result.outcome] += 1;
  }

  /** Every count back to 0 (the rows stay). */
  reset() {
    for (const row of Object.values(this.counts)) for (const outcome of this.outcomes) row[outcome] = 0;
  }

  /** A copy of the counts, for the test hook. */
  snapshot() {
    return JSON.parse(JSON.stringify(this.counts));
  }
}

export class Hud {
  /** @param {HTMLElement} root the HUD's element (play.html's #hud) */
  constructor(root, tally) {
    this.root = root;
    this.tally = tally;
    this.failures = [];
    this.cells = new Map(); // "action outcome" -> <td>
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

  record(result) {
    this.tally.record(result);
    if (result.outcome !== "SUCCESS") {
      this.failures.unshift({ at: new Date(), result });
      this.failures.length = Math.min(this.failures.length, FAILURES_SHOWN);
      this._failuresChanged = true;
    }
  }

  /** Start the counts afresh, and the latest failures (C, or a new exercise). */
  resetCounts() {
    this.tally.reset();
    this.failures = [];
    this._failuresChanged = true;
  }

  /** Bring the HUD up to date (a few times a second is plenty). */
  update(game, board, feed) {
    this._counts();
    if (this._failuresChanged) this._failures();
    this._failuresChanged = false;
    this._status(game.view);
    this._connection(board);
    this._faults(board.faults);
    this._exercise(feed);
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
