/**
 * Op cases for the fused primitives of src/ops/fused.ts (softmax and
 * log-softmax over the last axis, layer norm and RMS norm forward and their
 * one-pass backward). References are naive float64 loops written from the
 * definitions; the backward primitives are checked against the closed form
 * ∂x = r(ĝ − mean ĝ − x̂·mean(ĝx̂)), ∂w = Σ g·x̂, ∂b = Σ g (Ba et al. 2016).
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

/** Rows of length D of a flat array, mapped by f. */
const perRow = (D: number, f: (row: number[]) => number[]) => (x: Float64Array): number[] => {
  const out: number[] = [];
  for (let at = 0; at < x.length; at += D) out.push(...f(Array.from(x.subarray(at, at + D))));
  return out;
};
const lse = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** Per row: mean (0 for RMS norm) and 1/√(var + ε). */
function stats(row: number[], rms: boolean, eps: number): { mu: number; r: number } {
  const D = row.length;
  const mu = rms ? 0 : row.reduce((a, b) => a + b, 0) / D;
  const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / D;
  return { mu, r: 1 / Math.sqrt(v + eps) };
}

function normRef(D: number, rms: boolean, eps: number) {
  return (x: Float64Array, w?: Float64Array, b?: Float64Array): number[] =>
    perRow(D, (row) => {
      const { mu, r } = stats(row, rms, eps);
      return row.map((v, i) => (v - mu) * r * (w ? w[i]! : 1) + (b ? b[i]! : 0));
    })(x);
}

/** [∂x, ∂w?, ∂b?] of a norm from x, w (or none) and the cotangent g. */
function normGradRef(D: number, rms: boolean, eps: number, outs: { w: boolean; b: boolean }) {
  return (x: Float64Array, w: Float64Array | undefined, g: Float64Array): number[][] => {
    const gx: number[] = [];
    const gw = new Array<number>(D).fill(0);
    const gb = new Array<number>(D).fill(0);
    for (let at = 0; at < x.length; at += D) {
      const row = Array.from(x.subarray(at, at + D));
      const { mu, r } = stats(row, rms, eps);
      const xh = row.map((v) => (v - mu) * r);
      const gh = xh.map((_, i) => g[at + i]! * (w ? w[i]! : 1));
      const m1 = rms ? 0 : gh.reduce((a, c) => a + c, 0) / D;
      const m2 = gh.reduce((a, c, i) => a + c * xh[i]!, 0) / D;
      xh.forEach((h, i) => {
        gx.push(r * (gh[i]! - m1 - h * m2));
        gw[i] += g[at + i]! * h;
        gb[i] += g[at + i]!;
      });
    }
    return [gx, ...(outs.w ? [gw] : []), ...(outs.b ? [gb] : [])];
  };
}

/** g·f′(x), f′ written from the definitions: d/dx x·σ(k(x + cx³)), Φ(x) + xφ(x), σ(x)(1 + x(1 − σ(x))). */
const sig = (v: number): number => 1 / (1 + Math.exp(-v));
const K = 2 * Math.sqrt(2 / Math.PI);
const DERIV: Record<string, (x: number) => number> = {
  geluGrad: (x) => sig(K * (x + 0.044715 * x ** 3)) + x * sig(K * (x + 0.044715 * x ** 3)) * (1 - sig(K * (x + 0.044715 * x ** 3))) * K * (1 + 3 * 0.044715 * x * x),
  geluErfGrad: (x) => {
    // Φ by the series erf(z) = 2/√π Σ (−1)ⁿ z^{2n+1}/(n!(2n+1)), fine for |x| ≤ 4
    const z = x / Math.SQRT2;
    let term = z;
    let erf = z;
    for (let n = 1; n < 80; n++) {
      term *= (-z * z) / n;
      erf += term / (2 * n + 1);
    }
    return 0.5 * (1 + (2 / Math.sqrt(Math.PI)) * erf) + (x * Math.exp(-x * x / 2)) / Math.sqrt(2 * Math.PI);
  },
  siluGrad: (x) => sig(x) * (1 + x * (1 - sig(x))),
};
const actGradRef = (op: string) => (x: Float64Array, g: Float64Array): number[] => Array.from(x, (v, i) => g[i]! * DERIV[op]!(v));

const softmaxRow = (v: number[]): number[] => v.map((x) => Math.exp(x - lse(v)));
const logSoftmaxRow = (v: number[]): number[] => v.map((x) => x - lse(v));

/** Public functions exercised below that are not op names. */
export const fusedComposites = ['geluGrad', 'siluGrad'];

