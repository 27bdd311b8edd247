/**
 * Horizontal bar charts: one labelled bar per category, for comparisons
 * such as the held-out bits per byte of every mixer (docs/models.md).
 * Horizontal because the category names (mixer names) are long and read
 * better on the left than turned under an x axis; the bars start at zero so
 * their lengths compare (a bar chart cut above zero exaggerates differences).
 */
import { Canvas, BLACK, LIGHT_GREY, PALETTE, type Rgb } from './canvas.js';
import { formatTick, niceTicks } from './axes.js';
import { GLYPH_H, textWidth } from './font.js';

export interface Bar {
  label: string;
  value: number;
  color?: Rgb;
}

export interface BarChartOptions {
  width?: number;
  /** pixels per bar row (default 18) */
  rowHeight?: number;
  title?: string;
  xLabel?: string;
  /** write each bar's value at its end (default true), with this many decimals (default 3) */
  values?: boolean;
  decimals?: number;
  /** the x axis' upper end (default: the largest value, rounded up to a tick) */
  max?: number;
  /** colour key drawn in the top-right corner of the plot area (put the short bars first) */
  legend?: readonly { label: string; color: Rgb }[];
}

/** A horizontal bar chart of non-negative values, bars in the order given (top to bottom). */
export function barChart(bars: readonly Bar[], opts: BarChartOptions = {}): Canvas {
  if (bars.length === 0) throw new Error('barChart: no bars to draw');
  bars.forEach((b) => {
    if (!(Number.isFinite(b.value) && b.value >= 0)) throw new Error(`barChart: bar '${b.label}' has value ${b.value}; values must be finite and ≥ 0`);
  });
  const width = opts.width ?? 640;
  const row = opts.rowHeight ?? 18;
  const decimals = opts.decimals ?? 3;
  const showValues = opts.values ?? true;
  const top = opts.title ? 34 : 12;
  const left = Math.max(...bars.map((b) => textWidth(b.label))) + 16;
  const valueRoom = showValues ? textWidth((opts.max ?? Math.max(...bars.map((b) => b.value))).toFixed(decimals)) + 10 : 0;
  const right = width - 12 - valueRoom;
  if (right - left < 40) throw new Error(`barChart: width ${width} leaves no room for bars next to labels of ${left} px`);
  const bottom = top + bars.length * row;
  const height = bottom + (opts.xLabel ? 46 : 30);
  const c = new Canvas(width, height);

  const hi = opts.max ?? Math.max(...bars.map((b) => b.value));
  // the axis ends on a tick at or above the largest value, so every bar and its value fit
  const rough = niceTicks(0, hi > 0 ? hi : 1, Math.max(2, Math.floor((right - left) / 80)));
  const step = rough.length > 1 ? rough[1]! - rough[0]! : 1;
  const span = opts.max ?? Math.ceil((hi > 0 ? hi : 1) / step - 1e-9) * step;
  const ticks = niceTicks(0, span, Math.max(2, Math.floor((right - left) / 80)));
  const px = (v: number): number => left + (v / span) * (right - left);

  for (const v of ticks) {
    const p = Math.round(px(v));
    c.fillRect(p, top, 1, bottom - top, LIGHT_GREY);
    c.fillRect(p, bottom, 1, 5, BLACK);
    c.text(p, bottom + 8, formatTick(v), { align: 'center' });
  }
  bars.forEach((b, i) => {
    const y = top + i * row;
    const h = Math.max(2, row - 6);
    const w = Math.round(px(b.value) - left);
    c.fillRect(left, y + 3, w, h, b.color ?? PALETTE[0]!);
    c.text(left - 8, y + row / 2, b.label, { align: 'right', baseline: 'middle' });
    if (showValues) c.text(left + w + 5, y + row / 2, b.value.toFixed(decimals), { baseline: 'middle' });
  });
  c.fillRect(left, top, 1, bottom - top + 1, BLACK);
  c.fillRect(left, bottom, right - left + 1, 1, BLACK);
  const key = opts.legend ?? [];
  if (key.length) {
    const kw = Math.max(...key.map((e) => textWidth(e.label))) + 30;
    const kh = key.length * (GLYPH_H + 6) + 6;
    const kx = right - kw - 4;
    const ky = top + 4;
    c.fillRect(kx, ky, kw, kh, [255, 255, 255], 0.9);
    c.strokeRect(kx, ky, kw, kh, LIGHT_GREY);
    key.forEach((e, i) => {
      const r = ky + 6 + i * (GLYPH_H + 6);
      c.fillRect(kx + 6, r + 1, 12, GLYPH_H - 2, e.color);
      c.text(kx + 24, r, e.label);
    });
  }
  if (opts.title) {
    const big = textWidth(opts.title, 2) <= width - 16;
    c.text(width / 2, big ? 10 : 14, opts.title, { align: 'center', scale: big ? 2 : 1 });
  }
  if (opts.xLabel) c.text((left + right) / 2, height - 16, opts.xLabel, { align: 'center' });
  return c;
}
