// Reporting how this page's calls ended, for the projector (the room's view, /watch): only the
// page knows (UNKNOWN is its verdict, not the server's), so it tells the server every second
// with a `report` request. Its counts are cumulative since the exercise began and each report
// is numbered, so a lost one is made good by the next and a late one is ignored
// (docs/architecture.md, "The room's view"). It carries the calls, each counted once by how it
// ended however many attempts it took, as the window's does (pacnet/client/report.py); the
// report itself is one attempt, never retried and not counted among the calls.

export const REPORT_EVERY_MS = 1000;

/** The tally's counts as a report carries them: every call that happened, by action and outcome. */
export function reportCounts(counts) {
  const out = [];
  for (const [action, row] of Object.entries(counts)) {
    for (const [outcome, calls] of Object.entries(row)) if (calls > 0) out.push({ action, outcome, calls });
  }
  return out;
}

/** Report the calls of the exercise `feed` follows (`counts()`, by action and outcome) every
 * second while `playing()`. */
export function reportEverySecond(board, feed, playing, counts) {
  let seq = Date.now(); // counting up from the clock: a page opened again keeps rising
  setInterval(() => {
    if (!playing()) return;
    seq += 1;
    const exercise = feed.exercise?.number ?? 0;
    board.attempt("report", { exercise, seq, counts: reportCounts(counts()) });
  }, REPORT_EVERY_MS);
}
