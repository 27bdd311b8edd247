/**
 * Stochastic samplers of score-based models, in σ-space with the score
 * ∇ₓ log p(x; σ) = (D(x; σ) − x)/σ² (Karras et al. 2206.00364, eq. 3).
 *
 * In σ-space every process is the VE SDE; in the clock τ = σ² it is plain
 * Brownian motion, dx = dw_τ, whose time reversal (Anderson 1982; Song et
 * al., arXiv 2011.13456, eq. 6) is dx = −∇ log p dτ + dw̄_τ.
 *
 * - `sampleEulerMaruyama`: Euler–Maruyama on that reverse SDE:
 *     x ← x + (σᵢ² − σᵢ₊₁²)·∇log p(x; σᵢ) + √(σᵢ² − σᵢ₊₁²)·z,
 *   which is also Song et al.'s "reverse diffusion" predictor for the VE SDE
 *   (App. E, eq. 47). The last step to σ = 0 adds no noise (it returns the
 *   mean, D(x; σ), as their samplers' final denoising does).
 * - `samplePredictorCorrector`: Song et al. Algorithm 2/4 (VE): the predictor
 *   above, then `corrector` steps of Langevin dynamics at the new level with
 *   the step size set from the target signal-to-noise ratio r:
 *     ε = 2·(r·‖z‖/‖∇log p‖)²,  x ← x + ε·∇log p + √(2ε)·z,
 *   with the norms averaged over the batch as in the authors' code (per
 *   example, a low-dimensional ‖∇log p‖ near 0 makes ε explode).
 * - `sampleAnnealedLangevin`: Song & Ermon, "Generative Modeling by
 *   Estimating Gradients of the Data Distribution", arXiv 1907.05600,
 *   Algorithm 1: for each σᵢ (largest first), αᵢ = ε·σᵢ²/σ_L², T steps of
 *     x ← x + (αᵢ/2)·∇log p(x; σᵢ) + √αᵢ·z,
 *   optionally followed by one denoising step x ← D(x; σ_L) (Song & Ermon,
 *   arXiv 2006.09011, §4; Jolicoeur-Martineau et al. 2009.05475).
 */
import type { Tensor } from '../../../core/tensor.js';
import { tidy } from '../../../core/memory.js';
import { foldIn } from '../../../ops/random.js';
import { add, mul, sqrt, square, sub } from '../../../ops/elementwise.js';
import { sum } from '../../../ops/reduce.js';
import { mean } from '../../../ops/stats.js';
import { reshape } from '../../../ops/views.js';
import type { Denoiser } from '../denoiser.js';
import { checkSigmas, report, requireKey, runSampler, stepNoise, type SampleResult, type SamplerOptions } from './common.js';

/** ∇ₓ log p(x; σ) from the denoiser. */
export function scoreOf(denoised: Tensor, x: Tensor, sigma: number): Tensor {
  return tidy(() => mul(sub(denoised, x), 1 / (sigma * sigma)));
}

/** One reverse-diffusion (Euler–Maruyama in τ = σ²) step from σ to σNext. */
function reverseStep(D: Denoiser, x: Tensor, sigma: number, sigmaNext: number, noise: Tensor | null): { x: Tensor; denoised: Tensor } {
  const denoised = D(x, sigma);
  const dTau = sigma * sigma - sigmaNext * sigmaNext;
  const mean = add(x, mul(scoreOf(denoised, x, sigma), dTau));
  return { x: noise && sigmaNext > 0 ? add(mean, mul(noise, Math.sqrt(dTau))) : mean, denoised };
}

/** Euler–Maruyama on the reverse-time SDE (Song et al. eq. 6) in σ-space. */
export function sampleEulerMaruyama(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  checkSigmas('sampleEulerMaruyama', sigmas);
  const key = requireKey('sampleEulerMaruyama', opts);
  return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
    const r = reverseStep(D, xi, sigmas[i]!, sigmas[i + 1]!, stepNoise(key, i, xi));
    report(opts, { i, x: xi, sigma: sigmas[i]!, sigmaHat: sigmas[i]!, sigmaNext: sigmas[i + 1]!, denoised: r.denoised });
    return r.x;
  });
}

