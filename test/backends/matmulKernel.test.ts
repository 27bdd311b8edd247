/**
 * The f32 `matmul` kernel (not yet registered by default) against the op's
 * float64 reference, on views of every layout the kernel distinguishes:
 * contiguous, transposed (unit row stride), column slices (wide leading
 * dimension), broadcast batches (uniform and not), a stride-0 row, and the
 * transpose attributes. Relative error ≤ 1e-5.
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../../src/backends/backend.js';
import { cpu } from '../../src/backends/cpu/index.js';
import { matmulKernel } from '../../src/backends/cpu/wasm/matmulKernel.js';
import { matmulOp } from '../../src/ops/matmul.js';
import { sizeOf, type Shape } from '../../src/core/shape.js';
import { freshSeed, mulberry32 } from './gemmHelpers.js';
import { randn } from '../helpers/rng.js';

const be = cpu();
const kernel = matmulKernel(be);

/** A view of `shape` with explicit strides and offset over a fresh random f32 storage of `size` elements. */
function viewOf(rng: () => number, size: number, shape: Shape, strides: number[], offset = 0, dtype: 'f32' | 'f64' = 'f32'): View {
  const storage = be.alloc(dtype, size);
  be.write(storage, Array.from({ length: size }, () => randn(rng)));
  return { storage, dtype, shape, strides, offset };
}

function contiguous(shape: Shape): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

function check(a: View, b: View, transA: boolean, transB: boolean): number {
  const attrs = { transA, transB };
  const [meta] = matmulOp.infer([a, b], attrs) as [{ shape: Shape; dtype: 'f32' }];
  const [st] = kernel([a, b], attrs, [meta])!;
  const got = be.readF64Sync({ storage: st!, dtype: 'f32', shape: meta.shape, strides: contiguous(meta.shape), offset: 0 });
  const [want] = matmulOp.ref!([be.readF64Sync(a), be.readF64Sync(b)], [a, b], attrs, [meta]);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want!.length; i++) {
    num += (got[i]! - want![i]!) ** 2;
    den += want![i]! ** 2;
  }
  be.free(st!);
  return Math.sqrt(num / Math.max(den, 1e-300));
}

describe('matmul kernel on f32 views', () => {
  it('contiguous batches, all transpose attributes', () => {
    const seed = freshSeed();
    const rng = mulberry32(seed);
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const sa: Shape = tA ? [2, 3, 7, 5] : [2, 3, 5, 7];
      const sb: Shape = tB ? [2, 3, 4, 7] : [2, 3, 7, 4];
      const a = viewOf(rng, sizeOf(sa), sa, contiguous(sa));
      const b = viewOf(rng, sizeOf(sb), sb, contiguous(sb));
      expect(check(a, b, tA, tB), `seed ${seed} ${tA} ${tB}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('transposed views, column slices and a stride-0 row', () => {
    const seed = freshSeed();
    const rng = mulberry32(seed);
    const aT = viewOf(rng, 7 * 33, [33, 7], [1, 33]); // a transposed 7×33 matrix
    const bSlice = viewOf(rng, 7 * 40, [7, 19], [40, 1], 3); // columns 3..21 of a 7×40 matrix
    expect(check(aT, bSlice, false, false), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
    expect(check(bSlice, aT, true, true), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
    const rowBroadcast = viewOf(rng, 7, [33, 7], [0, 1]); // one row repeated
    expect(check(rowBroadcast, bSlice, false, false), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
  });

  it('broadcast batch axes: a 2-D operand, and a non-uniform broadcast', () => {
    const seed = freshSeed();
    const rng = mulberry32(seed);
    const a = viewOf(rng, 4 * 5 * 6, [4, 5, 6], [30, 6, 1]);
    const b = viewOf(rng, 6 * 3, [6, 3], [3, 1]);
    expect(check(a, b, false, false), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
    const a2 = viewOf(rng, 2 * 5 * 6, [2, 1, 5, 6], [30, 30, 6, 1]);
    const b2 = viewOf(rng, 3 * 6 * 4, [1, 3, 6, 4], [72, 24, 4, 1]);
    expect(check(a2, b2, false, false), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
    expect(check(b2, a2, true, true), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
  });

  it('declines other dtypes', () => {
    const rng = mulberry32(1);
    const a = viewOf(rng, 4, [2, 2], [2, 1], 0, 'f64');
    expect(kernel([a, a], { transA: false, transB: false }, [{ shape: [2, 2], dtype: 'f64' }])).toBeUndefined();
  });
});
