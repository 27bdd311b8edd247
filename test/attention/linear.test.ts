/**
 * Linear attention (Katharopoulos et al. 2020): the parallel, chunked and
 * recurrent forms are equal in values and gradients; decoding equals the full
 * pass; memory grows linearly in n for the chunked form and quadratically for
 * the parallel one.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { linearAttentionParallel } from '../../src/zoo/attention/linear.ref.js';
import { LinearAttention, eluPlusOne, linearAttentionChunked, linearAttentionRecurrent } from '../../src/zoo/attention/linear.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(2006);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

function inputs(seed: number, dtype: 'f32' | 'f64', n: number, f = 5, dv = 3): nb.Tensor[] {
  return [nb.normal(kk(seed), [2, 2, n, f], { dtype }), nb.normal(kk(seed + 1), [2, 2, n, f], { dtype }), nb.normal(kk(seed + 2), [2, 2, n, dv], { dtype })];
}

describe('linear attention: three forms', () => {
  const phi = (f: nb.Tensor) => eluPlusOne(f);
  for (const causal of [true, false]) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`chunked equals parallel (${causal ? 'causal' : 'non-causal'}, ${dtype}, n = 23, chunk 5)`, () => {
        const par = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => linearAttentionParallel(phi(q), phi(k), v, { causal });
        const chk = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => linearAttentionChunked(phi(q), phi(k), v, { causal, chunk: 5 });
        nb.tidy(() => expectParity(chk, par, inputs(causal ? 1 : 11, dtype, 23), tol, 'chunked'));
      });
    }
  }
  it('recurrent equals parallel (causal, f64, relu features, unnormalised too)', () => {
    for (const normalize of [true, false]) {
      const par = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => linearAttentionParallel(nb.relu(q), nb.relu(k), v, { causal: true, normalize });
      const rec = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => linearAttentionRecurrent(nb.relu(q), nb.relu(k), v, { normalize });
      nb.tidy(() => expectParity(rec, par, inputs(21, 'f64', 9), 1e-10, `recurrent normalize=${normalize}`));
    }
  });
  it('chunk sizes 1, n and larger than n all agree', () => {
    nb.tidy(() => {
      const [q, k, v] = inputs(31, 'f64', 11).map((t) => eluPlusOne(t));
      const ref = linearAttentionParallel(q!, k!, v!, { causal: true }).toF64();
      for (const c of [1, 11, 40]) expect(Array.from(linearAttentionChunked(q!, k!, v!, { causal: true, chunk: c }).toF64()).every((x, i) => Math.abs(x - ref[i]!) < 1e-12)).toBe(true);
    });
  });
});

describe('LinearAttention mixer', () => {
  it.each([['elu', 'elu'], ['relu', 'relu'], ['custom (softplus)', (x: nb.Tensor) => nb.softplus(x)]] as const)('step() equals forward (%s features)', (_n, featureMap) => {
    nb.tidy(() => {
      const m = new LinearAttention(12, { key: kk(40), heads: 3, featureMap, chunk: 4, dtype: 'f64' });
      expectDecodeEqualsForward(m, nb.normal(kk(41), [2, 10, 12], { dtype: 'f64' }), 1e-10, String(_n));
      nn.dispose(m);
    });
  });
  it('the parallel and chunked mixers agree (f32, gradients through the projections)', () => {
    nb.tidy(() => {
      const a = new LinearAttention(16, { key: kk(42), heads: 2, chunk: 8 });
      const b = new LinearAttention(16, { key: kk(42), heads: 2, form: 'parallel' });
      const x = nb.normal(kk(43), [1, 30, 16]);
      expectParity((t) => a.forward(t), (t) => b.forward(t), [x], 1e-5, 'mixer');
      nn.dispose(a);
      nn.dispose(b);
    });
  });
  it('rejects unknown feature maps', () => {
    expect(() => new LinearAttention(8, { key: kk(1), heads: 2, featureMap: 'tanh' as never })).toThrow(/unknown feature map 'tanh'/);
  });
});

describe('cost', () => {
  it('chunked memory grows linearly in n, parallel quadratically (allocator high-water mark)', () => {
    const run = (n: number, form: 'chunked' | 'parallel') =>
      nb.tidy(() => {
        const [q, k, v] = [nb.normal(kk(50), [1, 1, n, 8]), nb.normal(kk(51), [1, 1, n, 8]), nb.normal(kk(52), [1, 1, n, 8])];
        return peakExtraBytes(() => (form === 'parallel' ? linearAttentionParallel(q!, k!, v!, { causal: true }) : linearAttentionChunked(q!, k!, v!, { causal: true, chunk: 32 })));
      });
    const c1 = run(512, 'chunked');
    const c2 = run(2048, 'chunked');
    const p1 = run(512, 'parallel');
    const p2 = run(2048, 'parallel');
    // 4x the length: ~4x the memory for the chunked form, ~16x for the parallel one
    expect(c2 / c1).toBeLessThan(5);
    expect(p2 / p1).toBeGreaterThan(12);
  });
});
