/**
 * The charts of the generative commands, each returning a `Canvas` (call
 * `.toPng()` for the file):
 *
 * - `scatterPlot`: 2-D point clouds (samples against data);
 * - `linePlot`: curves such as the training loss, optionally on a log axis;
 * - `heatmap`: a scalar field on a grid (a model's density, or a 2-D
 *   histogram of samples) in the viridis colour map, with a colour bar;
 * - `trajectoryPlot`: sampler paths from noise to data;
 * - `imageGrid`: a batch of images (n, c, h, w) tiled in a grid.
 *
 * Points are (n, 2) row-major arrays (x₀, y₀, x₁, y₁, …), as `Tensor.toF64()` gives them.
 */
import { Canvas, BLACK, GREY, PALETTE, WHITE, type Rgb } from './canvas.js';
import { Frame, formatTick, paddedRange, type Range } from './axes.js';

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** fixed data ranges (default: fitted to the data) */
  x?: Range;
  y?: Range;
}

export interface PointSeries {
  /** (n, 2) row-major */
  points: ArrayLike<number>;
  label?: string;
  color?: Rgb;
  /** disc radius in pixels (default 1.6) */
  radius?: number;
  /** opacity (default 0.6) */
  alpha?: number;
}

const xsOf = (p: ArrayLike<number>): number[] => Array.from({ length: p.length >> 1 }, (_, i) => p[2 * i]!);
const ysOf = (p: ArrayLike<number>): number[] => Array.from({ length: p.length >> 1 }, (_, i) => p[2 * i + 1]!);

function checkPoints(fn: string, p: ArrayLike<number>): void {
  if (p.length % 2 !== 0) throw new Error(`${fn}: points must be (n, 2) row-major, got ${p.length} values`);
}

/** A common square-ish range for 2-D data: both axes get the same padded span so shapes are not distorted. */
export function squareRange(points: readonly ArrayLike<number>[]): { x: Range; y: Range } {
  const x = paddedRange(points.flatMap(xsOf));
  const y = paddedRange(points.flatMap(ysOf));
  const half = Math.max(x.hi - x.lo, y.hi - y.lo) / 2;
  const cx = (x.lo + x.hi) / 2;
  const cy = (y.lo + y.hi) / 2;
  return { x: { lo: cx - half, hi: cx + half }, y: { lo: cy - half, hi: cy + half } };
}

/** Scatter plots of one or more point clouds. */
export function scatterPlot(series: readonly PointSeries[], opts: ChartOptions = {}): Canvas {
  series.forEach((s) => checkPoints('scatterPlot', s.points));
  const r = opts.x && opts.y ? { x: opts.x, y: opts.y } : squareRange(series.map((s) => s.points));
  const f = new Frame({ ...opts, width: opts.width ?? 560, height: opts.height ?? 560, x: opts.x ?? r.x, y: opts.y ?? r.y });
  f.drawAxes();
  f.clipped(() =>
    series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length]!;
      const p = s.points;
      for (let i = 0; i + 1 < p.length; i += 2) {
        const X = f.px(p[i]!);
        const Y = f.py(p[i + 1]!);
        if (f.inside(X, Y)) f.canvas.disc(X, Y, s.radius ?? 1.6, color, s.alpha ?? 0.6);
      }
    }),
  );
  f.legend(series.filter((s) => s.label).map((s) => ({ label: s.label!, color: s.color ?? PALETTE[series.indexOf(s) % PALETTE.length]! })));
  return f.canvas;
}

export interface LineSeries {
  /** x values (default 0, 1, 2, …) */
  xs?: ArrayLike<number>;
  ys: ArrayLike<number>;
  label?: string;
  color?: Rgb;
  width?: number;
}

