/**
 * Op cases for views (permute, squeeze, unsqueeze, flip, slice) and the data
 * movers built beside them (sliceGrad, concat, pad, tril, triu) and their
 * composites (transpose, split, stack, roll). Each reference is written
 * naively over multi-indices, independent of the strided kernels under test.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

// ---- naive multi-index helpers -------------------------------------------------------

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
/** Row-major multi-index of a flat position. */
export function unflat(shape: readonly number[], k: number): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d]!;
    k = Math.floor(k / shape[d]!);
  }
  return idx;
}
/** Flat position of a multi-index. */
export function flat(shape: readonly number[], idx: readonly number[]): number {
  let k = 0;
  for (let d = 0; d < shape.length; d++) k = k * shape[d]! + idx[d]!;
  return k;
}
/** Build an array of `shape` from a function of the multi-index. */
export function build(shape: readonly number[], f: (idx: number[]) => number): number[] {
  return Array.from({ length: sizeOf(shape) }, (_, k) => f(unflat(shape, k)));
}
/** Python's range(start, stop, step) for a slice already resolved by hand. */
const range = (start: number, stop: number, step: number): number[] => {
  const r: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) r.push(i);
  return r;
};

// ---- cases ----------------------------------------------------------------------------

const S3 = [2, 3, 4];

