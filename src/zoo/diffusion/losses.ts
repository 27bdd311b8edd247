/**
 * Training objectives, each one Monte Carlo estimate over a batch x₀:
 *
 * - `diffusionLoss`: E_t E_ε λ(t)·‖net(xₜ, t) − target‖², xₜ = s(t)(x₀ + σ(t)ε),
 *   with target ε (Ho et al. 2006.11239, eq. 14, "L_simple"), x₀, v
 *   (Salimans & Ho 2202.00512), the score or the velocity (predictions.ts),
 *   in any process; t from a `TimeSampler`, optionally importance-weighted
 *   towards another time law. The conditional flow-matching loss of Lipman et
 *   al. (2210.02747, eq. 9 with the OT path σ_min = 0) and Liu et al.'s
 *   rectified-flow loss (2209.03003, eq. 1) are the 'velocity' target in the
 *   flow-matching process: ‖v(xₜ, t) − (ε − x₀)‖² (`flowMatchingLoss`; pass
 *   `noise` to train on given couplings, as reflow does).
 * - `ncsnLoss`: denoising score matching over geometric σ levels (Song &
 *   Ermon 1907.05600, eqs. 5–6): ½σ²‖s(x̃, σ) + (x̃ − x₀)/σ²‖² = ½‖σ·s + z‖²
 *   with x̃ = x₀ + σz, λ(σ) = σ², σ uniform over the levels.
 * - `edmLoss`: Karras et al. 2206.00364 eq. 8 with Table 1's choices:
 *   λ(σ)·‖D(x₀ + n; σ) − x₀‖², n ~ N(0, σ²I), ln σ ~ N(−1.2, 1.2²),
 *   λ(σ) = (σ² + σ_d²)/(σ·σ_d)².
 *
 * Squared errors are averaged over an example's values, then over the batch.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { add, mul, square, sub } from '../../ops/elementwise.js';
import { mean } from '../../ops/stats.js';
import { normal, splitKey } from '../../ops/random.js';
import { reshape } from '../../ops/views.js';
import type { Process } from './process.js';
import { flowMatching } from './process.js';
import { fromX0Eps, noised, type Prediction, type PredictionCoefficients } from './predictions.js';
import { perExample, type EdmPrecond, type Net } from './denoiser.js';
import { discreteTime, importanceWeights, uniformTime, type TimeSampler } from './timesteps.js';

/** Mean over each example's values: (b, …) → (b). */
function perExampleMean(t: Tensor): Tensor {
  return mean(reshape(t, [t.shape[0]!, -1]), -1);
}

export interface DiffusionLossOptions {
  process: Process;
  /** what the network predicts */
  prediction: Prediction;
  key: Key;
  /** how t is drawn (default: uniform on the process's range; integers for a DDPM process) */
  timeSampler?: TimeSampler;
  /** reweight towards this time law (importance weights p_target/p_sampler) */
  importanceTarget?: TimeSampler;
  /** per-time loss weight λ(t) (default 1) */
  weight?: (t: number) => number;
  /** the noise ε (or flow source x₁) to use instead of fresh N(0, I) */
  noise?: Tensor;
  /** the network's conditioning input from (t, σ) (default t) */
  condition?: (t: number, sigma: number) => number;
}

