// The remote board: the article's board.find / move / findAll / remove over one WebSocket to
// the page's own server. Every call has a deadline and ends in exactly one of the five
// outcomes; none throws for a network or server failure, because all five are expected.
//
//   what the page saw                                   observed      step
//   socket not open, or the client's "offline" fault    not_sent      POST_REQUEST
//   no reply by the deadline, connection lost waiting   no_reply      (cannot tell)
//   not JSON, another version, not the action's shape   bad_reply     VALIDATE_REPLY
//   a valid ok reply, the "apply fails" fault on        not_applied   UPDATE_CLIENT_STATE
//   an error reply / an ok reply                        (the reply)   its code's / -
//
// outcome.js turns each into an outcome. With a retry policy (retry.js, the page's default, as
// the window's) a call is attempted again by its outcome, with the same requestId, and its
// result is the last attempt's, listing every attempt; without one, each call is one attempt
// with a DEADLINE_MS deadline. The board counts both: `tally` each call once, by how it ended,
// and `attempts` every attempt (pacnet/client/remote.py does the same).
//
// A lost connection is tried again after a jittered backoff, the Python client's
// (pacnet/client/retry.py Reconnects): the first try within FIRST_TRY_MS, then within
// RECONNECT_BASE_MS after a failed try, twice as long after each further one, capped at
// RECONNECT_CAP_MS, so a room of players that lost one server comes back spread out. A retried call waits for that try and resumes the
// session on the new connection with its token before its next attempt.

import { classify } from "./outcome.js";
import { replyProblem, request, requestIds } from "./protocol.js";
import { backoffMs, deadlineOf, RETRIES, RetryBudget, spendsBudget, worthRetrying } from "./retry.js";
import { Tally } from "./tally.js";

export const DEADLINE_MS = 500;
export const FIRST_TRY_MS = 300;
export const RECONNECT_BASE_MS = 100;
export const RECONNECT_CAP_MS = 2000;

const STEP_OF = {
  not_sent: "POST_REQUEST",
  no_reply: null,
  bad_reply: "VALIDATE_REPLY",
  not_applied: "UPDATE_CLIENT_STATE",
};
const GIVEN_UP_MEMORY = 1024;

/** How long to wait before the next try at a lost connection, after `failedTries` tries that
 * did not connect (see above). (The read-only feeds, feed.js, come back the same way.) */
export function reconnectWait(failedTries) {
  const within = failedTries === 0
    ? FIRST_TRY_MS
    : Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** (failedTries - 1));
  return Math.random() * within;
}

