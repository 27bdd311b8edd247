/**
 * Helpers for testing the native CPU kernels against the float64 reference:
 * running an expression with kernels switched off, tensors in several
 * memory layouts, and error measures (relative norm, ulps per element).
 */
import { cpu } from '../../src/backends/cpu/index.js';
import { Tensor } from '../../src/core/tensor.js';
import type { DType } from '../../src/core/dtype.js';
import { sizeOf } from '../../src/core/shape.js';
import { tensor } from '../../src/ops/creation.js';
import type { Kernel } from '../../src/backends/backend.js';

export { freshSeed } from './gemmHelpers.js';
export { mulberry32, randn } from '../helpers/rng.js';

export const be = cpu();

/** Run `fn` with the native kernels of `ops` removed (all but matmul when omitted): the float64 reference runs. */
export function onReference<T>(fn: () => T, ops?: readonly string[]): T {
  const names = ops ?? [...be.kernels.keys()].filter((k) => k !== 'matmul');
  const saved = new Map<string, Kernel>();
  for (const n of names) {
    const k = be.kernels.get(n);
    if (k) saved.set(n, k);
    be.kernels.delete(n);
  }
  try {
    return fn();
  } finally {
    for (const [n, k] of saved) be.kernels.set(n, k);
  }
}

export type Layout = 'contiguous' | 'strided' | 'transposed';

/**
 * A tensor holding `values` (row-major in `shape`) stored in `layout`:
 * contiguous; strided (every other element of a larger storage, offset 1,
 * so no axis has unit stride); transposed (the last two axes stored swapped,
 * the view swaps them back: a column-major matrix).
 */
export function laidOut(values: ArrayLike<number>, shape: number[], dtype: DType, layout: Layout): Tensor {
  const n = sizeOf(shape);
  if (layout === 'contiguous' || (layout === 'transposed' && shape.length < 2)) return tensor(Array.from(values), shape, { dtype });
  if (layout === 'strided') {
    const s = be.alloc(dtype, 2 * n + 1);
    const spread = new Float64Array(2 * n + 1).fill(Number.NaN);
    for (let i = 0; i < n; i++) spread[1 + 2 * i] = values[i]!;
    be.write(s, spread);
    const st: number[] = [];
    let acc = 2;
    for (let i = shape.length - 1; i >= 0; i--) {
      st[i] = acc;
      acc *= shape[i]!;
    }
    return new Tensor({ storage: s, shape, dtype, strides: st, offset: 1 });
  }
  const nd = shape.length;
  const [r, c] = [shape[nd - 2]!, shape[nd - 1]!];
  const batch = n / Math.max(1, r * c);
  const stored = new Float64Array(n);
  for (let b = 0; b < batch; b++) for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) stored[b * r * c + j * r + i] = values[b * r * c + i * c + j]!;
  const s = be.alloc(dtype, Math.max(1, n));
  be.write(s, stored);
  const st = new Array<number>(nd);
  st[nd - 1] = r;
  st[nd - 2] = 1;
  let acc = r * c;
  for (let i = nd - 3; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return new Tensor({ storage: s, shape, dtype, strides: st, offset: 0 });
}

/** ‖a − b‖/‖b‖ over the finite entries of b. */
export function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(b[i]!)) continue;
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** The float32 ulp at |x| (the subnormal spacing below the smallest normal). */
export function ulp32(x: number): number {
  const e = Math.abs(x);
  if (e < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(e)) - 23);
}

/**
 * The largest error of `a` against `b` in float32 ulps of b, with b's ulp
 * floored at ulp32(floor) (for functions whose tiny values the reference
 * itself cannot resolve). Non-finite entries must match exactly (NaN with
 * NaN): a mismatch returns Infinity and its index.
 */
export function maxUlps(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): { ulps: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || (x === y))) return { ulps: Infinity, at: i };
      continue;
    }
    const u = Math.abs(x - y) / Math.max(ulp32(y), ulp32(floor));
    if (u > worst) {
      worst = u;
      at = i;
    }
  }
  return { ulps: worst, at };
}

/** Whether two arrays are equal element by element (NaN equals NaN; +0 and −0 are told apart). */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < b.length; i++) if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!)))) return i;
  return -1;
}