/** The loss for one batch x₀ (b, …): a scalar tensor. */
export function diffusionLoss(net: Net, x0: Tensor, opts: DiffusionLossOptions): Tensor {
  const { process } = opts;
  const b = x0.shape[0]!;
  const sampler = opts.timeSampler ?? (process.kind.startsWith('ddpm') ? discreteTime() : uniformTime());
  return tidy(() => {
    const [kt, ke] = splitKey(opts.key);
    const ts = sampler.sample(kt!, b, process);
    const cs = Array.from(ts, (t) => process.coefficients(t));
    const c: PredictionCoefficients = {
      scale: perExample(cs.map((q) => q.scale), x0),
      noiseStd: perExample(cs.map((q) => q.noiseStd), x0),
      dScale: perExample(cs.map((q) => q.dScale), x0),
      dNoiseStd: perExample(cs.map((q) => q.dNoiseStd), x0),
    };
    const eps = opts.noise ?? normal(ke!, x0.shape, { dtype: x0.dtype });
    if (opts.noise && opts.noise.shape.join() !== x0.shape.join()) throw new Error(`diffusionLoss: noise is [${opts.noise.shape.join(', ')}] but x0 is [${x0.shape.join(', ')}]`);
    const xt = noised(x0, eps, c);
    const cond = opts.condition ?? ((t: number) => t);
    const condT = tensor(
      Array.from(ts, (t) => cond(t, process.sigma(t))),
      [b],
      { dtype: x0.dtype },
    );
    const target = fromX0Eps(opts.prediction, x0, eps, c);
    const err = perExampleMean(square(sub(net(xt, condT), target)));
    let w: Float64Array | null = null;
    if (opts.weight) w = Float64Array.from(ts, opts.weight);
    if (opts.importanceTarget) {
      const iw = importanceWeights(ts, sampler, opts.importanceTarget, process);
      w = w ? w.map((v, i) => v * iw[i]!) : iw;
    }
    return mean(w ? mul(err, tensor(w, [b], { dtype: x0.dtype })) : err);
  });
}

export interface FlowMatchingLossOptions {
  key: Key;
  /** default uniform on [0, 1]; `logitNormal()` for SD3's recipe */
  timeSampler?: TimeSampler;
  /** the source samples x₁ paired with x₀ (default fresh N(0, I)): couplings for reflow, or another data set */
  x1?: Tensor;
}

const FLOW = flowMatching();

/** Conditional flow matching / rectified flow: ‖v(xₜ, t) − (x₁ − x₀)‖², xₜ = (1 − t)x₀ + t·x₁. */
export function flowMatchingLoss(net: Net, x0: Tensor, opts: FlowMatchingLossOptions): Tensor {
  return diffusionLoss(net, x0, { process: FLOW, prediction: 'velocity', key: opts.key, timeSampler: opts.timeSampler, noise: opts.x1 });
}

export interface NcsnLossOptions {
  /** the noise levels σ₁ > … > σ_L (geometricSigmas) */
  sigmas: readonly number[];
  key: Key;
}

/** NCSN's denoising score matching, with net(x̃, σ) predicting the score and λ(σ) = σ². */
export function ncsnLoss(net: Net, x0: Tensor, opts: NcsnLossOptions): Tensor {
  const L = opts.sigmas.length;
  if (L === 0) throw new Error('ncsnLoss: sigmas is empty');
  const b = x0.shape[0]!;
  return tidy(() => {
    const [ki, kz] = prng.split(opts.key, 2);
    const sig = Array.from(prng.randint(ki!, b, 0, L), (i) => opts.sigmas[i]!);
    const z = normal(kz!, x0.shape, { dtype: x0.dtype });
    const s = perExample(sig, x0);
    const xTilde = add(x0, mul(z, s));
    const score = net(xTilde, tensor(sig, [b], { dtype: x0.dtype }));
    // ½‖σ·s_θ + z‖², summed over an example's values as in the paper
    const r = reshape(add(mul(score, s), z), [b, -1]);
    return mean(mul(mean(square(r), -1), 0.5 * (x0.size / b)));
  });
}

export interface EdmLossOptions {
  key: Key;
  /** ln σ ~ N(pMean, pStd²) (defaults −1.2, 1.2) */
  pMean?: number;
  pStd?: number;
}

/** EDM's training loss for a preconditioned network (edmPrecondition). */
export function edmLoss(precond: EdmPrecond, x0: Tensor, opts: EdmLossOptions): Tensor {
  const pMean = opts.pMean ?? -1.2;
  const pStd = opts.pStd ?? 1.2;
  const sd = precond.sigmaData;
  const b = x0.shape[0]!;
  return tidy(() => {
    const [ks, kn] = prng.split(opts.key, 2);
    const sigma = prng.normal(ks!, b, pMean, pStd).map(Math.exp);
    const n = mul(normal(kn!, x0.shape, { dtype: x0.dtype }), perExample(sigma, x0));
    const D = precond.forward(add(x0, n), sigma);
    const lambda = sigma.map((s) => (s * s + sd * sd) / (s * sd) ** 2);
    return mean(mul(perExampleMean(square(sub(D, x0))), tensor(lambda, [b], { dtype: x0.dtype })));
  });
}
