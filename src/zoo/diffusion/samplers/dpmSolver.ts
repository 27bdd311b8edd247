/**
 * DPM-Solver++(2M): Lu, Zhou, Bao, Chen, Li, Zhu, "DPM-Solver++: Fast Solver
 * for Guided Sampling of Diffusion Probabilistic Models", arXiv 2211.01095,
 * Algorithm 2 (multistep second order, data prediction).
 *
 * The probability-flow ODE is solved exactly in its linear part and the
 * data prediction D is approximated by a linear extrapolation in the
 * half-log-SNR λ = −log σ (σ-space, α = 1). With hᵢ = λᵢ − λᵢ₋₁:
 *
 *   first step:  x̃ᵢ = (σᵢ/σᵢ₋₁)·x̃ᵢ₋₁ − (e^{−hᵢ} − 1)·D(x̃ᵢ₋₁; σᵢ₋₁)
 *   then:        rᵢ = hᵢ₋₁/hᵢ,  Dᵢ = (1 + 1/(2rᵢ))·D(x̃ᵢ₋₁; σᵢ₋₁) − 1/(2rᵢ)·D(x̃ᵢ₋₂; σᵢ₋₂)
 *                x̃ᵢ = (σᵢ/σᵢ₋₁)·x̃ᵢ₋₁ − (e^{−hᵢ} − 1)·Dᵢ
 *
 * One evaluation per step. A step to σ = 0 (h = ∞) takes the first-order
 * form, which lands on D (as the k-diffusion implementation also does).
 */
import type { Tensor } from '../../../core/tensor.js';
import { add, mul } from '../../../ops/elementwise.js';
import { keep } from '../../../core/memory.js';
import type { Denoiser } from '../denoiser.js';
import { checkSigmas, report, runSampler, type SampleResult, type SamplerOptions } from './common.js';

const lambda = (sigma: number): number => -Math.log(sigma);

export function sampleDpmSolverPP2M(model: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): SampleResult {
  checkSigmas('sampleDpmSolverPP2M', sigmas);
  let oldDenoised: Tensor | null = null;
  try {
    return runSampler(model, x, sigmas.length - 1, opts, (i, xi, D) => {
      const sigma = sigmas[i]!;
      const sigmaNext = sigmas[i + 1]!;
      const denoised = D(xi, sigma);
      report(opts, { i, x: xi, sigma, sigmaHat: sigma, sigmaNext, denoised });
      const h = lambda(sigmaNext) - lambda(sigma);
      // −(e^{−h} − 1) = −expm1(−h); at σ_next = 0, h = ∞ and the update is x = D
      const phi = -Math.expm1(-h);
      let dCombined: Tensor = denoised;
      if (oldDenoised && sigmaNext > 0) {
        const hLast = lambda(sigma) - lambda(sigmas[i - 1]!);
        const r = hLast / h;
        dCombined = add(mul(denoised, 1 + 1 / (2 * r)), mul(oldDenoised, -1 / (2 * r)));
      }
      const xNext = add(mul(xi, sigmaNext / sigma), mul(dCombined, phi));
      // D(x̃ᵢ₋₁) is needed by the next step: keep it out of this step's scope
      oldDenoised?.dispose();
      oldDenoised = keep(denoised);
      return xNext;
    });
  } finally {
    (oldDenoised as Tensor | null)?.dispose();
  }
}
