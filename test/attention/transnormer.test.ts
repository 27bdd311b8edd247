/**
 * TransNormer: NormAttention's chunked form equals its parallel form and
 * decodes like its full pass; DiagAttention equals softmax attention under the
 * block-diagonal mask at cost O(n·w); the layer pattern; and the gradient
 * stress test of §3.1: with respect to the attention map, the gradient of the
 * row-scaled form grows without bound as rows lose mass while the unscaled
 * (NormAttention) form's stays fixed.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { DiagAttention, NormAttention, blockDiagonalAttention, transNormerLayerKinds, transNormerMixers } from '../../src/zoo/attention/transnormer.js';
import { applyAttentionMap } from '../../src/zoo/attention/linear.ref.js';
import { attentionRef } from '../../src/zoo/attention/attention.ref.js';
import { blockDiagonalPattern, maskFromPattern } from '../../src/zoo/attention/masks.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(2210);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

describe('NormAttention', () => {
  it('chunked equals parallel (values and gradients, f64), decoding equals forward', () => {
    nb.tidy(() => {
      const a = new NormAttention(12, { key: kk(1), heads: 2, chunk: 4, dtype: 'f64' });
      const b = new NormAttention(12, { key: kk(1), heads: 2, form: 'parallel', dtype: 'f64' });
      const x = nb.normal(kk(2), [2, 13, 12], { dtype: 'f64' });
      expectParity((t) => a.forward(t), (t) => b.forward(t), [x], 1e-10, 'NormAttention');
      expectDecodeEqualsForward(a, x, 1e-10, 'NormAttention');
      nn.dispose(a);
      nn.dispose(b);
    });
  });

  it('gradient stress test (§3.1): ‖∂L/∂A‖ of the scaled form grows ~1/eps as rows lose mass; the unscaled form stays fixed', () => {
    // A = tril(relu(Q − β) relu(K)ᵀ): raising β empties rows of A. Measured (n = 64, d = 16, max over 4 seeds):
    //   β = 0: scaled 9.3e1, unscaled 2.6e2;  β = 1: scaled 7.9e7, unscaled 2.6e2;  β = 2: scaled 2.2e8, unscaled 2.6e2
    const gradNorms = (beta: number): [number, number] => {
      let [gs, gu] = [0, 0];
      for (let s = 0; s < 4; s++) {
        nb.tidy(() => {
          const k = (i: number) => nb.foldIn(kk(10 + s), i);
          const fq = nb.relu(nb.sub(nb.normal(k(1), [64, 16], { dtype: 'f64' }), beta));
          const fk = nb.relu(nb.normal(k(2), [64, 16], { dtype: 'f64' }));
          const [v, w] = [nb.normal(k(3), [64, 16], { dtype: 'f64' }), nb.normal(k(4), [64, 16], { dtype: 'f64' })];
          const A = nb.tril(nb.matmulT(fq, fk, false, true));
          const loss = (normalize: boolean) => (a: nb.Tensor) => nb.sum(nb.mul(applyAttentionMap(a, v, { normalize }), w));
          gs = Math.max(gs, nb.norm(nb.grad(loss(true))(A) as nb.Tensor).item());
          gu = Math.max(gu, nb.norm(nb.grad(loss(false))(A) as nb.Tensor).item());
        });
      }
      return [gs, gu];
    };
    const [s0, u0] = gradNorms(0);
    const [s1, u1] = gradNorms(1);
    const [s2, u2] = gradNorms(2);
    expect(s1 / s0).toBeGreaterThan(1e4);
    expect(s2).toBeGreaterThanOrEqual(s1 * 0.99);
    for (const u of [u1, u2]) expect(Math.abs(u / u0 - 1)).toBeLessThan(1e-12);
    expect(u0).toBeLessThan(1e3);
  });
});

describe('DiagAttention', () => {
  for (const causal of [true, false]) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`equals softmax attention under the block-diagonal mask (${causal ? 'causal' : 'non-causal'}, ${dtype}, n = 19, w = 5)`, () => {
        nb.tidy(() => {
          const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(20 + i), [2, 2, 19, 4], { dtype }));
          const mask = maskFromPattern(19, 19, blockDiagonalPattern(5, causal));
          expectParity((a, b, c) => blockDiagonalAttention(a, b, c, 5, { causal }), (a, b, c) => attentionRef(a, b, c, { mask }), [q!, k!, v!], tol, 'diag');
        });
      });
    }
  }

  it('decoding (a state of one block) equals forward', () => {
    nb.tidy(() => {
      const m = new DiagAttention(8, { key: kk(30), heads: 2, block: 3, dtype: 'f64' });
      expectDecodeEqualsForward(m, nb.normal(kk(31), [2, 10, 8], { dtype: 'f64' }), 1e-10, 'DiagAttention');
      nn.dispose(m);
    });
  });

  it('memory grows as n·w, not n² (allocator high-water mark)', () => {
    const run = (n: number) =>
      nb.tidy(() => {
        const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(40 + i), [1, 1, n, 8]));
        return peakExtraBytes(() => blockDiagonalAttention(q!, k!, v!, 32, { causal: true }));
      });
    expect(run(2048) / run(512)).toBeLessThan(5);
  });
});

describe('TransNormer layers', () => {
  it('DiagAttention in the lower half, NormAttention in the upper half', () => {
    expect(transNormerLayerKinds(4)).toEqual(['diag', 'diag', 'norm', 'norm']);
    expect(transNormerLayerKinds(5)).toEqual(['diag', 'diag', 'norm', 'norm', 'norm']);
    const ms = transNormerMixers(8, 4, { key: kk(50), heads: 2, block: 4 });
    expect(ms.map((m) => m.constructor.name)).toEqual(['DiagAttention', 'DiagAttention', 'NormAttention', 'NormAttention']);
    ms.forEach((m) => nn.dispose(m));
  });
});
