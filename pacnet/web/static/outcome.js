// The one place the page decides a call's outcome, by the table the server publishes at
// /static/classify.json (made from pacnet/protocol/classify.py, so the page and the Python
// client cannot drift apart):
//
//   observed     not_sent                        -> POST_FAILED
//                no_reply, bad_reply, not_applied -> UNKNOWN
//   errorReply   retryable / final               -> RETRYABLE / FATAL
//   okReply                                      -> SUCCESS

/** The classification table, fetched from the page's own server. */
export async function loadTable() {
  const answer = await fetch("/static/classify.json", { cache: "no-store" });
  if (!answer.ok) throw new Error(`/static/classify.json: HTTP ${answer.status}`);
  return answer.json();
}

/**
 * The outcome of one attempt: pass `{observed}` (one of the table's `observed` keys) when no
 * valid reply came, else `{reply}`, the validated reply.
 */
export function classify(table, { observed, reply }) {
  if (observed !== undefined) {
    const outcome = table.observed[observed];
    if (outcome === undefined) throw new Error(`no outcome for what was observed: ${observed}`);
    return outcome;
  }
  if (reply.status === "error") {
    return reply.error.retryable ? table.errorReply.retryable : table.errorReply.final;
  }
  return table.okReply;
}
