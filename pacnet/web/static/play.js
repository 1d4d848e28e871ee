// The page's start: read the name (?name=NAME, else ask for one) and whether to retry
// (?retries=off: every call one attempt; retries are on otherwise, as in the window), fetch the
// outcome table, connect to the room the page's address names (rooms.js), join, play. Keys steer
// (arrows, WASD; a swipe on a phone); F7 and F8 switch the client's own faults; C counts
// afresh; R switches retries on or off; I opens the request inspector, P pauses it and U
// unpins its failures; Enter plays again after a game over. The whole server's /faults feed is
// followed beside the game: the faults on, the exercise, and its counts afresh at each new one.
// The room picker (picker.js) goes to another room. Frames are drawn as the browser asks for
// them.

import { Painter } from "./draw.js";
import { socketUrl } from "./feed.js";
import { FaultFeed } from "./faults.js";
import { Game } from "./game.js";
import { Hud } from "./hud.js";
import { strip } from "./inspector.js";
import { loadTable } from "./outcome.js";
import { RoomPicker } from "./picker.js";
import { nameProblem } from "./protocol.js";
import { RemoteBoard } from "./remote.js";
import { reportEverySecond } from "./report.js";
import { RETRIES } from "./retry.js";
import { DEFAULT_ROOM, inRoom, ROOM } from "./rooms.js";

const KEYS = {
  ArrowUp: "up", KeyW: "up", ArrowDown: "down", KeyS: "down",
  ArrowLeft: "left", KeyA: "left", ArrowRight: "right", KeyD: "right",
};
const HUD_EVERY_MS = 150;

function ask(problem) {
  const form = document.querySelector("#ask");
  form.hidden = false;
  document.querySelector("#game").hidden = true;
  const message = form.querySelector("#problem");
  message.textContent = problem ? `Cannot join: ${problem}.` : "";
  message.hidden = !problem;
  const room = form.querySelector("#ask-room");
  room.querySelector("b").textContent = ROOM;
  room.hidden = ROOM === DEFAULT_ROOM;
  // A link handed out as /?retries=off keeps its word through the name form.
  const retries = new URLSearchParams(location.search).get("retries");
  if (retries !== null && form.querySelector("input[name=retries]") === null) {
    const kept = Object.assign(document.createElement("input"), { type: "hidden", name: "retries", value: retries });
    form.append(kept);
  }
  form.querySelector("input").focus();
  window.pacnet = Object.freeze({ name: null, room: ROOM, joined: false, problem, counts: () => ({}) });
}

function controls(game, board, hud, refresh) {
  const inspector = hud.inspector;
  const letters = {
    KeyC: () => hud.resetCounts(),
    KeyR: () => (board.policy = board.policy === null ? RETRIES : null),
    KeyI: () => (inspector.open = !inspector.open),
    KeyP: () => inspector.pause(),
    KeyU: () => inspector.dismiss(),
  };
  window.addEventListener("keydown", (event) => {
    if (event.target.closest?.("input, textarea, select")) return; // typing a room's name
    const plain = !event.ctrlKey && !event.metaKey && !event.altKey; // not a copy, a reload, a print
    if (event.code in KEYS) {
      game.direction = KEYS[event.code];
    } else if (event.key === "F7") {
      board.faults.offline = !board.faults.offline;
    } else if (event.key === "F8") {
      board.faults.applyFails = !board.faults.applyFails;
    } else if (event.code in letters && plain) {
      letters[event.code]();
      refresh(); // show what the key did at once
    } else if (event.key === "Enter" && (game.view.gameOver || game.view.missing(performance.now()))) {
      game.rejoin();
    } else {
      return;
    }
    event.preventDefault(); // no scrolling, no caret browsing
  });
  // A phone has no arrow keys: a swipe on the board steers the same way.
  const canvas = document.querySelector("#board");
  let from = null;
  canvas.addEventListener("touchstart", (event) => (from = event.touches[0]), { passive: true });
  canvas.addEventListener("touchend", (event) => {
    const to = event.changedTouches[0];
    const dx = to.clientX - (from?.clientX ?? to.clientX);
    const dy = to.clientY - (from?.clientY ?? to.clientY);
    if (Math.max(Math.abs(dx), Math.abs(dy)) < 20) return;
    game.direction = Math.abs(dx) > Math.abs(dy) ? (dx > 0 ? "right" : "left") : dy > 0 ? "down" : "up";
  });
}

async function play(name, retries) {
  document.title = ROOM === DEFAULT_ROOM ? `pacnet - ${name}` : `pacnet - ${name} in ${ROOM}`;
  document.querySelector("#who").textContent = name;
  const table = await loadTable();
  const board = new RemoteBoard(socketUrl(inRoom("/")), name, table, retries ? RETRIES : null);
  const hud = new Hud(document.querySelector("#hud"), board, document.querySelector("#inspector"), table.steps);
  const game = new Game(board, (result) => hud.record(result), window.localStorage, ROOM);
  const feed = new FaultFeed(() => hud.resetCounts(true));
  let hudDue = 0;
  controls(game, board, hud, () => (hudDue = 0));
  const playing = () => board.sessionHere && !game.needJoin;
  new RoomPicker(document.querySelector("#rooms"), playing);
  window.pacnet = Object.freeze({
    name,
    room: ROOM,
    get joined() {
      return game.joined;
    },
    /** Connected, and joined on this connection (not waiting to join again). */
    get playing() {
      return playing();
    },
    /** Calls by action and outcome, each counted once by how it ended. */
    counts: () => board.tally.snapshot(),
    /** Every attempt of those calls, by action and outcome. */
    attempts: () => board.attempts.snapshot(),
    /** Whether calls are retried, and the retry budget: tokens left, and paused (spent). */
    retries: () => ({
      on: board.policy !== null,
      tokens: board.budget.tokens,
      paused: !board.budget.allows,
      calls: board.tally.total(),
      attempts: board.attempts.total(),
    }),
    /** The request inspector: open, paused, and its rows as shown, pinned failures first. */
    inspector: () => ({
      open: hud.inspector.open,
      paused: hud.inspector.frozen !== null,
      title: hud.inspector.title,
      rows: hud.inspector.rows().map(({ result, pinned }) => ({
        action: result.action,
        outcome: result.outcome,
        attempts: Math.max(1, result.attempts.length),
        latencyMs: result.latencyMs,
        steps: strip(result.outcome, result.step, table.steps),
        requestId: result.requestId,
        pinned,
      })),
    }),
    faults: () => ({ ...board.faults }),
    exercise: () => feed.exercise,
    pacmen: () => game.view.pacmen.map((p) => p.name),
    /** One call made by the loop at its next turn (a `find`, a `remove`), to its result. */
    call: (action, fields) => game.ask(action, fields),
  });
  board.connect();
  feed.follow();
  reportEverySecond(board, feed, playing, () => hud.exerciseCounts());
  const painter = new Painter(document.querySelector("#board"));
  const frame = (now) => {
    painter.frame(game.view, now);
    if (now >= hudDue) {
      hudDue = now + HUD_EVERY_MS;
      hud.update(game, board, feed);
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  await game.run();
}

const query = new URLSearchParams(location.search);
const name = query.get("name");
if (name === null) ask("");
else if (nameProblem(name)) ask(nameProblem(name));
else play(name, query.get("retries") !== "off");
