// The read-only feeds the projector follows, on the page's own server: each a WebSocket that
// sends a JSON snapshot a few times a second. A feed that drops is opened again after a short
// jittered backoff, so a room full of projectors (or one restarted server) is not hit at once.

const FIRST_WAIT = 500; // ms before the first retry
const LONGEST_WAIT = 5000; // ms: the backoff's cap, so the view comes back soon after the server

/** The URL of `path` as a WebSocket on the page's own server. */
export function feedUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * Follow the feed at `path`: `onSnapshot(object)` for every message, `onState(open)` whenever
 * the feed opens or drops. Runs until the page closes.
 */
export function follow(path, onSnapshot, onState) {
  let failures = 0;
  const open = () => {
    const socket = new WebSocket(feedUrl(path));
    socket.onopen = () => {
      failures = 0;
      onState(true);
    };
    socket.onmessage = (event) => onSnapshot(JSON.parse(event.data));
    socket.onclose = () => {
      onState(false);
      const wait = Math.min(LONGEST_WAIT, FIRST_WAIT * 2 ** failures) * (0.5 + Math.random());
      failures += 1;
      setTimeout(open, wait);
    };
  };
  open();
}