/** Line charts (loss curves); `logY` puts y on a log scale (non-positive values are skipped). */
export function linePlot(series: readonly LineSeries[], opts: ChartOptions & { logY?: boolean } = {}): Canvas {
  if (series.length === 0 || series.every((s) => s.ys.length === 0)) throw new Error('linePlot: nothing to draw (every series is empty)');
  const xsFor = (s: LineSeries): ArrayLike<number> => s.xs ?? Array.from({ length: s.ys.length }, (_, i) => i);
  series.forEach((s) => {
    if (s.xs && s.xs.length !== s.ys.length) throw new Error(`linePlot: a series has ${s.xs.length} x values and ${s.ys.length} y values`);
  });
  const allY = series.flatMap((s) => Array.from(s.ys)).filter((v) => Number.isFinite(v) && (!opts.logY || v > 0));
  let y = opts.y ?? paddedRange(allY);
  if (opts.logY && !opts.y) {
    const lo = Math.min(...allY);
    const hi = Math.max(...allY);
    y = allY.length ? { lo: lo / 1.1, hi: hi * 1.1 } : { lo: 0.1, hi: 1 };
  }
  const x = opts.x ?? paddedRange(series.flatMap((s) => Array.from(xsFor(s))), 0.02);
  const f = new Frame({ ...opts, width: opts.width ?? 640, height: opts.height ?? 400, x, y, logY: opts.logY });
  f.drawAxes();
  f.clipped(() =>
    series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length]!;
      const xs = xsFor(s);
      const px = Array.from(xs, (v) => f.px(v));
      const py = Array.from(s.ys, (v) => (opts.logY && !(v > 0) ? NaN : f.py(v)));
      f.canvas.polyline(px, py, color, { width: s.width ?? 1.5 });
    }),
  );
  f.legend(series.filter((s) => s.label).map((s) => ({ label: s.label!, color: s.color ?? PALETTE[series.indexOf(s) % PALETTE.length]! })));
  return f.canvas;
}

/**
 * Viridis (van der Walt & Smith, matplotlib 2.0's default map), sampled at
 * nine evenly spaced points of the published table and interpolated linearly.
 */
