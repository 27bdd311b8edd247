/** Processes, schedules and prediction conversions: the algebra every sampler and loss stands on. */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import * as prng from '../../src/core/random.js';
import { maxDiff } from './helpers.js';

const f64 = { dtype: 'f64' as const };

const PROCESSES: [string, df.Process][] = [
  ['VP linear', df.vpLinear()],
  ['VP cosine', df.vpCosine()],
  ['DDPM linear', df.ddpm()],
  ['DDPM cosine', df.ddpm({ schedule: 'cosine' })],
  ['sub-VP', df.subVp()],
  ['VE', df.ve()],
  ['EDM', df.edm()],
  ['flow matching', df.flowMatching()],
];

const times = (p: df.Process): number[] => [0.05, 0.2, 0.5, 0.8, 0.97].map((u) => p.tMin + u * (p.tMax - p.tMin));

describe('processes in the unified form x = s(t)·(x₀ + σ(t)·ε)', () => {
  it.each(PROCESSES)('%s: σ increases, tOfSigma inverts σ, and the coefficients are s, s·σ and their derivatives', (_n, p) => {
    const ts = times(p);
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (i > 0) expect(p.sigma(t)).toBeGreaterThan(p.sigma(ts[i - 1]!));
      expect(p.tOfSigma(p.sigma(t))).toBeCloseTo(t, 8);
      const c = p.coefficients(t);
      expect(c.scale).toBeCloseTo(p.s(t), 12);
      expect(c.noiseStd / (p.s(t) * p.sigma(t))).toBeCloseTo(1, 10);
      // derivatives against central differences
      const h = 1e-6 * Math.max(1, Math.abs(t));
      const ds = (p.s(t + h) - p.s(t - h)) / (2 * h);
      const dn = (p.s(t + h) * p.sigma(t + h) - p.s(t - h) * p.sigma(t - h)) / (2 * h);
      expect(c.dScale).toBeCloseTo(ds, 5);
      expect(c.dNoiseStd / dn).toBeCloseTo(1, 5);
    }
  });

  it('VP-type processes keep s² + (sσ)² = 1 (variance preserving); sub-VP stays below', () => {
    for (const p of [df.vpLinear(), df.vpCosine(), df.ddpm(), df.flowMatching()]) {
      for (const t of times(p)) {
        const c = p.coefficients(t);
        if (p.kind === 'flow-matching') expect(c.scale + c.noiseStd).toBeCloseTo(1, 12);
        else expect(c.scale ** 2 + c.noiseStd ** 2).toBeCloseTo(1, 12);
      }
    }
    const sub = df.subVp();
    for (const t of times(sub)) {
      const c = sub.coefficients(t);
      expect(c.scale ** 2 + c.noiseStd ** 2).toBeLessThan(1);
    }
  });

  it('one-step noising matches the moments of q(xₜ | x₀), and DDPM’s Markov chain reaches the same marginal', () => {
    const n = 20000;
    const x0 = 1.7;
    for (const [, p] of PROCESSES) {
      const t = p.tMin + 0.4 * (p.tMax - p.tMin);
      const c = p.coefficients(t);
      const eps = prng.normal(prng.key(11), n);
      const xt = nb.tidy(() => df.noised(nb.full([n, 1], x0, f64), nb.tensor(eps, [n, 1], f64), c).toF64());
      const m = xt.reduce((a, b) => a + b, 0) / n;
      const v = xt.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
      expect(Math.abs(m - c.scale * x0)).toBeLessThan(4 * Math.sqrt(c.noiseStd ** 2 / n) + 1e-12);
      expect(Math.abs(v / c.noiseStd ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    }
    // x_t = √(1 − βₜ)·xₜ₋₁ + √βₜ·z for t steps has the closed-form marginal N(√ᾱₜ x₀, 1 − ᾱₜ)
    const p = df.ddpm();
    for (const steps of [10, 300]) {
      const x = new Float64Array(n).fill(x0);
      for (let s = 0; s < steps; s++) {
        const z = prng.normal(prng.foldIn(prng.key(12), s), n);
        const b = p.betas[s]!;
        for (let i = 0; i < n; i++) x[i] = Math.sqrt(1 - b) * x[i]! + Math.sqrt(b) * z[i]!;
      }
      const c = p.coefficients(steps - 1);
      const m = x.reduce((a, b) => a + b, 0) / n;
      const v = x.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
      expect(Math.abs(m - c.scale * x0)).toBeLessThan(4 * Math.sqrt(c.noiseStd ** 2 / n));
      expect(Math.abs(v / c.noiseStd ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    }
  });

  it('DDPM schedules: linear β from 1e-4 to 0.02 (ᾱ_T ≈ 4.04e-5), cosine β clipped at 0.999, σ on integer steps', () => {
    const lin = df.ddpm();
    expect(lin.betas[0]).toBeCloseTo(1e-4, 15);
    expect(lin.betas[999]).toBeCloseTo(0.02, 15);
    expect(lin.alphasCumprod[999]).toBeCloseTo(4.036e-5, 7);
    expect(lin.sigma(999)).toBeCloseTo(lin.sigmas[999]!, 10);
    expect(lin.tOfSigma(lin.sigmas[417]!)).toBe(417);
    const cos = df.ddpm({ schedule: 'cosine' });
    expect(Math.max(...cos.betas)).toBe(0.999);
    expect(cos.alphasCumprod[0]).toBeGreaterThan(0.9999);
    expect(() => df.ddpm({ steps: 1 })).toThrow(/steps must be an integer ≥ 2/);
  });
});

describe('σ grids', () => {
  it('ddpmSigmas on all T steps is the schedule reversed; sub-sequences keep both ends', () => {
    const p = df.ddpm({ steps: 50 });
    const all = df.ddpmSigmas(p, 50);
    expect(all.slice(0, -1)).toEqual(Array.from(p.sigmas).reverse());
    const sub = df.ddpmSigmas(p, 7);
    expect(sub[0]).toBe(p.sigmas[49]);
    expect(sub[6]).toBe(p.sigmas[0]);
    expect(sub[7]).toBe(0);
    expect(() => df.ddpmSigmas(p, 51)).toThrow(/more than the schedule's 50/);
  });

  it('geometric, process and flow grids', () => {
    const g = df.geometricSigmas(6, 10, 0.01);
    expect(g[0]).toBe(10);
    expect(g[5]).toBe(0.01);
    for (let i = 1; i < 5; i++) expect(g[i]! / g[i - 1]!).toBeCloseTo(g[i + 1]! / g[i]!, 12);
    const v = df.ve();
    const ps = df.processSigmas(v, 5);
    expect(ps[0]).toBeCloseTo(50, 12);
    expect(ps[4]).toBeCloseTo(0.01, 12);
    expect(ps[5]).toBe(0);
    const f = df.flowSigmas(4);
    expect(f).toEqual([Infinity, 3, 1, 1 / 3, 0]);
    // SD3's shift 3 moves t = 0.5 to 0.75, i.e. σ = 3
    expect(df.flowSigmas(2, { shift: 3 })[1]).toBeCloseTo(3, 12);
  });
});

describe('prediction conversions (one module for ε, x₀, v, score, velocity)', () => {
  const [k1, k2] = nb.splitKey(nb.randomKey(4));
  it.each(PROCESSES)('%s: every target round-trips to (x₀, ε), with per-example coefficients', (_n, p) => {
    nb.tidy(() => {
      const b = 6;
      const x0 = nb.normal(k1!, [b, 3], f64);
      const eps = nb.normal(k2!, [b, 3], f64);
      const ts = Array.from({ length: b }, (_, i) => p.tMin + ((i + 0.5) / b) * (p.tMax - p.tMin));
      const cs = ts.map((t) => p.coefficients(t));
      const c: df.PredictionCoefficients = {
        scale: df.perExample(cs.map((q) => q.scale), x0),
        noiseStd: df.perExample(cs.map((q) => q.noiseStd), x0),
        dScale: df.perExample(cs.map((q) => q.dScale), x0),
        dNoiseStd: df.perExample(cs.map((q) => q.dNoiseStd), x0),
      };
      const x = df.noised(x0, eps, c);
      for (const kind of df.PREDICTIONS) {
        const target = df.fromX0Eps(kind, x0, eps, c);
        const back = df.toX0Eps(kind, target, x, c);
        expect(maxDiff(Array.from(back.x0.toF64()), Array.from(x0.toF64()))).toBeLessThan(1e-6);
        expect(maxDiff(Array.from(back.eps.toF64()), Array.from(eps.toF64()))).toBeLessThan(1e-6);
      }
      // conversions compose: eps → v → x0 is eps → x0
      const pe = df.fromX0Eps('eps', x0, eps, c);
      const viaV = df.convertPrediction(df.convertPrediction(pe, 'eps', 'v', x, c), 'v', 'x0', x, c);
      expect(maxDiff(Array.from(viaV.toF64()), Array.from(x0.toF64()))).toBeLessThan(1e-6);
    });
  });

  it('closed forms: flow-matching velocity is ε − x₀; the score is −ε/(sσ); v for VP is √ᾱ·ε − √(1−ᾱ)·x₀', () => {
    nb.tidy(() => {
      const x0 = nb.tensor([1, 2], f64);
      const eps = nb.tensor([-0.5, 0.25], f64);
      const fm = df.flowMatching().coefficients(0.3);
      expect(Array.from(df.fromX0Eps('velocity', x0, eps, fm).toF64())).toEqual([-1.5, -1.75]);
      const vp = df.vpLinear().coefficients(0.4);
      const score = df.fromX0Eps('score', x0, eps, vp).toF64();
      expect(score[0]).toBeCloseTo(0.5 / vp.noiseStd, 12);
      const v = df.fromX0Eps('v', x0, eps, vp).toF64();
      expect(v[0]).toBeCloseTo(vp.scale * -0.5 - vp.noiseStd * 1, 12);
      expect(() => df.fromX0Eps('velocity', x0, eps, { scale: 1, noiseStd: 1 })).toThrow(/needs dScale and dNoiseStd/);
      expect(() => df.toX0Eps('nope' as df.Prediction, x0, x0, vp)).toThrow(/unknown prediction 'nope'/);
    });
  });

  it('a network that predicts exactly, wrapped by denoiserFromPrediction, is the exact denoiser (every process × target)', () => {
    const mean = [0.5, -1];
    const cov = [
      [0.8, 0.3],
      [0.3, 0.5],
    ];
    const exact = df.gaussianDenoiser(mean, cov);
    nb.tidy(() => {
      const xHat0 = nb.normal(nb.randomKey(9), [5, 2], f64);
      for (const [, p] of PROCESSES) {
        for (const kind of df.PREDICTIONS) {
          // the oracle network: in p's coordinates, predict `kind` from the exact posterior mean
          const oracle: df.Net = (x, tc) =>
            nb.tidy(() => {
              const t = tc.toF64()[0]!;
              const c = p.coefficients(t);
              const sigma = p.sigma(t);
              const x0 = exact(nb.mul(x, 1 / c.scale), sigma);
              const eps = nb.mul(nb.sub(x, nb.mul(x0, c.scale)), 1 / c.noiseStd);
              return df.fromX0Eps(kind, x0, eps, c);
            });
          const D = df.denoiserFromPrediction(oracle, p, kind);
          for (const u of [0.3, 0.7]) {
            const sigma = p.sigma(p.tMin + u * (p.tMax - p.tMin));
            const xs = nb.mul(xHat0, Math.sqrt(1 + sigma * sigma));
            expect(maxDiff(Array.from(D(xs, sigma).toF64()), Array.from(exact(xs, sigma).toF64()))).toBeLessThan(1e-6);
          }
        }
      }
    });
  });
});
