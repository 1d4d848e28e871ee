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
// outcome.js turns each into an outcome. A lost connection is tried again after a jittered
// backoff: the first try within FIRST_TRY_MS, then up to twice as long per failed try,
// capped at RECONNECT_CAP_MS, so a room of players that lost one server comes back spread out.

import { classify } from "./outcome.js";
import { replyProblem, request, requestIds } from "./protocol.js";

export const DEADLINE_MS = 500;
export const FIRST_TRY_MS = 300;
export const RECONNECT_CAP_MS = 2000;

const STEP_OF = {
  not_sent: "POST_REQUEST",
  no_reply: null,
  bad_reply: "VALIDATE_REPLY",
  not_applied: "UPDATE_CLIENT_STATE",
};
const GIVEN_UP_MEMORY = 1024;

/** How long to wait before the next try at a lost connection, after `failedTries` tries that
 * did not connect: a random wait within FIRST_TRY_MS, doubling per failed try, capped at
 * RECONNECT_CAP_MS. (The read-only feeds, feed.js, come back the same way.) */
export function reconnectWait(failedTries) {
  return Math.random() * Math.min(RECONNECT_CAP_MS, FIRST_TRY_MS * 2 ** failedTries);
}

/** One line for the HUD, e.g. `move -> UNKNOWN: no reply in 500 ms`. */
export function describe(result) {
  if (result.outcome === "SUCCESS") return `${result.action} -> SUCCESS`;
  const what = result.code ? `${result.code}: ${result.message}` : result.message;
  return `${result.action} -> ${result.outcome}: ${what}`;
}

export class RemoteBoard {
  /**
   * @param {string} url the server's ws:// or wss:// address
   * @param {string} userId the user every request acts as
   * @param {object} table the classification (outcome.js loadTable)
   * @param {() => void} onOpen called on every new connection: the caller must join again
   */
  constructor(url, userId, table, onOpen) {
    this.url = url;
    this.userId = userId;
    this.table = table;
    this.onOpen = onOpen;
    this.faults = { offline: false, applyFails: false };
    this.stats = { sent: 0, replies: 0, late: 0, stray: 0, tries: 0 };
    this.state = "connecting";
    this.nextTryAt = 0;
    this.lastError = "";
    this._codes = Object.keys(table.errorSteps);
    this._ids = requestIds();
    this._pending = new Map();
    this._givenUp = new Set();
    this._failedTries = 0;
    this._ws = null;
  }

  get connected() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
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
      this.onOpen();
    };
    ws.onmessage = (event) => this._deliver(event.data);
    ws.onclose = (event) => {
      this.lastError = opened
        ? `the connection closed (code ${event.code})`
        : `cannot connect to ${this.url}`;
      for (const call of this._pending.values()) call.settle({ observed: "no_reply" }, this.lastError);
      this._retryLater(opened);
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

  /** One call, one attempt: resolves to its result `{action, outcome, requestId, latencyMs,
   * reply, code, message, step}`; never rejects. */
  call(action, fields = {}) {
    const message = request(action, this._ids(), this.userId, fields);
    const start = performance.now();
    return new Promise((resolve) => {
      const finish = (seen, words = "") => resolve(this._result(message, seen, words, start));
      if (this.faults.offline) return finish({ observed: "not_sent" }, "the client's network is down (F7)");
      if (!this.connected) {
        return finish({ observed: "not_sent" }, `not connected: ${this.lastError || "connecting"}`);
      }
      const requestId = message.requestId;
      let timer = 0;
      const call = {
        action,
        settle: (seen, words) => {
          clearTimeout(timer);
          this._pending.delete(requestId);
          finish(seen, words);
        },
      };
      timer = setTimeout(() => {
        this._givenUp.add(requestId);
        if (this._givenUp.size > GIVEN_UP_MEMORY) this._givenUp.delete(this._givenUp.values().next().value);
        call.settle({ observed: "no_reply" }, `no reply in ${DEADLINE_MS} ms`);
      }, DEADLINE_MS);
      this._pending.set(requestId, call);
      this._ws.send(JSON.stringify(message));
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
    };
    if (seen.reply?.status === "error") {
      result.code = seen.reply.error.code;
      result.message = seen.reply.error.message;
      result.step = this.table.errorSteps[result.code] ?? null;
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
