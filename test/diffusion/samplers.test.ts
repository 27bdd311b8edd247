/**
 * Samplers against exact answers: with the analytic denoiser of Gaussian or
 * Gaussian-mixture data, whatever error remains is the sampler's own.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { moments, maxDiff, logLogSlope } from './helpers.js';

const f64 = { dtype: 'f64' as const };
const key = nb.randomKey(7);
// a correlated, off-centre 2-D Gaussian
const MEAN = [1, -0.5];
const COV = [
  [1.0, 0.6],
  [0.6, 0.8],
];
const D = df.gaussianDenoiser(MEAN, COV);
const N_SAMPLES = 2000;
// bands: the sampling error of n = 2000 (mean: 4.5 standard errors ≈ 0.1) plus the stated discretisation error
const MEAN_TOL = 0.1;
const COV_TOL = 0.15;

/** Exact velocity-predicting "network" of the Gaussian under flow matching, valid at t = 1 too. */
const gaussianFlowNet: df.Net = (xt, c) =>
  nb.tidy(() => {
    const t = c.toF64()[0]!;
    if (t >= 1) return nb.sub(xt, nb.tensor(MEAN, [1, 2], f64)); // v = ε − E[x₀] = x₁ − μ
    if (t <= 0) return nb.neg(xt); // v = E[ε] − x₀ = −x₀
    const sigma = t / (1 - t);
    const x0 = D(nb.mul(xt, 1 + sigma), sigma);
    return nb.div(nb.sub(xt, x0), t);
  });

type Case = [string, () => df.SampleResult];
const ddpmProc = df.ddpm();
const vpGrid = df.ddpmSigmas(ddpmProc, 100);
const edmGrid = df.karrasSigmas(32);
const flowGrid = df.flowSigmas(64);

function cases(xVp: Tensor, xEdm: Tensor, xFlow: Tensor, xNcsn: Tensor): Case[] {
  const flowModel = df.denoiserFromPrediction(gaussianFlowNet, df.flowMatching(), 'velocity');
  return [
    ['DDPM ancestral (100 of 1000 steps)', () => df.sampleDdpm(D, xVp, vpGrid, { key })],
    ['DDPM ancestral, σₜ² = βₜ', () => df.sampleDdpm(D, xVp, vpGrid, { key, variance: 'beta' })],
    ['DDIM η = 0 (50 steps)', () => df.sampleDdim(D, xVp, df.ddpmSigmas(ddpmProc, 50))],
    ['DDIM η = 0.5', () => df.sampleDdim(D, xVp, vpGrid, { eta: 0.5, key })],
    ['Euler–Maruyama', () => df.sampleEulerMaruyama(D, xVp, vpGrid, { key })],
    ['predictor–corrector', () => df.samplePredictorCorrector(D, xVp, df.ddpmSigmas(ddpmProc, 60), { key })],
    ['annealed Langevin', () => df.sampleAnnealedLangevin(D, xNcsn, df.geometricSigmas(8, 20, 0.05), { key, stepSize: 3e-3, stepsPerSigma: 40 })],
    ['PF-ODE Euler', () => df.sampleEuler(D, xEdm, df.karrasSigmas(80))],
    ['EDM Heun (deterministic)', () => df.sampleHeun(D, xEdm, edmGrid)],
    ['EDM Heun with churn', () => df.sampleHeun(D, xEdm, edmGrid, { sChurn: 20, sTmin: 0.05, sTmax: 50, sNoise: 1.003, key })],
    ['PF-ODE RK45', () => df.sampleRk45(D, xEdm, edmGrid, { rtol: 1e-4, atol: 1e-4 })],
    ['DPM-Solver++(2M)', () => df.sampleDpmSolverPP2M(D, xEdm, edmGrid)],
    ['rectified-flow Euler from t = 1', () => df.sampleFlowEuler(flowModel, xFlow, flowGrid)],
    ['flow Heun from t = 1', () => df.sampleFlowHeun(flowModel, xFlow, df.flowSigmas(16))],
  ];
}

