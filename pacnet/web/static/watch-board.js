// The whole board for the projector: the maze, food and ghosts as the play page draws them
// (draw.js), the pac-men drawn here, each with its player's name in a label over the canvas
// (HTML, so it stays as large as the rest of the text). Labels never pile up: each takes the
// first free place around its pac-man (above, below, right, left) or is left out.

import { Painter } from "./draw.js";

const PACMAN = "#ffff00";
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
      drawPacman(ctx, x, y, tile, pacman.heading);
      places.push({ name: pacman.name, x: x + left, y: y + top });
    }
    ctx.restore();
    this.placeLabels(places, tile);
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
    places.forEach((place, i) => {
      const span = spans[i];
      const name = shortName(place.name);
      if (span.textContent !== name) span.textContent = name;
      span.classList.toggle("suspected", this.suspected.has(ownerOf(place.name)));
      const w = span.offsetWidth;
      const h = span.offsetHeight;
      const cx = place.x / ratio;
      const cy = place.y / ratio;
      const reach = (tile / ratio) * 0.55 + LABEL_GAP;
      const candidates = [
        [cx - w / 2, cy - reach - h], [cx - w / 2, cy + reach],
        [cx + reach, cy - h / 2], [cx - reach - w, cy - h / 2],
      ];
      const free = candidates.map(([x, y]) => ({ x, y, w, h })).find((r) => fits(r, this.labels) && !taken.some((t) => overlaps(r, t)));
      span.hidden = free === undefined;
      if (free === undefined) return;
      span.style.transform = `translate(${Math.round(free.x)}px, ${Math.round(free.y)}px)`;
      taken.push(free);
      this.shown.push(name);
    });
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

/** The name a room knows a pac-man by: its player's. */
export function shortName(name) {
  return name.replace(/^pacman-/, "");
}

function ownerOf(name) {
  return shortName(name);
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
function drawPacman(ctx, cx, cy, tile, heading) {
  const [dx, dy] = FACING[heading ?? "left"];
  const r = tile * 0.5;
  ctx.fillStyle = PACMAN;
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
