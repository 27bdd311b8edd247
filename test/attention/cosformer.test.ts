/**
 * cosFormer: the linear form (cos/sin decomposition through the chunked
 * linear-attention machinery) equals the quadratic re-weighted form it
 * rewrites, causal and not, in values and gradients; decoding equals the full
 * pass; memory grows linearly.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { Cosformer, cosformerFeatures, cosformerQuadratic } from '../../src/zoo/attention/cosformer.js';
import { linearAttentionChunked } from '../../src/zoo/attention/linear.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(2202);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

describe('cosFormer', () => {
  for (const causal of [true, false]) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`linear form equals the quadratic form (${causal ? 'causal' : 'non-causal'}, ${dtype}, n = 21, chunk 4)`, () => {
        nb.tidy(() => {
          const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(i + (causal ? 0 : 10)), [2, 2, 21, 4], { dtype }));
          const M = 30;
          const lin = (a: nb.Tensor, b: nb.Tensor, c: nb.Tensor) => linearAttentionChunked(cosformerFeatures(a, 0, M), cosformerFeatures(b, 0, M), c, { causal, chunk: 4 });
          expectParity(lin, (a, b, c) => cosformerQuadratic(a, b, c, { causal, M }), [q!, k!, v!], tol, 'cosformer');
        });
      });
    }
  }

  it('the re-weighting matters: it differs from plain ReLU linear attention', () => {
    nb.tidy(() => {
      const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(20 + i), [1, 1, 12, 4], { dtype: 'f64' }));
      const a = cosformerQuadratic(q!, k!, v!, { causal: true, M: 12 });
      const b = linearAttentionChunked(nb.relu(q!), nb.relu(k!), v!, { causal: true });
      expect(nb.norm(nb.sub(a, b)).item()).toBeGreaterThan(1e-2);
    });
  });

  it('mixer: decoding equals forward; chunked equals parallel; positions past maxLength are refused', () => {
    nb.tidy(() => {
      const m = new Cosformer(8, { key: kk(30), heads: 2, chunk: 3, maxLength: 64, dtype: 'f64' });
      const p = new Cosformer(8, { key: kk(30), heads: 2, form: 'parallel', maxLength: 64, dtype: 'f64' });
      const x = nb.normal(kk(31), [2, 11, 8], { dtype: 'f64' });
      expectDecodeEqualsForward(m, x, 1e-10, 'cosformer');
      expectParity((t) => m.forward(t), (t) => p.forward(t), [x], 1e-10, 'forms');
      const small = new Cosformer(8, { key: kk(32), heads: 2, maxLength: 5, dtype: 'f64' });
      expect(() => small.forward(x)).toThrow(/past maxLength 5/);
      [m, p, small].forEach((t) => nn.dispose(t));
    });
  });

  it('memory grows linearly in n', () => {
    const run = (n: number) =>
      nb.tidy(() => {
        const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(40 + i), [1, 1, n, 8]));
        return peakExtraBytes(() => linearAttentionChunked(cosformerFeatures(q!, 0, n), cosformerFeatures(k!, 0, n), v!, { causal: true, chunk: 32 }));
      });
    expect(run(2048) / run(512)).toBeLessThan(5);
  });
});
