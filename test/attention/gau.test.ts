/**
 * GAU and FLASH (Hua et al. 2022): chunked mixed attention equals the direct
 * mixed formula (values and gradients, causal and not, n not a multiple of c);
 * FLASH and GAU decode token by token exactly as their full pass; FLASH with a
 * single chunk covering the sequence is the GAU's quadratic attention; memory
 * grows as n·c.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { GAU, RelativeBias, range } from '../../src/zoo/attention/gau.js';
import { FLASH, mixedChunkAttention } from '../../src/zoo/attention/flashMixed.js';
import { mixedChunkAttentionDirect } from '../../src/zoo/attention/flashMixed.ref.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(2202_10447);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

function randomBias(R: number, dtype: 'f32' | 'f64', seed: number): RelativeBias {
  const b = new RelativeBias(R, dtype);
  const t = nb.normal(kk(seed), [2 * R - 1], { dtype });
  nn.mapParameters(b, () => t);
  return b;
}

describe('FLASH mixed chunk attention', () => {
  for (const causal of [true, false]) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`chunked equals the direct mixed formula (${causal ? 'causal' : 'non-causal'}, ${dtype}, n = 17, c = 5)`, () => {
        nb.tidy(() => {
          const n = 17;
          const c = 5;
          const xs = [0, 1, 2, 3].map((i) => nb.normal(kk(i + (causal ? 0 : 10)), [2, n, 6], { dtype }));
          const v = nb.normal(kk(20), [2, n, 4], { dtype });
          const bias = randomBias(4, dtype, 21);
          const chunked = (a: nb.Tensor, b: nb.Tensor, cc: nb.Tensor, d: nb.Tensor, e: nb.Tensor) =>
            mixedChunkAttention(a, b, cc, d, e, { chunk: c, causal, linearScale: 9, bias: bias.matrix(range(0, c), range(0, c)) });
          const direct = (a: nb.Tensor, b: nb.Tensor, cc: nb.Tensor, d: nb.Tensor, e: nb.Tensor) =>
            mixedChunkAttentionDirect(a, b, cc, d, e, { chunk: c, causal, linearScale: 9, bias: bias.matrix(range(0, n), range(0, n)) });
          expectParity(chunked, direct, [...xs, v], tol, 'mixed');
          nn.dispose(bias);
        });
      });
    }
  }

  it('decoding equals the full pass (FLASH, chunk 3, n = 10; GAU)', () => {
    nb.tidy(() => {
      const f = new FLASH(8, { key: kk(30), s: 4, chunk: 3, maxLength: 16, dtype: 'f64' });
      const g = new GAU(8, { key: kk(31), s: 4, maxLength: 16, maxRelative: 4, dtype: 'f64' });
      // non-zero biases so the relative positions are exercised
      for (const m of [f, g]) nn.mapParameters(m.bias, (_n, t) => nb.normal(kk(32), t.shape as number[], { dtype: 'f64' }));
      const x = nb.normal(kk(33), [2, 10, 8], { dtype: 'f64' });
      expectDecodeEqualsForward(f, x, 1e-10, 'FLASH');
      expectDecodeEqualsForward(g, x, 1e-10, 'GAU');
      nn.dispose(f);
      nn.dispose(g);
    });
  });

  it('one chunk covering the sequence leaves only the quadratic (GAU) part', () => {
    nb.tidy(() => {
      const [a, b, c, d] = [0, 1, 2, 3].map((i) => nb.normal(kk(40 + i), [1, 6, 4], { dtype: 'f64' }));
      const v = nb.normal(kk(44), [1, 6, 3], { dtype: 'f64' });
      const one = mixedChunkAttention(a!, b!, c!, d!, v, { chunk: 6, causal: true, linearScale: 1, bias: null });
      const quad = nb.matmul(nb.tril(nb.square(nb.relu(nb.mul(nb.matmulT(a!, b!, false, true), 1 / 6)))), v);
      expect(nb.norm(nb.sub(one, quad)).item()).toBeLessThan(1e-12);
    });
  });

  it('memory grows as n·c, not n²', () => {
    const run = (n: number) =>
      nb.tidy(() => {
        const xs = [0, 1, 2, 3, 4].map((i) => nb.normal(kk(50 + i), [1, n, 16]));
        return peakExtraBytes(() => mixedChunkAttention(xs[0]!, xs[1]!, xs[2]!, xs[3]!, xs[4]!, { chunk: 32, causal: true, linearScale: n, bias: null }));
      });
    expect(run(2048) / run(512)).toBeLessThan(5);
  });
});
