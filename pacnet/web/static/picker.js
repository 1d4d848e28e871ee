// The room picker (play.html's #rooms): which room this page plays in, and a way to another.
// Opened, it reads the server's lobby (GET /lobby: every room open, its players and capacity)
// and lists the rooms, again every few seconds while it stays open; a field names a new room,
// checked with the server's rule before anything is asked of it (the server opens a room on the
// first connection to its path). Picking one goes to that room's page with this page's query
// kept (?name=..., ?retries=off), so the player joins there at once, as the same name.

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

/** One room's line: its name (a link unless it is this one or full), players of capacity. */
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
  li.dataset.room = room.name;
  return li;
}

export class RoomPicker {
  /** @param {HTMLDetailsElement} root play.html's #rooms */
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("#room-list");
    this.note = root.querySelector("#room-note");
    this.problem = root.querySelector("#room-problem");
    this.lobby = null; // the latest readLobby() that listed rooms
    root.querySelector("#room-here").textContent = ROOM;
    root.addEventListener("toggle", () => root.open && this.refresh());
    setInterval(() => root.open && this.refresh(), LOBBY_EVERY_MS);
    const form = root.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.go(form.elements.room.value.trim());
    });
  }

  /** Read the lobby and list its rooms. */
  async refresh() {
    const lobby = await readLobby();
    if (lobby.problem) {
      this.note.textContent = lobby.problem;
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
