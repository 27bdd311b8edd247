/**
 * The VP samplers in their papers' own variables. With the unified form's
 * ᾱ = 1/(1 + σ²) (s = √ᾱ), a σ grid is a sequence of ᾱ's, and the sampler
 * state is moved to VP coordinates xₜ = √ᾱₜ·x̂ for the update and back:
 *
 * - `sampleDdpm`: Ho et al., arXiv 2006.11239, Algorithm 2 (ancestral):
 *     xₜ₋₁ = (xₜ − βₜ/√(1 − ᾱₜ)·ε̂)/√αₜ + σₜ·z,  z = 0 on the last step,
 *   with αₜ = ᾱₜ/ᾱₜ₋₁ and βₜ = 1 − αₜ between consecutive grid levels (the
 *   paper's βₜ on the full schedule), σₜ² = β̃ₜ = (1 − ᾱₜ₋₁)/(1 − ᾱₜ)·βₜ
 *   (`variance: 'posterior'`, default) or βₜ (`variance: 'beta'`), §3.2.
 * - `sampleDdim`: Song, Meng & Ermon, arXiv 2010.02502, eq. 12:
 *     xₜ₋₁ = √ᾱₜ₋₁·x̂₀ + √(1 − ᾱₜ₋₁ − σₜ²)·ε̂ + σₜ·z,
 *     σₜ(η) = η·√((1 − ᾱₜ₋₁)/(1 − ᾱₜ))·√(1 − ᾱₜ/ᾱₜ₋₁) (eq. 16).
 *   η = 0 is deterministic; η = 1 is DDPM's ancestral step.
 * - `ddimInvert`: the η = 0 update run upwards (x₀ → noise): DDIM's
 *   encoder (Song et al. §5.4), the ODE integrated with the same Euler rule.
 *
 * ε̂ and x̂₀ come from the denoiser: x̂₀ = D(x̂; σ), ε̂ = (x̂ − x̂₀)/σ.
 */
import type { Tensor } from '../../../core/tensor.js';
import { add, mul, sub } from '../../../ops/elementwise.js';
import type { Denoiser } from '../denoiser.js';
import { checkSigmas, report, requireKey, runSampler, stepNoise, type SampleResult, type SamplerOptions } from './common.js';

const alphaBar = (sigma: number): number => 1 / (1 + sigma * sigma);

/** (x̂₀, ε̂) at σ-space x. */
function predict(D: Denoiser, x: Tensor, sigma: number): { x0: Tensor; eps: Tensor } {
  const x0 = D(x, sigma);
  return { x0, eps: mul(sub(x, x0), 1 / sigma) };
}

export interface DdpmOptions extends SamplerOptions {
  /** σₜ² = β̃ₜ ('posterior', default) or βₜ ('beta') */
  variance?: 'posterior' | 'beta';
}

/** DDPM ancestral sampling (Ho et al. Algorithm 2) over a σ grid. */
export function sampleDdpm(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: DdpmOptions = {}): SampleResult {
  checkSigmas('sampleDdpm', sigmas);
  const key = requireKey('sampleDdpm', opts);
  const variance = opts.variance ?? 'posterior';
  if (variance !== 'posterior' && variance !== 'beta') throw new Error(`sampleDdpm: variance must be 'posterior' or 'beta', got '${String(variance)}'`);
  return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
    const sigma = sigmas[i]!;
    const sigmaNext = sigmas[i + 1]!;
    const abT = alphaBar(sigma);
    const abPrev = alphaBar(sigmaNext);
    const alphaT = abT / abPrev;
    const betaT = 1 - alphaT;
    const { x0, eps } = predict(D, xi, sigma);
    report(opts, { i, x: xi, sigma, sigmaHat: sigma, sigmaNext, denoised: x0 });
    const xT = mul(xi, Math.sqrt(abT)); // VP coordinates
    const mean = mul(sub(xT, mul(eps, betaT / Math.sqrt(1 - abT))), 1 / Math.sqrt(alphaT));
    const last = sigmaNext === 0;
    const varT = variance === 'posterior' ? ((1 - abPrev) / (1 - abT)) * betaT : betaT;
    const xPrev = last ? mean : add(mean, mul(stepNoise(key, i, xi), Math.sqrt(varT)));
    return mul(xPrev, 1 / Math.sqrt(abPrev)); // back to σ-space
  });
}

export interface DdimOptions extends SamplerOptions {
  /** η: 0 deterministic (default), 1 DDPM-like */
  eta?: number;
}

/** DDIM (Song et al. eq. 12) with stochasticity η over a σ grid (any sub-sequence of a VP schedule). */
export function sampleDdim(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: DdimOptions = {}): SampleResult {
  checkSigmas('sampleDdim', sigmas);
  const eta = opts.eta ?? 0;
  if (!(eta >= 0)) throw new Error(`sampleDdim: eta must be non-negative, got ${eta}`);
  const key = eta > 0 ? requireKey('sampleDdim', opts) : undefined;
  return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
    const sigma = sigmas[i]!;
    const sigmaNext = sigmas[i + 1]!;
    const abT = alphaBar(sigma);
    const abPrev = alphaBar(sigmaNext);
    const { x0, eps } = predict(D, xi, sigma);
    report(opts, { i, x: xi, sigma, sigmaHat: sigma, sigmaNext, denoised: x0 });
    const sigmaT = eta * Math.sqrt((1 - abPrev) / (1 - abT)) * Math.sqrt(1 - abT / abPrev);
    const dirCoef = Math.sqrt(Math.max(0, 1 - abPrev - sigmaT * sigmaT));
    let xPrev = add(mul(x0, Math.sqrt(abPrev)), mul(eps, dirCoef));
    if (sigmaT > 0) xPrev = add(xPrev, mul(stepNoise(key!, i, xi), sigmaT));
    return mul(xPrev, 1 / Math.sqrt(abPrev));
  });
}

/**
 * DDIM inversion: encode x at the last (smallest) level of `sigmas` up to
 * sigmas[0], stepping the η = 0 rule upwards. Each step evaluates ε̂ at the
 * lower level (at the next level up when the lower one is σ = 0, where ε̂
 * is undefined). The result decodes back with `sampleDdim` on the same grid
 * up to the discretisation error of the two Euler passes.
 */
export function ddimInvert(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  checkSigmas('ddimInvert', sigmas);
  const up = sigmas.slice().reverse();
  return runSampler(model, x, up.length - 1, opts, (i, xi, D) => {
    const sigma = up[i]!;
    const sigmaUp = up[i + 1]!;
    const evalSigma = sigma > 0 ? sigma : sigmaUp;
    const { x0, eps } = predict(D, xi, evalSigma);
    report(opts, { i, x: xi, sigma, sigmaHat: evalSigma, sigmaNext: sigmaUp, denoised: x0 });
    const abUp = alphaBar(sigmaUp);
    const xUp = add(mul(x0, Math.sqrt(abUp)), mul(eps, Math.sqrt(1 - abUp)));
    return mul(xUp, 1 / Math.sqrt(abUp));
  });
}
