/**
 * Order of accuracy with the exact denoiser of a Gaussian mixture (eight
 * Gaussians): on the ρ = 7 grid from σ_max = 80 to σ_min = 0.002 (no final
 * step to 0, so every step is the method's own), the error against a
 * reference solution falls as N⁻² for Heun (Karras et al. 2206.00364, §3)
 * and DPM-Solver++(2M), and as N⁻¹ for Euler.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { eightGaussiansGmm } from '../../src/zoo/data/gmm.js';
import { logLogSlope } from './helpers.js';

describe('convergence order of the ODE samplers', () => {
  const D = df.gmmDenoiser(eightGaussiansGmm());
  const x = nb.mul(nb.normal(nb.randomKey(3), [64, 2], { dtype: 'f64' }), 80);
  const grid = (n: number): number[] => df.karrasSigmas(n).slice(0, -1);
  // the reference: adaptive RK45 at a tolerance far below the errors measured
  const ref = df.sampleRk45(D, x, grid(2), { rtol: 1e-10, atol: 1e-10 }).x.toF64();
  const rmsError = (y: Float64Array): number => Math.sqrt(y.reduce((s, v, i) => s + (v - ref[i]!) ** 2, 0) / y.length);
  const Ns = [16, 32, 64, 128];

  it.each([
    ['Heun (EDM Algorithm 1)', 2, df.sampleHeun],
    ['DPM-Solver++(2M)', 2, df.sampleDpmSolverPP2M],
    ['Euler', 1, df.sampleEuler],
  ] as const)('%s: error falls as N^-%d (fitted slope)', (_name, order, sampler) => {
    const errs = Ns.map((n) => nb.tidy(() => rmsError(sampler(D, x, grid(n)).x.toF64())));
    const slope = logLogSlope(Ns, errs);
    expect(slope).toBeLessThan(-order + 0.35);
    expect(slope).toBeGreaterThan(-order - 0.45);
    expect(errs[3]).toBeLessThan(order === 2 ? 1e-3 : 2e-2);
  });
});
