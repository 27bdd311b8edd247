/**
 * Op cases for reductions, the statistics composed from them, and the
 * cumulative ops. Every reference here is a naive float64 loop written from
 * the definition (group the elements by their output position, then fold),
 * independent of the library's kernels.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

/** Multi-index of flat position k in a row-major `shape`. */
export function unravel(k: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d]!;
    k = Math.floor(k / shape[d]!);
  }
  return idx;
}

/** The elements of each reduction group over `axes` (all when undefined), in row-major order of the output. */
export function groups(x: ArrayLike<number>, shape: readonly number[], axes?: readonly number[]): number[][] {
  const ax = (axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a));
  const keep = shape.map((_, i) => i).filter((i) => !ax.includes(i));
  const out = new Map<number, number[]>();
  for (let k = 0; k < x.length; k++) {
    const idx = unravel(k, shape);
    let key = 0;
    for (const d of keep) key = key * shape[d]! + idx[d]!;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(x[k]!);
  }
  const n = keep.reduce((p, d) => p * shape[d]!, 1);
  return Array.from({ length: n }, (_, i) => out.get(i) ?? []);
}

/** Naive reduction: fold each group with f. */
export function naive(shape: readonly number[], axes: readonly number[] | undefined, f: (v: number[]) => number): (x: Float64Array) => number[] {
  return (x) => groups(x, shape, axes).map(f);
}

const sumOf = (v: number[]): number => v.reduce((a, b) => a + b, 0);
const meanOf = (v: number[]): number => sumOf(v) / v.length;
const varOf = (v: number[], c: number): number => {
  const m = meanOf(v);
  return sumOf(v.map((x) => (x - m) ** 2)) / (v.length - c);
};
const lse = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(sumOf(v.map((x) => Math.exp(x - m))));
};
/** Index of the first maximum (or minimum with sign −1). */
const argOf = (v: number[], sign: 1 | -1): number => v.reduce((best, x, i) => (sign * x > sign * v[best]! ? i : best), 0);

/** Small integers: many ties. */
const ties = (lo: number, hi: number) => (rng: () => number, n: number) => Array.from({ length: n }, () => lo + Math.floor(rng() * (hi - lo + 1)));
/** Values in [0.5, 1.5] with every third one exactly zero. */
const withZeros = (rng: () => number, n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 0.5 + rng()));

/** Running fold along `axis` of a row-major array (reverse: from the end). */
export function naiveScan(shape: readonly number[], axis: number, reverse: boolean, f: (acc: number | null, v: number) => number): (x: Float64Array) => number[] {
  return (x) => {
    const y = new Array<number>(x.length);
    const n = shape[axis]!;
    for (let k = 0; k < x.length; k++) {
      const idx = unravel(k, shape);
      if (idx[axis] !== (reverse ? n - 1 : 0)) continue;
      let acc: number | null = null;
      for (let s = 0; s < n; s++) {
        const j = idx.slice();
        j[axis] = reverse ? n - 1 - s : s;
        const flat = j.reduce((p, v, d) => p * shape[d]! + v, 0);
        acc = f(acc, x[flat]!);
        y[flat] = acc;
      }
    }
    return y;
  };
}

const S = [2, 3, 4];

/** Public composites exercised below (they are not in OPS, so coverage lists them here). */
export const reduceComposites = ['mean', 'variance', 'std', 'logsumexp', 'norm', 'exclusiveProd'];