const VIRIDIS: readonly Rgb[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** The colour of u ∈ [0, 1] in viridis (clamped). */
export function viridis(u: number): Rgb {
  const t = Math.max(0, Math.min(1, Number.isFinite(u) ? u : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export interface HeatmapOptions extends ChartOptions {
  /** the data ranges the grid covers (required: cell (0, 0) is at x.lo, y.lo) */
  x: Range;
  y: Range;
  /** label of the colour bar */
  valueLabel?: string;
}

/** A scalar field `values` on a gridW × gridH grid (row 0 at y.lo), coloured by viridis over its min…max. */
export function heatmap(values: ArrayLike<number>, gridW: number, gridH: number, opts: HeatmapOptions): Canvas {
  if (values.length !== gridW * gridH) throw new Error(`heatmap: ${values.length} values for a ${gridW}×${gridH} grid`);
  const finite = Array.from(values).filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 1;
  // the colour bar sits in the right margin
  const f = new Frame({ ...opts, width: opts.width ?? 620, height: opts.height ?? 560, grid: false, rightPad: 76 });
  const barW = 14;
  const sx = (f.right - f.left) / gridW;
  const sy = (f.bottom - f.top) / gridH;
  for (let j = 0; j < gridH; j++) {
    for (let i = 0; i < gridW; i++) {
      const v = values[j * gridW + i]!;
      const col = Number.isFinite(v) ? viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5) : GREY;
      f.canvas.fillRect(f.left + i * sx, f.bottom - (j + 1) * sy, Math.ceil(sx), Math.ceil(sy), col);
    }
  }
  f.drawAxes();
  const bx = f.right + 22;
  for (let r = f.top; r <= f.bottom; r++) f.canvas.fillRect(bx, r, barW, 1, viridis((f.bottom - r) / (f.bottom - f.top)));
  f.canvas.strokeRect(bx, f.top, barW, f.bottom - f.top + 1, BLACK);
  f.canvas.text(bx + barW / 2, f.top - 10, formatTick(hi), { align: 'center' });
  f.canvas.text(bx + barW / 2, f.bottom + 4, formatTick(lo), { align: 'center' });
  if (opts.valueLabel) f.canvas.text(bx + barW + 10, (f.top + f.bottom) / 2, opts.valueLabel, { vertical: true });
  return f.canvas;
}

/** A 2-D histogram of points (counts per cell, row 0 at y.lo) for `heatmap`. */
export function histogram2d(points: ArrayLike<number>, bins: number, x: Range, y: Range): Float64Array {
  checkPoints('histogram2d', points);
  const h = new Float64Array(bins * bins);
  for (let k = 0; k + 1 < points.length; k += 2) {
    const i = Math.floor(((points[k]! - x.lo) / (x.hi - x.lo)) * bins);
    const j = Math.floor(((points[k + 1]! - y.lo) / (y.hi - y.lo)) * bins);
    if (i >= 0 && i < bins && j >= 0 && j < bins) h[j * bins + i]!++;
  }
  return h;
}

/**
 * Sampler trajectories: `frames[s]` holds every particle's position after
 * step s ((n, 2) row-major, s = 0 the start). Paths are grey lines, starts
 * light, ends in colour.
 */
export function trajectoryPlot(frames: readonly ArrayLike<number>[], opts: ChartOptions & { maxPaths?: number } = {}): Canvas {
  if (frames.length < 2) throw new Error(`trajectoryPlot: needs at least 2 frames (start and end), got ${frames.length}`);
  frames.forEach((fr) => checkPoints('trajectoryPlot', fr));
  const n = frames[0]!.length >> 1;
  if (frames.some((fr) => fr.length >> 1 !== n)) throw new Error('trajectoryPlot: every frame must hold the same number of points');
  const m = Math.min(n, opts.maxPaths ?? 256);
  const last = frames[frames.length - 1]!;
  const r = opts.x && opts.y ? { x: opts.x, y: opts.y } : squareRange([frames[0]!, last].map((p) => Array.from(p).slice(0, 2 * m)));
  const f = new Frame({ ...opts, width: opts.width ?? 560, height: opts.height ?? 560, x: opts.x ?? r.x, y: opts.y ?? r.y });
  f.drawAxes();
  f.clipped(() => {
    for (let i = 0; i < m; i++) {
      const xs = frames.map((fr) => f.px(fr[2 * i]!));
      const ys = frames.map((fr) => f.py(fr[2 * i + 1]!));
      f.canvas.polyline(xs, ys, GREY, { alpha: 0.35 });
    }
    for (let i = 0; i < m; i++) {
      f.canvas.disc(f.px(frames[0]![2 * i]!), f.py(frames[0]![2 * i + 1]!), 1.4, PALETTE[5]!, 0.6);
      f.canvas.disc(f.px(last[2 * i]!), f.py(last[2 * i + 1]!), 1.8, PALETTE[1]!, 0.9);
    }
  });
  f.legend([
    { label: 'start (noise)', color: PALETTE[5]! },
    { label: 'end (sample)', color: PALETTE[1]! },
  ]);
  return f.canvas;
}

export interface ImageGridOptions {
  /** images per row (default ⌈√n⌉) */
  cols?: number;
  /** pixels per image pixel (default: so that an image is about 64 pixels wide) */
  scale?: number;
  /** the value range mapped to black…white (default [0, 1]; [-1, 1] for centred data) */
  range?: Range;
  /** pixels between images (default 2) */
  gap?: number;
}

/** Tile n images (n, c, h, w) row-major, c = 1 (grey) or 3 (RGB), into one picture. */
export function imageGrid(values: ArrayLike<number>, shape: readonly [number, number, number, number], opts: ImageGridOptions = {}): Canvas {
  const [n, c, h, w] = shape;
  if (![n, c, h, w].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`imageGrid: shape must be 4 positive integers (n, c, h, w), got [${shape.join(', ')}]`);
  if (c !== 1 && c !== 3) throw new Error(`imageGrid: images need 1 or 3 channels, got ${c}`);
  if (values.length !== n * c * h * w) throw new Error(`imageGrid: ${values.length} values for shape [${shape.join(', ')}]`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const s = opts.scale ?? Math.max(1, Math.round(64 / w));
  const gap = opts.gap ?? 2;
  const { lo, hi } = opts.range ?? { lo: 0, hi: 1 };
  const canvas = new Canvas(cols * (w * s + gap) + gap, rows * (h * s + gap) + gap, WHITE);
  const byte = (v: number): number => Math.round(255 * Math.max(0, Math.min(1, (v - lo) / (hi - lo))));
  for (let k = 0; k < n; k++) {
    const ox = gap + (k % cols) * (w * s + gap);
    const oy = gap + Math.floor(k / cols) * (h * s + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = (ch: number): number => byte(values[((k * c + ch) * h + y) * w + x]!);
        const col: Rgb = c === 1 ? [at(0), at(0), at(0)] : [at(0), at(1), at(2)];
        canvas.fillRect(ox + x * s, oy + y * s, s, s, col);
      }
    }
  }
  return canvas;
}
