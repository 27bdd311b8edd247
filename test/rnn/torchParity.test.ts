/**
 * RNN, LSTM and GRU equal PyTorch's nn.RNN / nn.LSTM / nn.GRU for the same
 * weights (nabla's state dict loaded into PyTorch by name): outputs, final
 * states, and the gradients of every parameter, of the input and of the
 * initial states; multi-layer, bidirectional, with and without bias, both
 * layouts, variable lengths through pack_padded_sequence. Float64 to 1e-10
 * and float32 to 1e-5. Skipped with a one-line reason without PyTorch.
 */
import { describe, expect, it } from 'vitest';
import { tidy, backward, sum, mul, add, nn, randomKey, type Tensor } from '../../src/index.js';
import { GRU, LSTM, RNN, type RnnBase } from '../../src/zoo/rnn/rnn.js';
import { hasTorch, runJson, torchSkipReason } from '../fixtures/torch/torch.js';
import { expectRel, sampler } from '../ssm/helpers.js';

interface Spec {
  mode: 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  bidirectional: boolean;
  dtype: 'f32' | 'f64';
  b: number;
  L: number;
  lengths?: number[];
  initial?: boolean;
}

interface TorchResult {
  names: string[];
  output: number[];
  h: number[];
  c: number[] | null;
  grads: Record<string, number[]>;
  gx: number[];
  gh0: number[] | null;
  gc0: number[] | null;
}

const SPECS: Spec[] = [
  { mode: 'lstm', inputSize: 5, hiddenSize: 4, numLayers: 2, bias: true, batchFirst: true, bidirectional: true, dtype: 'f64', b: 3, L: 6, initial: true },
  { mode: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 2, bias: true, batchFirst: true, bidirectional: true, dtype: 'f64', b: 3, L: 7, lengths: [7, 2, 5], initial: true },
  { mode: 'rnn_tanh', inputSize: 4, hiddenSize: 3, numLayers: 1, bias: false, batchFirst: false, bidirectional: false, dtype: 'f64', b: 2, L: 5 },
  { mode: 'rnn_relu', inputSize: 4, hiddenSize: 3, numLayers: 3, bias: true, batchFirst: true, bidirectional: true, dtype: 'f64', b: 2, L: 4, lengths: [3, 4] },
  { mode: 'lstm', inputSize: 6, hiddenSize: 8, numLayers: 1, bias: true, batchFirst: false, bidirectional: true, dtype: 'f64', b: 4, L: 5, lengths: [5, 1, 3, 4], initial: true },
  { mode: 'lstm', inputSize: 8, hiddenSize: 16, numLayers: 2, bias: true, batchFirst: true, bidirectional: false, dtype: 'f32', b: 4, L: 12, lengths: [12, 9, 3, 12], initial: true },
  { mode: 'gru', inputSize: 8, hiddenSize: 16, numLayers: 1, bias: true, batchFirst: true, bidirectional: true, dtype: 'f32', b: 2, L: 10 },
];

function build(s: Spec, seed: number): RnnBase {
  const opts = { key: randomKey(seed), numLayers: s.numLayers, bias: s.bias, batchFirst: s.batchFirst, bidirectional: s.bidirectional, dtype: s.dtype };
  if (s.mode === 'lstm') return new LSTM(s.inputSize, s.hiddenSize, opts);
  if (s.mode === 'gru') return new GRU(s.inputSize, s.hiddenSize, opts);
  return new RNN(s.inputSize, s.hiddenSize, { ...opts, nonlinearity: s.mode === 'rnn_tanh' ? 'tanh' : 'relu' });
}

const js = (t: Tensor) => ({ shape: t.shape, values: [...t.toF64()] });

describe.skipIf(!hasTorch())(`RNN, LSTM, GRU equal PyTorch for the same weights${torchSkipReason()}`, () => {
  it('outputs, final states and every gradient, for each configuration', () => {
    tidy(() => {
      const mine = SPECS.map((s, i) => {
        const m = build(s, i + 1);
        const r = sampler(100 + i);
        const D = s.bidirectional ? 2 : 1;
        const xShape = s.batchFirst ? [s.b, s.L, s.inputSize] : [s.L, s.b, s.inputSize];
        const oShape = s.batchFirst ? [s.b, s.L, D * s.hiddenSize] : [s.L, s.b, D * s.hiddenSize];
        const st = [s.numLayers * D, s.b, s.hiddenSize];
        const x = r.normal(xShape, { dtype: s.dtype }).requiresGrad_();
        const h0 = s.initial ? r.normal(st, { dtype: s.dtype }).requiresGrad_() : null;
        const c0 = s.initial && s.mode === 'lstm' ? r.normal(st, { dtype: s.dtype }).requiresGrad_() : null;
        const [gOut, gH, gC] = [r.normal(oShape, { dtype: s.dtype }), r.normal(st, { dtype: s.dtype }), r.normal(st, { dtype: s.dtype })];
        const res = m.forward(x, { h0, c0, lengths: s.lengths });
        let loss = add(sum(mul(res.output, gOut)), sum(mul(res.h, gH)));
        if (res.c) loss = add(loss, sum(mul(res.c, gC)));
        backward(loss);
        const state = Object.fromEntries(Object.entries(nn.namedParameters(m)).map(([n, p]) => [n, js(p)]));
        const out = {
          spec: s, names: Object.keys(state), output: res.output.toF64(), h: res.h.toF64(), c: res.c?.toF64() ?? null,
          grads: Object.fromEntries(Object.entries(nn.namedParameters(m)).map(([n, p]) => [n, p.grad!.toF64()])),
          gx: x.grad!.toF64(), gh0: h0?.grad?.toF64() ?? null, gc0: c0?.grad?.toF64() ?? null,
        };
        const input = { ...s, state, x: js(x), h0: h0 ? js(h0) : null, c0: c0 ? js(c0) : null, gOut: js(gOut), gH: js(gH), gC: js(gC) };
        nn.dispose(m);
        return { out, input };
      });
      const theirs = runJson<TorchResult[]>('rnn_parity.py', mine.map((m) => m.input));
      mine.forEach(({ out }, i) => {
        const t = theirs[i]!;
        const tol = out.spec.dtype === 'f64' ? 1e-10 : 1e-5;
        const what = `${out.spec.mode} #${i} (${out.spec.dtype})`;
        expect(out.names, `${what}: parameter names and order`).toEqual(t.names);
        expectRel(out.output, t.output, tol, `${what} output`);
        expectRel(out.h, t.h, tol, `${what} h_n`);
        if (out.c) expectRel(out.c, t.c!, tol, `${what} c_n`);
        for (const n of t.names) expectRel(out.grads[n]!, t.grads[n]!, tol, `${what} d${n}`);
        expectRel(out.gx, t.gx, tol, `${what} dx`);
        if (out.gh0) expectRel(out.gh0, t.gh0!, tol, `${what} dh0`);
        if (out.gc0) expectRel(out.gc0, t.gc0!, tol, `${what} dc0`);
      });
    });
  });
});