export const reduceCases: OpCase[] = [
  // ---- max / min
  { op: 'max', label: 'axes [0,2]', inputs: [{ shape: S }], fn: (x) => nb.max(x!, [0, 2]), ref: naive(S, [0, 2], (v) => Math.max(...v)), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'max', label: 'axis -1 keepdim', inputs: [{ shape: S }], fn: (x) => nb.max(x!, -1, true), ref: naive(S, [2], (v) => Math.max(...v)) },
  { op: 'max', label: 'all', inputs: [{ shape: [3, 5] }], fn: (x) => nb.max(x!), ref: naive([3, 5], undefined, (v) => Math.max(...v)) },
  { op: 'max', label: 'ties (values only)', inputs: [{ shape: S, gen: ties(0, 2) }], fn: (x) => nb.max(x!, 1), ref: naive(S, [1], (v) => Math.max(...v)), noGrad: true },
  { op: 'min', label: 'axes [1]', inputs: [{ shape: S }], fn: (x) => nb.min(x!, 1), ref: naive(S, [1], (v) => Math.min(...v)), secondOrder: true },
  { op: 'min', label: 'axes [0,1] keepdim', inputs: [{ shape: S }], fn: (x) => nb.min(x!, [0, 1], true), ref: naive(S, [0, 1], (v) => Math.min(...v)) },
  { op: 'min', label: 'ties (values only)', inputs: [{ shape: S, gen: ties(-1, 1) }], fn: (x) => nb.min(x!, [0, 2], true), ref: naive(S, [0, 2], (v) => Math.min(...v)), noGrad: true },
  // ---- prod (gradients through zeros are checked too: the product is a polynomial, smooth everywhere)
  { op: 'prod', label: 'axis 1', inputs: [{ shape: S, range: [0.5, 1.5] }], fn: (x) => nb.prod(x!, 1), ref: naive(S, [1], (v) => v.reduce((a, b) => a * b, 1)), secondOrder: true },
  { op: 'prod', label: 'axes [0,2] keepdim', inputs: [{ shape: S, range: [-1.5, 1.5] }], fn: (x) => nb.prod(x!, [0, 2], true), ref: naive(S, [0, 2], (v) => v.reduce((a, b) => a * b, 1)), secondOrder: true },
  { op: 'prod', label: 'with zeros', inputs: [{ shape: [3, 4], gen: withZeros }], fn: (x) => nb.prod(x!, 1), ref: naive([3, 4], [1], (v) => v.reduce((a, b) => a * b, 1)), secondOrder: true },
  // one zero: the gradient is nonzero only there (two zeros would make it vanish everywhere, leaving nothing to compare)
  { op: 'prod', label: 'all, one zero', inputs: [{ shape: [2, 3], gen: (rng, n) => Array.from({ length: n }, (_, i) => (i === 4 ? 0 : 0.5 + rng())) }], fn: (x) => nb.prod(x!), ref: (x) => [x.reduce((a, b) => a * b, 1)], secondOrder: true },
  {
    op: 'exclusiveProd',
    label: 'axes [0,2] with zeros',
    inputs: [{ shape: S, gen: withZeros }],
    fn: (x) => nb.exclusiveProd(x!, [0, 2]),
    ref: (x) => Array.from(x, (_, k) => {
      const i = unravel(k, S);
      let p = 1;
      for (let j = 0; j < x.length; j++) if (j !== k && unravel(j, S)[1] === i[1]) p *= x[j]!;
      return p;
    }),
    secondOrder: true,
  },
  // ---- argmax / argmin (first index on ties)
  { op: 'argmax', label: 'axis 1', inputs: [{ shape: S }], fn: (x) => nb.argmax(x!, 1), ref: naive(S, [1], (v) => argOf(v, 1)), noGrad: true },
  { op: 'argmax', label: 'flattened, ties', inputs: [{ shape: S, gen: ties(0, 3) }], fn: (x) => nb.argmax(x!), ref: (x) => [argOf(Array.from(x), 1)], noGrad: true },
  { op: 'argmax', label: 'axis 0 keepdim, ties', inputs: [{ shape: S, gen: ties(0, 1) }], fn: (x) => nb.argmax(x!, 0, true), ref: naive(S, [0], (v) => argOf(v, 1)), noGrad: true },
  { op: 'argmin', label: 'axis -1, ties', inputs: [{ shape: S, gen: ties(0, 2) }], fn: (x) => nb.argmin(x!, -1), ref: naive(S, [2], (v) => argOf(v, -1)), noGrad: true },
  { op: 'argmin', label: 'flattened keepdim', inputs: [{ shape: [3, 5] }], fn: (x) => nb.argmin(x!, null, true), ref: (x) => [argOf(Array.from(x), -1)], noGrad: true },
  // ---- all / any
  { op: 'all', inputs: [{ shape: S, dtype: 'bool', gen: (rng, n) => Array.from({ length: n }, () => (rng() < 0.85 ? 1 : 0)) }], fn: (x) => nb.all(x!, [1]), ref: naive(S, [1], (v) => (v.every((b) => b) ? 1 : 0)), noGrad: true, dtypes: [] },
  { op: 'any', inputs: [{ shape: S, dtype: 'bool', gen: (rng, n) => Array.from({ length: n }, () => (rng() < 0.15 ? 1 : 0)) }], fn: (x) => nb.any(x!, [0, 2], true), ref: naive(S, [0, 2], (v) => (v.some((b) => b) ? 1 : 0)), noGrad: true, dtypes: [] },
  // ---- composites
  { op: 'mean', label: 'axes [0,2]', inputs: [{ shape: S }], fn: (x) => nb.mean(x!, [0, 2]), ref: naive(S, [0, 2], meanOf), secondOrder: true },
  { op: 'mean', label: 'all keepdim', inputs: [{ shape: S }], fn: (x) => nb.mean(x!, undefined, true), ref: (x) => [meanOf(Array.from(x))] },
  { op: 'variance', label: 'axis 1, unbiased', inputs: [{ shape: S }], fn: (x) => nb.variance(x!, 1), ref: naive(S, [1], (v) => varOf(v, 1)), secondOrder: true },
  { op: 'variance', label: 'axes [0,2], correction 0, keepdim', inputs: [{ shape: S }], fn: (x) => nb.variance(x!, [0, 2], { correction: 0, keepdim: true }), ref: naive(S, [0, 2], (v) => varOf(v, 0)) },
  { op: 'std', label: 'axis -1', inputs: [{ shape: S }], fn: (x) => nb.std(x!, -1), ref: naive(S, [2], (v) => Math.sqrt(varOf(v, 1))), secondOrder: true },
  { op: 'std', label: 'all, correction 0', inputs: [{ shape: [3, 4] }], fn: (x) => nb.std(x!, undefined, { correction: 0 }), ref: (x) => [Math.sqrt(varOf(Array.from(x), 0))] },
  { op: 'logsumexp', label: 'axis 1', inputs: [{ shape: S }], fn: (x) => nb.logsumexp(x!, 1), ref: naive(S, [1], lse), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'logsumexp', label: 'inputs ~1000, axes [0,2] keepdim', inputs: [{ shape: S, range: [995, 1005] }], fn: (x) => nb.logsumexp(x!, [0, 2], true), ref: naive(S, [0, 2], lse) },
  { op: 'logsumexp', label: 'inputs ~ -1000', inputs: [{ shape: [3, 4], range: [-1005, -995] }], fn: (x) => nb.logsumexp(x!, -1), ref: naive([3, 4], [1], lse) },
  { op: 'norm', label: 'p=2 axis 1', inputs: [{ shape: S }], fn: (x) => nb.norm(x!, 2, 1), ref: naive(S, [1], (v) => Math.sqrt(sumOf(v.map((a) => a * a)))), secondOrder: true },
  { op: 'norm', label: 'p=1 all', inputs: [{ shape: S }], fn: (x) => nb.norm(x!, 1), ref: (x) => [sumOf(Array.from(x, Math.abs))] },
  { op: 'norm', label: 'p=inf axes [0,1] keepdim', inputs: [{ shape: S }], fn: (x) => nb.norm(x!, Infinity, [0, 1], true), ref: naive(S, [0, 1], (v) => Math.max(...v.map(Math.abs))) },
  // ---- cumulative
  { op: 'cumsum', label: 'axis 0', inputs: [{ shape: S }], fn: (x) => nb.cumsum(x!, 0), ref: naiveScan(S, 0, false, (a, v) => (a ?? 0) + v), secondOrder: true },
  { op: 'cumsum', label: 'axis -1 reverse', inputs: [{ shape: S }], fn: (x) => nb.cumsum(x!, -1, { reverse: true }), ref: naiveScan(S, 2, true, (a, v) => (a ?? 0) + v) },
  { op: 'cumprod', label: 'axis 1', inputs: [{ shape: S, range: [-1.5, 1.5] }], fn: (x) => nb.cumprod(x!, 1), ref: naiveScan(S, 1, false, (a, v) => (a ?? 1) * v), secondOrder: true },
  { op: 'cumprod', label: 'axis -1 with zeros', inputs: [{ shape: [3, 6], gen: withZeros }], fn: (x) => nb.cumprod(x!, -1), ref: naiveScan([3, 6], 1, false, (a, v) => (a ?? 1) * v), secondOrder: true },
  { op: 'cumprod', label: 'axis 2 reverse with zeros', inputs: [{ shape: S, gen: withZeros }], fn: (x) => nb.cumprod(x!, 2, { reverse: true }), ref: naiveScan(S, 2, true, (a, v) => (a ?? 1) * v), secondOrder: true },
  // cummax/cummin: later index on ties (PyTorch); the gradient goes to the running extremum's position
  { op: 'cummax', label: 'axis 1', inputs: [{ shape: S }], fn: (x) => nb.cummax(x!, 1)[0], ref: naiveScan(S, 1, false, (a, v) => Math.max(a ?? -Infinity, v)), secondOrder: true },
  {
    op: 'cummax',
    label: 'indices with ties, axis -1',
    inputs: [{ shape: [3, 6], gen: ties(0, 2) }],
    fn: (x) => nb.cummax(x!, -1),
    ref: (x) => [naiveScan([3, 6], 1, false, (a, v) => Math.max(a ?? -Infinity, v))(x), runIndex(x, 3, 6, (v, best) => v >= best)],
    noGrad: true,
  },
  { op: 'cummin', label: 'axis 0', inputs: [{ shape: S }], fn: (x) => nb.cummin(x!, 0)[0], ref: naiveScan(S, 0, false, (a, v) => Math.min(a ?? Infinity, v)) },
  { op: 'cummin', label: 'indices with ties', inputs: [{ shape: [2, 7], gen: ties(0, 2) }], fn: (x) => nb.cummin(x!, 1)[1], ref: (x) => runIndex(x, 2, 7, (v, best) => v <= best), noGrad: true },
  {
    op: 'linearRecurrence',
    label: 'axis 1',
    inputs: [{ shape: [3, 5], range: [-1, 1] }, { shape: [3, 5] }],
    fn: (a, b) => nb.linearRecurrence(a!, b!, 1),
    ref: (a, b) => recur(a, b, 3, 5, false),
    secondOrder: true,
  },
  {
    op: 'linearRecurrence',
    label: 'reverse, a broadcast',
    inputs: [{ shape: [5], range: [-1, 1] }, { shape: [3, 5] }],
    fn: (a, b) => nb.linearRecurrence(a!, b!, -1, { reverse: true }),
    ref: (a, b) => recur(Float64Array.from({ length: 15 }, (_, k) => a[k % 5]!), b, 3, 5, true),
    secondOrder: true,
  },
  { op: 'shiftAxis', label: 'by 2, fill 1.5', inputs: [{ shape: S }], fn: (x) => nb.shiftAxis(x!, 1, 2, 1.5), ref: (x) => Array.from(x, (_, k) => { const i = unravel(k, S); return i[1]! >= 2 ? x[k - 2 * 4]! : 1.5; }), secondOrder: true },
  { op: 'shiftAxis', label: 'by -1', inputs: [{ shape: S }], fn: (x) => nb.shiftAxis(x!, -1, -1), ref: (x) => Array.from(x, (_, k) => (unravel(k, S)[2]! < 3 ? x[k + 1]! : 0)) },
];

/** h_t = a_t·h_{t−1} + b_t along the last axis of a (rows × n) array, written directly. */
function recur(a: Float64Array, b: Float64Array, rows: number, n: number, reverse: boolean): number[] {
  const h = new Array<number>(rows * n);
  for (let r = 0; r < rows; r++) {
    let prev = 0;
    for (let s = 0; s < n; s++) {
      const t = r * n + (reverse ? n - 1 - s : s);
      prev = a[t]! * prev + b[t]!;
      h[t] = prev;
    }
  }
  return h;
}

/** Index of the running extremum along the last axis of (rows × n): `takes(v, best)` says when v replaces it. */
function runIndex(x: Float64Array, rows: number, n: number, takes: (v: number, best: number) => boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let at = 0;
    for (let t = 0; t < n; t++) {
      if (takes(x[r * n + t]!, x[r * n + at]!)) at = t;
      out.push(at);
    }
  }
  return out;
}
