// The whole board for the projector: the maze, food and ghosts as the play page draws them
// (draw.js), the pac-men drawn here, each with its player's name in a label over the canvas
// (HTML, so it stays as large as the rest of the text), both in the player's own colour, the
// one the window gives them (players.js). Labels never pile up: each keeps the
// place it had if that is still free, else takes the first free one around its pac-man (above,
// below, right, left, then the corners, then the same twice and three times as far, with a
// line back to its pac-man), else is left out, and the view says how many are.

import { playerColour, shortName } from "./players.js";
import { Painter } from "./draw.js";

const LABEL_GAP = 4; // CSS px between a label and what it must not cover

export class BoardPicture {
  constructor(canvas, labels) {
    this.canvas = canvas;
    this.labels = labels;
    this.painter = new Painter(canvas);
    this.view = { maze: null, food: [], ghosts: [], pacmen: [], me: null };
    this.pacmen = [];
    this.suspected = new Set();
    this.last = performance.now();
    this.shown = []; // names whose label is on screen now
    this.left = 0; // pac-men whose label found no free place
    this.leaders = [];
    this.placed = new Map();
  }

  /** Take the latest `/board` snapshot. */
  update(board) {
    const of = (kind) => board.entities.filter((e) => e.kind === kind);
    this.view = {
      maze: board.maze, me: null, pacmen: [],
      food: [...of(":pellet"), ...of(":energizer")], ghosts: of(":ghost"),
    };
    this.pacmen = of(":pacman");
  }

  /** Draw the board as of `now` (ms); call once per animation frame. */
  frame(now) {
    const dt = Math.min(0.25, (now - this.last) / 1000);
    this.last = now;
    this.painter.frame(this.view, now);
    if (this.view.maze === null) return;
    const { ctx, tile } = this.painter;
    const [left, top] = this.origin();
    const places = [];
    ctx.save();
    ctx.translate(left, top);
    for (const pacman of this.pacmen) {
      const [x, y] = this.painter.at(pacman, dt);
      drawPacman(ctx, x, y, tile, pacman.heading, playerColour(pacman.name));
      places.push({ name: pacman.name, x: x + left, y: y + top, colour: playerColour(pacman.name) });
    }
    ctx.restore();
    this.placeLabels(places, tile);
    this.drawLeaders(ctx);
  }

  // A line from each pac-man to its label when the label had to stand off.
  drawLeaders(ctx) {
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.lineWidth = Math.max(1, Math.round(1.5 * ratio));
    for (const [x, y, label, colour] of this.leaders) {
      ctx.strokeStyle = colour;
      const tx = Math.min(Math.max(x, label.x), label.x + label.w);
      const ty = Math.min(Math.max(y, label.y), label.y + label.h);
      ctx.beginPath();
      ctx.moveTo(x * ratio, y * ratio);
      ctx.lineTo(tx * ratio, ty * ratio);
      ctx.stroke();
    }
    ctx.restore();
  }

  // Where the maze's top-left corner is on the canvas, in device pixels (as draw.js centres it).
  origin() {
    const { canvas, painter } = this;
    const rows = this.view.maze.length;
    const cols = rows ? this.view.maze[0].length : 0;
    return [Math.floor((canvas.width - cols * painter.tile) / 2), Math.floor((canvas.height - rows * painter.tile) / 2)];
  }

