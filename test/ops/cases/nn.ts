/**
 * Op cases for softmax, log-softmax, the losses and max-pooling. References are
 * naive float64 loops written from the definitions (PyTorch's conventions for
 * the losses: mean over non-ignored targets, label smoothing (1 − ε)·nll + ε·mean_c(−log p_c)).
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';
import { groups, unravel } from './reduce.js';

/** Public composites exercised below (not in OPS). */
export const nnComposites = ['softmax', 'logSoftmax', 'crossEntropy', 'nllLoss', 'mseLoss', 'binaryCrossEntropyWithLogits'];

const lse = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** Apply f to every line along `axis` of a row-major array, writing the line it returns back in place. */
function perLine(shape: number[], axis: number, f: (line: number[]) => number[]): (x: Float64Array) => number[] {
  return (x) => {
    const y = new Array<number>(x.length);
    const n = shape[axis]!;
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    for (let k = 0; k < x.length; k++) {
      if (unravel(k, shape)[axis] !== 0) continue;
      const line = Array.from({ length: n }, (_, t) => x[k + t * stride]!);
      f(line).forEach((v, t) => (y[k + t * stride] = v));
    }
    return y;
  };
}
const softmaxLine = (v: number[]): number[] => v.map((x) => Math.exp(x - lse(v)));
const logSoftmaxLine = (v: number[]): number[] => v.map((x) => x - lse(v));

/** Logits laid out (rows, C) with the class axis last; targets one per row. */
function ceRef(C: number, opts: { ignore?: number; eps?: number; reduction?: 'mean' | 'sum' | 'none' }) {
  return (logits: Float64Array, target: Float64Array): number[] => {
    const rows = target.length;
    const eps = opts.eps ?? 0;
    const losses: number[] = [];
    let count = 0;
    for (let r = 0; r < rows; r++) {
      const t = target[r]!;
      if (t === (opts.ignore ?? -100)) {
        losses.push(0);
        continue;
      }
      const line = Array.from(logits.subarray(r * C, (r + 1) * C));
      const logp = logSoftmaxLine(line);
      const nll = -logp[t]!;
      const uniform = -logp.reduce((a, b) => a + b, 0) / C;
      losses.push((1 - eps) * nll + eps * uniform);
      count++;
    }
    const total = losses.reduce((a, b) => a + b, 0);
    if (opts.reduction === 'none') return losses;
    return [opts.reduction === 'sum' ? total : total / count];
  };
}

/** Class indices in [0, C) with every third one replaced by `ignore`. */
const targetsWithIgnored = (C: number, ignore: number) => (rng: () => number, n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 2 ? ignore : Math.floor(rng() * C)));

/** log σ(x), stable on both sides, written independently of the library's softplus. */
const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

function bceRef(pw: (i: number) => number, reduction: 'mean' | 'sum') {
  return (x: Float64Array, t: Float64Array): number[] => {
    const l = Array.from(x, (xi, i) => -(pw(i) * t[i]! * logSigmoid(xi) + (1 - t[i]!) * logSigmoid(-xi)));
    const s = l.reduce((a, b) => a + b, 0);
    return [reduction === 'sum' ? s : s / l.length];
  };
}

/** Max over every window of the −∞-padded last axis, the naive O(n·k) way. */
export function naivePool(shape: number[], k: number, stride: number, pad: number): (x: Float64Array) => number[] {
  return (x) => {
    const L = shape.at(-1)!;
    const n = Math.floor((L + 2 * pad - k) / stride) + 1;
    const out: number[] = [];
    for (let r = 0; r < x.length / L; r++) {
      for (let j = 0; j < n; j++) {
        let m = -Infinity;
        for (let q = j * stride; q < j * stride + k; q++) {
          const i = q - pad;
          if (i >= 0 && i < L) m = Math.max(m, x[r * L + i]!);
        }
        out.push(m);
      }
    }
    return out;
  };
}

