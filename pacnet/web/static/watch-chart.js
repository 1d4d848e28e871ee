// The room's outcome rates over the last minutes (the `rates` of the /room feed), as a band
// chart: one column a second, split by outcome in proportion to the calls that ended so
// (summed over SMOOTH seconds, so one player's report landing a second late does not flicker).
// The failures are stacked from the bottom and SUCCESS fills the rest, so a fault switched on
// shows as a band of its outcome's colour rising from the floor; a white line marks where each
// exercise began. The text about it (the span, the rate now) is HTML beside it, not drawn.

import { OUTCOMES } from "./watch-panels.js";

const SMOOTH = 3; // bins summed for each column's shares
const BOTTOM_UP = [...OUTCOMES.slice(1).reverse(), OUTCOMES[0]]; // UNKNOWN ... POST_FAILED, SUCCESS

/** Sum the `calls` of `rates[from..to]` (inclusive), by outcome slot. */
export function summed(rates, from, to) {
  const sums = OUTCOMES.map(() => 0);
  for (let i = Math.max(0, from); i <= to; i += 1) {
    rates[i].calls.forEach((n, slot) => { sums[slot] += n; });
  }
  return sums;
}

/** What the chart's line of text says about the last SMOOTH whole bins: calls a second, and
 * the share that did not end in SUCCESS. */
export function rateNow(rates, binS) {
  const last = rates.length - 2; // the last bin is still filling
  if (last < 0) return "";
  const sums = summed(rates, last - SMOOTH + 1, last);
  const total = sums.reduce((a, b) => a + b, 0);
  if (total === 0) return "no calls reported";
  const perSecond = total / (Math.min(SMOOTH, last + 1) * binS);
  const failed = Math.round((100 * (total - sums[0])) / total);
  return `now ${perSecond.toFixed(perSecond < 10 ? 1 : 0)} calls/s, ${failed}% not SUCCESS`;
}

export class RateChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.rates = [];
  }

  /** Take the latest /room snapshot's rates and draw them. */
  update(room) {
    this.rates = room.rates ?? [];
    this.draw();
  }

  draw() {
    const { canvas, ctx, rates } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    ctx.fillStyle = "#0b0b14";
    ctx.fillRect(0, 0, width, height);
    if (rates.length === 0) return;
    const style = getComputedStyle(document.documentElement);
    const colour = Object.fromEntries(OUTCOMES.map((o) => [o, style.getPropertyValue(`--${o}`).trim()]));
    const column = width / rates.length;
    rates.forEach((bin, i) => {
      const sums = summed(rates, i - SMOOTH + 1, i);
      const total = sums.reduce((a, b) => a + b, 0);
      if (total === 0) return; // nobody reported: left dark
      let floor = height;
      const x = Math.floor(i * column);
      const w = Math.floor((i + 1) * column) - x;
      for (const outcome of BOTTOM_UP) {
        const share = sums[OUTCOMES.indexOf(outcome)] / total;
        if (share === 0) continue;
        const h = outcome === "SUCCESS" ? floor : Math.max(1, Math.round(share * height));
        ctx.fillStyle = colour[outcome];
        ctx.fillRect(x, floor - h, w, h);
        floor -= h;
      }
    });
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = Math.max(2, Math.round(2 * ratio));
    rates.forEach((bin, i) => {
      if (i === 0 || bin.exercise === rates[i - 1].exercise) return;
      const x = Math.round(i * column) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, height);
      ctx.stroke();
    });
  }
}
