/**
 * "Draw your own distribution": the strokes a user draws on the page become
 * a point set, and a data set samples from it — a uniformly chosen point of
 * the drawing plus small Gaussian jitter, i.e. the kernel density estimate
 * (1/N)·Σᵢ N(x; pᵢ, h²I) of the drawing with bandwidth h (Parzen 1962).
 *
 * The strokes are resampled at equal arc length, so the density along a line
 * does not depend on how fast the pointer moved, and the point set is
 * centred and scaled (one factor for both axes, keeping the shape) to an
 * overall standard deviation of 1.5, the middle of the toy sets' 0.7–2.3,
 * inside the [−4, 4]² box the panel plots. Free of DOM APIs: Node tests run it.
 */
import type { Key } from '../../src/core/random.js';
import * as prng from '../../src/core/random.js';
import { defaultFloat, tensor } from '../../src/ops/creation.js';
import { TOY_DATASETS, type ToyDataset } from '../../src/zoo/data/toy2d.js';

/** The name of the drawn data set in the data menu and the train message. */
export const DRAWN = 'drawn';

/** Target overall standard deviation and half-width of the box the drawing is scaled into. */
const TARGET_STD = 1.5;
const BOX = 4;

/**
 * Points along polylines (each stroke is x₀, y₀, x₁, y₁, … in any units) at
 * equal arc-length spacing `spacing`; a stroke of one point (a click) gives
 * that point. Returns x, y pairs.
 */
export function strokesToPoints(strokes: readonly (readonly number[])[], spacing: number): Float64Array {
  if (!(spacing > 0)) throw new Error(`strokesToPoints: spacing must be positive, got ${spacing}`);
  const out: number[] = [];
  for (const s of strokes) {
    if (s.length < 2) continue;
    out.push(s[0]!, s[1]!);
    // distance walked since the last emitted point, carried across segments
    let carry = 0;
    for (let i = 2; i + 1 < s.length; i += 2) {
      const [x0, y0, x1, y1] = [s[i - 2]!, s[i - 1]!, s[i]!, s[i + 1]!];
      const len = Math.hypot(x1 - x0, y1 - y0);
      let t = spacing - carry;
      while (t <= len) {
        out.push(x0 + ((x1 - x0) * t) / len, y0 + ((y1 - y0) * t) / len);
        t += spacing;
      }
      carry = len - (t - spacing);
    }
  }
  return Float64Array.from(out);
}

/**
 * Centre x, y pairs at their mean and scale them by one factor to an overall
 * standard deviation of 1.5 (√(mean squared deviation over both axes)), less
 * if that would take a point outside [−4, 4]². A single point (or points all
 * in one place) is only centred.
 */
export function normalizeDrawing(points: Float64Array): Float64Array {
  const n = points.length / 2;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += points[2 * i]!;
    my += points[2 * i + 1]!;
  }
  mx /= n;
  my /= n;
  let ss = 0;
  let far = 0;
  for (let i = 0; i < n; i++) {
    const dx = points[2 * i]! - mx;
    const dy = points[2 * i + 1]! - my;
    ss += dx * dx + dy * dy;
    far = Math.max(far, Math.abs(dx), Math.abs(dy));
  }
  const std = Math.sqrt(ss / (2 * n));
  const scale = std > 1e-12 ? Math.min(TARGET_STD / std, BOX / far) : 1;
  return points.map((v, i) => (v - (i % 2 === 0 ? mx : my)) * scale);
}

export interface DrawnOptions {
  /** standard deviation of the Gaussian jitter, in the normalised units (default 0.08) */
  jitter?: number;
}

/**
 * A data set sampling the drawing: `points` are x, y pairs (n ≥ 1) in any
 * units; they are normalised (normalizeDrawing) once, then each sample is a
 * uniformly chosen point plus N(0, jitter²I). Seeded by the key like the toy sets.
 */
export function drawnDataset(points: Float64Array | readonly number[], opts: DrawnOptions = {}): ToyDataset {
  if (points.length === 0) throw new Error('drawnDataset: points is empty (draw something on the canvas first)');
  if (points.length % 2 !== 0) throw new Error(`drawnDataset: points must hold x, y pairs, got ${points.length} numbers`);
  const raw = Float64Array.from(points);
  if (!raw.every(Number.isFinite)) throw new Error('drawnDataset: points holds a non-finite coordinate');
  const jitter = opts.jitter ?? 0.08;
  if (!(jitter >= 0)) throw new Error(`drawnDataset: jitter must be non-negative, got ${jitter}`);
  const base = normalizeDrawing(raw);
  const m = base.length / 2;
  return {
    name: DRAWN,
    sample(key: Key, n: number, o = {}) {
      if (!Number.isInteger(n) || n < 0) throw new Error(`drawn: n must be a non-negative integer, got ${n}`);
      const [ku, kz] = prng.split(key, 2);
      const u = prng.uniform(ku!, n);
      const z = prng.normal(kz!, 2 * n);
      const out = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        const j = Math.min(m - 1, Math.floor(u[i]! * m));
        out[2 * i] = base[2 * j]! + jitter * z[2 * i]!;
        out[2 * i + 1] = base[2 * j + 1]! + jitter * z[2 * i + 1]!;
      }
      return tensor(out, [n, 2], { dtype: o.dtype ?? defaultFloat() });
    },
  };
}

/** A toy set by name, or the drawn set when name is 'drawn' (then `points` is required). */
export function resolveDataset(name: string, points?: Float64Array | readonly number[]): ToyDataset {
  if (name === DRAWN) {
    if (!points) throw new Error("playground: the 'drawn' data set needs points (draw something first)");
    return drawnDataset(points);
  }
  const d = TOY_DATASETS[name];
  if (!d) throw new Error(`playground: unknown data set '${name}'`);
  return d;
}