export const fusedCases: OpCase[] = [
  { op: 'geluGrad', label: 'tanh form, [3, 7]', inputs: [{ shape: [3, 7], range: [-4, 4] }, { shape: [3, 7] }], fn: (x, g) => nb.geluGrad(x!, g!, 'tanh'), ref: actGradRef('geluGrad'), noGrad: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'geluErfGrad', label: 'exact, [33]', inputs: [{ shape: [33], range: [-4, 4] }, { shape: [33] }], fn: (x, g) => nb.geluGrad(x!, g!), ref: actGradRef('geluErfGrad'), noGrad: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'siluGrad', label: '[2, 3, 5]', inputs: [{ shape: [2, 3, 5], range: [-6, 6] }, { shape: [2, 3, 5] }], fn: (x, g) => nb.siluGrad(x!, g!), ref: actGradRef('siluGrad'), noGrad: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'softmaxLast', label: '[3, 7]', inputs: [{ shape: [3, 7] }], fn: (x) => nb.softmaxLast(x!), ref: perRow(7, softmaxRow), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'softmaxLast', label: '[2, 3, 33], inputs ~1000', inputs: [{ shape: [2, 3, 33], range: [995, 1005] }], fn: (x) => nb.softmaxLast(x!), ref: perRow(33, softmaxRow) },
  { op: 'softmaxLast', label: '[1]', inputs: [{ shape: [1] }], fn: (x) => nb.softmaxLast(x!), ref: perRow(1, softmaxRow) },
  {
    op: 'softmaxLastGrad',
    label: 'softmax form, [3, 7]',
    inputs: [{ shape: [3, 7], range: [0, 1] }, { shape: [3, 7] }],
    fn: (y, g) => nb.softmaxLastGrad(y!, g!),
    ref: (y, g) => Array.from(y, (v, i) => {
      const at = i - (i % 7);
      const s = Array.from({ length: 7 }, (_, j) => g[at + j]! * y[at + j]!).reduce((a, b) => a + b, 0);
      return v * (g[i]! - s);
    }),
    noGrad: true,
  },
  {
    op: 'softmaxLastGrad',
    label: 'log-softmax form, [2, 33]',
    inputs: [{ shape: [2, 33], range: [-6, 0] }, { shape: [2, 33] }],
    fn: (y, g) => nb.softmaxLastGrad(y!, g!, true),
    ref: (y, g) => Array.from(y, (v, i) => {
      const at = i - (i % 33);
      const s = Array.from({ length: 33 }, (_, j) => g[at + j]!).reduce((a, b) => a + b, 0);
      return g[i]! - Math.exp(v) * s;
    }),
    noGrad: true,
  },
  { op: 'logSoftmaxLast', label: '[4, 9]', inputs: [{ shape: [4, 9] }], fn: (x) => nb.logSoftmaxLast(x!), ref: perRow(9, logSoftmaxRow), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'logSoftmaxLast', label: '[2, 257], inputs ~ -1000', inputs: [{ shape: [2, 257], range: [-1005, -995] }], fn: (x) => nb.logSoftmaxLast(x!), ref: perRow(257, logSoftmaxRow) },
  {
    op: 'layerNormFused',
    label: 'weight and bias, [3, 4, 7]',
    inputs: [{ shape: [3, 4, 7] }, { shape: [7], range: [0.5, 1.5] }, { shape: [7] }],
    fn: (x, w, b) => nb.layerNormFused(x!, 1, w!, b!),
    ref: normRef(7, false, 1e-5),
    secondOrder: true,
    dtypes: ['f32', 'f16', 'bf16'],
  },
  { op: 'layerNormFused', label: 'no affine, two axes, mean far from 0', inputs: [{ shape: [3, 5, 4], range: [90, 94] }], fn: (x) => nb.layerNormFused(x!, 2, null, null, 1e-3), ref: normRef(20, false, 1e-3), fdTol: 1e-4 },
  { op: 'layerNormFused', label: 'bias only, D = 33', inputs: [{ shape: [2, 33] }, { shape: [33] }], fn: (x, b) => nb.layerNormFused(x!, 1, null, b!), ref: (x, b) => normRef(33, false, 1e-5)(x, undefined, b) },
  { op: 'rmsNormFused', label: 'weight, [4, 9]', inputs: [{ shape: [4, 9] }, { shape: [9], range: [0.5, 1.5] }], fn: (x, w) => nb.rmsNormFused(x!, 1, w!), ref: normRef(9, true, 1e-6), secondOrder: true, dtypes: ['f32', 'f16', 'bf16'] },
  { op: 'rmsNormFused', label: 'no weight, D = 1', inputs: [{ shape: [5, 1], range: [0.5, 2] }], fn: (x) => nb.rmsNormFused(x!, 1, null, 1e-2), ref: normRef(1, true, 1e-2) },
  {
    op: 'layerNormGrad',
    label: 'weight and bias',
    inputs: [{ shape: [5, 7] }, { shape: [7], range: [0.5, 1.5] }, { shape: [5, 7] }],
    fn: (x, w, g) => nb.layerNormGrad(x!, 1, w!, true, g!),
    ref: (x, w, g) => normGradRef(7, false, 1e-5, { w: true, b: true })(x, w, g),
    noGrad: true,
  },
  { op: 'layerNormGrad', label: 'no affine, D = 33', inputs: [{ shape: [3, 33] }, { shape: [3, 33] }], fn: (x, g) => nb.layerNormGrad(x!, 1, null, false, g!), ref: (x, g) => normGradRef(33, false, 1e-5, { w: false, b: false })(x, undefined, g), noGrad: true },
  {
    op: 'rmsNormGrad',
    label: 'weight',
    inputs: [{ shape: [2, 3, 9] }, { shape: [9], range: [0.5, 1.5] }, { shape: [2, 3, 9] }],
    fn: (x, w, g) => nb.rmsNormGrad(x!, 1, w!, g!),
    ref: (x, w, g) => normGradRef(9, true, 1e-6, { w: true, b: false })(x, w, g),
    noGrad: true,
  },
];
