/**
 * Helpers for testing sgemm on the heap: strided f32 matrices with poisoned
 * padding, and an independent float64 triple-loop reference.
 */
import { heap } from '../../src/core/heap.js';
import { mulberry32, randn } from '../helpers/rng.js';

/**
 * The inputs' seed (printed in failures): fixed, so CI is deterministic;
 * NABLA_TEST_SEED=random draws a fresh one per run (to explore new inputs),
 * NABLA_TEST_SEED=<n> replays a failure.
 */
export function freshSeed(): number {
  const env = process.env.NABLA_TEST_SEED;
  if (env === 'random') return (Math.random() * 2 ** 32) >>> 0;
  return env ? Number(env) >>> 0 : 20261123;
}

/** `batch` row-major rows×cols matrices with leading dimension `ld` and batch stride `stride` (elements) on the heap. */
export interface HeapMatrix {
  ptr: number;
  rows: number;
  cols: number;
  ld: number;
  stride: number;
  batch: number;
  /** the whole span, padding included */
  len: number;
}

/** Allocate and fill with N(0,1) values; padding (beyond `cols` in each row, between batches) is `pad`. */
export function heapMatrix(rng: () => number, rows: number, cols: number, opts: { ld?: number; batch?: number; stride?: number; pad?: number } = {}): HeapMatrix {
  const ld = opts.ld ?? cols;
  const batch = opts.batch ?? 1;
  const stride = opts.stride ?? rows * ld;
  const len = Math.max(1, (batch - 1) * stride + rows * ld);
  const ptr = heap().alloc(len * 4);
  const v = view({ ptr, len } as HeapMatrix);
  v.fill(opts.pad ?? Number.NaN);
  for (let b = 0; b < batch; b++) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v[b * stride + i * ld + j] = randn(rng);
  return { ptr, rows, cols, ld, stride, batch, len };
}

export function view(m: HeapMatrix): Float32Array {
  return new Float32Array(heap().buffer, m.ptr, m.len);
}

export function freeMatrix(...ms: HeapMatrix[]): void {
  for (const m of ms) heap().free(m.ptr);
}

export { mulberry32 };

/**
 * Float64 reference of one product: returns the m×n result (dense) of
 * α·op(A)·op(B) + β·C for batch element `b` (β = 0 ignores C entirely).
 */
export function refGemm(
  o: { transA: boolean; transB: boolean; m: number; n: number; k: number; alpha: number; beta: number },
  a: HeapMatrix, strideA: number, b: HeapMatrix, strideB: number, c: Float32Array, cm: HeapMatrix, strideC: number, bi: number,
): Float64Array {
  const A = view(a);
  const B = view(b);
  const out = new Float64Array(o.m * o.n);
  for (let i = 0; i < o.m; i++) {
    for (let j = 0; j < o.n; j++) {
      let s = 0;
      for (let p = 0; p < o.k; p++) {
        const av = o.transA ? A[bi * strideA + p * a.ld + i]! : A[bi * strideA + i * a.ld + p]!;
        const bv = o.transB ? B[bi * strideB + j * b.ld + p]! : B[bi * strideB + p * b.ld + j]!;
        s += av * bv;
      }
      const cOld = o.beta === 0 ? 0 : o.beta * c[bi * strideC + i * cm.ld + j]!;
      out[i * o.n + j] = o.alpha * s + cOld;
    }
  }
  return out;
}

/** ‖got − want‖ / ‖want‖ (Frobenius), with got read from a strided m×n block. */
export function relErr(got: Float32Array, off: number, ld: number, want: Float64Array, m: number, n: number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const d = got[off + i * ld + j]! - want[i * n + j]!;
      num += d * d;
      den += want[i * n + j]! ** 2;
    }
  }
  if (Number.isNaN(num)) return Number.NaN;
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
