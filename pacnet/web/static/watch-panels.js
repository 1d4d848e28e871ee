// The panels beside the board: the exercise and its faults (/faults), the room's outcomes as
// the clients report them (/room), and whom the server suspects (/keepalive). Each renders
// the latest snapshot of its feed and keeps nothing else.

export const CALLS = ["find", "move", "findAll", "remove"];
export const OUTCOMES = ["SUCCESS", "POST_FAILED", "RETRYABLE", "FATAL", "UNKNOWN"];

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  if (className) made.className = className;
  return made;
}

function listOr(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [element("li", empty, "quiet")]));
}

/** Sum `counts` ({action, outcome, calls}) into `{action: {outcome: n}}`. */
export function table(counts) {
  const sums = {};
  for (const { action, outcome, calls } of counts) {
    sums[action] ??= {};
    sums[action][outcome] = (sums[action][outcome] ?? 0) + calls;
  }
  return sums;
}

/** The `/faults` snapshot: the exercise as the headline, each fault's description. */
export function showFaults(feed) {
  const { number, label } = feed.exercise ?? { number: 0, label: "" };
  document.getElementById("headline-label").textContent =
    label || (number ? `exercise ${number}` : "free play");
  const items = feed.faults.map((status) => element("li", status.description));
  listOr(document.getElementById("switched"), items, "none: the network and the server behave");
}

/** The `/room` snapshot: the totals table (outcomes by call), and one line per player. */
export function showRoom(room) {
  document.getElementById("every").textContent = String(room.reportEveryS);
  const sums = table(room.totals);
  const rows = OUTCOMES.map((outcome) => {
    const row = element("tr", undefined, outcome);
    row.append(element("th", outcome));
    for (const call of CALLS) {
      const n = sums[call]?.[outcome] ?? 0;
      const cell = element("td", String(n), n ? "" : "none");
      cell.dataset.call = call;
      row.append(cell);
    }
    return row;
  });
  document.querySelector("#totals tbody").replaceChildren(...rows);
  const players = room.players.map((player) => playerLine(player, room.exercise));
  listOr(document.getElementById("players"), players, "no reports yet");
}

// One player: name, then the nonzero totals per outcome in their colours, and how stale.
function playerLine(player, exercise) {
  const line = element("li");
  line.dataset.user = player.userId;
  line.append(element("b", player.userId));
  const byOutcome = {};
  for (const { outcome, calls } of player.counts) byOutcome[outcome] = (byOutcome[outcome] ?? 0) + calls;
  for (const outcome of OUTCOMES) {
    if (byOutcome[outcome]) line.append(element("span", String(byOutcome[outcome]), `n ${outcome}`));
  }
  if (player.late) {
    line.classList.add("stale");
    line.append(" ", element("span", `late ${Math.round(player.ageS)}s`, "late"));
  } else if (player.exercise !== exercise) {
    line.classList.add("stale");
    line.append(" ", element("span", "old exercise", "quiet"));
  }
  return line;
}

/** The `/keepalive` snapshot: the users the server suspects; returns their ids. */
export function showSuspects(view) {
  const suspected = view.shown.filter((entry) => entry.suspected);
  const items = suspected.map((entry) =>
    element("li", `${entry.userId}: silent ${Math.round(entry.silentS)}s, gone in ${Math.max(0, Math.round(entry.expiresInS))}s`));
  listOr(document.getElementById("suspects"), items, `nobody (of ${view.users})`);
  return new Set(suspected.map((entry) => entry.userId));
}
