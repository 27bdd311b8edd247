/**
 * Sparse attention (Child et al. 2019; local windows): each efficient form
 * equals dense attention under the same mask in values and gradients (causal
 * and not, n not a multiple of the block); decoding equals the full pass;
 * memory grows as n·w for the local window, where dense attention's grows as n².
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { SparseAttention, sparseAttention, sparsePredicate, type SparsePattern } from '../../src/zoo/attention/sparse.js';
import { attentionRef } from '../../src/zoo/attention/attention.ref.js';
import { fixedPattern, maskFromPattern, stridedPattern } from '../../src/zoo/attention/masks.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(1904);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

const patterns: [string, SparsePattern][] = [
  ['local causal w=4', { kind: 'local', window: 4 }],
  ['local bidirectional w=3', { kind: 'local', window: 3, causal: false }],
  ['strided l=4', { kind: 'strided', stride: 4 }],
  ['fixed l=5 c=2', { kind: 'fixed', stride: 5, summary: 2 }],
];

describe('sparse attention equals dense attention under the same mask', () => {
  for (const [name, pat] of patterns) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`${name} (${dtype}, n = 22)`, () => {
        nb.tidy(() => {
          const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(10 * i + name.length), [2, 2, 22, 4], { dtype }));
          const mask = maskFromPattern(22, 22, sparsePredicate(pat));
          expectParity((a, b, c) => sparseAttention(a, b, c, pat), (a, b, c) => attentionRef(a, b, c, { mask }), [q!, k!, v!], tol, name);
        });
      });
    }
  }

  it('the patterns are what the paper draws (spot checks)', () => {
    const s = stridedPattern(4);
    expect([s(9, 9), s(9, 6), s(9, 5), s(9, 1), s(9, 2), s(9, 10)]).toEqual([true, true, true, true, false, false]);
    const f = fixedPattern(5, 2);
    expect([f(7, 5), f(7, 3), f(7, 4), f(7, 2), f(12, 8), f(12, 6)]).toEqual([true, true, true, false, true, false]);
  });
});

describe('SparseAttention mixer', () => {
  it.each(patterns.filter(([, p]) => p.kind !== 'local' || p.causal !== false))('decoding equals forward (%s)', (_n, pat) => {
    nb.tidy(() => {
      const m = new SparseAttention(8, { key: kk(40), heads: 2, pattern: pat, dtype: 'f64' });
      expectDecodeEqualsForward(m, nb.normal(kk(41), [2, 13, 8], { dtype: 'f64' }), 1e-10, _n);
      nn.dispose(m);
    });
  });
});

describe('cost', () => {
  it('local window: memory grows as n·w; dense attention: as n²', () => {
    const run = (n: number, dense: boolean) =>
      nb.tidy(() => {
        const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(50 + i), [1, 1, n, 8]));
        return peakExtraBytes(() => (dense ? attentionRef(q!, k!, v!, { causal: true }) : sparseAttention(q!, k!, v!, { kind: 'local', window: 32 })));
      });
    expect(run(1024, false) / run(256, false)).toBeLessThan(5);
    expect(run(1024, true) / run(256, true)).toBeGreaterThan(12);
  });
});
