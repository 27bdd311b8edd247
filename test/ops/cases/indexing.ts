/**
 * Op cases for integer indexing: gather, scatter, scatterAdd, indexSelect,
 * indexAdd (with repeated indices, where overwrite and accumulate differ), and
 * maskedFill. Index inputs are i32 drawn with repeats on purpose; references
 * are naive loops over multi-indices.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';
import { build, flat, sizeOf, unflat } from './views.js';

/** i32 values in [0, n), with every value of `must` placed first so repeats are certain. */
const ints =
  (n: number, must: number[] = []) =>
  (rng: () => number, len: number): number[] =>
    Array.from({ length: len }, (_, k) => (k < must.length ? must[k]! : Math.floor(rng() * n)));

/** Naive gather: out[idx] = x[idx with idx[axis] replaced by index[idx]]. */
function gatherRef(x: ArrayLike<number>, xs: number[], index: ArrayLike<number>, is: number[], axis: number): number[] {
  return build(is, (idx) => {
    const src = idx.slice();
    src[axis] = index[flat(is, idx)]!;
    return x[flat(xs, src)]!;
  });
}

/** Naive scatter/scatterAdd over index positions in row-major order. */
function scatterRef(x: ArrayLike<number>, xs: number[], index: ArrayLike<number>, is: number[], src: ArrayLike<number>, axis: number, add: boolean): number[] {
  const y = Array.from(x);
  for (let k = 0; k < sizeOf(is); k++) {
    const dst = unflat(is, k);
    dst[axis] = index[k]!;
    const f = flat(xs, dst);
    y[f] = add ? y[f]! + src[k]! : src[k]!;
  }
  return y;
}

export const indexingCases: OpCase[] = [
  {
    op: 'gather',
    label: 'axis 1',
    inputs: [{ shape: [3, 5] }, { shape: [3, 4], dtype: 'i32', gen: ints(5, [4, 4, 0]) }],
    fn: (x, i) => nb.gather(x!, 1, i!),
    ref: (x, i) => gatherRef(x, [3, 5], i, [3, 4], 1),
    secondOrder: true,
  },
  {
    op: 'gather',
    label: 'axis 0, index smaller than x, method form',
    inputs: [{ shape: [4, 5, 2] }, { shape: [3, 3, 1], dtype: 'i32', gen: ints(4, [3, 3]) }],
    fn: (x, i) => x!.gather(-3, i!),
    ref: (x, i) => gatherRef(x, [4, 5, 2], i, [3, 3, 1], 0),
  },
  {
    op: 'scatter',
    label: 'repeated indices: last write wins, and only it gets a gradient',
    // column 0 gets rows 1, 1, 1 (three writes to one place); other columns random
    inputs: [{ shape: [4, 3] }, { shape: [3, 3], dtype: 'i32', gen: (rng) => [1, 0, 3, 1, 2, 2, 1, 0, 3].map((v, k) => (k % 3 === 0 ? v : Math.min(3, Math.floor(rng() * 4)))) }, { shape: [3, 3] }],
    fn: (x, i, s) => nb.scatter(x!, 0, i!, s!),
    ref: (x, i, s) => scatterRef(x, [4, 3], i, [3, 3], s, 0, false),
    secondOrder: true,
  },
  {
    op: 'scatter',
    label: 'axis -1, index narrower than x',
    inputs: [{ shape: [2, 6] }, { shape: [2, 4], dtype: 'i32', gen: ints(6, [5, 5, 2, 5]) }, { shape: [2, 4] }],
    fn: (x, i, s) => nb.scatter(x!, -1, i!, s!),
    ref: (x, i, s) => scatterRef(x, [2, 6], i, [2, 4], s, 1, false),
  },
  {
    op: 'scatterAdd',
    label: 'repeated indices accumulate',
    inputs: [{ shape: [4, 3] }, { shape: [5, 2], dtype: 'i32', gen: ints(4, [2, 2, 2, 0, 2, 1]) }, { shape: [5, 2] }],
    fn: (x, i, s) => nb.scatterAdd(x!, 0, i!, s!),
    ref: (x, i, s) => scatterRef(x, [4, 3], i, [5, 2], s, 0, true),
    secondOrder: true,
  },
  {
    op: 'indexSelect',
    inputs: [{ shape: [4, 3, 2] }, { shape: [5], dtype: 'i32', gen: ints(3, [2, 0, 2]) }],
    fn: (x, i) => nb.indexSelect(x!, 1, i!),
    ref: (x, i) => build([4, 5, 2], ([a, j, c]) => x[flat([4, 3, 2], [a!, i[j!]!, c!])]!),
    secondOrder: true,
  },
  {
    op: 'indexAdd',
    inputs: [{ shape: [4, 3] }, { shape: [6], dtype: 'i32', gen: ints(4, [3, 1, 3, 3]) }, { shape: [6, 3] }],
    fn: (x, i, s) => nb.indexAdd(x!, 0, i!, s!),
    ref: (x, i, s) => {
      const y = Array.from(x);
      for (let j = 0; j < 6; j++) for (let c = 0; c < 3; c++) y[i[j]! * 3 + c]! += s[j * 3 + c]!;
      return y;
    },
    secondOrder: true,
  },
  {
    op: 'where',
    label: 'maskedFill',
    inputs: [{ shape: [3, 4] }, { shape: [4], dtype: 'bool' }],
    fn: (x, m) => nb.maskedFill(x!, m!, -1.5),
    ref: (x, m) => build([3, 4], ([i, j]) => (m[j!] ? -1.5 : x[i! * 4 + j!]!)),
    secondOrder: true,
  },
];
