/**
 * The collapse test (seeded, one budget for all): a VQ-VAE on the 8×8 digits
 * with a 256-code codebook. Plain VQ with the straight-through estimator
 * leaves most codes dead; the rotation trick (Fifty et al., arXiv 2410.06424)
 * and SimVQ (Zhu et al., arXiv 2411.02038) keep clearly more codes in use and
 * reconstruct better. docs/flows.md has the full table.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as vq from '../../src/zoo/vq/index.js';
import { loadDigits, sampleBatch } from '../../src/zoo/data/digits.js';

describe('codebook collapse: plain VQ vs rotation trick vs SimVQ', () => {
  it('rotation and SimVQ use more codes and reconstruct better than straight-through', () => {
    const K = 256;
    const d = 8;
    const tr = loadDigits({ layout: 'flat' });
    const te = loadDigits({ split: 'test', layout: 'flat' });
    const key = nb.randomKey(0);
    const run = (q: vq.QuantizerLike): vq.VqMetrics => {
      const m = vq.mlpVQVAE({ key: nb.foldIn(key, 7), dim: 64, latentDim: d, hidden: 64, quantizer: q });
      vq.trainVq(m, (k, n) => sampleBatch(k, tr.x, n).x, { key, steps: 200, batch: 64, lr: 2e-3 });
      return vq.evaluateVq(m, te.x);
    };
    const ste = run(new vq.VectorQuantizer(K, d, { key }));
    const rot = run(new vq.VectorQuantizer(K, d, { key, gradient: 'rotation' }));
    const sim = run(new vq.SimVQ(K, d, { key }));
    const fmt = (r: vq.VqMetrics): string => `usage ${(100 * r.usage).toFixed(1)}%, perplexity ${r.perplexity.toFixed(1)}, MSE ${r.mse.toFixed(4)}`;
    console.log(`STE: ${fmt(ste)}\nrotation: ${fmt(rot)}\nSimVQ: ${fmt(sim)}`);
    for (const r of [rot, sim]) {
      expect(r.usage).toBeGreaterThan(1.5 * ste.usage);
      expect(r.perplexity).toBeGreaterThan(1.5 * ste.perplexity);
      expect(r.mse).toBeLessThan(ste.mse);
    }
  });
});
