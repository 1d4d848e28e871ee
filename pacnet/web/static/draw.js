// The board on a canvas, in the window's colours (pacnet/window/draw.py): the maze's walls as
// blue lines where a wall meets open floor, the food, the ghosts and the pac-men (ours yellow,
// every other in its player's colour, players.js). Pieces glide toward where the latest reply
// put them. Drawing reads the view; it never changes it.

import { playerColour, shortName } from "./players.js";

export const WALL = "#2121de";
const DOOR = "#ffb8de";
const PELLET = "#ffb897";
const PACMAN = "#ffff00";
const GHOSTS = { blinky: "#ff0000", pinky: "#ffb8ff", inky: "#00ffff", clyde: "#ffb852" };
const FRIGHTENED = "#2121ff";
const FLASH = "#dedeff";
const GLIDE = 12; // per second: how fast a drawn piece closes on its latest position
const ANGLE = { right: 0, up: -Math.PI / 2, left: Math.PI, down: Math.PI / 2 };

export class Painter {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.drawn = new Map(); // piece name -> [x, y] as last drawn, in tiles
    this.last = performance.now();
    this.tile = 16; // pixels per tile, as the latest frame fitted the maze to the canvas
  }

  /** Draw `view` as of `now` (ms); the canvas takes its box's size in device pixels. */
  frame(view, now) {
    const { canvas, ctx } = this;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.round(canvas.clientWidth * ratio);
    const h = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const dt = Math.min(0.25, (now - this.last) / 1000);
    this.last = now;
    if (view.maze === null) return;
    const rows = view.maze.length;
    const cols = rows ? view.maze[0].length : 0;
    const tile = Math.max(4, Math.floor(Math.min(w / cols, h / rows)));
    this.tile = tile;
    ctx.save();
    ctx.translate(Math.floor((w - cols * tile) / 2), Math.floor((h - rows * tile) / 2));
    drawMaze(ctx, view.maze, tile);
    drawFood(ctx, view.food, tile, now);
    for (const ghost of view.ghosts) drawGhost(ctx, this.at(ghost, dt), tile, ghost, now);
    for (const pacman of view.pacmen) {
      drawPacman(ctx, this.at(pacman, dt), tile, pacman, pacman.name === view.me, now);
    }
    ctx.restore();
  }

  // Where to draw a piece: closing on its latest tile; a jump (a tunnel, a restart) is taken
  // at once.
  at(piece, dt) {
    const target = [piece.xPos, piece.yPos];
    const drawn = this.drawn.get(piece.name);
    let point = target;
    if (drawn && Math.abs(drawn[0] - target[0]) + Math.abs(drawn[1] - target[1]) < 2) {
      const k = Math.min(1, dt * GLIDE);
      point = [drawn[0] + (target[0] - drawn[0]) * k, drawn[1] + (target[1] - drawn[1]) * k];
    }
    this.drawn.set(piece.name, point);
    return [(point[0] + 0.5) * this.tile, (point[1] + 0.5) * this.tile];
  }
}

function drawMaze(ctx, maze, tile) {
  const wall = (x, y) => maze[y]?.[x] === "#";
  const inside = (x, y) => y >= 0 && y < maze.length && x >= 0 && x < maze[y].length;
  ctx.lineWidth = Math.max(2, Math.round(tile / 8));
  ctx.lineCap = "round";
  ctx.beginPath();
  ctx.strokeStyle = WALL;
  maze.forEach((row, y) => {
    [...row].forEach((cell, x) => {
      if (cell !== "#") return;
      const cx = (x + 0.5) * tile;
      const cy = (y + 0.5) * tile;
      const reach = tile / 2 - ctx.lineWidth;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        if (wall(x + dx, y + dy) || !inside(x + dx, y + dy)) continue;
        const ex = cx + dx * reach;
        const ey = cy + dy * reach;
        ctx.moveTo(ex - dy * (tile / 2), ey - dx * (tile / 2));
        ctx.lineTo(ex + dy * (tile / 2), ey + dx * (tile / 2));
      }
    });
  });
  ctx.stroke();
  ctx.beginPath();
  ctx.strokeStyle = DOOR;
  maze.forEach((row, y) => {
    [...row].forEach((cell, x) => {
      if (cell !== "-") return;
      ctx.moveTo(x * tile, (y + 0.5) * tile);
      ctx.lineTo((x + 1) * tile, (y + 0.5) * tile);
    });
  });
  ctx.stroke();
}

function drawFood(ctx, food, tile, now) {
  const blink = Math.floor(now / 250) % 2 === 0;
  ctx.fillStyle = PELLET;
  for (const item of food) {
    const energizer = item.kind === ":energizer";
    if (energizer && !blink) continue;
    ctx.beginPath();
    ctx.arc((item.xPos + 0.5) * tile, (item.yPos + 0.5) * tile, energizer ? tile * 0.35 : Math.max(1.5, tile / 10), 0, 2 * Math.PI);
    ctx.fill();
  }
}

function ghostColour(ghost, now) {
  const flashOn = Math.floor(now / 200) % 2 === 0;
  if (ghost.state === "frightened" || (ghost.state === "flashing" && flashOn)) return FRIGHTENED;
  if (ghost.state === "flashing") return FLASH;
  return GHOSTS[ghost.name] ?? "#ffffff";
}

function drawGhost(ctx, [cx, cy], tile, ghost, now) {
  const r = tile * 0.45;
  if (ghost.state !== "eyes") {
    ctx.fillStyle = ghostColour(ghost, now);
    ctx.beginPath();
    ctx.arc(cx, cy - r * 0.1, r, Math.PI, 0);
    ctx.lineTo(cx + r, cy + r);
    for (let i = 1; i <= 4; i++) ctx.lineTo(cx + r - (i * r) / 2, cy + r - (i % 2 ? r * 0.3 : 0));
    ctx.closePath();
    ctx.fill();
  }
  if (ghost.state === "frightened" || ghost.state === "flashing") return;
  const [dx, dy] = { right: [1, 0], left: [-1, 0], up: [0, -1], down: [0, 1] }[ghost.heading ?? "left"];
  for (const ex of [cx - r * 0.4, cx + r * 0.4]) {
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(ex, cy - r * 0.2, r * 0.3, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = WALL;
    ctx.beginPath();
    ctx.arc(ex + dx * r * 0.12, cy - r * 0.2 + dy * r * 0.12, r * 0.15, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function drawPacman(ctx, [cx, cy], tile, pacman, mine, now) {
  const r = tile * 0.48;
  const mouth = Math.abs(Math.sin(now / 80)) * 0.8;
  const facing = ANGLE[pacman.heading ?? "left"];
  const colour = mine ? PACMAN : playerColour(pacman.name); // others as every screen shows them
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.arc(cx, cy, r, facing + mouth, facing - mouth + 2 * Math.PI);
  ctx.closePath();
  ctx.fill();
  if (mine) {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = Math.max(1.5, tile / 10);
    ctx.beginPath();
    ctx.arc(cx, cy, r + tile * 0.18, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.font = `${mine ? "bold " : ""}${Math.max(10, Math.round(tile * 0.6))}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillStyle = mine ? "#fff" : colour;
  ctx.fillText(shortName(pacman.name), cx, cy - r - tile * 0.15);
}
