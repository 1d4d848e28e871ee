// The group's lobby, beside the room: where HAProxy sends the lobby's requests (the catalog
// server's epidemic, docs/cluster.md). A page served through a group's HAProxy reads its
// figures, read-only on the same address (/haproxy/stats;csv), once a second, and shows each
// server's share of the lobby requests over the last SPAN looks (the growth of its `stot` in
// the two lobby backends, summed) and its status in the backend that serves the lobby now (the
// one whose sessions grew). A single server has no such page: it answers 404, the panel stays
// hidden, and nothing more is asked.

import { BY_NAME, element } from "./watch-panels.js";

export const STATS = "/haproxy/stats;csv";
export const BACKENDS = { live: "lobby_live", store: "lobby_store" }; // the check: its backend
const EVERY_MS = 1000;
const SPAN = 3; // looks the shares span after the first: about three seconds

const CHECKS = Object.keys(BACKENDS);
const CHECK_OF = Object.fromEntries(CHECKS.map((check) => [BACKENDS[check], check]));

/** HAProxy's CSV as rows `{pxname, svname, stot, status}`; null when `text` is not that CSV
 * (a single server's 404 page, say). */
export function parseStats(text) {
  if (!text.startsWith("# pxname,")) return null;
  const [head, ...lines] = text.trim().split("\n");
  const columns = head.slice(2).split(",");
  const [px, sv, stot, status] = ["pxname", "svname", "stot", "status"].map((c) => columns.indexOf(c));
  if ([sv, stot, status].includes(-1)) return null;
  return lines.map((line) => line.split(",")).map((cells) => ({
    pxname: cells[px], svname: cells[sv], stot: Number(cells[stot]) || 0, status: cells[status] ?? "",
  }));
}

/** One look at the lobby: `{server: {live: {stot, status}, store: {stot, status}}}`, from the
 * rows of the two lobby backends (each server's own, not the backend's total). */
export function lobbyLook(rows) {
  const look = {};
  for (const { pxname, svname, stot, status } of rows) {
    const check = CHECK_OF[pxname];
    if (!check || svname === "FRONTEND" || svname === "BACKEND") continue;
    look[svname] ??= {};
    look[svname][check] = { stot, status };
  }
  return look;
}

/** Whether HAProxy sends a server new requests in a backend, by its status there ("UP",
 * "UP 1/2" on its way down, "no check"; not "DOWN", "DOWN 1/2", "MAINT", "DRAIN"). */
export function sends(status) {
  return /^(UP|no check)/.test(status);
}

function grown(from, to, server, check) {
  return Math.max(0, (to[server]?.[check]?.stot ?? 0) - (from[server]?.[check]?.stot ?? 0));
}

// The check whose backend's sessions grew from `from` to `to`, or null: neither, or both.
function grewIn(from, to) {
  const checks = CHECKS.filter((check) => Object.keys(to).some((s) => grown(from, to, s, check) > 0));
  return checks.length === 1 ? checks[0] : null;
}

/** What the panel shows from `looks` (`{at: ms, look}`, oldest first): the lobby requests
 * between the first look and the last (`requests`, over `seconds`), the check serving the
 * lobby (`serving`: the backend that grew, over the last second if both grew over the span;
 * null when unknown), and for each server its `share` (null with no request) and its
 * `statuses` by check. */
export function lobbyShares(looks) {
  const first = looks[0];
  const last = looks.at(-1);
  const names = Object.keys(last.look).sort(BY_NAME.compare);
  const counts = names.map((s) => CHECKS.reduce((n, c) => n + grown(first.look, last.look, s, c), 0));
  const requests = counts.reduce((a, b) => a + b, 0);
  const before = looks.at(-2) ?? first;
  const serving = grewIn(first.look, last.look) ?? grewIn(before.look, last.look);
  const servers = names.map((name, i) => ({
    name,
    share: requests ? counts[i] / requests : null,
    statuses: Object.fromEntries(CHECKS.map((c) => [c, last.look[name][c]?.status ?? "?"])),
  }));
  return { requests, seconds: (last.at - first.at) / 1000, serving, servers };
}

/** How a server's state reads: its status where the lobby is served ("live UP"), else both
 * ("live UP · store DOWN"); `out` when that status sends it no lobby request. */
export function stateLine(server, serving) {
  if (serving) {
    const status = server.statuses[serving];
    return { text: `${serving} ${status}`, out: !sends(status) };
  }
  const text = CHECKS.map((c) => `${c} ${server.statuses[c]}`).join(" · ");
  return { text, out: CHECKS.every((c) => !sends(server.statuses[c])) };
}

/** The panel: reads HAProxy's figures every second while they are there to read. */
export class LobbyPanel {
  constructor(box) {
    this.box = box;
    this.list = box.querySelector("#lobby");
    this.span = box.querySelector("#lobby-span");
    this.note = box.querySelector("#lobby-now");
    this.looks = [];
    this.shown = null; // the last lobbyShares() shown, for tests
  }

  start() {
    this.ask();
  }

  async ask() {
    let rows; // HAProxy's rows; null: an answer that is not its CSV; undefined: no answer
    try {
      const reply = await fetch(STATS, { cache: "no-store" });
      rows = parseStats(reply.ok ? await reply.text() : "");
    } catch {
      rows = undefined; // HAProxy may be on its way back
    }
    if (rows) this.add(lobbyLook(rows));
    else if (rows === null && this.box.hidden) return; // not a group's HAProxy: nothing, ever
    else if (!this.box.hidden) this.note.textContent = "HAProxy's figures unread: asking again";
    setTimeout(() => this.ask(), EVERY_MS);
  }

  add(look) {
    const previous = this.looks.at(-1)?.look ?? {};
    const restarted = Object.keys(look).some((s) => CHECKS.some((c) =>
      (look[s][c]?.stot ?? 0) < (previous[s]?.[c]?.stot ?? 0)));
    if (restarted) this.looks = []; // HAProxy started again: its counts with it
    this.looks = [...this.looks, { at: performance.now(), look }].slice(-(SPAN + 1));
    this.show(lobbyShares(this.looks));
  }

  show(shares) {
    this.shown = shares;
    this.box.hidden = false;
    const { requests, seconds, serving, servers } = shares;
    this.span.textContent = String(Math.max(1, Math.round(seconds)));
    const perSecond = seconds > 0 ? requests / seconds : 0;
    this.note.textContent = requests ? `${perSecond.toFixed(perSecond < 10 ? 1 : 0)} requests/s` : "no requests";
    this.list.replaceChildren(...servers.map((server) => this.line(server, serving)));
  }

  line(server, serving) {
    const line = element("li");
    line.dataset.server = server.name;
    const percent = server.share === null ? null : Math.round(100 * server.share);
    const bar = element("span", undefined, "bar");
    const fill = element("span", undefined, "fill");
    fill.style.width = `${percent ?? 0}%`;
    bar.append(fill);
    const state = stateLine(server, serving);
    line.append(
      element("b", server.name),
      bar,
      element("span", percent === null ? "-" : `${percent}%`, "share"),
      element("span", state.text, state.out ? "state out" : "state"),
    );
    return line;
  }
}