export const viewCases: OpCase[] = [
  {
    op: 'permute',
    inputs: [{ shape: S3 }],
    fn: (x) => nb.permute(x!, [2, 0, -2]),
    ref: (x) => build([4, 2, 3], ([k, i, j]) => x[flat(S3, [i!, j!, k!])]!),
    secondOrder: true,
  },
  {
    op: 'permute',
    label: 'transpose (default: last two axes)',
    inputs: [{ shape: S3 }],
    fn: (x) => nb.transpose(x!),
    ref: (x) => build([2, 4, 3], ([i, k, j]) => x[flat(S3, [i!, j!, k!])]!),
  },
  {
    op: 'permute',
    label: 'transpose axes 0 and 2, method form',
    inputs: [{ shape: S3 }],
    fn: (x) => x!.transpose(0, 2),
    ref: (x) => build([4, 3, 2], ([k, j, i]) => x[flat(S3, [i!, j!, k!])]!),
  },
  { op: 'squeeze', inputs: [{ shape: [2, 1, 3, 1] }], fn: (x) => nb.squeeze(x!), ref: (x) => x, secondOrder: true },
  { op: 'squeeze', label: 'one axis, negative', inputs: [{ shape: [2, 1, 3, 1] }], fn: (x) => nb.squeeze(x!, -1).mul(1), ref: (x) => x },
  { op: 'unsqueeze', inputs: [{ shape: [2, 3] }], fn: (x) => nb.unsqueeze(x!, [0, -1]), ref: (x) => x, secondOrder: true },
  // unsqueeze then a broadcasting op: the new axis must behave as a real size-1 axis
  {
    op: 'unsqueeze',
    label: 'then broadcast',
    inputs: [{ shape: [2, 3] }, { shape: [4, 1] }],
    fn: (x, y) => nb.mul(nb.unsqueeze(x!, 1), y!),
    ref: (x, y) => build([2, 4, 3], ([i, k, j]) => x[i! * 3 + j!]! * y[k!]!),
  },
  {
    op: 'flip',
    inputs: [{ shape: [3, 4] }],
    fn: (x) => nb.flip(x!, 1),
    ref: (x) => build([3, 4], ([i, j]) => x[i! * 4 + 3 - j!]!),
    secondOrder: true,
  },
  {
    op: 'flip',
    label: 'all axes, then a contiguous copy',
    inputs: [{ shape: S3 }],
    fn: (x) => nb.contiguous(nb.flip(x!)),
    ref: (x) => build(S3, ([i, j, k]) => x[flat(S3, [1 - i!, 2 - j!, 3 - k!])]!),
  },
  {
    op: 'slice',
    label: 'steps: x[1:-1:2, ::-2]',
    inputs: [{ shape: [5, 6] }],
    fn: (x) => nb.slice(x!, [{ start: 1, stop: -1, step: 2 }, { step: -2 }]),
    ref: (x) => range(1, 4, 2).flatMap((i) => range(5, -1, -2).map((j) => x[i * 6 + j]!)),
    secondOrder: true,
  },
  {
    op: 'slice',
    label: 'index drops the axis: x[-1, -2:0:-1]',
    inputs: [{ shape: [4, 5, 3] }],
    fn: (x) => nb.slice(x!, [-1, { start: -2, stop: 0, step: -1 }]),
    ref: (x) => range(3, 0, -1).flatMap((j) => [0, 1, 2].map((k) => x[flat([4, 5, 3], [3, j, k])]!)),
  },
  {
    op: 'slice',
    label: 'bounds clamp: x[:, -100:100:3], method form',
    inputs: [{ shape: [3, 7] }],
    fn: (x) => x!.slice([null, { start: -100, stop: 100, step: 3 }]),
    ref: (x) => [0, 1, 2].flatMap((i) => [0, 3, 6].map((j) => x[i * 7 + j]!)),
  },
  {
    op: 'slice',
    label: 'negative step past the start: x[5:-10:-3] and an empty slice',
    inputs: [{ shape: [7] }],
    fn: (x) => [nb.slice(x!, [{ start: 5, stop: -10, step: -3 }]), nb.slice(x!, [{ start: 4, stop: 2 }])],
    ref: (x) => [[x[5]!, x[2]!], []],
  },
  {
    op: 'slice',
    label: 'of a permuted view',
    inputs: [{ shape: S3 }],
    fn: (x) => nb.slice(nb.permute(x!, [2, 1, 0]), [{ start: 1, step: 2 }, 2]),
    ref: (x) => [1, 3].flatMap((k) => [0, 1].map((i) => x[flat(S3, [i, 2, k])]!)),
  },
  {
    op: 'slice',
    label: 'split into sizes [1,3,2] along axis 1',
    inputs: [{ shape: [2, 6] }],
    fn: (x) => nb.split(x!, [1, 3, 2], 1),
    ref: (x) => [[0, 1], [1, 4], [4, 6]].map(([a, b]) => [0, 1].flatMap((i) => range(a!, b!, 1).map((j) => x[i * 6 + j]!))),
  },
  {
    op: 'slice',
    label: 'split into 3 sections',
    inputs: [{ shape: [6, 2] }],
    fn: (x) => nb.split(x!, 3),
    ref: (x) => [0, 1, 2].map((s) => Array.from(x.slice(4 * s, 4 * s + 4))),
  },
  {
    op: 'sliceGrad',
    inputs: [{ shape: [2, 3] }],
    fn: (g) => nb.sliceGrad(g!, [5, 4], { start: [4, 0], step: [-3, 1], size: [2, 3] }),
    ref: (g) => build([5, 4], ([i, j]) => (j! < 3 && (i === 4 || i === 1) ? g[(i === 4 ? 0 : 1) * 3 + j!]! : 0)),
    secondOrder: true,
  },
  {
    op: 'diagonal',
    label: 'main diagonal of a wide matrix',
    inputs: [{ shape: [3, 4] }],
    fn: (x) => nb.diagonal(x!),
    ref: (x) => [0, 1, 2].map((i) => x[i * 4 + i]!),
    secondOrder: true,
  },
  {
    op: 'diagonal',
    label: 'offset 1 of a tall matrix',
    inputs: [{ shape: [4, 3] }],
    fn: (x) => nb.diagonal(x!, 1),
    ref: (x) => [0, 1].map((i) => x[i * 3 + i + 1]!),
  },
  {
    op: 'diagonal',
    label: 'offset -1 over axes (2, 0) of a batch',
    inputs: [{ shape: [3, 2, 4] }],
    fn: (x) => nb.diagonal(x!, -1, 2, 0),
    // below the diagonal: element i sits at (axis1, axis2) = (i + 1, i), i.e. x[i, j, i + 1]
    ref: (x) => build([2, 3], ([j, i]) => x[flat([3, 2, 4], [i!, j!, i! + 1])]!),
  },
  {
    op: 'diagonalGrad',
    // the diagonal of the (0, 1) planes of [2,4,3] is [3,2]: the remaining axis, then the diagonal
    inputs: [{ shape: [3, 2] }],
    fn: (g) => nb.diagonalGrad(g!, [2, 4, 3], 0, 0, 1),
    ref: (g) => build([2, 4, 3], ([i, j, k]) => (i === j ? g[k! * 2 + i!]! : 0)),
    secondOrder: true,
  },
  {
    op: 'concat',
    label: 'three inputs of different sizes on axis 1',
    inputs: [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }],
    fn: (a, b, c) => nb.concat([a!, b!, c!], 1),
    ref: (a, b, c) =>
      build([2, 7, 3], ([i, j, k]) => (j! < 1 ? a[flat([2, 1, 3], [i!, j!, k!])]! : j! < 5 ? b[flat([2, 4, 3], [i!, j! - 1, k!])]! : c[flat([2, 2, 3], [i!, j! - 5, k!])]!)),
    secondOrder: true,
  },
  {
    op: 'concat',
    label: 'axis -1',
    inputs: [{ shape: [3, 2] }, { shape: [3, 1] }],
    fn: (a, b) => nb.concat([a!, b!], -1),
    ref: (a, b) => build([3, 3], ([i, j]) => (j! < 2 ? a[i! * 2 + j!]! : b[i!]!)),
  },
  {
    op: 'concat',
    label: 'stack on a middle axis',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }],
    fn: (a, b) => nb.stack([a!, b!], 1),
    ref: (a, b) => build([2, 2, 3], ([i, s, j]) => (s === 0 ? a : b)[i! * 3 + j!]!),
  },
  {
    op: 'concat',
    label: 'roll along two axes',
    inputs: [{ shape: [3, 4] }],
    fn: (x) => nb.roll(x!, [1, -5], [0, 1]),
    ref: (x) => build([3, 4], ([i, j]) => x[((i! - 1 + 3) % 3) * 4 + ((j! + 5) % 4)]!),
  },
  {
    op: 'concat',
    label: 'roll flattened',
    inputs: [{ shape: [3, 4] }],
    fn: (x) => nb.roll(x!, 14),
    ref: (x) => build([12], ([k]) => x[(k! - 14 + 24) % 12]!),
  },
  {
    op: 'pad',
    inputs: [{ shape: [3, 4] }],
    fn: (x) => nb.pad(x!, [[1, 2], [0, 3]], 0.5),
    ref: (x) => build([6, 7], ([i, j]) => (i! >= 1 && i! < 4 && j! < 4 ? x[(i! - 1) * 4 + j!]! : 0.5)),
    secondOrder: true,
  },
  {
    op: 'pad',
    label: 'negative pads crop',
    inputs: [{ shape: [3, 4, 2] }],
    fn: (x) => nb.pad(x!, [[-1, 2], [2, -3]]),
    ref: (x) => build([4, 3, 2], ([i, j, k]) => (i! + 1 < 3 && j! - 2 >= 0 ? x[flat([3, 4, 2], [i! + 1, j! - 2, k!])]! : 0)),
    secondOrder: true,
  },
  ...(
    [
      ['tril', 0],
      ['tril', -1],
      ['triu', 1],
      ['triu', -2],
    ] as const
  ).map(
    ([op, k]): OpCase => ({
      op,
      label: `k=${k}, batched`,
      inputs: [{ shape: [2, 3, 4] }],
      fn: (x) => nb[op](x!, k),
      ref: (x) => build([2, 3, 4], ([, i, j]) => ((op === 'tril' ? j! - i! <= k : j! - i! >= k) ? 1 : 0)).map((keep, q) => keep * x[q]!),
      secondOrder: true,
    }),
  ),
];
