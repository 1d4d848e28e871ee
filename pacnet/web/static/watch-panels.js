// The panels beside the board: the exercise and its faults (/faults), the room's outcomes as
// the clients report them (/room), and whom the server suspects (/keepalive). Each renders
// the latest snapshot of its feed; the players' list also turns its pages (PlayerPages).

import { shortName } from "./players.js";

export const CALLS = ["find", "move", "findAll", "remove"];
export const OUTCOMES = ["SUCCESS", "POST_FAILED", "RETRYABLE", "FATAL", "UNKNOWN"];

export const BY_NAME = new Intl.Collator(undefined, { numeric: true });

/** A new `tag` element with `text` and `className`, if given. */
export function element(tag, text, className) {
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

/** "next step in 1:05" while a scenario's next step is due at `dueAt` (ms, performance.now()),
 * "" when none is. */
export function countdown(dueAt, now) {
  if (dueAt === null) return "";
  const seconds = Math.max(0, Math.ceil((dueAt - now) / 1000));
  const m = Math.floor(seconds / 60);
  return `next step in ${m}:${String(seconds % 60).padStart(2, "0")}`;
}

/** The `/room` snapshot: the totals table (outcomes by call), and one line per player, a page
 * of them at a time (`pages`). */
export function showRoom(room, pages) {
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
  const players = [...room.players]
    .sort((a, b) => BY_NAME.compare(a.userId, b.userId)) // bot 2 before bot 10
    .map((player) => playerLine(player, room.exercise));
  listOr(document.getElementById("players"), players, "no reports yet");
  pages.show();
}

/** The players' list, a page at a time when the room has more players than fit: each page
 * shows for TURN_MS, then the next, so everyone is on the projector now and then. */
export class PlayerPages {
  static TURN_MS = 6000;

  constructor(list, note) {
    this.list = list;
    this.note = note;
    this.first = 0; // the index of the first player on the page shown
    setInterval(() => this.turn(), PlayerPages.TURN_MS);
  }

  /** How many lines fit: whole rows of the list's box, times its columns. */
  capacity(lines) {
    lines.forEach((line) => { line.hidden = false; });
    const row = lines[0].offsetHeight || 1;
    const columns = getComputedStyle(this.list).gridTemplateColumns.split(" ").length;
    return Math.max(columns, Math.floor(this.list.clientHeight / row) * columns);
  }

  /** Show the page that begins at `first` (after the list's lines were replaced). */
  show() {
    const lines = [...this.list.children];
    const per = lines.length ? this.capacity(lines) : 0;
    if (lines.length <= per) {
      this.first = 0;
      this.note.textContent = "";
      return;
    }
    if (this.first >= lines.length) this.first = 0;
    lines.forEach((line, i) => { line.hidden = i < this.first || i >= this.first + per; });
    const last = Math.min(lines.length, this.first + per);
    this.note.textContent = `${this.first + 1}-${last} of ${lines.length}`;
    this.per = per;
  }

  turn() {
    const count = this.list.children.length;
    if (!this.per || count <= this.per) return;
    this.first = this.first + this.per >= count ? 0 : this.first + this.per;
    this.show();
  }
}

// One player: name, then the nonzero totals per outcome in their colours, and how stale.
function playerLine(player, exercise) {
  const line = element("li");
  line.dataset.user = player.userId;
  line.append(element("b", shortName(player.userId)));
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
    element("li", `${shortName(entry.userId)}: silent ${Math.round(entry.silentS)}s, gone in ${Math.max(0, Math.round(entry.expiresInS))}s`));
  listOr(document.getElementById("suspects"), items, `nobody (of ${view.users})`);
  return new Set(suspected.map((entry) => entry.userId));
}
