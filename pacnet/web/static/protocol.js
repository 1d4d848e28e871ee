// The wire, version 1 (docs/protocol.md): requests built, replies checked for their shape.
//
// A reply is checked as pacnet's own client checks it (pacnet/protocol/models.py): every
// field its action's reply must have, each of its type, and no field the protocol does not
// name. A reply that fails is unreadable: the caller cannot know what the server said.

export const VERSION = 1;
export const ARTICLE_CALLS = ["find", "move", "findAll", "remove"];
export const DIRECTIONS = ["up", "down", "left", "right"];

const MAX_ID = 64;

// The length of a string in characters (code points), as the server counts it.
const length = (s) => [...s].length;

/** Why `name` cannot be a userId, or "" when it can (1 to 64 characters). */
export function nameProblem(name) {
  if (typeof name !== "string" || length(name) === 0) {
    return "a name is 1 to 64 characters; this one is empty";
  }
  if (length(name) > MAX_ID) {
    return `a name is 1 to 64 characters; this one has ${length(name)}`;
  }
  return "";
}

/** Request ids unique to this page: a random prefix, then a counter. */
export function requestIds() {
  const prefix = Math.random().toString(36).slice(2, 8);
  let n = 0;
  return () => `${prefix}-${++n}`;
}

/** One request frame's object: `{v, action, requestId, userId, ...fields}`. */
export function request(action, requestId, userId, fields = {}) {
  const message = { v: VERSION, action, requestId, userId };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) message[key] = value;
  }
  return message;
}

// --- the shape of a reply: each field a check, required or optional -------------------

const isInt = (v, lo, hi = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= lo && v <= hi;
const id = (v) => typeof v === "string" && length(v) >= 1 && length(v) <= MAX_ID;
const kind = (v) => typeof v === "string" && /^:[a-z]{1,32}$/.test(v);
const tile = (v) => isInt(v, 0, 10000);
const count = (v) => isInt(v, 0);
const bool = (v) => typeof v === "boolean";
const num = (v) => typeof v === "number" && Number.isFinite(v);
const positive = (v) => num(v) && v > 0;
const orNull = (check) => (v) => v === null || check(v);
const oneOf = (values) => (v) => values.includes(v);
const listOf = (check) => (v) => Array.isArray(v) && v.every(check);
const mazeRow = (v) => typeof v === "string" && /^[# -]*$/.test(v);

const need = (check) => ({ required: true, check });
const may = (check) => ({ required: false, check });

const PIECE = {
  heading: may(orNull(oneOf(DIRECTIONS))),
  state: may(orNull(oneOf(["normal", "frightened", "flashing", "eyes"]))),
  score: may(orNull(count)),
  lives: may(orNull(count)),
  lastSeq: may(orNull(count)),
  offset: may(orNull((v) => num(v) && v >= -0.5 && v <= 0.5)),
  moving: may(orNull(bool)),
};

const ENTITY = { name: need(id), kind: need(kind), xPos: need(tile), yPos: need(tile), ...PIECE };

const OK = {
  v: need((v) => v === VERSION),
  requestId: need(id),
  clock: need(count),
  status: need((v) => v === "ok"),
};

/** Every field of each action's ok reply (the models' `<Action>Reply`). */
export const OK_REPLIES = {
  join: {
    ...OK,
    name: need(id),
    sessionToken: need(id),
    width: need(tile),
    height: need(tile),
    maze: need(listOf(mazeRow)),
    resumed: may(bool),
    score: may(orNull(count)),
    lives: may(orNull(count)),
    tickRate: may(orNull(positive)),
    pacmanSpeed: may(orNull(positive)),
  },
  find: { ...OK, ...ENTITY },
  move: { ...OK, xPos: need(tile), yPos: need(tile), lastSeq: may(orNull(count)) },
  findAll: {
    ...OK,
    entities: need(listOf((e) => fits(e, ENTITY) === "")),
    level: may(orNull((v) => isInt(v, 1))),
  },
  remove: { ...OK, removed: need(bool) },
  ping: OK,
  leave: OK,
  report: OK,
};

/** The fields of an error reply's `error` body; `codes` are the error codes the protocol has. */
export function errorBodyFields(codes) {
  return { code: need(oneOf(codes)), retryable: need(bool), message: need((v) => typeof v === "string") };
}

/** The fields of an error reply. */
export function errorReplyFields(codes) {
  const body = errorBodyFields(codes);
  return {
    v: need((v) => v === VERSION),
    requestId: need(orNull(id)),
    clock: need(count),
    status: need((v) => v === "error"),
    error: need((v) => fits(v, body) === ""),
    retryAfterMs: may(orNull(count)),
  };
}

/** "" when `data` has exactly the `fields` (each passing its check), else what is wrong. */
export function fits(data, fields) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return "not a JSON object";
  for (const [name, field] of Object.entries(fields)) {
    if (!(name in data)) {
      if (field.required) return `no "${name}"`;
    } else if (!field.check(data[name])) {
      return `"${name}" is not what the protocol says`;
    }
  }
  const unknown = Object.keys(data).find((name) => !(name in fields));
  return unknown === undefined ? "" : `an unknown field "${unknown}"`;
}

/** "" when `data` is a valid reply to `action` (ok or error), else why not. */
export function replyProblem(action, data, codes) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return "not a JSON object";
  if (data.v !== VERSION) return `version ${JSON.stringify(data.v)}, not ${VERSION}`;
  if (data.status === "error") return fits(data, errorReplyFields(codes));
  return fits(data, OK_REPLIES[action]);
}
