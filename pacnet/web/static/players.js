// How every screen shows a player: by the name the room knows them by, and in their own colour,
// the window's (pacnet/window/draw.py player_colour): a hue from the CRC-32 of the name's UTF-8
// bytes at 80% saturation, full value.

/** The name a room knows a pac-man or a player by: the player's, and a bot of `pacnet bots`
 * (`bot-TAG-N`, the tag telling one run from another) by its number alone. */
export function shortName(name) {
  return name.replace(/^pacman-/, "").replace(/^bot-[0-9a-f]{6}-(\d+)$/, "bot $1");
}

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** zlib's CRC-32 of `text` as UTF-8. */
export function crc32(text) {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `rgb(r g b)` of the player named `name`, as pygame's HSV conversion gives it. */
export function playerColour(name) {
  const hue = crc32(name) % 360;
  const s = 0.8;
  const v = 1.0;
  const sector = Math.floor(hue / 60);
  const f = hue / 60 - sector;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][sector];
  return `rgb(${Math.trunc(r * 255)} ${Math.trunc(g * 255)} ${Math.trunc(b * 255)})`;
}