  placeLabels(places, tile) {
    const ratio = window.devicePixelRatio || 1;
    const spans = this.spansFor(places.length);
    const taken = places.map((p) => box(p.x / ratio, p.y / ratio, (tile / ratio) * 0.5));
    this.shown = [];
    this.leaders = [];
    const before = this.placed;
    this.placed = new Map(); // name -> the candidate its label took: kept while it stays free
    places.forEach((place, i) => {
      const span = spans[i];
      const name = shortName(place.name);
      if (span.textContent !== name) span.textContent = name;
      const suspected = this.suspected.has(ownerOf(place.name));
      span.classList.toggle("suspected", suspected);
      const colour = suspected ? "" : place.colour; // a suspect's label is greyed (watch.css)
      if (span.dataset.colour !== colour) {
        span.dataset.colour = colour;
        span.style.color = colour;
      }
      span.hidden = false; // a hidden span measures 0 x 0
      const w = span.offsetWidth;
      const h = span.offsetHeight;
      const cx = place.x / ratio;
      const cy = place.y / ratio;
      const reach = (tile / ratio) * 0.55 + LABEL_GAP;
      const free = (k) => {
        const r = { ...labelBox(cx, cy, w, h, reach, k), k };
        return fits(r, this.labels) && !taken.some((t) => overlaps(r, t)) ? r : null;
      };
      const kept = before?.get(name);
      let spot = kept === undefined ? null : free(kept);
      for (let k = 0; spot === null && k < CANDIDATES; k += 1) spot = free(k);
      span.hidden = spot === null;
      if (spot === null) return;
      span.style.transform = `translate(${Math.round(spot.x)}px, ${Math.round(spot.y)}px)`;
      taken.push(spot);
      this.placed.set(name, spot.k);
      this.shown.push(name);
      if (spot.k >= DIRECTIONS.length) this.leaders.push([cx, cy, spot, place.colour]);
    });
    this.left = places.length - this.shown.length;
  }

  spansFor(n) {
    while (this.labels.children.length < n) {
      const span = document.createElement("span");
      span.style.left = "0";
      span.style.top = "0";
      this.labels.append(span);
    }
    while (this.labels.children.length > n) this.labels.lastChild.remove();
    return [...this.labels.children];
  }
}

// The user a pac-man belongs to (the server names it `pacman-USER`).
function ownerOf(name) {
  return name.replace(/^pacman-/, "");
}

// The label places around a pac-man, in the order they are tried: in each direction, then
// further out; [dx, dy] says which side of the pac-man the label's box stands on.
const DIRECTIONS = [[0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1]];
const RINGS = 3;
const CANDIDATES = DIRECTIONS.length * RINGS;

// Candidate `k`'s box for a w x h label around (cx, cy), `reach` from its centre on the nearest ring.
function labelBox(cx, cy, w, h, reach, k) {
  const [dx, dy] = DIRECTIONS[k % DIRECTIONS.length];
  const far = reach * (1 + 2 * Math.floor(k / DIRECTIONS.length));
  const x = dx === 0 ? cx - w / 2 : dx > 0 ? cx + far : cx - far - w;
  const y = dy === 0 ? cy - h / 2 : dy > 0 ? cy + far : cy - far - h;
  return { x, y, w, h };
}

function box(cx, cy, r) {
  return { x: cx - r, y: cy - r, w: 2 * r, h: 2 * r };
}

function overlaps(a, b) {
  return a.x < b.x + b.w + LABEL_GAP && b.x < a.x + a.w + LABEL_GAP && a.y < b.y + b.h && b.y < a.y + a.h;
}

function fits(r, container) {
  return r.x >= 0 && r.y >= 0 && r.x + r.w <= container.clientWidth && r.y + r.h <= container.clientHeight;
}

const FACING = { right: [1, 0], up: [0, -1], left: [-1, 0], down: [0, 1] };

// A plain disc with its mouth cut out, open: no chomping, so a still projector frame reads clearly.
function drawPacman(ctx, cx, cy, tile, heading, colour) {
  const [dx, dy] = FACING[heading ?? "left"];
  const r = tile * 0.5;
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = "#000";
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(cx + r * (dx - 0.7 * dy) * 1.1, cy + r * (dy - 0.7 * dx) * 1.1);
  ctx.lineTo(cx + r * (dx + 0.7 * dy) * 1.1, cy + r * (dy + 0.7 * dx) * 1.1);
  ctx.fill();
}
