// The faults switched on behind the page's address, in every domain, and the exercise the room
// is in, as the read-only /faults feed says (pacnet/faults/feed.py): a snapshot on connect and
// another whenever either changes. The proxy's feed shows the server's faults and exercise too.
//
//   {"faults": [{"fault": {...}, "domain": "network", "description": "drop reply 20% (...)",
//                ...}, ...],
//    "exercise": {"number": 3, "label": "step 3: ..."}}
//
// A new exercise (a scenario's step, `pacnet chaos clear` or `mark`) starts the counts afresh,
// as the window does (pacnet/window/hud.py follow_exercise). A lost feed is followed again as
// the game's socket is (remote.js reconnectWait); meanwhile the page shows what it last said.

import { reconnectWait } from "./remote.js";

export const FEED_PATH = "/faults";

/** Whether `next` is a new exercise after `previous`: never on first sight (null). */
export function exerciseBegan(previous, next) {
  return previous !== null && next.number !== previous.number;
}

export class FaultFeed {
  /**
   * @param {string} url the feed's ws:// or wss:// address
   * @param {(exercise) => void} onExercise called when a new exercise begins: the caller must
   *   start its counts afresh
   */
  constructor(url, onExercise) {
    this.url = url;
    this.onExercise = onExercise;
    this.faults = []; // the feed's FaultStatus objects, as it last sent them
    this.exercise = null; // {number, label}; null until the feed first says
    this.connected = false;
    this._failedTries = 0;
  }

  /** Follow the feed; when it is lost, it is followed again by itself. */
  follow() {
    const ws = new WebSocket(this.url);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this._failedTries = 0;
      this.connected = true;
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = () => {
      this.connected = false;
      if (!opened) this._failedTries += 1;
      setTimeout(() => this.follow(), reconnectWait(this._failedTries));
    };
  }

  /** One snapshot of the feed (a JSON text); anything else is ignored. */
  receive(raw) {
    let feed = null;
    try {
      feed = JSON.parse(raw);
    } catch {
      return;
    }
    if (!Array.isArray(feed?.faults)) return;
    this.faults = feed.faults;
    const exercise = { number: feed.exercise?.number ?? 0, label: feed.exercise?.label ?? "" };
    const began = exerciseBegan(this.exercise, exercise);
    this.exercise = exercise;
    if (began) this.onExercise(exercise);
  }
}
