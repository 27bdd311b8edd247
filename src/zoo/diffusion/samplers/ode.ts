/**
 * Samplers of the probability-flow ODE in σ-space (Karras et al.,
 * arXiv 2206.00364, eq. 4 with s = 1; Song et al., arXiv 2011.13456, eq. 13):
 *
 *   dx/dσ = (x − D(x; σ))/σ
 *
 * - `sampleEuler`: Euler's method on the σ grid. One evaluation per step.
 *   It is DDIM with η = 0 (Karras et al. §3 note that DDIM is Euler in this
 *   form) and, on the same grid, the rectified-flow Euler sampler.
 * - `sampleHeun`: Karras et al. Algorithm 2: Heun's second-order method with
 *   stochastic churn. With sChurn = 0 it is their Algorithm 1 (deterministic).
 *   The last step to σ = 0 is an Euler step, so N steps ending at 0 cost
 *   2N − 1 evaluations.
 * - `sampleRk45`: the adaptive Dormand–Prince solver of `zoo/ode` from
 *   sigmas[0] to the last positive σ (only the ends of the grid matter), then
 *   one denoising step to σ = 0 if the grid ends there (Song et al. sample
 *   with scipy's RK45 the same way, tolerances 1e-5).
 */
import type { Tensor } from '../../../core/tensor.js';
import { tidy } from '../../../core/memory.js';
import { add, mul, sub } from '../../../ops/elementwise.js';
import { copy } from '../../../ops/views.js';
import { dopri5 } from '../../ode/dopri5.js';
import { countCalls, type Denoiser } from '../denoiser.js';
import { checkSigmas, report, requireKey, runSampler, stepNoise, type SampleResult, type SamplerOptions } from './common.js';

/** d = (x − D)/σ, the ODE's derivative dx/dσ (Karras et al. eq. 4, "to_d" in k-diffusion). */
export function toD(x: Tensor, sigma: number, denoised: Tensor): Tensor {
  return tidy(() => mul(sub(x, denoised), 1 / sigma));
}

/** Euler's method on the probability-flow ODE (= DDIM with η = 0). */
export function sampleEuler(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  checkSigmas('sampleEuler', sigmas);
  return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
    const sigma = sigmas[i]!;
    const sigmaNext = sigmas[i + 1]!;
    const denoised = D(xi, sigma);
    report(opts, { i, x: xi, sigma, sigmaHat: sigma, sigmaNext, denoised });
    const d = toD(xi, sigma, denoised);
    return add(xi, mul(d, sigmaNext - sigma));
  });
}

export interface HeunOptions extends SamplerOptions {
  /** S_churn: total stochasticity; γᵢ = min(S_churn/N, √2 − 1) inside [S_tmin, S_tmax] (default 0: deterministic) */
  sChurn?: number;
  /** S_tmin, S_tmax: the σ range where churn is added (defaults 0 and ∞) */
  sTmin?: number;
  sTmax?: number;
  /** S_noise: scale of the churn noise (default 1) */
  sNoise?: number;
}

/** Karras et al. Algorithm 2: Heun's 2nd-order method with stochastic churn (Algorithm 1 when sChurn = 0). */
export function sampleHeun(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: HeunOptions = {}): SampleResult {
  checkSigmas('sampleHeun', sigmas);
  const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = opts;
  if (!(sChurn >= 0)) throw new Error(`sampleHeun: sChurn must be non-negative, got ${sChurn}`);
  const N = sigmas.length - 1;
  const key = sChurn > 0 ? requireKey('sampleHeun', opts) : undefined;
  return runSampler(model, x, N, opts, (i, xi, D) => {
    const sigma = sigmas[i]!;
    const sigmaNext = sigmas[i + 1]!;
    // 4–6: temporarily raise the noise level to σ̂ = σ(1 + γ) by adding fresh noise
    const gamma = sigma >= sTmin && sigma <= sTmax ? Math.min(sChurn / N, Math.SQRT2 - 1) : 0;
    const sigmaHat = sigma * (1 + gamma);
    const xHat = gamma > 0 ? add(xi, mul(stepNoise(key!, i, xi), sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma))) : xi;
    // 7–8: Euler step from σ̂ to σ_{i+1}
    const denoised = D(xHat, sigmaHat);
    report(opts, { i, x: xi, sigma, sigmaHat, sigmaNext, denoised });
    const d = toD(xHat, sigmaHat, denoised);
    const xNext = add(xHat, mul(d, sigmaNext - sigmaHat));
    if (sigmaNext === 0) return xNext;
    // 9–11: second-order correction with the slope at the new point
    const dPrime = toD(xNext, sigmaNext, D(xNext, sigmaNext));
    return add(xHat, mul(add(d, dPrime), 0.5 * (sigmaNext - sigmaHat)));
  });
}

export interface Rk45Options extends SamplerOptions {
  rtol?: number;
  atol?: number;
  maxSteps?: number;
}

/** The probability-flow ODE solved by adaptive RK45 (Dormand–Prince) between the ends of the grid. */
export function sampleRk45(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: Rk45Options = {}): SampleResult {
  checkSigmas('sampleRk45', sigmas);
  const sigmaStart = sigmas[0]!;
  const positive = sigmas.filter((s) => s > 0);
  const sigmaEnd = positive[positive.length - 1]!;
  if (positive.length === 0) throw new Error('sampleRk45: sigmas has no positive noise level');
  const { model: D, calls } = countCalls(model);
  const f = (sigma: number, y: readonly Tensor[]): Tensor[] => tidy(() => [toD(y[0]!, sigma, D(y[0]!, sigma))]);
  let step = 0;
  const sol = dopri5(f, [x], sigmaStart, sigmaEnd, {
    rtol: opts.rtol ?? 1e-5,
    atol: opts.atol ?? 1e-5,
    maxSteps: opts.maxSteps,
    trajectory: opts.trajectory,
    callback: opts.callback ? (s, y) => opts.callback!({ i: step++, x: y[0]!, sigma: s, sigmaHat: s, sigmaNext: s }) : undefined,
  });
  let out = sol.y[0]!;
  const trajectory = sol.ys?.map((ys) => ys[0]!);
  if (sigmas[sigmas.length - 1] === 0) {
    // the final step to σ = 0 is Euler's, which lands on D(x; σ_min)
    const denoised = D(out, sigmaEnd);
    out.dispose();
    out = denoised;
    trajectory?.push(copy(out));
  }
  const res: SampleResult = { x: out, nfe: calls() };
  if (trajectory) res.trajectory = trajectory;
  return res;
}