describe('every sampler reproduces the data law with the analytic denoiser', () => {
  const [k1, k2, k3] = nb.splitKey(key, 3);
  const eps = nb.normal(k1!, [N_SAMPLES, 2], f64);
  const xVp = nb.mul(eps, vpGrid[0]!);
  const xEdm = nb.mul(eps, edmGrid[0]!);
  const xNcsn = nb.mul(nb.normal(k2!, [N_SAMPLES, 2], f64), 20);
  const xFlow = nb.normal(k3!, [N_SAMPLES, 2], f64);
  it.each(cases(xVp, xEdm, xFlow, xNcsn))('%s', (_name, run) => {
    nb.tidy(() => {
      const { x } = run();
      expect(x.shape).toEqual([N_SAMPLES, 2]);
      const m = moments(x);
      expect(maxDiff(m.mean, MEAN)).toBeLessThan(MEAN_TOL);
      expect(maxDiff(m.cov, COV)).toBeLessThan(COV_TOL);
    });
  });

  it('the check is sharp: the denoiser of a Gaussian with 30% less covariance fails it', () => {
    nb.tidy(() => {
      const wrong = df.gaussianDenoiser(MEAN, COV.map((r) => r.map((v) => 0.7 * v)));
      const m = moments(df.sampleHeun(wrong, xEdm, edmGrid).x);
      expect(maxDiff(m.cov, COV)).toBeGreaterThan(COV_TOL);
    });
  });
});

describe('exact relations between samplers', () => {
  const x = nb.tidy(() => nb.mul(nb.normal(nb.randomKey(3), [64, 2], f64), df.ddpmSigmas(ddpmProc, 1000)[0]!));

  it('DDIM with η = 1 on the full schedule equals DDPM ancestral given the same noise', () => {
    nb.tidy(() => {
      const full = df.ddpmSigmas(ddpmProc, 1000);
      expect(full.length).toBe(1001);
      // on the full schedule the grid's βₜ are the schedule's own
      const ab = (s: number): number => 1 / (1 + s * s);
      expect(1 - ab(full[0]!) / ab(full[1]!)).toBeCloseTo(ddpmProc.betas[999]!, 12);
      const a = df.sampleDdpm(D, x, full, { key }).x.toF64();
      const b = df.sampleDdim(D, x, full, { eta: 1, key }).x.toF64();
      expect(maxDiff(Array.from(a), Array.from(b))).toBeLessThan(1e-9);
      // and a different key gives a different result
      const c = df.sampleDdpm(D, x, full, { key: nb.randomKey(99) }).x.toF64();
      expect(maxDiff(Array.from(a), Array.from(c))).toBeGreaterThan(1e-3);
    });
  });

  it('Euler in σ, DDIM η = 0 and rectified-flow Euler are one method on one grid', () => {
    nb.tidy(() => {
      const grid = df.karrasSigmas(12, { sigmaMax: 20 });
      const x0 = nb.mul(x, 20 / df.ddpmSigmas(ddpmProc, 1000)[0]!);
      const e = df.sampleEuler(D, x0, grid).x.toF64();
      const d = df.sampleDdim(D, x0, grid).x.toF64();
      const f = df.sampleFlowEuler(D, x0, grid).x.toF64();
      expect(maxDiff(Array.from(e), Array.from(d))).toBeLessThan(1e-10);
      expect(maxDiff(Array.from(e), Array.from(f))).toBeLessThan(1e-10);
      // Heun is not invariant to the scaling: σ-space and flow-time Heun differ
      const h1 = df.sampleHeun(D, x0, grid).x.toF64();
      const h2 = df.sampleFlowHeun(D, x0, grid).x.toF64();
      expect(maxDiff(Array.from(h1), Array.from(h2))).toBeGreaterThan(1e-6);
    });
  });

  it('DDIM η = 0 is deterministic and inverts: encode then decode returns x₀ within the ODE error', () => {
    nb.tidy(() => {
      const x0 = nb.add(nb.normal(nb.randomKey(5), [64, 2], f64), 0.5);
      const err = (steps: number): number => {
        const grid = df.karrasSigmas(steps, { sigmaMin: 0.01, sigmaMax: 20 }).slice(0, -1);
        const z = df.ddimInvert(D, x0, grid).x;
        const back1 = df.sampleDdim(D, z, grid).x.toF64();
        const back2 = df.sampleDdim(D, z, grid).x.toF64();
        expect(Array.from(back1)).toEqual(Array.from(back2));
        return maxDiff(Array.from(back1), Array.from(x0.toF64()));
      };
      // two first-order Euler passes: the round-trip error falls as 1/N
      const steps = [25, 50, 100, 200];
      const errs = steps.map(err);
      expect(errs[3]).toBeLessThan(0.08);
      expect(logLogSlope(steps, errs)).toBeLessThan(-0.8);
    });
  });
});