/** The batch mean of the per-example Euclidean norms of a (b, …) tensor. */
function meanNorm(t: Tensor): number {
  const b = t.shape[0]!;
  return tidy(() => mean(sqrt(sum(square(reshape(t, [b, -1])), -1))).item());
}

export interface PredictorCorrectorOptions extends SamplerOptions {
  /** Langevin corrector steps per level (default 1) */
  corrector?: number;
  /** target signal-to-noise ratio r (default 0.16, Song et al.'s VE setting) */
  snr?: number;
}

/** Song et al. Algorithm 2 (PC sampling, VE): reverse-diffusion predictor + Langevin corrector. */
export function samplePredictorCorrector(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: PredictorCorrectorOptions = {}): SampleResult {
  checkSigmas('samplePredictorCorrector', sigmas);
  const key = requireKey('samplePredictorCorrector', opts);
  const M = opts.corrector ?? 1;
  const snr = opts.snr ?? 0.16;
  if (!Number.isInteger(M) || M < 0) throw new Error(`samplePredictorCorrector: corrector must be a non-negative integer, got ${M}`);
  if (!(snr > 0)) throw new Error(`samplePredictorCorrector: snr must be positive, got ${snr}`);
  return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
    const sigma = sigmas[i]!;
    const sigmaNext = sigmas[i + 1]!;
    const ki = foldIn(key, i);
    const pred = reverseStep(D, xi, sigma, sigmaNext, stepNoise(ki, 0, xi));
    report(opts, { i, x: xi, sigma, sigmaHat: sigma, sigmaNext, denoised: pred.denoised });
    let xc = pred.x;
    if (sigmaNext === 0) return xc;
    for (let j = 0; j < M; j++) {
      const g = scoreOf(D(xc, sigmaNext), xc, sigmaNext);
      const z = stepNoise(ki, j + 1, xc);
      const eps = 2 * ((snr * meanNorm(z)) / meanNorm(g)) ** 2;
      xc = add(add(xc, mul(g, eps)), mul(z, Math.sqrt(2 * eps)));
    }
    return xc;
  });
}

export interface AnnealedLangevinOptions extends SamplerOptions {
  /** T: Langevin steps per noise level (default 100) */
  stepsPerSigma?: number;
  /** ε: the step size at the smallest level (default 2e-5, Song & Ermon's CIFAR-10 setting) */
  stepSize?: number;
  /** finish with x ← D(x; σ_L) (default true) */
  denoise?: boolean;
}

/** Annealed Langevin dynamics (NCSN, Song & Ermon 2019, Algorithm 1). Zero levels in `sigmas` are ignored. */
export function sampleAnnealedLangevin(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: AnnealedLangevinOptions = {}): SampleResult {
  const levels = sigmas.filter((s) => s > 0);
  checkSigmas('sampleAnnealedLangevin', levels.length === 1 ? [levels[0]!, levels[0]!] : levels);
  const key = requireKey('sampleAnnealedLangevin', opts);
  const T = opts.stepsPerSigma ?? 100;
  const eps = opts.stepSize ?? 2e-5;
  const denoise = opts.denoise ?? true;
  if (!Number.isInteger(T) || T < 1) throw new Error(`sampleAnnealedLangevin: stepsPerSigma must be a positive integer, got ${T}`);
  if (!(eps > 0)) throw new Error(`sampleAnnealedLangevin: stepSize must be positive, got ${eps}`);
  const L = levels.length;
  const sigmaL = levels[L - 1]!;
  const total = L * T + (denoise ? 1 : 0);
  return runSampler(model, x, total, opts, (n, xi, D) => {
    if (n === L * T) {
      const denoised = D(xi, sigmaL);
      report(opts, { i: n, x: xi, sigma: sigmaL, sigmaHat: sigmaL, sigmaNext: 0, denoised });
      return mul(denoised, 1);
    }
    const level = Math.floor(n / T);
    const sigma = levels[level]!;
    const alpha = (eps * sigma * sigma) / (sigmaL * sigmaL);
    const denoised = D(xi, sigma);
    report(opts, { i: n, x: xi, sigma, sigmaHat: sigma, sigmaNext: (n + 1) % T === 0 ? (levels[level + 1] ?? sigma) : sigma, denoised });
    return add(add(xi, mul(scoreOf(denoised, xi, sigma), alpha / 2)), mul(stepNoise(key, n, xi), Math.sqrt(alpha)));
  });
}
