// The article's loop, against the remote board (pacnet/client/play.py does the same):
//
//   board.move(pacman, joystick direction)
//   ghosts = board.findAll(":ghost")
//   for ghost in ghosts: if overlaps(pacman, ghost): board.remove(pacman)
//
// One call at a time, each awaited to its outcome (its retries included, when they are on:
// remote.js); what the calls learn is kept in `view`, which draw.js reads and never changes. A call
// asked for from outside (`ask`: the test hook's `find`, which the loop never makes, or a
// `remove` with no ghost near) is made by the loop too, at the start of its next turn, so it
// is never in flight beside another.

import { DEFAULT_ROOM } from "./rooms.js";

export const TURN_MS = 100; // ten turns a second, as the window's loop
export const FOOD_MS = 500; // pellets and energizers only ever disappear: twice a second, as the window
const FATAL_JOIN_WAIT_MS = 2000; // a refused join (the name plays elsewhere) is not hammered
// Our pac-man unseen this long is not coming back by itself: twice the 1.5 s a caught one
// stays off the board (pacnet/client/view.py MISSING_AFTER).
export const MISSING_AFTER_MS = 3000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pac-man on the same tile as a ghost that can catch it (not one it may eat). */
export function overlaps(me, ghost) {
  const catching = ghost.state === undefined || ghost.state === null || ghost.state === "normal";
  return catching && me.xPos === ghost.xPos && me.yPos === ghost.yPos;
}

/** What the page knows of the board, as of its latest successful calls. */
export class View {
  constructor() {
    this.maze = null; // rows of "#", "-", " " from the join reply
    this.me = null; // our pac-man's name on the board
    this.ghosts = [];
    this.pacmen = [];
    this.food = [];
    this.level = 1;
    this.lastLives = null;
    this.lastSeenAt = null; // performance.now() of the last sight of our pac-man
    this.notice = ""; // what became of us, in words, when something did
  }

  mine() {
    return this.pacmen.find((p) => p.name === this.me) ?? null;
  }

  get gameOver() {
    return this.maze !== null && this.mine() === null && this.lastLives === 1;
  }

  /** Off the board for longer than a catch lasts, its last life unseen going: join again. */
  missing(now) {
    return this.mine() === null && this.lastSeenAt !== null && now - this.lastSeenAt > MISSING_AFTER_MS;
  }
}

export class Game {
  /**
   * @param {RemoteBoard} board the remote board (remote.js)
   * @param {(result) => void} report told of every call's result (the HUD counts them)
   * @param {Storage} storage where session tokens are kept, per room and name, so a reload
   *   resumes
   * @param {string} room the room played in (rooms.js): the same name in two rooms is two
   *   players, with two tokens
   */
  constructor(board, report, storage, room = DEFAULT_ROOM) {
    this.board = board;
    this.report = report;
    this.storage = storage;
    this.room = room;
    this.view = new View();
    this.direction = null;
    this.joined = false;
    this.needJoin = true;
    this._joinNotBefore = 0;
    this._nextFood = 0;
    this._seq = Date.now(); // moves count up across reloads too, should a session resume
    this._asked = []; // calls asked for with `ask`, not made yet
  }

  /**
   * Make one call of `action` with `fields` at the start of the next turn played (after the
   * first join); resolves to its result, counted as every call of the loop is.
   */
  ask(action, fields = {}) {
    return new Promise((resolve) => this._asked.push({ action, fields, resolve }));
  }

  get tokenKey() {
    const user = this.board.userId;
    return this.room === DEFAULT_ROOM ? `pacnet.token.${user}` : `pacnet.room.${this.room}.token.${user}`;
  }

  /** Join again on the next turn: the player asked to play again, or the server gave up on us. */
  rejoin() {
    this.needJoin = true;
    this._joinNotBefore = 0;
  }

  async run() {
    for (;;) {
      await this.turn();
      await sleep(TURN_MS);
    }
  }

  async turn() {
    // Join on each new connection (the token resumes our pac-man), unless a retried call has
    // already resumed the session on it. While the connection is down the loop goes on, and its
    // calls end POST_FAILED, as they would on one machine's network going down; before the
    // first join there is nothing to play yet.
    const joinHere = this.needJoin || !this.board.sessionHere;
    if (joinHere && this.board.connected && performance.now() >= this._joinNotBefore) {
      await this.join();
    }
    if (!this.joined) return;
    for (const { action, fields, resolve } of this._asked.splice(0)) {
      resolve(await this.call(action, fields));
    }
    if (this.direction !== null && this.view.mine() !== null) {
      await this.call("move", { name: "pacman", direction: this.direction, seq: ++this._seq });
    }
    const ghosts = await this.call("findAll", { kind: ":ghost" });
    const pacmen = await this.call("findAll", { kind: ":pacman" });
    if (ghosts.reply && pacmen.reply) {
      this.see(ghosts.reply, pacmen.reply);
      const me = this.view.mine();
      if (me !== null && ghosts.reply.entities.some((ghost) => overlaps(me, ghost))) {
        await this.call("remove", { name: "pacman" });
      }
    }
    if (performance.now() >= this._nextFood) {
      this._nextFood = performance.now() + FOOD_MS;
      await this.refreshFood();
    }
  }

  /** Join, with the name's token if we have one. */
  async join() {
    const token = this.storage.getItem(this.tokenKey);
    let joined = await this.call("join", token ? { token } : {});
    if (token && joined.code === "USER_NOT_FOUND") {
      // The server forgot us (keepalive expired, or it restarted): start afresh.
      this.storage.removeItem(this.tokenKey);
      joined = await this.call("join", {});
    }
    if (!joined.reply) {
      if (joined.outcome === "FATAL") this._joinNotBefore = performance.now() + FATAL_JOIN_WAIT_MS;
      return;
    }
    const reply = joined.reply;
    this.storage.setItem(this.tokenKey, reply.sessionToken);
    Object.assign(this.view, { maze: reply.maze, me: reply.name, lastLives: null });
    this.view.lastSeenAt = performance.now();
    this.view.notice = reply.resumed ? "resumed your game" : "";
    this.needJoin = false;
    this.joined = true;
  }

  async refreshFood() {
    const pellets = await this.call("findAll", { kind: ":pellet" });
    const energizers = await this.call("findAll", { kind: ":energizer" });
    if (pellets.reply && energizers.reply) {
      this.view.food = [...pellets.reply.entities, ...energizers.reply.entities];
    }
  }

  see(ghosts, pacmen) {
    const view = this.view;
    view.ghosts = ghosts.entities;
    view.pacmen = pacmen.entities;
    view.level = ghosts.level ?? view.level;
    const me = view.mine();
    if (me !== null) {
      view.lastSeenAt = performance.now();
      view.lastLives = me.lives ?? view.lastLives;
      view.notice = "";
    }
  }

  async call(action, fields) {
    const result = await this.board.call(action, fields);
    this.report(result);
    if (result.code === "USER_NOT_FOUND" && action !== "join") {
      // The server gave up on us (our keepalive expired): join again at the next turn.
      this.view.notice = "the server gave up on you - joining again";
      this.rejoin();
    }
    return result;
  }
}