describe('EDM specifics', () => {
  it('Heun costs 2N − 1 evaluations and the ρ = 7 schedule hits σ_max and σ_min exactly', () => {
    nb.tidy(() => {
      const s = df.karrasSigmas(18, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 });
      expect(s.length).toBe(19);
      expect(s[0]).toBe(80);
      expect(s[17]).toBe(0.002);
      expect(s[18]).toBe(0);
      // interior points follow eq. 5
      expect(s[9]).toBeCloseTo((80 ** (1 / 7) + (9 / 17) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7, 12);
      const x = nb.normal(key, [8, 2], f64);
      expect(df.sampleHeun(D, nb.mul(x, 80), s).nfe).toBe(2 * 18 - 1);
      expect(df.sampleEuler(D, nb.mul(x, 80), s).nfe).toBe(18);
      expect(df.sampleDpmSolverPP2M(D, nb.mul(x, 80), s).nfe).toBe(18);
    });
  });

  it('for N(0, σ_d²) data the ideal F is exactly 0: the preconditioned zero network is the exact denoiser', () => {
    nb.tidy(() => {
      const sd = 0.5;
      const exact = df.gaussianDenoiser([0, 0], [
        [sd * sd, 0],
        [0, sd * sd],
      ]);
      const zeroF: df.Net = (x) => nb.zerosLike(x);
      const { denoiser } = df.edmPrecondition(zeroF, { sigmaData: sd });
      const x = nb.normal(key, [16, 2], f64);
      for (const sigma of [0.002, 0.3, 2, 80]) {
        const xs = nb.mul(x, Math.sqrt(sd * sd + sigma * sigma));
        expect(maxDiff(Array.from(denoiser(xs, sigma).toF64()), Array.from(exact(xs, sigma).toF64()))).toBeLessThan(1e-12);
      }
      // the coefficients themselves (Table 1)
      const c = df.edmCoefficients(1.5, sd);
      expect(c.cSkip).toBeCloseTo(0.25 / 2.5, 14);
      expect(c.cOut).toBeCloseTo((1.5 * 0.5) / Math.sqrt(2.5), 14);
      expect(c.cIn).toBeCloseTo(1 / Math.sqrt(2.5), 14);
      expect(c.cNoise).toBeCloseTo(Math.log(1.5) / 4, 14);
    });
  });
});

describe('sampler plumbing', () => {
  it('reports trajectories and callbacks, leaves x alone and leaks nothing', () => {
    const x = nb.mul(nb.normal(key, [10, 2], f64), 80);
    const before = nb.memory().liveTensors;
    const seen: number[] = [];
    const r = df.sampleHeun(D, x, df.karrasSigmas(6), { trajectory: true, callback: (s) => seen.push(s.sigma) });
    expect(r.trajectory!.length).toBe(7);
    expect(Array.from(r.trajectory![0]!.toF64())).toEqual(Array.from(x.toF64()));
    expect(Array.from(r.trajectory![6]!.toF64())).toEqual(Array.from(r.x.toF64()));
    expect(seen).toEqual(df.karrasSigmas(6).slice(0, 6));
    r.x.dispose();
    r.trajectory!.forEach((t) => t.dispose());
    for (const run of [
      () => df.sampleDpmSolverPP2M(D, x, df.karrasSigmas(5)),
      () => df.sampleRk45(D, x, df.karrasSigmas(5)),
      () => df.samplePredictorCorrector(D, x, df.karrasSigmas(5), { key }),
      () => df.sampleAnnealedLangevin(D, x, df.geometricSigmas(3, 10, 1), { key, stepsPerSigma: 3 }),
      () => df.sampleFlowHeun(D, x, df.flowSigmas(4, { tMax: 0.99 })),
    ]) {
      const out = run();
      out.x.dispose();
    }
    expect(nb.memory().liveTensors).toBe(before);
    x.dispose();
  });

  it('rejects bad grids and missing keys with clear errors', () => {
    nb.tidy(() => {
      const x = nb.normal(key, [4, 2], f64);
      expect(() => df.sampleEuler(D, x, [1])).toThrow(/at least 2 noise levels/);
      expect(() => df.sampleEuler(D, x, [1, 2, 0])).toThrow(/non-increasing.*sigmas\[1\] = 2 > sigmas\[0\] = 1/);
      expect(() => df.sampleEuler(D, x, [Infinity, 0])).toThrow(/only the flow samplers start at σ = ∞/);
      expect(() => df.sampleFlowEuler(D, x, [Infinity, 0])).toThrow(/needs a model with a velocity field/);
      expect(() => df.sampleDdpm(D, x, [1, 0])).toThrow(/stochastic; pass \{ key \}/);
      expect(() => df.sampleHeun(D, x, [1, 0], { sChurn: 1 })).toThrow(/stochastic/);
    });
  });
});
