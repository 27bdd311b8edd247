/**
 * The mixers' `attentionWeights(x)`: softmax attention's P = softmax(QKᵀ/√d + M)
 * per head equals an independent float64 computation from the module's own
 * projections (rotary embeddings included), its rows sum to 1, causal entries
 * above the diagonal are 0, padded keys get no weight, and wo(merge(P V))
 * reproduces the forward output, through the naive path and through
 * FlashAttention alike; feature-map attention (linear, Performer) returns its
 * row-normalised kernel weights, which reproduce its chunked forward; the
 * recurrent mixers have none.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { MultiHeadAttention } from '../../src/zoo/attention/mha.js';
import { LinearAttention } from '../../src/zoo/attention/linear.js';
import { Performer } from '../../src/zoo/attention/performer.js';
import { mergeHeads, splitHeads } from '../../src/zoo/attention/heads.js';
import { createMixer } from '../../src/zoo/mixer.js';
import '../../src/zoo/ssm/index.js';
import '../../src/zoo/rnn/index.js';
import { expectClose } from '../helpers/check.js';
import { softmaxMapsRef } from './mapRef.js';

const root = nb.randomKey(11);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

/** wo(merge(P V)) with V = splitHeads(wv(x)) and query head i reading value head ⌊i·h_kv/h⌋. */
function outputFromWeights(m: { wv: nn.Linear; wo: nn.Linear }, x: nb.Tensor, P: nb.Tensor, kvHeads: number): nb.Tensor {
  const [b, h, n] = P.shape as [number, number, number];
  const v = splitHeads(m.wv.forward(x), kvHeads); // (b, hkv, n, dv)
  const o = nb.matmul(nb.reshape(P, [b, kvHeads, h / kvHeads, n, n]), nb.reshape(v, [b, kvHeads, 1, n, v.shape[3]!]));
  return m.wo.forward(mergeHeads(nb.reshape(o, [b, h, n, v.shape[3]!])));
}

/** Every row of P (…, n, n) sums to 1 within tol, and entries above the diagonal are exactly 0. */
function expectCausalRows(P: Float64Array, n: number, tol: number): void {
  for (let r = 0; r < P.length / n; r++) {
    const i = r % n;
    let s = 0;
    for (let j = 0; j < n; j++) {
      const p = P[r * n + j]!;
      if (j > i) expect(p).toBe(0);
      else expect(p).toBeGreaterThanOrEqual(0);
      s += p;
    }
    expect(Math.abs(s - 1)).toBeLessThan(tol);
  }
}

describe('attentionWeights of the attention mixers', () => {
  it('MultiHeadAttention (GQA, rotary, f64): equals an independent float64 softmax of its projections; causal rows; reproduces forward', () => {
    nb.tidy(() => {
      const [d, n, heads, kvHeads] = [16, 9, 4, 2];
      const m = new MultiHeadAttention(d, { key: kk(1), heads, kvHeads, ropeDim: 2, dtype: 'f64' });
      const x = nb.normal(kk(2), [2, n, d], { dtype: 'f64' });
      const P = m.attentionWeights(x);
      expect(P.shape).toEqual([2, heads, n, n]);
      const p = P.toF64();
      expectCausalRows(p, n, 1e-12);
      const xs = x.toF64();
      for (let b = 0; b < 2; b++) {
        const ref = softmaxMapsRef(xs.subarray(b * n * d, (b + 1) * n * d), n, d, m.wq.weight.toF64(), m.wk.weight.toF64(), { heads, kvHeads, headDim: 4, ropeDim: 2, ropeBase: 10000, causal: true });
        ref.forEach((r, i) => expectClose(p.subarray((b * heads + i) * n * n, (b * heads + i + 1) * n * n), r, 1e-12, `batch ${b} head ${i}`));
      }
      expectClose(outputFromWeights(m, x, P, kvHeads).toF64(), m.forward(x).toF64(), 1e-12, 'wo(P V) vs forward');
      nn.dispose(m);
    });
  });

  it('float32 through FlashAttention: the same weights as the naive path, and they reproduce the flash forward', () => {
    nb.tidy(() => {
      const mf = new MultiHeadAttention(32, { key: kk(3), heads: 4, impl: 'flash' });
      const mn = new MultiHeadAttention(32, { key: kk(3), heads: 4, impl: 'naive' });
      const x = nb.normal(kk(4), [1, 40, 32]);
      const Pf = mf.attentionWeights(x);
      expect(Array.from(Pf.toF64())).toEqual(Array.from(mn.attentionWeights(x).toF64()));
      expectCausalRows(Pf.toF64(), 40, 1e-5);
      expectClose(outputFromWeights(mf, x, Pf, 4).toF64(), mf.forward(x).toF64(), 1e-5, 'wo(P V) vs flash forward');
      nn.dispose(mf);
      nn.dispose(mn);
    });
  });

  it('a padded key gets no weight, and the forward path does not form P (the output is the same with or without a call)', () => {
    nb.tidy(() => {
      const m = new MultiHeadAttention(8, { key: kk(5), heads: 2, causal: false, dtype: 'f64' });
      const x = nb.normal(kk(6), [2, 5, 8], { dtype: 'f64' });
      const padding = nb.tensor(Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), [2, 5], { dtype: 'bool' });
      const P = m.attentionWeights(x, { padding }).toF64();
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 5; i++) {
          const row = P.subarray(((2 + h) * 5 + i) * 5, ((2 + h) * 5 + i + 1) * 5);
          expect(row[3]).toBe(0);
          expect(row[4]).toBe(0);
          expect(Math.abs(row.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-12);
        }
      }
      expectClose(outputFromWeights(m, x, m.attentionWeights(x, { padding }), 2).toF64(), m.forward(x, { padding }).toF64(), 1e-12, 'padded');
      nn.dispose(m);
    });
  });

  it.each([
    ['LinearAttention', () => new LinearAttention(12, { key: kk(7), heads: 3, chunk: 4, dtype: 'f64' })],
    ['Performer', () => new Performer(12, { key: kk(8), heads: 2, features: 16, chunk: 4, dtype: 'f64' })],
  ] as const)('%s: row-normalised kernel weights φ(q)·φ(k), causal, reproducing the chunked forward', (_name, make) => {
    nb.tidy(() => {
      const m = make();
      const n = 11;
      const x = nb.normal(kk(9), [2, n, 12], { dtype: 'f64' });
      const P = m.attentionWeights(x);
      expect(P.shape).toEqual([2, m.config.heads, n, n]);
      expectCausalRows(P.toF64(), n, 1e-5); // the denominator's eps = 1e-6
      expectClose(outputFromWeights(m, x, P, m.config.heads).toF64(), m.forward(x).toF64(), 1e-10, 'wo(P V) vs forward');
      nn.dispose(m);
    });
  });

  it('recurrent and state-space mixers have no attention weights', () => {
    for (const kind of ['mamba', 'lstm']) {
      const m = createMixer(16, { kind }, kk(10));
      expect(m.attentionWeights).toBeUndefined();
      nn.dispose(m);
    }
    const soft = createMixer(16, { kind: 'softmax' }, kk(10));
    expect(typeof soft.attentionWeights).toBe('function');
    nn.dispose(soft);
  });

  it('names a bad input', () => {
    const m = new MultiHeadAttention(8, { key: kk(12), heads: 2 });
    expect(() => m.attentionWeights(nb.zeros([1, 3, 4]))).toThrow(/MultiHeadAttention.attentionWeights: x is \[1,3,4\]/);
    nn.dispose(m);
  });
});
