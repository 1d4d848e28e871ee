// The server's read-only feeds (/faults, /room, /board, /keepalive), followed from a page: each
// a WebSocket on the page's own server that sends a JSON snapshot on connect and then a few
// times a second or on every change. A feed that drops is opened again after the game socket's
// jittered backoff (remote.js reconnectWait), so a room full of pages and projectors is not
// all at a restarted server at once.

import { reconnectWait } from "./remote.js";

/** The URL of `path` as a WebSocket on the page's own server (the game's, or a feed's), or on
 * `host` (HOST:PORT) if given. */
export function socketUrl(path, host = location.host) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${host}${path}`;
}

/**
 * Follow the feed at `path` (on `host`, HOST:PORT, if not the page's own server):
 * `onSnapshot(object)` for every message that is JSON, `onState(open)` whenever the feed opens
 * or drops. Runs until the page closes.
 */
export function follow(path, onSnapshot, onState = () => {}, host = location.host) {
  let failedTries = 0;
  const open = () => {
    const socket = new WebSocket(socketUrl(path, host));
    let opened = false;
    socket.onopen = () => {
      opened = true;
      failedTries = 0;
      onState(true);
    };
    socket.onmessage = (event) => {
      let snapshot;
      try {
        snapshot = JSON.parse(event.data);
      } catch {
        return; // not a snapshot: the last one stays shown
      }
      onSnapshot(snapshot);
    };
    socket.onclose = () => {
      if (opened) onState(false);
      else failedTries += 1;
      setTimeout(open, reconnectWait(failedTries));
    };
  };
  open();
}
