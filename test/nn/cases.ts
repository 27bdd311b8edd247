/**
 * Checker cases for the layers' functional forms (and modules whose fields are
 * swapped for the checker's inputs): values against naive float64 loops
 * written from the papers' equations, float32/16-bit against float64,
 * strided inputs, and reverse/forward gradients against finite differences.
 */
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import type { OpCase } from '../helpers/check.js';
import { erf } from '../../src/core/special.js';

const K = nb.randomKey(7);

/** Rows of a row-major (rows, n) array. */
const rows = (x: ArrayLike<number>, n: number): number[][] => Array.from({ length: x.length / n }, (_, r) => Array.from(x).slice(r * n, (r + 1) * n));
const sumOf = (v: number[]): number => v.reduce((a, b) => a + b, 0);

/** y = x Wᵀ + b for x (rows, in), W (out, in). */
function naiveLinear(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, inF: number, outF: number): number[] {
  const out: number[] = [];
  for (const row of rows(x, inF)) for (let o = 0; o < outF; o++) out.push(sumOf(row.map((v, i) => v * w[o * inF + i]!)) + (b ? b[o]! : 0));
  return out;
}

function naiveLayerNorm(x: ArrayLike<number>, n: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  return rows(x, n).flatMap((r) => {
    const mu = sumOf(r) / n;
    const v = sumOf(r.map((t) => (t - mu) ** 2)) / n;
    return r.map((t, i) => ((t - mu) / Math.sqrt(v + eps)) * w[i]! + b[i]!);
  });
}

function naiveRmsNorm(x: ArrayLike<number>, n: number, w: ArrayLike<number>, eps: number): number[] {
  return rows(x, n).flatMap((r) => {
    const rms = Math.sqrt(sumOf(r.map((t) => t * t)) / n + eps);
    return r.map((t, i) => (t / rms) * w[i]!);
  });
}

const gelu = (t: number): number => 0.5 * t * (1 + erf(t / Math.SQRT2));
const silu = (t: number): number => t / (1 + Math.exp(-t));
const sigmoid = (t: number): number => 1 / (1 + Math.exp(-t));

/** Rotate pairs of the first r channels of each row (n·…, d) by (offset + p)·base^(−2i/r). */
export function naiveRope(x: ArrayLike<number>, n: number, d: number, r: number, interleaved: boolean, offset = 0, base = 10000): number[] {
  const out = Array.from(x);
  rows(x, d).forEach((row, q) => {
    const p = (q % n) + offset;
    for (let i = 0; i < r / 2; i++) {
      const th = p * base ** (-(2 * i) / r);
      const [ia, ib] = interleaved ? [2 * i, 2 * i + 1] : [i, i + r / 2];
      out[q * d + ia] = row[ia]! * Math.cos(th) - row[ib]! * Math.sin(th);
      out[q * d + ib] = row[ib]! * Math.cos(th) + row[ia]! * Math.sin(th);
    }
  });
  return out;
}

/** A SwiGLU/GEGLU layer whose weights are the given tensors. */
function gated(Cls: typeof nn.SwiGLU, w1: nb.Tensor, w2: nb.Tensor, w3: nb.Tensor): nn.GatedFeedForward {
  const m = new Cls(w1.shape[1]!, w1.shape[0]!, { key: K, outDim: w2.shape[0]! });
  nn.dispose(m);
  m.w1.weight = w1;
  m.w2.weight = w2;
  m.w3.weight = w3;
  return m;
}

function naiveGated(act: (t: number) => number, x: ArrayLike<number>, w1: ArrayLike<number>, w2: ArrayLike<number>, w3: ArrayLike<number>, d: number, h: number, o: number): number[] {
  const a = naiveLinear(x, w1, null, d, h).map(act);
  const v = naiveLinear(x, w3, null, d, h);
  return naiveLinear(a.map((t, i) => t * v[i]!), w2, null, h, o);
}