/** One line for the HUD, e.g. `move -> UNKNOWN: no reply in 500 ms`. */
export function describe(result) {
  if (result.outcome === "SUCCESS") return `${result.action} -> SUCCESS`;
  const what = result.code ? `${result.code}: ${result.message}` : result.message;
  return `${result.action} -> ${result.outcome}: ${what}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RemoteBoard {
  /**
   * @param {string} url the server's ws:// or wss:// address
   * @param {string} userId the user every request acts as
   * @param {object} table the classification (outcome.js loadTable)
   * @param {object | null} policy how calls are retried (retry.js RETRIES); null: every call is
   *   one attempt, its outcome as it happened
   */
  constructor(url, userId, table, policy = RETRIES) {
    this.url = url;
    this.userId = userId;
    this.table = table;
    this.policy = policy;
    this.budget = new RetryBudget(RETRIES); // shared by every call, kept when retries go off and on
    this.tally = new Tally(table.outcomes); // every call, once, by how it ended
    this.attempts = new Tally(table.outcomes); // every attempt of those calls
    this.faults = { offline: false, applyFails: false };
    this.stats = { sent: 0, replies: 0, late: 0, stray: 0, tries: 0 };
    this.state = "connecting";
    this.nextTryAt = 0;
    this.lastError = "";
    this.sessionToken = null; // from the latest join that succeeded
    this._sessionWs = null; // the connection that join was made on
    this._codes = Object.keys(table.errorSteps);
    this._ids = requestIds();
    this._pending = new Map();
    this._givenUp = new Set();
    this._failedTries = 0;
    this._tryEnded = new Set(); // called when the next try to connect opens or fails
    this._ws = null;
  }

  get connected() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  /** Connected, and joined on this connection: the server knows whom it acts as. */
  get sessionHere() {
    return this.connected && this._sessionWs === this._ws;
  }

  /** Open the connection; when it is lost, it is tried again by itself. */
  connect() {
    this.stats.tries += 1;
    this.state = "connecting";
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this._failedTries = 0;
      this.state = "open";
      this._tryHasEnded();
    };
    ws.onmessage = (event) => this._deliver(event.data);
    ws.onclose = (event) => {
      this.lastError = opened
        ? `the connection closed (code ${event.code})`
        : `cannot connect to ${this.url}`;
      for (const call of this._pending.values()) call.settle({ observed: "no_reply" }, this.lastError);
      this._retryLater(opened);
      if (!opened) this._tryHasEnded();
    };
    this._ws = ws;
  }

  _retryLater(wasOpen) {
    if (!wasOpen) this._failedTries += 1;
    const wait = reconnectWait(this._failedTries);
    this.state = "reconnecting";
    this.nextTryAt = performance.now() + wait;
    setTimeout(() => this.connect(), wait);
  }

  _tryHasEnded() {
    for (const done of this._tryEnded) done();
  }

  /** Wait until the next try to connect has opened or failed, or until `untilMs`. */
  _nextTry(untilMs) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this._tryEnded.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, untilMs - performance.now()));
      this._tryEnded.add(done);
    });
  }

  /** One call of `action`, retried by the policy (if any): resolves to its result `{action,
   * outcome, requestId, latencyMs, reply, code, message, step, retryAfterMs, attempts}`, counted
   * in `tally` (its attempts in `attempts`); never rejects. `attempts` lists every attempt
   * (`{outcome, latencyMs, waitMs, code}`) when a policy made them, else it is empty. */
  async call(action, fields = {}) {
    const message = request(action, this._ids(), this.userId, fields);
    let result;
    if (this.policy === null) {
      result = await this._attempt(message, DEADLINE_MS);
      this.attempts.record(result);
    } else {
      result = await this._withRetries(message, this.policy);
    }
    this.tally.record(result);
    return result;
  }

  /** One attempt of `action`, neither retried nor counted (the report: its counts are
   * cumulative, so the next one makes good a lost one). Resolves as `call` does. */
  attempt(action, fields = {}) {
    return this._attempt(request(action, this._ids(), this.userId, fields), DEADLINE_MS);
  }

  // Attempt `message` until it succeeds, cannot succeed, or its deadline comes; every attempt
  // has the same requestId, so the server answers a repeat from memory.
  async _withRetries(message, policy) {
    const start = performance.now();
    const deadline = start + deadlineOf(policy, message.action);
    const attempts = [];
    let wait = 0;
    let result;
    for (;;) {
      await this._resume(message.action, deadline);
      const now = performance.now();
      result = await this._attempt(message, Math.min(deadline, now + policy.attemptTimeoutMs) - now);
      this.attempts.record(result);
      attempts.push({ outcome: result.outcome, latencyMs: result.latencyMs, waitMs: wait, code: result.code });
      if (result.outcome === "SUCCESS") {
        this.budget.succeeded();
        break;
      }
      if (spendsBudget(result.outcome)) this.budget.failed();
      if (!worthRetrying(result.outcome) || attempts.length >= policy.maxAttempts) break;
      if (spendsBudget(result.outcome) && !this.budget.allows) break; // a sick server: fail fast
      const throttled = result.code === "THROTTLED";
      wait = backoffMs(policy, attempts.length, { throttled, retryAfterMs: result.retryAfterMs });
      // An attempt before the next try to connect is futile.
      if (!this.connected) wait = Math.max(wait, this.nextTryAt - performance.now());
      if (performance.now() + wait >= deadline) break;
      await sleep(wait);
    }
    return { ...result, latencyMs: performance.now() - start, attempts };
  }

  // Before an attempt: if the connection is down, wait for the next try to connect (when it
  // comes before the deadline); on a connection the session was not joined on, resume it with
  // its token first (unless this call is the join itself), counted as a join. What fails is
  // left for the attempt to meet.
  async _resume(action, deadline) {
    if (!this.connected && this.nextTryAt < deadline) await this._nextTry(deadline);
    if (!this.connected || this.sessionHere || this.sessionToken === null || action === "join") return;
    const token = this.sessionToken;
    const join = request("join", this._ids(), this.userId, { token });
    const resumed = await this._attempt(join, deadline - performance.now());
    this.tally.record(resumed);
    this.attempts.record(resumed);
  }

  /** One attempt of `message`, waiting `timeoutMs` for its reply; never rejects. */
  _attempt(message, timeoutMs) {
    const start = performance.now();
    return new Promise((resolve) => {
      const finish = (seen, words = "") => resolve(this._result(message, seen, words, start));
      if (this.faults.offline) return finish({ observed: "not_sent" }, "the client's network is down (F7)");
      if (!this.connected) {
        return finish({ observed: "not_sent" }, `not connected: ${this.lastError || "connecting"}`);
      }
      const requestId = message.requestId;
      const ws = this._ws;
      let timer = 0;
      const call = {
        action: message.action,
        settle: (seen, words) => {
          clearTimeout(timer);
          this._pending.delete(requestId);
          if (message.action === "join" && seen.reply?.status === "ok") {
            this.sessionToken = seen.reply.sessionToken;
            this._sessionWs = ws;
          }
          finish(seen, words);
        },
      };
      timer = setTimeout(() => {
        this._givenUp.add(requestId);
        if (this._givenUp.size > GIVEN_UP_MEMORY) this._givenUp.delete(this._givenUp.values().next().value);
        call.settle({ observed: "no_reply" }, `no reply in ${Math.round(timeoutMs)} ms`);
      }, timeoutMs);
      this._pending.set(requestId, call);
      ws.send(JSON.stringify(message));
      this.stats.sent += 1;
    });
  }

  _result(message, seen, words, start) {
    const outcome = classify(this.table, seen);
    const result = {
      action: message.action,
      outcome,
      requestId: message.requestId,
      latencyMs: performance.now() - start,
      reply: null,
      code: null,
      message: words,
      step: seen.observed !== undefined ? STEP_OF[seen.observed] : null,
      retryAfterMs: null,
      attempts: [],
    };
    if (seen.reply?.status === "error") {
      result.code = seen.reply.error.code;
      result.message = seen.reply.error.message;
      result.step = this.table.errorSteps[result.code] ?? null;
      result.retryAfterMs = seen.reply.retryAfterMs ?? null;
    } else if (seen.reply) {
      result.reply = seen.reply;
    }
    return result;
  }
  // A frame in: matched to its call by requestId (one call in flight and no readable id:
  // it can only be that call's reply), then checked, as pacnet/client/transport.py does.
  _deliver(raw) {
    let data = null;
    if (typeof raw === "string") {
      try {
        data = JSON.parse(raw);
      } catch {
        data = null;
      }
    }
    const requestId = typeof data?.requestId === "string" ? data.requestId : null;
    let call = requestId !== null ? this._pending.get(requestId) : undefined;
    if (call === undefined && requestId === null && this._pending.size === 1) {
      call = this._pending.values().next().value;
    }
    if (call === undefined) {
      if (requestId !== null && this._givenUp.delete(requestId)) this.stats.late += 1;
      else this.stats.stray += 1;
      return;
    }
    this.stats.replies += 1;
    if (data === null || typeof data !== "object") {
      return call.settle({ observed: "bad_reply" }, "the reply is not JSON");
    }
    const problem = replyProblem(call.action, data, this._codes);
    if (problem) return call.settle({ observed: "bad_reply" }, `unreadable reply: ${problem}`);
    if (data.status === "ok" && this.faults.applyFails) {
      return call.settle({ observed: "not_applied" }, "the reply came but the client failed to apply it (F8)");
    }
    call.settle({ reply: data });
  }
}