export const nnCases: OpCase[] = [
  { op: 'softmax', label: 'axis -1', inputs: [{ shape: [3, 5] }], fn: (x) => nb.softmax(x!), ref: perLine([3, 5], 1, softmaxLine), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'softmax', label: 'axis 0 of [4,2,3]', inputs: [{ shape: [4, 2, 3] }], fn: (x) => nb.softmax(x!, 0), ref: perLine([4, 2, 3], 0, softmaxLine) },
  { op: 'softmax', label: 'inputs ~1000', inputs: [{ shape: [3, 4], range: [995, 1005] }], fn: (x) => nb.softmax(x!), ref: perLine([3, 4], 1, softmaxLine) },
  { op: 'logSoftmax', label: 'axis -1', inputs: [{ shape: [3, 5] }], fn: (x) => nb.logSoftmax(x!), ref: perLine([3, 5], 1, logSoftmaxLine), secondOrder: true },
  { op: 'logSoftmax', label: 'axis 1 of [2,3,4]', inputs: [{ shape: [2, 3, 4] }], fn: (x) => nb.logSoftmax(x!, 1), ref: perLine([2, 3, 4], 1, logSoftmaxLine) },
  { op: 'logSoftmax', label: 'inputs ~ -1000', inputs: [{ shape: [3, 4], range: [-1005, -995] }], fn: (x) => nb.logSoftmax(x!), ref: perLine([3, 4], 1, logSoftmaxLine) },
  {
    op: 'crossEntropy',
    label: 'class indices, mean',
    inputs: [{ shape: [4, 5] }, { shape: [4], dtype: 'i32', range: [0, 5] }],
    fn: (l, t) => nb.crossEntropy(l!, t!),
    ref: ceRef(5, {}),
    secondOrder: true,
    dtypes: ['f32', 'f16', 'bf16'],
  },
  {
    op: 'crossEntropy',
    label: 'ignoreIndex and label smoothing, mean',
    inputs: [{ shape: [6, 4] }, { shape: [6], dtype: 'i32', gen: targetsWithIgnored(4, -100) }],
    fn: (l, t) => nb.crossEntropy(l!, t!, { labelSmoothing: 0.1 }),
    ref: ceRef(4, { eps: 0.1 }),
  },
  {
    op: 'crossEntropy',
    label: 'custom ignoreIndex, none',
    inputs: [{ shape: [6, 4] }, { shape: [6], dtype: 'i32', gen: targetsWithIgnored(4, 7) }],
    fn: (l, t) => nb.crossEntropy(l!, t!, { ignoreIndex: 7, reduction: 'none' }),
    ref: ceRef(4, { ignore: 7, reduction: 'none' }),
  },
  {
    op: 'crossEntropy',
    label: '(N, C, d) with axis 1, sum',
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4], dtype: 'i32', range: [0, 3] }],
    fn: (l, t) => nb.crossEntropy(l!, t!, { axis: 1, reduction: 'sum' }),
    // move the class axis last, then the (rows, C) reference applies
    ref: (l, t) => ceRef(3, { reduction: 'sum' })(Float64Array.from({ length: 24 }, (_, k) => l[Math.floor(k / 12) * 12 + (k % 3) * 4 + Math.floor((k % 12) / 3)]!), t),
  },
  {
    op: 'crossEntropy',
    label: 'probability targets, label smoothing',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4], gen: (rng, n) => Array.from({ length: n }, () => rng()) }],
    fn: (l, t) => nb.crossEntropy(l!, nb.div(t!, nb.sum(t!, -1, true)), { labelSmoothing: 0.2 }),
    ref: (l, t) => {
      let total = 0;
      groups(t, [3, 4], [1]).forEach((row, r) => {
        const z = row.reduce((a, b) => a + b, 0);
        const logp = logSoftmaxLine(Array.from(l.subarray(r * 4, r * 4 + 4)));
        row.forEach((tc, c) => (total -= (0.8 * (tc / z) + 0.2 / 4) * logp[c]!));
      });
      return [total / 3];
    },
  },
  {
    op: 'nllLoss',
    label: 'ignoreIndex 2, mean',
    inputs: [{ shape: [5, 3] }, { shape: [5], dtype: 'i32', range: [0, 3] }],
    fn: (lp, t) => nb.nllLoss(lp!, t!, { ignoreIndex: 2 }),
    ref: (lp, t) => {
      let s = 0;
      let n = 0;
      t.forEach((c, r) => {
        if (c !== 2) {
          s -= lp[r * 3 + c]!;
          n++;
        }
      });
      return [s / n];
    },
  },
  { op: 'nllLoss', label: 'sum', inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'i32', range: [0, 3] }], fn: (lp, t) => nb.nllLoss(lp!, t!, { reduction: 'sum' }), ref: (lp, t) => [-Array.from(t).reduce((s, c, r) => s + lp[r * 3 + c]!, 0)] },
  { op: 'mseLoss', label: 'mean', inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], fn: (a, b) => nb.mseLoss(a!, b!), ref: (a, b) => [a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / 12], secondOrder: true },
  { op: 'mseLoss', label: 'none', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], fn: (a, b) => nb.mseLoss(a!, b!, { reduction: 'none' }), ref: (a, b) => Array.from(a, (v, i) => (v - b[i]!) ** 2) },
  {
    op: 'binaryCrossEntropyWithLogits',
    label: 'mean',
    inputs: [{ shape: [3, 4], range: [-4, 4] }, { shape: [3, 4], range: [0, 1] }],
    fn: (x, t) => nb.binaryCrossEntropyWithLogits(x!, t!),
    ref: bceRef(() => 1, 'mean'),
    secondOrder: true,
  },
  {
    op: 'binaryCrossEntropyWithLogits',
    label: 'posWeight tensor, sum',
    inputs: [{ shape: [3, 4], range: [-4, 4] }, { shape: [3, 4], range: [0, 1] }, { shape: [4], range: [0.5, 3] }],
    fn: (x, t, w) => nb.binaryCrossEntropyWithLogits(x!, t!, { posWeight: w!, reduction: 'sum' }),
    ref: (x, t, w) => bceRef((i) => w[i % 4]!, 'sum')(x, t),
  },
  {
    op: 'binaryCrossEntropyWithLogits',
    label: 'logits ±1000, posWeight 2.5',
    inputs: [{ shape: [2, 4], gen: (rng, n) => Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (990 + 20 * rng())) }, { shape: [2, 4], range: [0, 1] }],
    fn: (x, t) => nb.binaryCrossEntropyWithLogits(x!, t!, { posWeight: 2.5 }),
    ref: bceRef(() => 2.5, 'mean'),
  },
  { op: 'maxPool1d', label: 'kernel 3, stride 2, padding 1', inputs: [{ shape: [2, 3, 10] }], fn: (x) => nb.maxPool1d(x!, 3, { stride: 2, padding: 1 }), ref: naivePool([2, 3, 10], 3, 2, 1), secondOrder: true },
  { op: 'maxPool1d', label: 'kernel 4 (stride 4), ragged end', inputs: [{ shape: [3, 11] }], fn: (x) => nb.maxPool1d(x!, 4), ref: naivePool([3, 11], 4, 4, 0) },
  { op: 'maxPool1d', label: 'kernel 5 stride 1 on a 1-D input', inputs: [{ shape: [9] }], fn: (x) => nb.maxPool1d(x!, 5, { stride: 1 }), ref: naivePool([9], 5, 1, 0) },
];