export const layerCases: OpCase[] = [
  {
    op: 'linear',
    label: 'x (2,3,4), bias',
    inputs: [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }],
    fn: (x, w, b) => nn.linear(x!, w!, b!),
    ref: (x, w, b) => naiveLinear(x, w, b, 4, 5),
    secondOrder: true,
    dtypes: ['f32', 'f16', 'bf16'],
  },
  { op: 'linear', label: 'vector x, no bias', inputs: [{ shape: [4] }, { shape: [3, 4] }], fn: (x, w) => nn.linear(x!, w!), ref: (x, w) => naiveLinear(x, w, null, 4, 3) },
  {
    op: 'layerNorm',
    label: 'last axis, affine',
    inputs: [{ shape: [3, 5] }, { shape: [5] }, { shape: [5] }],
    fn: (x, w, b) => nn.layerNorm(x!, 5, w!, b!),
    ref: (x, w, b) => naiveLayerNorm(x, 5, w, b, 1e-5),
    secondOrder: true,
    dtypes: ['f32', 'f16', 'bf16'],
  },
  {
    op: 'layerNorm',
    label: 'two trailing axes, eps 0.1',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }],
    fn: (x, w, b) => nn.layerNorm(x!, [3, 4], w!, b!, 0.1),
    ref: (x, w, b) => naiveLayerNorm(x, 12, w, b, 0.1),
  },
  {
    op: 'rmsNorm',
    label: 'last axis, weight',
    inputs: [{ shape: [3, 6] }, { shape: [6] }],
    fn: (x, w) => nn.rmsNorm(x!, 6, w!),
    ref: (x, w) => naiveRmsNorm(x, 6, w, 1e-6),
    secondOrder: true,
    dtypes: ['f32', 'f16', 'bf16'],
  },
  {
    op: 'scaleNorm',
    label: 'g·x/‖x‖',
    inputs: [{ shape: [4, 5] }, { shape: [] }],
    fn: (x, g) => nn.scaleNorm(x!, g!),
    ref: (x, g) => rows(x, 5).flatMap((r) => r.map((t) => (g[0]! * t) / Math.max(Math.sqrt(sumOf(r.map((u) => u * u))), 1e-5))),
    secondOrder: true,
  },
  {
    op: 'embedding',
    label: 'indices (2,3)',
    inputs: [{ shape: [2, 3], dtype: 'i32', range: [0, 5] }, { shape: [5, 4] }],
    fn: (i, w) => nn.embedding(i!, w!),
    ref: (i, w) => Array.from(i).flatMap((k) => Array.from(w.subarray(k * 4, k * 4 + 4))),
  },
  {
    op: 'dropout',
    label: 'p 0.3, fixed key',
    inputs: [{ shape: [4, 6] }],
    fn: (x) => nn.dropout(x!, 0.3, K),
    // the mask is the key's Bernoulli(0.7) draw; kept entries are scaled by 1/0.7
    ref: (x) => {
      const keep = nb.bernoulli(K, 0.7, [4, 6]).toF64();
      return Array.from(x, (v, i) => (keep[i] ? v / 0.7 : 0));
    },
  },
  { op: 'glu', label: 'sigmoid', inputs: [{ shape: [3, 6] }], fn: (x) => nn.glu(x!), ref: (x) => rows(x, 6).flatMap((r) => r.slice(0, 3).map((a, i) => a * sigmoid(r[3 + i]!))), secondOrder: true },
  { op: 'geglu', inputs: [{ shape: [2, 2, 4] }], fn: (x) => nn.geglu(x!), ref: (x) => rows(x, 4).flatMap((r) => r.slice(0, 2).map((a, i) => a * gelu(r[2 + i]!))) },
  { op: 'swiglu', inputs: [{ shape: [3, 4] }], fn: (x) => nn.swiglu(x!), ref: (x) => rows(x, 4).flatMap((r) => r.slice(0, 2).map((a, i) => a * silu(r[2 + i]!))) },
  {
    op: 'SwiGLU',
    label: 'w2(silu(w1 x) ⊙ w3 x)',
    inputs: [{ shape: [2, 4] }, { shape: [6, 4] }, { shape: [3, 6] }, { shape: [6, 4] }],
    fn: (x, w1, w2, w3) => gated(nn.SwiGLU, w1!, w2!, w3!).forward(x!),
    ref: (x, w1, w2, w3) => naiveGated(silu, x, w1, w2, w3, 4, 6, 3),
    secondOrder: true,
  },
  {
    op: 'GEGLU',
    label: 'w2(gelu(w1 x) ⊙ w3 x)',
    inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [4, 5] }, { shape: [5, 4] }],
    fn: (x, w1, w2, w3) => gated(nn.GEGLU, w1!, w2!, w3!).forward(x!),
    ref: (x, w1, w2, w3) => naiveGated(gelu, x, w1, w2, w3, 4, 5, 4),
  },
  ...[false, true].flatMap((interleaved): OpCase[] => [
    {
      op: 'applyRotary',
      label: `${interleaved ? 'interleaved' : 'half-split'}, full rotary, offset 3`,
      inputs: [{ shape: [2, 2, 5, 6] }],
      fn: (x) => nn.applyRotary(x!, nn.rotaryTables(5, 6, { offset: 3, dtype: x!.dtype }), { interleaved }),
      ref: (x) => naiveRope(x, 5, 6, 6, interleaved, 3),
      secondOrder: !interleaved,
    },
    {
      op: 'applyRotary',
      label: `${interleaved ? 'interleaved' : 'half-split'}, partial rotary 4 of 6, base 100`,
      inputs: [{ shape: [3, 4, 6] }],
      fn: (x) => nn.applyRotary(x!, nn.rotaryTables(4, 4, { base: 100, dtype: x!.dtype }), { interleaved }),
      ref: (x) => naiveRope(x, 4, 6, 4, interleaved, 0, 100),
    },
  ]),
  {
    op: 'timestepEmbedding',
    label: 'DDPM (sin first, shift 1), odd dim',
    inputs: [{ shape: [3], range: [0, 5] }],
    fn: (t) => nn.timestepEmbedding(t!, 7),
    ref: (t) =>
      Array.from(t).flatMap((tt) => {
        const w = [0, 1, 2].map((k) => Math.exp((-Math.log(10000) * k) / 2));
        return [...w.map((f) => Math.sin(tt * f)), ...w.map((f) => Math.cos(tt * f)), 0];
      }),
  },
  {
    op: 'timestepEmbedding',
    label: 'ADM (cos first, shift 0), scale 2',
    inputs: [{ shape: [2], range: [0, 3] }],
    fn: (t) => nn.timestepEmbedding(t!, 6, { flipSinToCos: true, downscaleFreqShift: 0, scale: 2, maxPeriod: 100 }),
    ref: (t) =>
      Array.from(t).flatMap((tt) => {
        const w = [0, 1, 2].map((k) => 2 * Math.exp((-Math.log(100) * k) / 3));
        return [...w.map((f) => Math.cos(tt * f)), ...w.map((f) => Math.sin(tt * f))];
      }),
  },
  {
    op: 'GaussianFourierProjection',
    label: 'W as input',
    inputs: [{ shape: [3], range: [-1, 1] }, { shape: [4] }],
    fn: (x, w) => {
      const m = new nn.GaussianFourierProjection({ key: K, embeddingSize: 4 });
      nn.dispose(m);
      m.W = w!;
      return m.forward(x!);
    },
    ref: (x, w) => Array.from(x).flatMap((t) => [...Array.from(w, (f) => Math.sin(2 * Math.PI * t * f)), ...Array.from(w, (f) => Math.cos(2 * Math.PI * t * f))]),
  },
];
