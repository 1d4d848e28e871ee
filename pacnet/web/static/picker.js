// The room picker (play.html's #rooms): which room this page plays in, and a way to another.
// Opened, it reads the server's lobby (GET /lobby: every room open, its players and capacity)
// and lists the rooms, again every few seconds while it stays open; a field names a new room,
// checked with the server's rule before anything is asked of it (the server opens a room on the
// first connection to its path). Picking one goes to that room's page with this page's query
// kept (?name=..., ?retries=off), so the player joins there at once, as the same name.
//
// The lobby's answer is validated before it is believed (the article's step 7, VALIDATE_REPLY):
// the catalog server's full disk answers its failed read at once as "no rooms", and a page that
// plays in a room knows better (lobbyDoubt). The picker says such an answer is not believed, and
// keeps the last listing it believed.

import { shortName } from "./players.js";
import { ROOM, roomPage, roomProblem } from "./rooms.js";

export const LOBBY_PATH = "/lobby";
const LOBBY_EVERY_MS = 3000;

/** The lobby's rooms and its limit, or `{problem}` saying why it cannot be read. */
export async function readLobby() {
  try {
    const answer = await fetch(LOBBY_PATH, { cache: "no-store" });
    if (!answer.ok) return { problem: `the rooms cannot be listed here (HTTP ${answer.status})` };
    const lobby = await answer.json();
    return { rooms: lobby.rooms, maxRooms: lobby.maxRooms };
  } catch {
    return { problem: "the rooms cannot be listed: the server did not answer" };
  }
}

/**
 * Why a lobby listing `rooms` cannot be true, or "" when it can be. `here`: the room this page
 * plays in now (connected, and joined on that connection), which is open whatever the lobby
 * says, since a room closes only after a minute with no user and no connection; null when the
 * page plays nowhere, and so knows of no room to hold the answer to.
 */
export function lobbyDoubt(rooms, here) {
  if (here === null || rooms.some((room) => room.name === here)) return "";
  if (rooms.length === 0) return "the lobby answered no rooms while this room is open";
  return "the lobby answered without this room while it is open";
}

/** One room's line: its name (a link unless it is this one or full), players of capacity, and
 * its leader (its best player) with their score, when it has one. */
function roomLine(room) {
  const li = document.createElement("li");
  const full = room.players >= room.capacity;
  const name = room.name === ROOM || full ? document.createElement("b") : document.createElement("a");
  name.textContent = room.name;
  if (name.tagName === "A") name.href = roomPage(room.name);
  const count = document.createElement("span");
  count.className = "small";
  count.textContent = ` ${room.players}/${room.capacity} players`;
  li.append(name, count);
  if (room.name === ROOM) li.append(" (here)");
  else if (full) li.append(" (full)");
  const [leader] = room.leaders ?? [];
  if (leader !== undefined) {
    const best = document.createElement("span");
    best.className = "small";
    best.textContent = ` \u00b7 leader ${shortName(leader.name)} ${leader.score}`;
    li.append(best);
  }
  li.dataset.room = room.name;
  return li;
}

export class RoomPicker {
  /**
   * @param {HTMLDetailsElement} root play.html's #rooms
   * @param {() => boolean} playingHere whether this page plays in its room now (connected, and
   *   joined on that connection): play.js passes its own
   */
  constructor(root, playingHere = () => false) {
    this.root = root;
    this.playingHere = playingHere;
    this.list = root.querySelector("#room-list");
    this.note = root.querySelector("#room-note");
    this.problem = root.querySelector("#room-problem");
    this.lobby = null; // the latest readLobby() that listed rooms and was believed
    root.querySelector("#room-here").textContent = ROOM;
    root.addEventListener("toggle", () => root.open && this.refresh());
    setInterval(() => root.open && this.refresh(), LOBBY_EVERY_MS);
    const form = root.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.go(form.elements.room.value.trim());
    });
  }

  /** Read the lobby and list its rooms, unless its answer cannot be true. */
  async refresh() {
    const lobby = await readLobby();
    if (lobby.problem) {
      this.note.textContent = lobby.problem;
      return;
    }
    const doubt = lobbyDoubt(lobby.rooms, this.playingHere() ? ROOM : null);
    if (doubt) {
      const kept = this.lobby === null ? "" : ", the last listing kept";
      this.note.textContent = `${doubt}: not believed${kept} (asked again in ${LOBBY_EVERY_MS / 1000} s)`;
      return;
    }
    this.lobby = lobby;
    this.list.replaceChildren(...lobby.rooms.map(roomLine));
    const open = lobby.rooms.length;
    this.note.textContent = `${open} room${open === 1 ? "" : "s"} open, at most ${lobby.maxRooms}`;
  }

  /** Go to room `name`'s page, or say why not. */
  go(name) {
    const problem = roomProblem(name) || this.refusal(name);
    this.problem.textContent = problem;
    this.problem.hidden = !problem;
    if (!problem) location.assign(roomPage(name));
  }

  /** Why the lobby says room `name` cannot be played in, or "". */
  refusal(name) {
    if (this.lobby === null) return "";
    const room = this.lobby.rooms.find((r) => r.name === name);
    if (room === undefined && this.lobby.rooms.length >= this.lobby.maxRooms) {
      return `the server holds ${this.lobby.maxRooms} rooms, its most: pick one of these`;
    }
    if (room !== undefined && room.players >= room.capacity) return `room ${name} is full`;
    return "";
  }
}
