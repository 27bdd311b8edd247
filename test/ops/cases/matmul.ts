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
  // a shared 2-D B under a batched A: its gradient folds the batch into one product
  mm([2, 3, 3, 4], [4, 5], 'batched A @ shared B', { secondOrder: true }),
  mmT([2, 3, 4], [5, 4], false, true),
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

/**
 * Brute-force einsum over every assignment of every index (letters only; a
 * size-1 axis broadcasts): the independent reference for the einsum cases.
 */
export function naiveEinsum(spec: string, shapes: number[][], xs: Float64Array[]): number[] {
  const [lhs, rhs] = spec.split('->') as [string, string];
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, k) => [...t].forEach((l, ax) => size.set(l, Math.max(size.get(l) ?? 1, shapes[k]![ax]!))));
  const labels = [...size.keys()];
  const outLabels = [...rhs];
  const outShape = outLabels.map((l) => size.get(l)!);
  const out = new Array<number>(outShape.reduce((p, q) => p * q, 1)).fill(0);
  const val = new Map<string, number>();
  const visit = (d: number): void => {
    if (d === labels.length) {
      let p = 1;
      terms.forEach((t, k) => {
        let idx = 0;
        [...t].forEach((l, ax) => (idx = idx * shapes[k]![ax]! + (shapes[k]![ax] === 1 ? 0 : val.get(l)!)));
        p *= xs[k]![idx]!;
      });
      let o = 0;
      outLabels.forEach((l, ax) => (o = o * outShape[ax]! + val.get(l)!));
      out[o]! += p;
      return;
    }
    for (let i = 0; i < size.get(labels[d]!)!; i++) {
      val.set(labels[d]!, i);
      visit(d + 1);
    }
  };
  visit(0);
  return out;
}

/** An einsum case: `spec` as given to nabla, `refSpec` the same contraction with letters only for the naive loop. */
const es = (spec: string, shapes: number[][], refSpec = spec, extra: Partial<OpCase> = {}): OpCase => ({
  op: 'matmul',
  label: `einsum '${spec}'`,
  inputs: shapes.map((shape) => ({ shape })),
  fn: (...xs) => nb.einsum(spec, ...xs),
  ref: (...xs) => naiveEinsum(refSpec, shapes, xs),
  ...extra,
});

export const einsumCases: OpCase[] = [
  es('ij,jk->ik', [[3, 4], [4, 2]], undefined, { secondOrder: true }),
  es('ij,jk', [[3, 4], [4, 2]], 'ij,jk->ik'),
  es('bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]),
  es('i,i->', [[5], [5]]),
  es('i,j->ij', [[3], [4]]),
  es('ij->ji', [[3, 4]]),
  es('ijk->j', [[2, 3, 4]]),
  es('ij,ij->ij', [[3, 4], [3, 4]]),
  es('Ab,bc', [[2, 3], [3, 4]], 'Ab,bc->Ac'),
  es('ba,cb', [[3, 2], [4, 3]], 'ba,cb->ac'),
  es('...ij,...jk->...ik', [[2, 1, 3, 4], [5, 4, 2]], 'xyij,yjk->xyik'),
  es('...ij,j->...i', [[2, 3, 4], [4]], 'bij,j->bi'),
  es('ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]], undefined, { secondOrder: true }),
  es('abc,cd,be->ead', [[2, 3, 4], [4, 2], [3, 2]]),
  es(' i j , j -> i ', [[3, 4], [4]], 'ij,j->i'),
];
