/** Probability-flow likelihoods against closed-form densities, and Hutchinson's estimator. */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { eightGaussiansGmm, sampleGmm } from '../../src/zoo/data/gmm.js';

const f64 = { dtype: 'f64' as const };
const MEAN = [1, -0.5];
const COV = [
  [1, 0.6],
  [0.6, 0.8],
];
const gmm = eightGaussiansGmm();

const maxAbs = (a: Float64Array, b: Float64Array): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('log-likelihood by the probability-flow ODE', () => {
  it('of a Gaussian matches its closed form (exact trace, RK45)', () => {
    nb.tidy(() => {
      const D = df.gaussianDenoiser(MEAN, COV);
      const x = nb.add(nb.normal(nb.randomKey(2), [12, 2], f64), 0.3);
      const r = df.logLikelihood(D, x, { sigmaMin: 1e-3, sigmaMax: 80, rtol: 1e-7, atol: 1e-7, prior: (z) => df.gaussianLogDensity(z, MEAN, COV, 80) });
      const exact = df.gaussianLogDensity(x, MEAN, COV, 1e-3).toF64();
      expect(maxAbs(r.logp.toF64(), exact)).toBeLessThan(1e-4);
      // the default prior N(0, (σ_max² + 1)I) is a close stand-in at σ_max = 80
      const rd = df.logLikelihood(D, x, { sigmaMin: 1e-3, sigmaMax: 80 });
      expect(maxAbs(rd.logp.toF64(), exact)).toBeLessThan(0.1);
      expect(r.nfe).toBeGreaterThan(0);
    });
  });

  it('of a Gaussian mixture matches log p(x; σ_min)', () => {
    nb.tidy(() => {
      const D = df.gmmDenoiser(gmm);
      const x = sampleGmm(nb.randomKey(5), gmm, 10, f64);
      const r = df.logLikelihood(D, x, { rtol: 1e-6, atol: 1e-6, prior: (z) => df.gmmLogDensity(z, gmm, 80) });
      const exact = df.gmmLogDensity(x, gmm, 1e-3).toF64();
      expect(maxAbs(r.logp.toF64(), exact)).toBeLessThan(2e-3);
      // the fixed-step solver converges to the same value
      const e = df.logLikelihood(D, x, { method: 'rk4', steps: 60, prior: (z) => df.gmmLogDensity(z, gmm, 80) });
      expect(maxAbs(e.logp.toF64(), exact)).toBeLessThan(1e-2);
    });
  });
});

describe("Hutchinson's trace estimator", () => {
  const D = df.gmmDenoiser(gmm);
  const sigma = 0.8;
  const x = nb.tidy(() => nb.mul(nb.normal(nb.randomKey(8), [6, 2], f64), 2));
  const exact = nb.tidy(() => df.jacobianTrace((z) => D(z, sigma), x, 'exact')[1].toF64());

  it.each(['gaussian', 'rademacher'] as const)('is unbiased with %s probes (mean of 400 single-probe estimates within 4 standard errors)', (probe) => {
    nb.tidy(() => {
      const K = 400;
      const probes = Array.from({ length: K }, (_, k) => df.drawProbe(nb.foldIn(nb.randomKey(1), k), x, probe));
      // each estimate separately, to measure the spread
      const ests = probes.map((p) => df.jacobianTrace((z) => D(z, sigma), x, 'hutchinson', [p])[1].toF64());
      for (let i = 0; i < 6; i++) {
        const vals = ests.map((e) => e[i]!);
        const m = vals.reduce((a, b) => a + b, 0) / K;
        const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (K - 1));
        expect(Math.abs(m - exact[i]!)).toBeLessThan(4 * (sd / Math.sqrt(K)) + 1e-9);
      }
      // averaging probes inside one call is the same estimator
      const avg = df.jacobianTrace((z) => D(z, sigma), x, 'hutchinson', probes)[1].toF64();
      for (let i = 0; i < 6; i++) expect(avg[i]).toBeCloseTo(ests.reduce((a, e) => a + e[i]!, 0) / K, 10);
    });
  });

  it('Rademacher probes have the smaller variance (Var = 2Σ_{i≠j}A_ij² vs 2‖A‖_F² for symmetric A)', () => {
    nb.tidy(() => {
      const spread = (probe: df.Probe): number => {
        const vals = Array.from({ length: 300 }, (_, k) => df.jacobianTrace((z) => D(z, sigma), x, 'hutchinson', [df.drawProbe(nb.foldIn(nb.randomKey(2), k), x, probe)])[1].toF64()[0]!);
        const m = vals.reduce((a, b) => a + b, 0) / vals.length;
        return vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1);
      };
      expect(spread('rademacher')).toBeLessThan(spread('gaussian'));
    });
  });

  it('makes the ODE log-likelihood unbiased: over probe draws it averages to the exact-trace value on the same grid', () => {
    nb.tidy(() => {
      const xs = sampleGmm(nb.randomKey(6), gmm, 4, f64);
      const opts = { method: 'euler' as const, steps: 16, sigmaMax: 20 };
      const exactL = df.logLikelihood(D, xs, { ...opts, trace: 'exact' }).logp.toF64();
      const runs = Array.from({ length: 24 }, (_, k) => df.logLikelihood(D, xs, { ...opts, trace: 'hutchinson', key: nb.randomKey(100 + k) }).logp.toF64());
      for (let i = 0; i < 4; i++) {
        const vals = runs.map((r) => r[i]!);
        const m = vals.reduce((a, b) => a + b, 0) / vals.length;
        const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1));
        expect(sd).toBeGreaterThan(0);
        expect(Math.abs(m - exactL[i]!)).toBeLessThan(4 * (sd / Math.sqrt(vals.length)));
      }
      expect(() => df.logLikelihood(D, xs, { trace: 'hutchinson' })).toThrow(/needs \{ key \}/);
    });
  });
});

describe('bits per dimension', () => {
  it('converts nats to bits per dimension with the quantisation bin', () => {
    expect(df.bitsPerDim(-Math.LN2 * 10, 10)).toBeCloseTo(1, 12);
    // a uniform density on [−1, 1]^d has log p = −d ln 2; with 256 bins of width 2/256 each bin has probability 1/256: 8 bits
    expect(df.bitsPerDim(-64 * Math.LN2, 64, { binWidth: 2 / 256 })).toBeCloseTo(8, 12);
  });
});

describe('memory', () => {
  it('a model with trainable parameters keeps no tape across solver steps: peak memory stays flat in the number of steps', () => {
    const net = new df.TimeMlp(2, { key: nb.randomKey(3), hidden: [16] });
    const model = df.denoiserFromPrediction((x, c) => net.forward(x, c), df.flowMatching(), 'velocity');
    const x = nb.normal(nb.randomKey(4), [200, 2]);
    const peak = (steps: number): number => {
      const base = nb.memory().liveBytes;
      nb.resetPeakMemory();
      const r = df.logLikelihood(model, x, { method: 'rk4', steps });
      const p = nb.memory().peakBytes - base;
      for (const t of [r.logp, r.priorLogp, r.deltaLogp, r.z]) t.dispose();
      return p;
    };
    const p5 = peak(5);
    const p40 = peak(40);
    console.log(`logLikelihood peak bytes: ${p5} (5 steps), ${p40} (40 steps)`);
    expect(p40).toBeLessThan(1.5 * p5);
  });
});
