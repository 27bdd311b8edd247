/**
 * Layers against PyTorch for the same weights and inputs: forward values and
 * the gradients of ⟨cot, out⟩ with respect to the input and every parameter.
 * The weights travel by nabla's parameter names and PyTorch loads them with
 * load_state_dict(strict=True), so the names are checked too. Agreement: 1e-10
 * relative in float64, 1e-5 in float32. One Python run serves all cases.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { hasTorch, runJson, torchSkipReason } from '../fixtures/torch/torch.js';
import { mulberry32, randn } from '../helpers/rng.js';

type TorchDType = 'float64' | 'float32';

/** Weights for functional layers that have no nabla module (transposed convolutions). */
class Holder extends nn.Module {
  weight: nb.Tensor;
  bias: nb.Tensor | null;
  constructor(weight: nb.Tensor, bias: nb.Tensor | null) {
    super();
    this.weight = nn.param(weight);
    this.bias = bias && nn.param(bias);
  }
}

interface Case {
  name: string;
  dtype: TorchDType;
  module: string;
  args: Record<string, unknown>;
  build: (key: nb.Key, dtype: nb.DType) => nn.Module;
  x: { shape: number[]; int?: number };
  forward: (m: never, x: nb.Tensor) => nb.Tensor;
}

const CASES: Case[] = [
  { name: 'Linear', dtype: 'float64', module: 'Linear', args: { in: 4, out: 5, bias: true }, build: (key, dtype) => new nn.Linear(4, 5, { key, dtype }), x: { shape: [2, 3, 4] }, forward: (m: nn.Linear, x) => m.forward(x) },
  { name: 'Linear, float32, no bias', dtype: 'float32', module: 'Linear', args: { in: 6, out: 3, bias: false }, build: (key, dtype) => new nn.Linear(6, 3, { key, dtype, bias: false }), x: { shape: [4, 6] }, forward: (m: nn.Linear, x) => m.forward(x) },
  { name: 'LayerNorm over two axes', dtype: 'float64', module: 'LayerNorm', args: { shape: [2, 6], eps: 1e-5 }, build: (_k, dtype) => new nn.LayerNorm([2, 6], { dtype }), x: { shape: [3, 2, 6] }, forward: (m: nn.LayerNorm, x) => m.forward(x) },
  { name: 'RMSNorm', dtype: 'float64', module: 'RMSNorm', args: { dim: 8, eps: 1e-6 }, build: (_k, dtype) => new nn.RMSNorm(8, { dtype }), x: { shape: [2, 3, 8] }, forward: (m: nn.RMSNorm, x) => m.forward(x) },
  {
    name: 'Embedding with paddingIdx',
    dtype: 'float64',
    module: 'Embedding',
    args: { num: 7, dim: 3, paddingIdx: 2 },
    build: (key, dtype) => new nn.Embedding(7, 3, { key, dtype, paddingIdx: 2 }),
    x: { shape: [2, 5], int: 7 },
    forward: (m: nn.Embedding, x) => m.forward(x),
  },
  {
    name: 'Conv1d stride 2, padding 1, dilation 2, groups 2',
    dtype: 'float64',
    module: 'Conv1d',
    args: { in: 4, out: 6, k: 3, kw: { stride: 2, padding: 1, dilation: 2, groups: 2 } },
    build: (key, dtype) => new nn.Conv1d(4, 6, 3, { key, dtype, stride: 2, padding: 1, dilation: 2, groups: 2 }),
    x: { shape: [2, 4, 11] },
    forward: (m: nn.Conv1d, x) => m.forward(x),
  },
  { name: "Conv1d padding 'same' (odd total)", dtype: 'float64', module: 'Conv1d', args: { in: 3, out: 2, k: 4, kw: { padding: 'same' } }, build: (key, dtype) => new nn.Conv1d(3, 2, 4, { key, dtype, padding: 'same' }), x: { shape: [2, 3, 7] }, forward: (m: nn.Conv1d, x) => m.forward(x) },
  {
    name: 'causal depthwise Conv1d (Mamba)',
    dtype: 'float64',
    module: 'CausalConv1d',
    args: { in: 5, k: 4 },
    build: (key, dtype) => new nn.Conv1d(5, 5, 4, { key, dtype, groups: 5, padding: 'causal' }),
    x: { shape: [2, 5, 9] },
    forward: (m: nn.Conv1d, x) => m.forward(x),
  },
  {
    name: 'Conv2d stride (2,1), padding (1,2), dilation (1,2), groups 2',
    dtype: 'float64',
    module: 'Conv2d',
    args: { in: 4, out: 6, k: 3, kw: { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 } },
    build: (key, dtype) => new nn.Conv2d(4, 6, 3, { key, dtype, stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
    x: { shape: [2, 4, 6, 5] },
    forward: (m: nn.Conv2d, x) => m.forward(x),
  },
  { name: 'Conv2d float32, 3×3 same', dtype: 'float32', module: 'Conv2d', args: { in: 3, out: 4, k: 3, kw: { padding: 1 } }, build: (key, dtype) => new nn.Conv2d(3, 4, 3, { key, dtype, padding: 1 }), x: { shape: [2, 3, 8, 8] }, forward: (m: nn.Conv2d, x) => m.forward(x) },
  {
    name: 'ConvTranspose1d stride 2, padding 1, outputPadding 1',
    dtype: 'float64',
    module: 'ConvTranspose1d',
    args: { in: 3, out: 4, k: 3, kw: { stride: 2, padding: 1, output_padding: 1 } },
    build: (key, dtype) => new Holder(nb.normal(key, [3, 4, 3], { dtype }), nb.zeros([4], { dtype })),
    x: { shape: [2, 3, 5] },
    forward: (m: Holder, x) => nb.convTranspose1d(x, m.weight, m.bias, { stride: 2, padding: 1, outputPadding: 1 }),
  },
  {
    name: 'ConvTranspose2d groups 2, stride 2, padding 1, outputPadding 1',
    dtype: 'float64',
    module: 'ConvTranspose2d',
    args: { in: 4, out: 4, k: 3, kw: { stride: 2, padding: 1, output_padding: 1, groups: 2 } },
    build: (key, dtype) => new Holder(nb.normal(key, [4, 2, 3, 3], { dtype }), nb.zeros([4], { dtype })),
    x: { shape: [1, 4, 3, 3] },
    forward: (m: Holder, x) => nb.convTranspose2d(x, m.weight, m.bias, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  },
  { name: 'GEGLU', dtype: 'float64', module: 'GatedFF', args: { dim: 4, hidden: 6, act: 'gelu' }, build: (key, dtype) => new nn.GEGLU(4, 6, { key, dtype }), x: { shape: [2, 3, 4] }, forward: (m: nn.GEGLU, x) => m.forward(x) },
  { name: 'SwiGLU', dtype: 'float64', module: 'GatedFF', args: { dim: 4, hidden: 6, act: 'silu' }, build: (key, dtype) => new nn.SwiGLU(4, 6, { key, dtype }), x: { shape: [2, 3, 4] }, forward: (m: nn.SwiGLU, x) => m.forward(x) },
  {
    name: 'RoPE half-split (HF Llama rotate_half), offset 3',
    dtype: 'float64',
    module: 'Rope',
    args: { interleaved: false, offset: 3, base: 10000 },
    build: () => new nn.RotaryEmbedding(8),
    x: { shape: [1, 2, 5, 8] },
    forward: (m: nn.RotaryEmbedding, x) => m.rotate(x, 3),
  },
  {
    name: 'RoPE interleaved (Meta Llama complex pairs), offset 2, base 500',
    dtype: 'float64',
    module: 'Rope',
    args: { interleaved: true, offset: 2, base: 500 },
    build: () => new nn.RotaryEmbedding(6, { interleaved: true, base: 500 }),
    x: { shape: [2, 1, 4, 6] },
    forward: (m: nn.RotaryEmbedding, x) => m.rotate(x, 2),
  },
];

interface TorchResult {
  out: number[];
  shape: number[];
  grads: Record<string, number[]>;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

interface Prepared {
  model: nn.Module;
  x: nb.Tensor;
  xValues: number[];
  cot: number[];
  outShape: number[];
}

/** Build each case's module, give it seeded weights, and record what PyTorch needs. */
function prepare(c: Case, i: number): Prepared {
  const rng = mulberry32(1000 + i);
  const dtype: nb.DType = c.dtype === 'float64' ? 'f64' : 'f32';
  const model = c.build(nb.randomKey(i), dtype);
  const state = Object.fromEntries(Object.entries(nn.namedParameters(model)).map(([n, p]) => [n, nb.tensor(Array.from({ length: p.size }, () => 0.7 * randn(rng)), p.shape, { dtype })]));
  nn.loadStateDict(model, state);
  for (const t of Object.values(state)) t.dispose();
  const n = c.x.shape.reduce((a, b) => a * b, 1);
  const xValues = Array.from({ length: n }, () => (c.x.int ? Math.floor(rng() * c.x.int) : randn(rng)));
  const x = nb.tensor(xValues, c.x.shape, c.x.int ? { dtype: 'i32' } : { dtype, requiresGrad: true });
  const outShape = nb.tidy(() => c.forward(model as never, x).shape.slice());
  const cot = Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => randn(rng));
  return { model, x, xValues, cot, outShape };
}

describe.skipIf(!hasTorch())(`layers match PyTorch${torchSkipReason()}`, () => {
  let prepared: Prepared[] = [];
  let torchOut: TorchResult[] = [];

  beforeAll(() => {
    prepared = CASES.map(prepare);
    torchOut = runJson<TorchResult[]>(
      'nn_layers.py',
      CASES.map((c, i) => {
        const p = prepared[i]!;
        const state = Object.fromEntries(Object.entries(nn.namedParameters(p.model)).map(([n, t]) => [n, { shape: t.shape, values: Array.from(t.toF64()) }]));
        return { module: c.module, args: c.args, dtype: c.dtype, state, x: { shape: c.x.shape, values: p.xValues, int: !!c.x.int }, cot: { shape: p.outShape, values: p.cot } };
      }),
    );
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = CASES[i]!;
    const { model, x, cot, outShape } = prepared[i]!;
    const theirs = torchOut[i]!;
    const tol = c.dtype === 'float64' ? 1e-10 : 1e-5;
    expect(outShape).toEqual(theirs.shape);
    nb.tidy(() => {
      const out = c.forward(model as never, x);
      expect(relErr(out.toF64(), theirs.out), 'forward').toBeLessThan(tol);
      nb.backward(nb.sum(nb.mul(out, nb.tensor(cot, outShape, { dtype: out.dtype }))));
    });
    const params = nn.namedParameters(model);
    for (const [name, g] of Object.entries(theirs.grads)) {
      const mine = name === 'x' ? x.grad : params[name]?.grad;
      expect(mine, `gradient of ${name}`).toBeInstanceOf(nb.Tensor);
      expect(relErr(mine!.toF64(), g), `gradient of ${name}`).toBeLessThan(tol);
    }
    // every parameter that PyTorch differentiates, nabla does too, and no more
    expect(Object.keys(params).filter((n) => params[n]!.grad !== null).sort()).toEqual(Object.keys(theirs.grads).filter((n) => n !== 'x').sort());
    nn.dispose(model);
    x.dispose();
  });
});
