// Rooms: the named boards one server holds (docs/protocol.md, "Rooms"; pacnet/protocol/rooms.py).
// A page plays in, or shows, the room its own address names, and this module is the one place
// that reads it: /rooms/NAME (the page to play) and /rooms/NAME/watch (the projector's) are room
// NAME's; any other path is the default room's. A room's game and its read-only feeds (/board,
// /room, /keepalive, /truth) answer under its path, the default room's at the bare path, as
// every server serves it there; what belongs to the whole server (/faults, /lobby) has no room.
//
//   page at              game socket     a room's feed
//   /  or /watch         /               /board
//   /rooms/alpha         /rooms/alpha    /rooms/alpha/board
//   /rooms/alpha/watch   (none)          /rooms/alpha/board

export const DEFAULT_ROOM = "main";
const ROOMS_PREFIX = "/rooms/";

/** What may name a room: the server's rule (pacnet/protocol/rooms.py ROOM_NAME, held to it by
 * tests/test_web_rooms.py), so a name the page accepts is one the server accepts. */
export const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const ROOM_NAME_RULE = "1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit";

/** Why `name` cannot name a room, in the server's words, or "" when it can. */
export function roomProblem(name) {
  return ROOM_NAME.test(name) ? "" : `'${name}' cannot name a room: ${ROOM_NAME_RULE}`;
}

/** The room a page at `pathname` belongs to: NAME under /rooms/NAME, else the default room. */
export function roomOf(pathname) {
  if (!pathname.startsWith(ROOMS_PREFIX)) return DEFAULT_ROOM;
  return pathname.slice(ROOMS_PREFIX.length).split("/")[0];
}

/** The path of `path` (`/` the game, `/board` a feed) in `room`: bare in the default room. */
export function roomPath(room, path = "/") {
  if (room === DEFAULT_ROOM) return path;
  return ROOMS_PREFIX + room + (path === "/" ? "" : path);
}

/** The room this page plays in or shows, read from its address once. */
export const ROOM = roomOf(location.pathname);

/** `path` (`/` the game, `/board` a feed) in this page's room. */
export function inRoom(path) {
  return roomPath(ROOM, path);
}

/** The page to play in `room`, with this page's query (`?name=...&retries=off`) kept. */
export function roomPage(room) {
  return roomPath(room) + location.search;
}
