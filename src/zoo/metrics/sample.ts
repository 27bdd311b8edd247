/**
 * Two-sample distances between sample sets X (n, d) and Y (m, d), for
 * judging generated samples against held-out data:
 *
 * - `mmd`: the squared maximum mean discrepancy with a Gaussian kernel
 *   k(x, y) = exp(−‖x − y‖²/(2h²)), unbiased U-statistic (Gretton et al.,
 *   "A Kernel Two-Sample Test", JMLR 2012, eq. 3); a list of bandwidths sums
 *   the kernels; 'median' uses the median pairwise distance of the pooled set.
 *   Can be slightly negative when the laws agree.
 * - `slicedWasserstein`: √(mean over K random unit directions θ of W₂²(θᵀX, θᵀY)),
 *   each 1-D W₂ from sorted projections (quantile functions on a common grid
 *   when n ≠ m) (Rabin et al. 2011; Bonneel et al. 2015).
 * - `energyDistance`: 2E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖ (Székely & Rizzo 2004),
 *   U-statistics; zero iff the laws agree.
 *
 * Inputs are tensors (or Float64Array rows); computation is plain float64.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';

export interface Points {
  data: Float64Array;
  n: number;
  d: number;
}

/** A (n, d) tensor or an already-flat point set, as float64 rows. */
export function asPoints(fn: string, x: Tensor | Points): Points {
  if ('data' in x && 'n' in x && 'd' in x) return x as Points;
  const t = x as Tensor;
  if (t.ndim !== 2) throw new Error(`${fn}: samples must be (n, d), got [${t.shape.join(', ')}]`);
  return { data: t.toF64(), n: t.shape[0]!, d: t.shape[1]! };
}

function checkPair(fn: string, a: Points, b: Points): void {
  if (a.d !== b.d) throw new Error(`${fn}: the sample sets have dimensions ${a.d} and ${b.d}`);
  if (a.n < 2 || b.n < 2) throw new Error(`${fn}: each sample set needs at least 2 points, got ${a.n} and ${b.n}`);
}

function sqDist(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = a[i * d + k]! - b[j * d + k]!;
    s += t * t;
  }
  return s;
}

/** Median of the pairwise distances of the pooled set (evenly subsampled to at most 500 points). */
export function medianDistance(x: Points, y: Points): number {
  const total = x.n + y.n;
  const step = Math.max(1, Math.ceil(total / 500));
  const d = x.d;
  const idx: [Points, number][] = [];
  for (let i = 0; i < total; i += step) idx.push(i < x.n ? [x, i] : [y, i - x.n]);
  const m = idx.length;
  const ds = new Float64Array((m * (m - 1)) / 2);
  let k = 0;
  for (let i = 0; i < m; i++) {
    const [pi, ii] = idx[i]!;
    for (let j = i + 1; j < m; j++) {
      const [pj, jj] = idx[j]!;
      ds[k++] = Math.sqrt(sqDist(pi.data, ii, pj.data, jj, d));
    }
  }
  ds.sort();
  return ds[Math.floor(ds.length / 2)]!;
}

export interface MmdOptions {
  /** kernel bandwidth(s) h, or 'median' (default) */
  bandwidth?: number | readonly number[] | 'median';
}

/** Unbiased MMD² between two sample sets with a Gaussian kernel (or a sum of them). */
export function mmd(x: Tensor | Points, y: Tensor | Points, opts: MmdOptions = {}): number {
  const a = asPoints('mmd', x);
  const b = asPoints('mmd', y);
  checkPair('mmd', a, b);
  const bw = opts.bandwidth ?? 'median';
  const hs = bw === 'median' ? [medianDistance(a, b)] : typeof bw === 'number' ? [bw] : bw.slice();
  hs.forEach((h) => {
    if (!(h > 0)) throw new Error(`mmd: bandwidths must be positive, got ${h}`);
  });
  const gammas = hs.map((h) => 1 / (2 * h * h));
  const g0 = gammas[0]!;
  const k =
    gammas.length === 1
      ? (d2: number): number => Math.exp(-g0 * d2)
      : (d2: number): number => {
          let s = 0;
          for (const g of gammas) s += Math.exp(-g * d2);
          return s;
        };
  const mean = (p: Points, q: Points, same: boolean): number => {
    let s = 0;
    for (let i = 0; i < p.n; i++) for (let j = same ? i + 1 : 0; j < q.n; j++) s += k(sqDist(p.data, i, q.data, j, p.d));
    return same ? (2 * s) / (p.n * (p.n - 1)) : s / (p.n * q.n);
  };
  return mean(a, a, true) + mean(b, b, true) - 2 * mean(a, b, false);
}

/** Energy distance between two sample sets (U-statistics within each set). */
export function energyDistance(x: Tensor | Points, y: Tensor | Points): number {
  const a = asPoints('energyDistance', x);
  const b = asPoints('energyDistance', y);
  checkPair('energyDistance', a, b);
  const mean = (p: Points, q: Points, same: boolean): number => {
    let s = 0;
    for (let i = 0; i < p.n; i++) for (let j = same ? i + 1 : 0; j < q.n; j++) s += Math.sqrt(sqDist(p.data, i, q.data, j, p.d));
    return same ? (2 * s) / (p.n * (p.n - 1)) : s / (p.n * q.n);
  };
  return 2 * mean(a, b, false) - mean(a, a, true) - mean(b, b, true);
}

/** W₂² between two 1-D samples given sorted: exact for n = m, quantile functions on a grid of lcm-free 2·max(n, m) points otherwise. */
function w2sq1d(p: Float64Array, q: Float64Array): number {
  if (p.length === q.length) {
    let s = 0;
    for (let i = 0; i < p.length; i++) s += (p[i]! - q[i]!) ** 2;
    return s / p.length;
  }
  const G = 2 * Math.max(p.length, q.length);
  let s = 0;
  for (let g = 0; g < G; g++) {
    const u = (g + 0.5) / G;
    s += (p[Math.floor(u * p.length)]! - q[Math.floor(u * q.length)]!) ** 2;
  }
  return s / G;
}

export interface SlicedOptions {
  /** random projection directions (default 128) */
  projections?: number;
  /** the directions' randomness (default randomKey 0: the same directions every call) */
  key?: Key;
}

/** Sliced Wasserstein-2 distance. */
export function slicedWasserstein(x: Tensor | Points, y: Tensor | Points, opts: SlicedOptions = {}): number {
  const a = asPoints('slicedWasserstein', x);
  const b = asPoints('slicedWasserstein', y);
  checkPair('slicedWasserstein', a, b);
  const K = opts.projections ?? 128;
  if (!Number.isInteger(K) || K < 1) throw new Error(`slicedWasserstein: projections must be a positive integer, got ${K}`);
  const dirs = prng.normal(opts.key ?? prng.key(0), K * a.d);
  let total = 0;
  const pa = new Float64Array(a.n);
  const pb = new Float64Array(b.n);
  for (let k = 0; k < K; k++) {
    const th = dirs.subarray(k * a.d, (k + 1) * a.d);
    const norm = Math.sqrt(th.reduce((s, v) => s + v * v, 0));
    const proj = (p: Points, out: Float64Array): void => {
      for (let i = 0; i < p.n; i++) {
        let s = 0;
        for (let j = 0; j < p.d; j++) s += p.data[i * p.d + j]! * th[j]!;
        out[i] = s / norm;
      }
      out.sort();
    };
    proj(a, pa);
    proj(b, pb);
    total += w2sq1d(pa, pb);
  }
  return Math.sqrt(total / K);
}
