/**
 * Reflow (Liu, Gong & Liu, "Flow Straight and Fast: Learning to Generate and
 * Transfer Data with Rectified Flow", arXiv 2209.03003, §2.2): a trained flow
 * Z = RectFlow((X₀, X₁)) turns independent pairs into a deterministic
 * coupling (Z₀, Z₁) = (ODE(X₁), X₁); training a new flow on that coupling
 * gives paths that cross less and are straighter, so fewer steps suffice.
 *
 * - `reflowCouplings`: run the flow from given sources x₁ and return the
 *   pairs (x₀ = the generated sample, x₁).
 * - `straightness`: S(Z) = ∫₀¹ E‖(Z₁ − Z₀) − v(Z_t, t)‖² dt (Liu et al.,
 *   eq. 7 with Ż_t = v), estimated along Euler trajectories of N uniform
 *   steps from t = 1: zero exactly when every path is a straight line
 *   travelled at constant speed.
 * - Retraining is `flowMatchingLoss(net, x0, { x1 })` on the couplings, as
 *   a new model or continuing from the old one (the paper does either).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, mul, square, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { mean } from '../../ops/stats.js';
import { reshape } from '../../ops/views.js';
import { noGrad } from '../../autodiff/tape.js';
import type { Denoiser } from './denoiser.js';
import { flowSigmas } from './schedules.js';
import { sampleFlowHeun } from './samplers/flow.js';
import type { Sampler } from './samplers/common.js';

export interface CouplingOptions {
  /** the σ grid (default flowSigmas(32), from t = 1) */
  sigmas?: readonly number[];
  /** the sampler (default sampleFlowHeun) */
  sampler?: Sampler;
}

/** (x₀, x₁) pairs from the flow: x₀ is what the ODE makes of x₁. x₁ is copied, so the pair can be disposed together. */
export function reflowCouplings(model: Denoiser, x1: Tensor, opts: CouplingOptions = {}): { x0: Tensor; x1: Tensor; nfe: number } {
  const sampler = opts.sampler ?? sampleFlowHeun;
  const sigmas = opts.sigmas ?? flowSigmas(32);
  return noGrad(() => {
    const r = sampler(model, x1, sigmas);
    return { x0: r.x, x1: mul(x1, 1), nfe: r.nfe };
  });
}

/** Liu et al.'s straightness of the model's flow from sources x₁, by N Euler steps; also returns the endpoints x₀. */
export function straightness(model: Denoiser, x1: Tensor, steps = 32): { straightness: number; x0: Tensor } {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`straightness: steps must be a positive integer, got ${steps}`);
  if (!model.velocity) throw new Error('straightness: the model needs a velocity field (denoiserFromPrediction on the flowMatching process)');
  return noGrad(() =>
    tidy(() => {
      // one pass to record the velocities along the path, then compare with the chord Z₁ − Z₀
      const vs: Tensor[] = [];
      let x = x1;
      const dt = 1 / steps;
      for (let i = 0; i < steps; i++) {
        const t = 1 - i * dt;
        const v = model.velocity!(x, t);
        vs.push(v);
        x = add(x, mul(v, -dt));
      }
      const chord = sub(x1, x);
      const b = x1.shape[0]!;
      let s = 0;
      for (const v of vs) s += mean(sum(reshape(square(sub(chord, v)), [b, -1]), -1)).item() * dt;
      return { straightness: s, x0: x };
    }),
  );
}
