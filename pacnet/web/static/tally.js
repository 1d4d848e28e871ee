// Counts of outcomes by action, as the Python client keeps two of them (pacnet/client/tally.py):
// the board's calls, each counted once by how it ended, and every attempt of those calls.

import { ARTICLE_CALLS } from "./protocol.js";

/** Calls (or attempts) by action and outcome: `counts.move.UNKNOWN`. */
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

  /** Count `result` (anything with an action and an outcome). */
  record(result) {
    this._row(result.action)[result.outcome] += 1;
  }

  /** Every count back to 0 (the rows stay). */
  reset() {
    for (const row of Object.values(this.counts)) for (const outcome of this.outcomes) row[outcome] = 0;
  }

  /** Everything counted, every action and outcome. */
  total() {
    let sum = 0;
    for (const row of Object.values(this.counts)) for (const n of Object.values(row)) sum += n;
    return sum;
  }

  /** A copy of the counts, for the test hook. */
  snapshot() {
    return JSON.parse(JSON.stringify(this.counts));
  }
}
