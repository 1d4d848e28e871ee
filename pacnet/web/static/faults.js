// The faults switched on behind the page's address, in every domain, and the exercise the room
// is in, as the read-only /faults feed says (pacnet/faults/feed.py): a snapshot on connect and
// another whenever either changes. The feed is the whole server's, at the bare path whatever
// room the page plays in (rooms.js). The proxy's feed shows the server's faults and exercise too.
//
//   {"faults": [{"fault": {...}, "domain": "network", "description": "drop reply 20% (...)",
//                ...}, ...],
//    "exercise": {"number": 3, "label": "step 3: ..."}}
//
// A new exercise (a scenario's step, `pacnet chaos clear` or `mark`) starts the counts afresh,
// as the window does (pacnet/window/hud.py follow_exercise). A lost feed is followed again
// (feed.js); meanwhile the page shows what it last said.

import { follow } from "./feed.js";

export const FEED_PATH = "/faults";

/** Whether `next` is a new exercise after `previous`: never on first sight (null). */
export function exerciseBegan(previous, next) {
  return previous !== null && next.number !== previous.number;
}

export class FaultFeed {
  /**
   * @param {(exercise) => void} onExercise called when a new exercise begins: the caller must
   *   start its counts afresh
   */
  constructor(onExercise) {
    this.onExercise = onExercise;
    this.faults = []; // the feed's FaultStatus objects, as it last sent them
    this.exercise = null; // {number, label}; null until the feed first says
    this.connected = false;
  }

  /** Follow the feed; when it is lost, it is followed again by itself. */
  follow() {
    follow(FEED_PATH, (feed) => this.receive(feed), (open) => { this.connected = open; });
  }

  /** One snapshot of the feed; anything that is not one is ignored. */
  receive(feed) {
    if (!Array.isArray(feed?.faults)) return;
    this.faults = feed.faults;
    const exercise = { number: feed.exercise?.number ?? 0, label: feed.exercise?.label ?? "" };
    const began = exerciseBegan(this.exercise, exercise);
    this.exercise = exercise;
    if (began) this.onExercise(exercise);
  }
}
