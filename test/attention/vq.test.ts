/**
 * Transformer-VQ: the linear-time block form equals quadratic softmax
 * attention over the quantised keys (values; gradients for q and v, and for
 * keys where all keys are exact), causal and not; the cache's per-code counts
 * match a direct histogram of the codes; STE and EMA follow their formulas;
 * decoding from the cache equals the full pass; memory grows linearly.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { codeCounts, quantizeKeys, vqAttention } from '../../src/zoo/attention/vq.js';
import { vqAttentionQuadratic } from '../../src/zoo/attention/vq.ref.js';
import { TransformerVQ } from '../../src/zoo/attention/vqMixer.js';
import { expectClose } from '../helpers/check.js';
import { expectDecodeEqualsForward, expectParity, peakExtraBytes } from './helpers.js';

const root = nb.randomKey(2309);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

describe('VQ attention: block form vs quadratic form over K̂', () => {
  for (const causal of [true, false]) {
    for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-5]] as const) {
      it(`values and q, v gradients (${causal ? 'causal' : 'non-causal'}, ${dtype}, n = 23, L = 4, S = 5)`, () => {
        nb.tidy(() => {
          const C = nb.normal(kk(1), [2, 5, 4], { dtype });
          const k = nb.normal(kk(2), [2, 2, 23, 4], { dtype });
          const { onehot, kHat } = quantizeKeys(k, C);
          const [q, v] = [nb.normal(kk(3), [2, 2, 23, 4], { dtype }), nb.normal(kk(4), [2, 2, 23, 3], { dtype })];
          expectParity(
            (a, b) => vqAttention(a, kHat, onehot, C, b, { causal, block: 4 }),
            (a, b) => vqAttentionQuadratic(a, kHat, b, { causal }),
            [q, v], tol, 'vq',
          );
        });
      });
    }
  }

  it('keys: the straight-through gradient equals the quadratic form when every key is exact (n ≤ 2L)', () => {
    nb.tidy(() => {
      const C = nb.normal(kk(5), [1, 6, 4], { dtype: 'f64' });
      const [q, k, v] = [nb.normal(kk(6), [1, 1, 7, 4], { dtype: 'f64' }), nb.normal(kk(7), [1, 1, 7, 4], { dtype: 'f64' }), nb.normal(kk(8), [1, 1, 7, 4], { dtype: 'f64' })];
      const blockForm = (kk2: nb.Tensor) => {
        const { onehot, kHat } = quantizeKeys(kk2, C);
        return vqAttention(q, kHat, onehot, C, v, { causal: true, block: 4 });
      };
      expectParity(blockForm, (kk2: nb.Tensor) => vqAttentionQuadratic(q, quantizeKeys(kk2, C).kHat, v, { causal: true }), [k], 1e-10, 'keys');
    });
  });

  it('quantisation: nearest code, straight-through (value ΔC, identity gradient), per-code counts equal a direct histogram', () => {
    nb.tidy(() => {
      const C = nb.normal(kk(9), [1, 7, 3], { dtype: 'f64' });
      const k = nb.normal(kk(10), [2, 1, 40, 3], { dtype: 'f64' });
      const { codes, onehot, kHat } = quantizeKeys(k, C);
      const [cv, kv, z] = [C.toF64(), k.toF64(), codes.toF64()];
      const hist = new Array<number>(14).fill(0);
      for (let j = 0; j < 80; j++) {
        let best = 0;
        let bd = Infinity;
        for (let s = 0; s < 7; s++) {
          let d2 = 0;
          for (let c = 0; c < 3; c++) d2 += (kv[j * 3 + c]! - cv[s * 3 + c]!) ** 2;
          if (d2 < bd) [bd, best] = [d2, s];
        }
        expect(z[j]).toBe(best);
        hist[Math.floor(j / 40) * 7 + best]!++;
        for (let c = 0; c < 3; c++) expect(kHat.toF64()[j * 3 + c]).toBeCloseTo(cv[best * 3 + c]!, 12);
      }
      expect(Array.from(codeCounts(onehot).toF64())).toEqual(hist);
      const w = nb.normal(kk(11), [2, 1, 40, 3], { dtype: 'f64' });
      const g = nb.grad((x: nb.Tensor) => nb.sum(nb.mul(quantizeKeys(x, C).kHat, w)))(k) as nb.Tensor;
      expectClose(g.toF64(), w.toF64(), 0, 'STE gradient');
    });
  });

  it('memory grows linearly in n (n·(L + S), not n²)', () => {
    const run = (n: number) =>
      nb.tidy(() => {
        const C = nb.normal(kk(12), [1, 32, 8]);
        const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(13 + i), [1, 1, n, 8]));
        const { onehot, kHat } = quantizeKeys(k!, C);
        return peakExtraBytes(() => vqAttention(q!, kHat, onehot, C, v!, { causal: true, block: 32 }));
      });
    expect(run(2048) / run(512)).toBeLessThan(5);
  });
});

describe('TransformerVQ mixer', () => {
  it('decoding with the compressive cache equals the block-form full pass; the state counts every token once', () => {
    nb.tidy(() => {
      const m = new TransformerVQ(8, { key: kk(20), heads: 2, codes: 5, block: 3, dtype: 'f64' });
      nn.evalMode(m);
      const x = nb.normal(kk(21), [2, 11, 8], { dtype: 'f64' });
      expectDecodeEqualsForward(m, x, 1e-10, 'TransformerVQ');
      let st = m.initState(2);
      for (let t = 0; t < 11; t++) {
        const [y, s2] = m.step(nb.slice(x, [null, t]), st);
        y.dispose();
        st = s2;
      }
      // cache counts + codes still in the exact window = 11 tokens per (batch, head)
      const total = nb.add(nb.sum(st.t.counts, -1), nb.sum(st.t.codes, [-2, -1])).toF64();
      expect(Array.from(total)).toEqual([11, 11, 11, 11]);
      expect(st.t.k.shape[2]).toBe(5); // window: block 3's two tokens and block 2's three
      st.dispose();
      nn.dispose(m);
    });
  });

  it('EMA step: N ← γN + (1 − γ)n, m ← γm + (1 − γ)Σk, C = m/N̂; commitment loss β·mean‖k − sg(k̂)‖²', () => {
    nb.tidy(() => {
      const m = new TransformerVQ(4, { key: kk(30), heads: 1, codes: 3, block: 2, decay: 0.9, beta: 0.5, dtype: 'f64' });
      const x = nb.normal(kk(31), [1, 6, 4], { dtype: 'f64' });
      const [N0, m0] = [m.emaCounts.toF64(), m.emaSums.toF64()];
      const k = nb.reshape(m.wk.forward(x), [1, 1, 6, 4]);
      const { codes, kHat } = quantizeKeys(k, m.codebook);
      const [z, kv] = [codes.toF64(), k.toF64()];
      const { commitLoss, y } = m.forwardWithLoss(x);
      y.dispose();
      expect(commitLoss.item()).toBeCloseTo(0.5 * nb.mean(nb.square(nb.sub(k, kHat))).item(), 12);
      const N = Array.from(N0, (v) => 0.9 * v);
      const sums = Array.from(m0, (v) => 0.9 * v);
      z.forEach((s, j) => {
        N[s]! += 0.1;
        for (let c = 0; c < 4; c++) sums[s * 4 + c]! += 0.1 * kv[j * 4 + c]!;
      });
      expectClose(m.emaCounts.toF64(), N, 1e-12, 'counts');
      expectClose(m.emaSums.toF64(), sums, 1e-12, 'sums');
      const total = N.reduce((a, b) => a + b, 0);
      const Ns = N.map((v) => ((v + 1e-5) / (total + 3e-5)) * total);
      expectClose(m.codebook.toF64(), sums.map((v, i) => v / Ns[Math.floor(i / 4)]!), 1e-12, 'codebook');
      nn.dispose(m);
    });
  });
});
