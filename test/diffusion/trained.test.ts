/**
 * A short seeded training run (CI-sized): a flow-matching MLP on two moons
 * must reach an MMD to held-out data well below that of the noise it starts
 * from; and the logit-normal time sampler matches its density. (The DDPM run
 * is in trainedDdpm.test.ts, to keep each file short.)
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { twoMoons } from '../../src/zoo/data/toy2d.js';
import { mmd } from '../../src/zoo/metrics/index.js';

const N_EVAL = 500;
// a sum of Gaussian kernels from the clusters' width to the data's extent (the median heuristic alone is too blunt here)
const KERNEL = { bandwidth: [0.1, 0.25, 0.5, 1] };

describe('trained on 2-D toys (seeded, short)', () => {
  it('flow matching on two moons: MMD to held-out data below 0.16 and 0.6× the noise’s, with 32 Euler steps', () => {
    const key = nb.randomKey(3);
    const net = new df.TimeMlp(2, { key, hidden: [64, 64] });
    const f: df.Net = (x, c) => net.forward(x, c);
    df.fit(net, (k, s) => nb.tidy(() => df.flowMatchingLoss(f, twoMoons.sample(nb.foldIn(key, 1000 + s), 128), { key: k })), { steps: 400, key, lr: 3e-3 });
    const model = df.denoiserFromPrediction(f, df.flowMatching(), 'velocity');
    const noise = nb.normal(nb.randomKey(5), [N_EVAL, 2]);
    const held = twoMoons.sample(nb.randomKey(9), N_EVAL);
    const sample = df.sampleFlowEuler(model, noise, df.flowSigmas(32));
    const score = mmd(sample.x, held, KERNEL);
    const baseline = mmd(noise, held, KERNEL);
    console.log(`flow matching, two moons: MMD ${score.toFixed(4)} (noise itself ${baseline.toFixed(3)})`);
    expect(sample.nfe).toBe(32);
    // measured 0.126 vs 0.224 for the noise (a sharp kernel: h = 0.1 is twice the moons' noise); null ≈ 0.001
    expect(score).toBeLessThan(0.16);
    expect(score).toBeLessThan(0.6 * baseline);
  });
});

describe('logit-normal timesteps (Esser et al., arXiv 2403.03206, eq. 19)', () => {
  it('a histogram of 40 000 draws matches π(t; m, s) bin by bin, also on a shifted range', () => {
    for (const [m, s, proc] of [
      [0, 1, df.flowMatching()],
      [0.5, 0.6, df.vpLinear()],
    ] as const) {
      const sampler = df.logitNormal({ m, s });
      const n = 40000;
      const ts = sampler.sample(nb.randomKey(12), n, proc);
      const bins = 20;
      const counts = new Array<number>(bins).fill(0);
      const w = (proc.tMax - proc.tMin) / bins;
      for (const t of ts) counts[Math.min(bins - 1, Math.floor((t - proc.tMin) / w))]! += 1;
      for (let b = 0; b < bins; b++) {
        // expected count: the density integrated over the bin (midpoint rule on 20 sub-points)
        let p = 0;
        for (let j = 0; j < 20; j++) p += sampler.density(proc.tMin + (b + (j + 0.5) / 20) * w, proc) * (w / 20);
        const expected = n * p;
        // 4.5 Poisson standard deviations, plus 1% for the quadrature
        expect(Math.abs(counts[b]! - expected)).toBeLessThan(4.5 * Math.sqrt(expected) + 0.01 * expected + 2);
      }
      // and the density integrates to 1
      let total = 0;
      for (let j = 0; j < 4000; j++) total += sampler.density(proc.tMin + ((j + 0.5) / 4000) * (proc.tMax - proc.tMin), proc) * ((proc.tMax - proc.tMin) / 4000);
      expect(Math.abs(total - 1)).toBeLessThan(2e-3);
    }
  });
});
