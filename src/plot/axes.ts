/**
 * Chart frames: a plot area inside margins, linear or log data-to-pixel
 * scales, "nice" tick values (Heckbert, "Nice numbers for graph labels",
 * Graphics Gems, 1990: steps of 1, 2 or 5 × 10ᵏ), tick labels, axis labels,
 * a title and a legend, all drawn on a `Canvas`.
 */
import { Canvas, BLACK, GREY, LIGHT_GREY, WHITE, type Rgb } from './canvas.js';
import { GLYPH_H, textWidth } from './font.js';

export interface Range {
  lo: number;
  hi: number;
}

export interface FrameOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  x: Range;
  y: Range;
  /** logarithmic y axis (the range must be positive) */
  logY?: boolean;
  /** draw grid lines at the ticks (default true) */
  grid?: boolean;
  /** pixels kept free right of the plot area (default 16; a colour bar needs more) */
  rightPad?: number;
}

/** Nice tick values covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Tick values for a log axis: the powers of ten in range (or 1-2-5 within a decade). */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const out: number[] = [];
  const mults = b - a <= 1 ? [1, 2, 5] : [1];
  for (let k = a; k <= b; k++) for (const m of mults) {
    const v = m * 10 ** k;
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out.length ? out : [lo, hi];
}

/** A short label for a tick value: fixed digits for moderate magnitudes, else exponent form. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** A range padded by a fraction of its width (and widened when empty), ignoring non-finite values. */
export function paddedRange(values: Iterable<number>, pad = 0.05): Range {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return { lo: 0, hi: 1 };
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) return { lo: lo - 1, hi: hi + 1 };
  const p = (hi - lo) * pad;
  return { lo: lo - p, hi: hi + p };
}

/** A canvas with a framed plot area and the maps from data to pixels. */
export class Frame {
  readonly canvas: Canvas;
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly opts: FrameOptions;

  constructor(opts: FrameOptions) {
    const width = opts.width ?? 640;
    const height = opts.height ?? 480;
    if (opts.logY && !(opts.y.lo > 0)) throw new Error(`plot: a log y axis needs a positive range, got [${opts.y.lo}, ${opts.y.hi}]`);
    this.opts = opts;
    this.canvas = new Canvas(width, height);
    this.left = opts.yLabel ? 74 : 60;
    this.top = opts.title ? 34 : 14;
    this.right = width - (opts.rightPad ?? 16);
    this.bottom = height - (opts.xLabel ? 46 : 30);
    if (this.right - this.left < 20 || this.bottom - this.top < 20) throw new Error(`plot: ${width}×${height} is too small for a chart`);
  }

  /** data x → pixel column */
  px(x: number): number {
    const { lo, hi } = this.opts.x;
    return this.left + ((x - lo) / (hi - lo)) * (this.right - this.left);
  }

  /** data y → pixel row (up is larger) */
  py(y: number): number {
    let { lo, hi } = this.opts.y;
    let v = y;
    if (this.opts.logY) {
      [lo, hi, v] = [Math.log10(lo), Math.log10(hi), y > 0 ? Math.log10(y) : -Infinity];
    }
    return this.bottom - ((v - lo) / (hi - lo)) * (this.bottom - this.top);
  }

  /** Ticks, grid, frame, labels and title (call before or after the data; grid lines are light). */
  drawAxes(): void {
    const c = this.canvas;
    const { x, y, logY } = this.opts;
    const grid = this.opts.grid ?? true;
    const xt = niceTicks(x.lo, x.hi, Math.max(2, Math.floor((this.right - this.left) / 80)));
    const yt = logY ? logTicks(y.lo, y.hi) : niceTicks(y.lo, y.hi, Math.max(2, Math.floor((this.bottom - this.top) / 60)));
    for (const v of xt) {
      const p = Math.round(this.px(v));
      if (grid) c.fillRect(p, this.top, 1, this.bottom - this.top, LIGHT_GREY);
      c.fillRect(p, this.bottom, 1, 5, BLACK);
      c.text(p, this.bottom + 8, formatTick(v), { align: 'center' });
    }
    for (const v of yt) {
      const p = Math.round(this.py(v));
      if (grid) c.fillRect(this.left, p, this.right - this.left, 1, LIGHT_GREY);
      c.fillRect(this.left - 5, p, 5, 1, BLACK);
      c.text(this.left - 8, p, formatTick(v), { align: 'right', baseline: 'middle' });
    }
    c.strokeRect(this.left, this.top, this.right - this.left + 1, this.bottom - this.top + 1, BLACK);
    if (this.opts.title) {
      // large when it fits the width, else the plain size
      const big = textWidth(this.opts.title, 2) <= c.width - 16;
      c.text(c.width / 2, big ? 10 : 14, this.opts.title, { align: 'center', scale: big ? 2 : 1 });
    }
    if (this.opts.xLabel) c.text((this.left + this.right) / 2, c.height - 16, this.opts.xLabel, { align: 'center' });
    if (this.opts.yLabel) c.text(14, (this.top + this.bottom) / 2, this.opts.yLabel, { vertical: true });
  }

  /** A legend box in the plot area's top-right corner. */
  legend(entries: readonly { label: string; color: Rgb }[]): void {
    if (entries.length === 0) return;
    const c = this.canvas;
    const w = Math.max(...entries.map((e) => textWidth(e.label))) + 30;
    const h = entries.length * (GLYPH_H + 6) + 6;
    const x = this.right - w - 6;
    const y = this.top + 6;
    c.fillRect(x, y, w, h, WHITE, 0.85);
    c.strokeRect(x, y, w, h, GREY);
    entries.forEach((e, i) => {
      const row = y + 6 + i * (GLYPH_H + 6);
      c.fillRect(x + 6, row + 1, 12, GLYPH_H - 2, e.color);
      c.text(x + 24, row, e.label);
    });
  }

  /** Run draw() with the canvas clipped to the plot area (data never spills over the axes). */
  clipped(draw: () => void): void {
    const c = this.canvas;
    const prev = c.clip;
    c.clip = { x0: this.left + 1, y0: this.top + 1, x1: this.right - 1, y1: this.bottom - 1 };
    try {
      draw();
    } finally {
      c.clip = prev;
    }
  }

  /** True when pixel (x, y) is inside the plot area. */
  inside(x: number, y: number): boolean {
    return x >= this.left && x <= this.right && y >= this.top && y <= this.bottom;
  }
}
