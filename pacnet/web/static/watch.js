// The projector's view (/watch): the whole board and how the room's calls end, for everyone
// in the room at once. It joins no game and changes nothing: it only follows the server's
// read-only feeds, the room's (/board, /room, /keepalive) in the room its address names
// (/rooms/NAME/watch shows room NAME; rooms.js) and the whole server's /faults. The server
// knows only its own faults; `?network=HOST:PORT` names the proxy the room plays through, whose
// /faults feed lists the network's faults and the server's, so the view shows both (the proxy's
// own feeds are never hit by its faults). Served through a group's HAProxy, the view also shows
// the group's lobby from HAProxy's figures (watch-lobby.js). `window.watch` lets tests see what
// is shown.

import { follow } from "./feed.js";
import { DEFAULT_ROOM, inRoom, ROOM } from "./rooms.js";
import { BoardPicture } from "./watch-board.js";
import { RateChart, rateNow } from "./watch-chart.js";
import { LobbyPanel } from "./watch-lobby.js";
import { PlayerPages, countdown, showFaults, showRoom, showSuspects } from "./watch-panels.js";

const FEEDS = ["/board", "/room", "/faults", "/keepalive"];
const SERVER_WIDE = new Set(["/faults"]); // the rest are the room's
const network = new URLSearchParams(location.search).get("network");
const NETWORK = "the network's /faults";
const watched = network ? [...FEEDS, NETWORK] : FEEDS;

const picture = new BoardPicture(document.getElementById("picture"), document.getElementById("labels"));
const chart = new RateChart(document.getElementById("rates"));
const pages = new PlayerPages(document.getElementById("players"), document.getElementById("players-page"));
const lobby = new LobbyPanel(document.getElementById("lobby-box"));
const open = new Set();
const seen = {};

function showFeeds() {
  const down = watched.filter((path) => !open.has(path));
  const note = document.getElementById("feeds");
  note.textContent = down.length ? `lost ${down.join(" ")}: reconnecting` : "live";
  note.classList.toggle("bad", down.length > 0);
}

const unlabelled = document.getElementById("unlabelled");
const clock = document.getElementById("countdown");
let nextStepAt = null; // performance.now() ms when the scenario's next step is due, if one is

const handlers = {
  "/board": (board) => picture.update(board),
  "/room": (room) => {
    showRoom(room, pages);
    chart.update(room);
    document.getElementById("rate-span").textContent = String(Math.round((room.rates.length * room.rateBinS) / 60));
    document.getElementById("rate-now").textContent = rateNow(room.rates, room.rateBinS);
  },
  "/faults": (feed) => {
    if (!(network && open.has(NETWORK))) showFaults(feed); // the network's says all this too
    const left = feed.exercise?.nextStepInS;
    nextStepAt = left === null || left === undefined ? null : performance.now() + left * 1000;
  },
  "/keepalive": (view) => { picture.suspected = showSuspects(view); },
};

function opened(path) {
  return (isOpen) => {
    if (isOpen) open.add(path);
    else open.delete(path);
    showFeeds();
  };
}

if (ROOM !== DEFAULT_ROOM) {
  document.title = `pacnet: room ${ROOM}`;
  const room = document.getElementById("room");
  room.querySelector("b").textContent = ROOM;
  room.hidden = false;
}

for (const path of FEEDS) {
  follow(SERVER_WIDE.has(path) ? path : inRoom(path), (snapshot) => {
    seen[path] = snapshot;
    handlers[path](snapshot);
  }, opened(path));
}
if (network) {
  follow("/faults", (snapshot) => {
    seen[NETWORK] = snapshot;
    showFaults(snapshot);
  }, (isOpen) => {
    opened(NETWORK)(isOpen);
    if (!isOpen && seen["/faults"]) showFaults(seen["/faults"]); // the server's, meanwhile
  }, network);
}

function animate(now) {
  picture.frame(now);
  const note = picture.left ? `${picture.left} name${picture.left > 1 ? "s" : ""} left out: no room` : "";
  if (unlabelled.textContent !== note) {
    unlabelled.textContent = note;
    unlabelled.hidden = !note;
  }
  const due = countdown(nextStepAt, now);
  if (clock.textContent !== due) {
    clock.textContent = due;
    clock.hidden = !due;
  }
  requestAnimationFrame(animate);
}
requestAnimationFrame(animate);
lobby.start();

window.watch = {
  room: ROOM,
  seen,
  open: () => [...open],
  labels: () => [...picture.shown],
  pacmen: () => picture.pacmen.map((p) => p.name),
  lobby: () => lobby.shown,
  players: () => [...document.querySelectorAll("#players li[data-user]:not([hidden])")].map((li) => li.dataset.user),
};
