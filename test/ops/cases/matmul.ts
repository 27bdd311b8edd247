/**
 * Op cases for matmul (and the composites built on it: dot, outer, einsum),
 * against naive float64 triple loops written independently of the library.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

/** Row-major index of `idx` (broadcast: size-1 axes read index 0) in `shape`. */
function at(shape: number[], idx: number[]): number {
  let k = 0;
  const off = idx.length - shape.length;
  for (let i = 0; i < shape.length; i++) k = k * shape[i]! + (shape[i] === 1 ? 0 : idx[off + i]!);
  return k;
}

/** Naive batched matmul with NumPy's rules for 1-D operands, as a plain triple loop. */
export function naiveMatmul(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], transA = false, transB = false): number[] {
  const A = aShape.length === 1 ? [1, aShape[0]!] : aShape;
  const B = bShape.length === 1 ? [bShape[0]!, 1] : bShape;
  const ba = A.slice(0, -2);
  const bb = B.slice(0, -2);
  const nd = Math.max(ba.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < nd; i++) {
    const x = ba[i - (nd - ba.length)] ?? 1;
    const y = bb[i - (nd - bb.length)] ?? 1;
    batch.push(Math.max(x, y));
  }
  const [ar, ac] = A.slice(-2) as [number, number];
  const [br, bc] = B.slice(-2) as [number, number];
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const out: number[] = [];
  const nb_ = batch.reduce((p, q) => p * q, 1);
  for (let q = 0; q < nb_; q++) {
    const idx: number[] = [];
    let r = q;
    for (let i = nd - 1; i >= 0; i--) {
      idx[i] = r % batch[i]!;
      r = Math.floor(r / batch[i]!);
    }
    const abase = at(ba, idx) * ar * ac;
    const bbase = at(bb, idx) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[abase + p * ac + i]! : a[abase + i * ac + p]!;
          const bv = transB ? b[bbase + j * bc + p]! : b[bbase + p * bc + j]!;
          s += av * bv;
        }
        out.push(s);
      }
    }
  }
  return out;
}

const mm = (as: number[], bs: number[], label: string, extra: Partial<OpCase> = {}): OpCase => ({
  op: 'matmul',
  label,
  inputs: [{ shape: as }, { shape: bs }],
  fn: (a, b) => nb.matmul(a!, b!),
  ref: (a, b) => naiveMatmul(a!, as, b!, bs),
  ...extra,
});

const mmT = (as: number[], bs: number[], tA: boolean, tB: boolean): OpCase => ({
  op: 'matmul',
  label: `matmulT transA=${tA} transB=${tB}`,
  inputs: [{ shape: as }, { shape: bs }],
  fn: (a, b) => nb.matmulT(a!, b!, tA, tB),
  ref: (a, b) => naiveMatmul(a!, as, b!, bs, tA, tB),
  secondOrder: true,
});

export const matmulCases: OpCase[] = [
  mm([3, 4], [4, 5], '2-D', { secondOrder: true }),
  mm([2, 1, 3, 4], [3, 4, 2], 'broadcast batch', { secondOrder: true }),
  mm([4], [2, 4, 3], 'vector @ batched matrix'),
  mm([2, 3, 4], [4], 'batched matrix @ vector'),
  mm([5], [5], 'vector @ vector', { secondOrder: true }),
  mm([1, 4], [3, 4, 1], 'size-1 matrix dims'),
  mmT([2, 4, 3], [4, 5], true, false),
  mmT([3, 4], [2, 5, 4], false, true),
  mmT([4, 3], [5, 4], true, true),
  {
    op: 'matmul',
    label: 'dot',
    inputs: [{ shape: [6] }, { shape: [6] }],
    fn: (a, b) => nb.dot(a!, b!),
    ref: (a, b) => [a!.reduce((s, v, i) => s + v * b![i]!, 0)],
  },
  {
    op: 'mul',
    label: 'outer',
    inputs: [{ shape: [3] }, { shape: [4] }],
    fn: (a, b) => nb.outer(a!, b!),
    ref: (a, b) => Array.from(a!).flatMap((x) => Array.from(b!).map((y) => x * y)),
  },
];
