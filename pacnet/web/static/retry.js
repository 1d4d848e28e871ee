// What to do after each outcome, as the Python client does (pacnet/client/retry.py, its numbers
// held to the page's by tests/test_web_page.py):
//
//   outcome       retried?                          how
//   SUCCESS       -                                 -
//   POST_FAILED   yes, every call                   nothing reached the server: free of the budget
//   RETRYABLE     yes                               capped exponential backoff with full jitter, at
//                                                   least the server's retryAfterMs; spends the budget
//   FATAL         never                             (USER_NOT_FOUND: the loop joins again)
//   UNKNOWN       yes, with the same requestId      the server answers a repeated mutation from
//                                                   memory; spends the budget
//
// One deadline covers every attempt of a call. remote.js applies the policy; nothing else retries.

/** The window's and the bots' policy (RetryPolicy's defaults), in milliseconds. */
export const RETRIES = Object.freeze({
  maxAttempts: 3, // the first included
  attemptTimeoutMs: 300, // one attempt waits this long for its reply
  deadlineMs: 2500, // a whole call, every attempt and wait included...
  deadlinesMs: Object.freeze({ move: 1000 }), // ...but a move is stale after a second of play
  baseMs: 50, // the first backoff is up to this, doubling each retry
  throttledBaseMs: 200, // the base after THROTTLED: the server said to slow down
  capMs: 1000, // no backoff is longer
  budget: 10, // retry tokens (gRPC's retryThrottling maxTokens)
  budgetRefill: 0.1, // tokens a successful call gives back (gRPC's tokenRatio)
});

/** Milliseconds a whole call of `action` may take. */
export function deadlineOf(policy, action) {
  return policy.deadlinesMs[action] ?? policy.deadlineMs;
}

/** Milliseconds to wait before retry number `retry` (1 for the first): full jitter,
 * random(0, min(cap, base * 2^(retry - 1))), and never less than the server's retryAfterMs. */
export function backoffMs(policy, retry, { throttled, retryAfterMs }) {
  const base = throttled ? policy.throttledBaseMs : policy.baseMs;
  const wait = Math.random() * Math.min(policy.capMs, base * 2 ** (retry - 1));
  return Math.max(wait, retryAfterMs ?? 0);
}

/** Whether another attempt may change the answer (FATAL will not; SUCCESS is done). */
export const worthRetrying = (outcome) => ["POST_FAILED", "RETRYABLE", "UNKNOWN"].includes(outcome);

/** POST_FAILED is free: the server never saw it, so retrying it cannot load the server. */
export const spendsBudget = (outcome) => outcome === "RETRYABLE" || outcome === "UNKNOWN";

/** A token bucket that stops retry storms: each retried failure spends a token, each success
 * puts back a fraction; at half full or below, nothing is retried (gRPC A6). */
export class RetryBudget {
  constructor(policy) {
    this.capacity = policy.budget;
    this.refill = policy.budgetRefill;
    this.tokens = policy.budget;
  }

  get allows() {
    return this.tokens > this.capacity / 2;
  }

  failed() {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  succeeded() {
    this.tokens = Math.min(this.capacity, this.tokens + this.refill);
  }
}
