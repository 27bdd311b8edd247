/**
 * Flow samplers: the ODE dx/dt = v(x, t) of flow matching / rectified flow
 * (Lipman et al., arXiv 2210.02747, eq. 1; Liu et al., arXiv 2209.03003,
 * eq. 1) integrated in the flow's own time t ∈ [0, 1], where
 * xₜ = (1 − t)·x₀ + t·ε. The σ grid maps to times by t = σ/(1 + σ) (σ = ∞ is
 * t = 1) and σ-space x to flow coordinates by xₜ = x/(1 + σ).
 *
 * - `sampleFlowEuler`: Z_{t+Δ} = Z_t + Δ·v(Z_t, t) (Liu et al. §2.1, "the
 *   Euler method with N uniform steps"). On the same grid it equals
 *   `sampleEuler` (Euler is invariant to the scaling s(t)), which the tests
 *   check; its use is starting at t = 1.
 * - `sampleFlowHeun`: Heun's method in t (the explicit trapezoidal rule), a
 *   second-order flow sampler. It differs from the σ-space `sampleHeun`.
 *
 * A model with a `velocity` (any denoiser built by `denoiserFromPrediction`
 * on the flow-matching process) is called in flow coordinates directly, and
 * then sigmas[0] may be ∞: x is then the flow's x₁ itself (the noise, or any
 * source sample for a flow between two data sets). Otherwise the velocity is
 * recovered from the denoiser: v = (xₜ − D(xₜ/(1 − t); σ))/t.
 *
 * Callbacks and trajectories of these samplers hold states in flow
 * coordinates xₜ (finite at t = 1), not in σ-space.
 */
import type { Tensor } from '../../../core/tensor.js';
import { tidy } from '../../../core/memory.js';
import { add, mul, sub } from '../../../ops/elementwise.js';
import type { Denoiser } from '../denoiser.js';
import { checkSigmas, runSampler, type SampleResult, type SamplerOptions } from './common.js';

const timeOf = (sigma: number): number => (sigma === Infinity ? 1 : sigma / (1 + sigma));

/** The flow's velocity at (xₜ, t) from a denoiser or its own velocity field. */
function velocity(D: Denoiser, xt: Tensor, t: number, sigma: number): { v: Tensor; denoised: Tensor } {
  return tidy(() => {
    if (D.velocity) {
      const v = D.velocity(xt, t);
      return { v, denoised: sub(xt, mul(v, t)) };
    }
    if (sigma === Infinity || sigma === 0) throw new Error(`flow sampler: σ = ${sigma} needs a model with a velocity field (denoiserFromPrediction on the flowMatching process)`);
    const denoised = D(mul(xt, 1 + sigma), sigma);
    return { v: mul(sub(xt, denoised), 1 / t), denoised };
  });
}

function run(name: string, model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions, heun: boolean): SampleResult {
  if (sigmas[0] === Infinity && !model.velocity) throw new Error(`${name}: sigmas[0] = ∞ needs a model with a velocity field (denoiserFromPrediction on the flowMatching process)`);
  checkSigmas(name, sigmas, true);
  const ts = sigmas.map(timeOf);
  const N = sigmas.length - 1;
  // to flow coordinates (x is x₁ itself when σ₀ = ∞)
  const x0 = sigmas[0] === Infinity ? x : mul(x, 1 / (1 + sigmas[0]!));
  const res = runSampler(model, x0, N, opts, (i, xt, D) => {
    const t = ts[i]!;
    const tNext = ts[i + 1]!;
    const dt = tNext - t;
    const { v, denoised } = velocity(D, xt, t, sigmas[i]!);
    opts.callback?.({ i, x: xt, sigma: sigmas[i]!, sigmaHat: sigmas[i]!, sigmaNext: sigmas[i + 1]!, denoised });
    const xNext = add(xt, mul(v, dt));
    if (!heun || (tNext === 0 && !D.velocity)) return xNext;
    const vNext = velocity(D, xNext, tNext, sigmas[i + 1]!).v;
    return add(xt, mul(add(v, vNext), dt / 2));
  });
  if (x0 !== x) x0.dispose();
  // back to σ-space (no-op when the grid ends at t = 0)
  const last = sigmas[N]!;
  if (last > 0) {
    const xs = mul(res.x, 1 + last);
    res.x.dispose();
    res.x = xs;
  }
  return res;
}

/** Rectified-flow Euler: Z ← Z + Δt·v(Z, t) on the grid t = σ/(1 + σ). */
export function sampleFlowEuler(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  return run('sampleFlowEuler', model, x, sigmas, opts, false);
}

/** Flow Heun: the explicit trapezoidal rule in flow time t. */
export function sampleFlowHeun(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  return run('sampleFlowHeun', model, x, sigmas, opts, true);
}
