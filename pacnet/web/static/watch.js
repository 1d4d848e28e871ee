// The projector's view (/watch): the whole board and how the room's calls end, for everyone
// in the room at once. It joins no game and changes nothing: it only follows the server's
// read-only feeds. `window.watch` lets tests see what is shown.

import { follow } from "./feed.js";
import { BoardPicture } from "./watch-board.js";
import { showFaults, showRoom, showSuspects } from "./watch-panels.js";

const FEEDS = ["/board", "/room", "/faults", "/keepalive"];

const picture = new BoardPicture(document.getElementById("picture"), document.getElementById("labels"));
const open = new Set();
const seen = {};

function showFeeds() {
  const down = FEEDS.filter((path) => !open.has(path));
  const note = document.getElementById("feeds");
  note.textContent = down.length ? `lost ${down.join(" ")}: reconnecting` : "live";
  note.classList.toggle("bad", down.length > 0);
}

const handlers = {
  "/board": (board) => picture.update(board),
  "/room": showRoom,
  "/faults": showFaults,
  "/keepalive": (view) => { picture.suspected = showSuspects(view); },
};

for (const path of FEEDS) {
  follow(path, (snapshot) => {
    seen[path] = snapshot;
    handlers[path](snapshot);
  }, (isOpen) => {
    if (isOpen) open.add(path);
    else open.delete(path);
    showFeeds();
  });
}

function animate(now) {
  picture.frame(now);
  requestAnimationFrame(animate);
}
requestAnimationFrame(animate);

window.watch = {
  seen,
  open: () => [...open],
  labels: () => [...picture.shown],
  pacmen: () => picture.pacmen.map((p) => p.name),
};
