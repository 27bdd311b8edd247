/**
 * Reflow (Liu et al., arXiv 2209.03003): straightness against closed forms,
 * and one reflow on a seeded toy that must straighten the paths and improve
 * one-step sampling.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { wasserstein2 } from '../../src/zoo/metrics/index.js';

const f64 = { dtype: 'f64' as const };

/** A flow given by its velocity field only (the σ-space call is not needed by straightness or the flow samplers). */
function flowModel(v: (x: Tensor, t: number) => Tensor): df.Denoiser {
  const D = ((): Tensor => {
    throw new Error('σ-space call not used');
  }) as unknown as df.Denoiser;
  D.velocity = v;
  return D;
}

describe('straightness', () => {
  it('is 0 for a constant field, whose Euler endpoint is x₁ − c', () => {
    const c = nb.tensor([[0.5, -2]], undefined, f64);
    const model = flowModel((x) => nb.mul(nb.onesLike(x), c));
    const x1 = nb.normal(nb.randomKey(1), [64, 2], f64);
    const { straightness, x0 } = df.straightness(model, x1, 8);
    expect(straightness).toBeLessThan(1e-20);
    expect(nb.max(nb.abs(nb.sub(x0, nb.sub(x1, c)))).item()).toBeLessThan(1e-12);
  });

  it('of the exact flow from N(0, I) to N(m, s²I) is d·∫(a′(t) − (1 − s))² dt, a(t) = √((1 − t)²s² + t²)', () => {
    // xₜ = (1 − t)m + a(t)z moves along straight lines at the non-constant speed a′(t)
    const m = [1.5, -1];
    const s = 0.5;
    const a = (t: number): number => Math.sqrt((1 - t) ** 2 * s * s + t * t);
    const da = (t: number): number => (t - (1 - t) * s * s) / a(t);
    const M = nb.tensor([m], undefined, f64);
    const model = flowModel((x, t) => nb.tidy(() => nb.add(nb.neg(M), nb.mul(nb.sub(x, nb.mul(M, 1 - t)), da(t) / a(t)))));
    const x1 = nb.normal(nb.randomKey(2), [1000, 2], f64);
    const { straightness, x0 } = df.straightness(model, x1, 200);
    const z2 = nb.mean(nb.sum(nb.square(x1), -1)).item(); // the sample's E‖z‖², ≈ d
    // Simpson's rule for the closed form
    const n = 2000;
    let integral = 0;
    for (let i = 0; i <= n; i++) integral += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * (da(i / n) - (1 - s)) ** 2;
    integral *= z2 / (3 * n); // h/3 = 1/(3n)
    // what remains is Euler's discretisation error
    expect(Math.abs(straightness / integral - 1)).toBeLessThan(0.02);
    expect(straightness).toBeGreaterThan(0.05);
    // the endpoints are the data law
    const xs = x0.toF64();
    let mean0 = 0;
    for (let i = 0; i < 1000; i++) mean0 += xs[2 * i]! / 1000;
    expect(Math.abs(mean0 - m[0]!)).toBeLessThan(0.06);
  });

  it('rejects bad steps and models without a velocity', () => {
    const x = nb.zeros([2, 2]);
    expect(() => df.straightness(flowModel((y) => y), x, 0)).toThrow(/steps must be a positive integer/);
    expect(() => df.straightness(((y: Tensor) => y) as df.Denoiser, x)).toThrow(/velocity field/);
  });
});

describe('reflow on a toy (seeded, CI-sized)', () => {
  it('straightens the exact flow of a two-cluster mixture and fixes 1-step Euler sampling', () => {
    // two narrow clusters: independent couplings cross, so the (here exact) 1-rectified flow bends at t ≈ ½
    const data = { weights: [1, 1], means: [[-1.5, 0], [1.5, 0]], stds: [0.5, 0.5] };
    const Dg = df.gmmDenoiser(data);
    const rf1 = flowModel((x, t) =>
      nb.tidy(() => {
        if (t >= 1) return x; // v = x₁ − E[x₀], E[x₀] = 0
        if (t <= 0) return nb.neg(x); // v = E[ε | x₀] − x₀
        const sigma = t / (1 - t);
        return nb.div(nb.sub(x, Dg(nb.mul(x, 1 + sigma), sigma)), t);
      }),
    );
    const key = nb.randomKey(11);
    // couplings: noise draws and what the 1-rectified flow makes of them
    const pairs = df.reflowCouplings(rf1, nb.normal(nb.foldIn(key, 2), [1024, 2]), { sigmas: df.flowSigmas(16) });
    expect(pairs.nfe).toBe(32); // 16 Heun steps of 2 evaluations (a velocity model corrects at t = 0 too)
    const net = new df.TimeMlp(2, { key: nb.foldIn(key, 3), hidden: [48, 48] });
    const f: df.Net = (x, c) => net.forward(x, c);
    df.fit(
      net,
      (k) =>
        nb.tidy(() => {
          const [ki, kl] = nb.splitKey(k);
          const idx = nb.randint(ki!, [128], 0, 1024);
          return df.flowMatchingLoss(f, nb.indexSelect(pairs.x0, 0, idx), { key: kl!, x1: nb.indexSelect(pairs.x1, 0, idx) });
        }),
      { steps: 300, key: nb.foldIn(key, 4), lr: 3e-3 },
    );
    const rf2 = df.denoiserFromPrediction(f, df.flowMatching(), 'velocity');
    const probe = nb.normal(nb.foldIn(key, 5), [256, 2]);
    const before = df.straightness(rf1, probe, 16).straightness;
    const after = df.straightness(rf2, probe, 16).straightness;
    // the target is the ODE's own image of the probe: W2 against an independent sample would be dominated by
    // the random split of 256 points between two clusters 4 apart
    const target = df.sampleFlowHeun(rf1, probe, df.flowSigmas(32)).x;
    const oneStep = (m: df.Denoiser): number => wasserstein2(df.sampleFlowEuler(m, probe, [Infinity, 0]).x, target).distance;
    const w1 = oneStep(rf1);
    const w2 = oneStep(rf2);
    console.log(`reflow toy: straightness ${before.toFixed(3)} → ${after.toFixed(3)}; 1-step W2 ${w1.toFixed(3)} → ${w2.toFixed(3)}`);
    // 1 step of the exact 1-rectified flow lands every point on the mean (W2 ≈ 1.5)
    expect(w1).toBeGreaterThan(1.4);
    expect(after).toBeLessThan(before / 3);
    expect(w2).toBeLessThan(w1 / 2.5);
  });
});
