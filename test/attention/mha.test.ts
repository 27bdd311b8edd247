/**
 * Softmax multi-head attention: incremental decoding with the KV cache equals
 * the full causal pass (with RoPE, grouped-query heads, QK-norm); tree
 * attention verifies candidates exactly as separate causal passes would; the
 * flash path equals the naive one; padding and dropout behave.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { MultiHeadAttention } from '../../src/zoo/attention/mha.js';
import { maskedSoftmax } from '../../src/zoo/attention/attention.ref.js';
import { treeMask } from '../../src/zoo/attention/masks.js';
import { expectClose } from '../helpers/check.js';

const root = nb.randomKey(7);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

function decodeAll(m: MultiHeadAttention, x: nb.Tensor): Float64Array {
  const [b, n] = x.shape as [number, number];
  let st = m.initState(b);
  const outs: nb.Tensor[] = [];
  for (let t = 0; t < n; t++) {
    const xt = nb.slice(x, [null, t]);
    const [y, s2] = m.step(xt, st);
    outs.push(y);
    st = s2;
  }
  st.dispose();
  return nb.stack(outs, 1).toF64();
}

describe('MultiHeadAttention', () => {
  it.each([
    ['MHA', { heads: 4 }],
    ['GQA + QK-norm', { heads: 4, kvHeads: 2, qkNorm: true }],
    ['MQA, partial rotary', { heads: 4, kvHeads: 1, ropeDim: 2 }],
  ] as const)('step() over the sequence equals the causal forward (%s)', (_n, o) => {
    nb.tidy(() => {
      const m = new MultiHeadAttention(16, { key: kk(1), dtype: 'f64', ...o });
      const x = nb.normal(kk(2), [2, 9, 16], { dtype: 'f64' });
      expectClose(decodeAll(m, x), m.forward(x).toF64(), 1e-10, 'decode vs forward');
      nn.dispose(m);
    });
  });

  it('f32: the flash path equals the naive path, and decoding equals both', () => {
    nb.tidy(() => {
      const mf = new MultiHeadAttention(32, { key: kk(3), heads: 4, kvHeads: 2, impl: 'flash' });
      const mn = new MultiHeadAttention(32, { key: kk(3), heads: 4, kvHeads: 2, impl: 'naive' });
      const x = nb.normal(kk(4), [2, 70, 32]);
      const yf = mf.forward(x).toF64();
      expectClose(yf, mn.forward(x).toF64(), 1e-5, 'flash vs naive');
      expectClose(decodeAll(mf, nb.slice(x, [null, { stop: 20 }])), nb.slice(mf.forward(x), [null, { stop: 20 }]).toF64(), 1e-5, 'decode');
      // gradients through the module agree too
      const loss = (m: MultiHeadAttention) => () => nb.sum(nb.square(m.forward(x)));
      const gf = nb.gradients([loss(mf)()], [mf.wq.weight, mf.wk.weight, mf.wv.weight]);
      const gn = nb.gradients([loss(mn)()], [mn.wq.weight, mn.wk.weight, mn.wv.weight]);
      gf.forEach((g, i) => expectClose(g!.toF64(), gn[i]!.toF64(), 1e-4, `grad ${i}`));
      nn.dispose(mf);
      nn.dispose(mn);
    });
  });

  it('tree attention: each candidate gets the output of a causal pass over prefix + its path', () => {
    nb.tidy(() => {
      const m = new MultiHeadAttention(8, { key: kk(5), heads: 2, dtype: 'f64' });
      const prefix = nb.normal(kk(6), [1, 4, 8], { dtype: 'f64' });
      const cand = nb.normal(kk(7), [1, 5, 8], { dtype: 'f64' });
      // tree: 0 and 1 are roots; 2 under 0; 3 under 2; 4 under 1
      const parents = [-1, -1, 0, 2, 1];
      const [y, st] = m.extend(prefix, m.initState(1));
      y.dispose();
      const [yt, st2] = m.extend(cand, st, { parents });
      const paths = [[0], [1], [0, 2], [0, 2, 3], [1, 4]];
      paths.forEach((path, i) => {
        const seq = nb.concat([prefix, nb.indexSelect(cand, 1, nb.tensor(Int32Array.from(path), [path.length], { dtype: 'i32' }))], 1);
        const full = nb.slice(m.forward(seq), [null, { start: -1 }]);
        expectClose(nb.slice(yt, [null, { start: i, stop: i + 1 }]).toF64(), full.toF64(), 1e-10, `candidate ${i}`);
      });
      // accept the path 0 → 2 → 3: keep the prefix and those three, then continue decoding
      const kept = st2.select([0, 1, 2, 3, 4, 6, 7]);
      expect(kept.length).toBe(7);
      const next = nb.normal(kk(8), [1, 8], { dtype: 'f64' });
      const [yn, st3] = m.step(next, kept);
      const seq = nb.concat([prefix, nb.indexSelect(cand, 1, nb.tensor(Int32Array.from([0, 2, 3]), [3], { dtype: 'i32' })), nb.reshape(next, [1, 1, 8])], 1);
      expectClose(yn.toF64(), nb.slice(m.forward(seq), [null, -1]).toF64(), 1e-10, 'after select');
      st3.dispose();
      nn.dispose(m);
    });
  });

  it('treeMask: a token sees exactly itself and its ancestors', () => {
    nb.tidy(() => {
      expect(treeMask([-1, 0, 0, 1]).toArray()).toEqual([
        [true, false, false, false],
        [true, true, false, false],
        [true, false, true, false],
        [true, true, false, true],
      ]);
      expect(() => treeMask([0])).toThrow(/parents\[0\] is 0/);
    });
  });

  it('key padding: padded keys do not change the real positions; fully masked rows give 0, not NaN', () => {
    nb.tidy(() => {
      const m = new MultiHeadAttention(8, { key: kk(9), heads: 2, causal: false, dtype: 'f64' });
      const x = nb.normal(kk(10), [2, 6, 8], { dtype: 'f64' });
      const pad = nb.tensor([[true, true, true, true, false, false], [true, true, true, true, true, true]]);
      const x2 = nb.where(nb.reshape(pad, [2, 6, 1]), x, 100);
      const y1 = m.forward(x, { padding: pad });
      const y2 = m.forward(x2, { padding: pad });
      expectClose(nb.slice(y1, [0, { stop: 4 }]).toF64(), nb.slice(y2, [0, { stop: 4 }]).toF64(), 1e-12, 'batch 0 real rows');
      expectClose(nb.slice(y1, [1]).toF64(), nb.slice(y2, [1]).toF64(), 1e-12, 'batch 1');
      const none = nb.zeros([1, 1, 2, 3], { dtype: 'bool' });
      const p = maskedSoftmax(nb.normal(kk(11), [1, 1, 2, 3], { dtype: 'f64' }), none);
      expect(Array.from(p.toF64())).toEqual([0, 0, 0, 0, 0, 0]);
      nn.dispose(m);
    });
  });

  it('dropout on the weights: keyed and deterministic in training, off in eval', () => {
    nb.tidy(() => {
      const m = new MultiHeadAttention(8, { key: kk(12), heads: 2, dropout: 0.5, dtype: 'f64' });
      const x = nb.normal(kk(13), [1, 5, 8], { dtype: 'f64' });
      const a = m.forward(x, { key: kk(14) }).toF64();
      expectClose(m.forward(x, { key: kk(14) }).toF64(), a, 0, 'same key');
      expect(Array.from(m.forward(x, { key: kk(15) }).toF64())).not.toEqual(Array.from(a));
      expect(() => m.forward(x)).toThrow(/key/);
      nn.evalMode(m);
      const plain = new MultiHeadAttention(8, { key: kk(12), heads: 2, dtype: 'f64' });
      expectClose(m.forward(x).toF64(), plain.forward(x).toF64(), 0, 'eval equals no dropout');
      nn.dispose(plain);
      nn.dispose(m);
    });
  });
});
