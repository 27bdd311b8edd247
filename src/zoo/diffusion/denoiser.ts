/**
 * The model every sampler calls: a denoiser D(x; σ) ≈ E[x₀ | x₀ + σε = x]
 * in σ-space (s = 1), the convention of Karras et al. (arXiv 2206.00364,
 * §2) and of k-diffusion. Networks trained in another process or with
 * another target are wrapped into one here:
 *
 * - `denoiserFromPrediction(net, process, prediction)`: a network
 *   net(xₜ, t) trained in `process`'s own coordinates xₜ = s·(x₀ + σε) to
 *   predict ε, x₀, v, the score or the velocity. For σ-space input x̂ it
 *   evaluates net(s·x̂, t(σ)) and converts the prediction to x̂₀
 *   (predictions.ts).
 * - `edmPrecondition(F, σ_data)`: Karras et al.'s preconditioning (Table 1,
 *   "Ours"): D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ)) with
 *   c_skip = σ_d²/(σ² + σ_d²), c_out = σ·σ_d/√(σ² + σ_d²),
 *   c_in = 1/√(σ² + σ_d²), c_noise = ¼·ln σ.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { full, tensor } from '../../ops/creation.js';
import { add, mul } from '../../ops/elementwise.js';
import type { Process } from './process.js';
import { toX0Eps, fromX0Eps, type Prediction } from './predictions.js';

/** A network conditioned on one number per example: x (b, …), c (b) → (b, …). */
export type Net = (x: Tensor, c: Tensor) => Tensor;

/** D(x; σ) in σ-space: x (b, …) and one σ for the batch → x̂₀ (b, …). */
export interface Denoiser {
  (x: Tensor, sigma: number): Tensor;
  /**
   * For flows (models of the flow-matching process): the velocity
   * dx/dt = v(x, t) in the flow's own coordinates, which lets the flow
   * samplers start at t = 1 (σ = ∞), where σ-space x would be infinite.
   */
  velocity?: (x: Tensor, t: number) => Tensor;
}

/** One value per example as a tensor of x's dtype shaped (b, 1, …, 1) to broadcast against x. */
export function perExample(values: ArrayLike<number>, x: Tensor): Tensor {
  const b = x.shape[0]!;
  if (values.length !== b) throw new Error(`perExample: ${values.length} values for a batch of ${b}`);
  return tensor(Array.from(values), [b, ...x.shape.slice(1).map(() => 1)], { dtype: x.dtype, backend: x.storage.backend });
}

/** The network's conditioning input for a batch: (b) filled with c. */
export function conditioning(x: Tensor, c: number): Tensor {
  return full([x.shape[0]!], c, { dtype: x.dtype, backend: x.storage.backend });
}

export interface FromPredictionOptions {
  /** the number the network is conditioned on, from (t, σ) (default: t itself) */
  condition?: (t: number, sigma: number) => number;
}

/** Wrap net(xₜ, t) trained in `process` with target `prediction` as a σ-space denoiser. */
export function denoiserFromPrediction(net: Net, process: Process, prediction: Prediction, opts: FromPredictionOptions = {}): Denoiser {
  const cond = opts.condition ?? ((t: number) => t);
  const denoise = (xHat: Tensor, sigma: number): Tensor =>
    tidy(() => {
      if (!(sigma > 0) || sigma === Infinity) throw new Error(`denoiser: σ must be positive and finite, got ${sigma}`);
      const t = process.tOfSigma(sigma);
      const c = process.coefficients(t);
      const x = mul(xHat, c.scale);
      return toX0Eps(prediction, net(x, conditioning(x, cond(t, sigma))), x, c).x0;
    });
  const D = denoise as Denoiser;
  if (process.kind === 'flow-matching') {
    D.velocity = (x: Tensor, t: number): Tensor =>
      tidy(() => {
        const c = process.coefficients(t);
        const { x0, eps } = toX0Eps(prediction, net(x, conditioning(x, cond(t, process.sigma(t)))), x, c);
        return fromX0Eps('velocity', x0, eps, c);
      });
  }
  return D;
}

/** EDM's preconditioning coefficients at σ (Karras et al. 2206.00364, Table 1). */
export function edmCoefficients(sigma: number, sigmaData: number): { cSkip: number; cOut: number; cIn: number; cNoise: number } {
  const s2 = sigma * sigma + sigmaData * sigmaData;
  return {
    cSkip: (sigmaData * sigmaData) / s2,
    cOut: (sigma * sigmaData) / Math.sqrt(s2),
    cIn: 1 / Math.sqrt(s2),
    cNoise: 0.25 * Math.log(sigma),
  };
}

export interface EdmPrecond {
  /** D(x; σ) for one σ per example (σ a Float64Array or array of length b) */
  forward(x: Tensor, sigma: ArrayLike<number>): Tensor;
  /** the σ-space denoiser for samplers */
  denoiser: Denoiser;
  readonly sigmaData: number;
}

/** Wrap the raw network F(c_in·x; c_noise) in EDM's preconditioning. */
export function edmPrecondition(F: Net, opts: { sigmaData?: number } = {}): EdmPrecond {
  const sigmaData = opts.sigmaData ?? 0.5;
  if (!(sigmaData > 0)) throw new Error(`edmPrecondition: sigmaData must be positive, got ${sigmaData}`);
  const forward = (x: Tensor, sigma: ArrayLike<number>): Tensor =>
    tidy(() => {
      const cs = Array.from(sigma, (s) => edmCoefficients(s, sigmaData));
      const cSkip = perExample(cs.map((c) => c.cSkip), x);
      const cOut = perExample(cs.map((c) => c.cOut), x);
      const cIn = perExample(cs.map((c) => c.cIn), x);
      const cNoise = tensor(cs.map((c) => c.cNoise), [cs.length], { dtype: x.dtype, backend: x.storage.backend });
      return add(mul(x, cSkip), mul(F(mul(x, cIn), cNoise), cOut));
    });
  const denoiser: Denoiser = (x, sigma) => forward(x, new Float64Array(x.shape[0]!).fill(sigma));
  return { forward, denoiser, sigmaData };
}

/** Count the calls a sampler makes to a denoiser (its NFE). */
export function countCalls(model: Denoiser): { model: Denoiser; calls: () => number } {
  let n = 0;
  const counted = ((x: Tensor, sigma: number) => {
    n++;
    return model(x, sigma);
  }) as Denoiser;
  if (model.velocity) {
    const v = model.velocity;
    counted.velocity = (x, t) => {
      n++;
      return v(x, t);
    };
  }
  return { model: counted, calls: () => n };
}
