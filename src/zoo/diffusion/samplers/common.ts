/**
 * What every sampler shares, after k-diffusion (Crowson, `k_diffusion/sampling.py`):
 * one function per algorithm with the signature
 *
 *   sampler(model, x, sigmas, { callback, key, trajectory, ...its own settings }) → { x, nfe, trajectory? }
 *
 * - `model` is a σ-space denoiser D(x; σ) (denoiser.ts);
 * - `x` is the starting point at σ = sigmas[0], usually ε·sigmas[0]
 *   (`initialNoise`); it is not modified or freed;
 * - `sigmas` is the noise-level grid, non-increasing, typically ending in 0;
 * - `key` drives the sampler's own randomness (step i uses foldIn(key, i)),
 *   so a run is a function of its inputs;
 * - `callback` sees every step (k-diffusion's {i, x, sigma, sigmaHat, denoised});
 * - `trajectory: true` keeps x after every step (element 0 is a copy of the
 *   start), for plotting;
 * - the result reports the number of function (denoiser) evaluations, `nfe`.
 */
import type { Tensor } from '../../../core/tensor.js';
import type { Key } from '../../../core/random.js';
import { tidy } from '../../../core/memory.js';
import { foldIn, normal } from '../../../ops/random.js';
import { mul } from '../../../ops/elementwise.js';
import { copy } from '../../../ops/views.js';
import { countCalls, type Denoiser } from '../denoiser.js';

export interface StepInfo {
  /** step index */
  i: number;
  /** the state at the start of the step */
  x: Tensor;
  sigma: number;
  /** σ after churn (EDM), else sigma */
  sigmaHat: number;
  sigmaNext: number;
  /** D(x; σ̂) of this step (absent for the adaptive RK45 sampler, whose callback runs per accepted step) */
  denoised?: Tensor;
}

export interface SamplerOptions {
  /** called once per step; the tensors are freed after it returns */
  callback?: (info: StepInfo) => void;
  /** randomness of stochastic samplers (required by them) */
  key?: Key;
  /** keep x after every step in `trajectory` */
  trajectory?: boolean;
}

export interface SampleResult {
  x: Tensor;
  /** number of denoiser evaluations */
  nfe: number;
  /** x at the start and after every step (with `trajectory: true`); the caller owns these */
  trajectory?: Tensor[];
}

export type Sampler<O extends SamplerOptions = SamplerOptions> = (model: Denoiser, x: Tensor, sigmas: readonly number[], opts?: O) => SampleResult;

/** Validate a σ grid: at least two levels, finite (∞ only where allowed), non-negative, non-increasing. */
export function checkSigmas(fn: string, sigmas: readonly number[], allowInfinity = false): void {
  if (!Array.isArray(sigmas) || sigmas.length < 2) throw new Error(`${fn}: sigmas must list at least 2 noise levels, got ${Array.isArray(sigmas) ? sigmas.length : typeof sigmas}`);
  sigmas.forEach((s, i) => {
    if (typeof s !== 'number' || Number.isNaN(s) || s < 0) throw new Error(`${fn}: sigmas[${i}] is ${s}; noise levels must be non-negative numbers`);
    if (s === Infinity && !(allowInfinity && i === 0)) throw new Error(`${fn}: sigmas[${i}] is Infinity${allowInfinity ? ' (only sigmas[0] may be)' : '; only the flow samplers start at σ = ∞'}`);
    if (i > 0 && s > sigmas[i - 1]!) throw new Error(`${fn}: sigmas must be non-increasing, but sigmas[${i}] = ${s} > sigmas[${i - 1}] = ${sigmas[i - 1]}`);
  });
}

export function requireKey(fn: string, opts: SamplerOptions): Key {
  if (!opts.key) throw new Error(`${fn}: this sampler is stochastic; pass { key } (e.g. randomKey(0))`);
  return opts.key;
}

/** Fresh N(0, I) noise shaped like x for step i. */
export function stepNoise(key: Key, i: number, x: Tensor): Tensor {
  return normal(foldIn(key, i), x.shape, { dtype: x.dtype, backend: x.storage.backend });
}

/** The usual starting point: ε·sigmas[0] with ε ~ N(0, I) of the given shape. */
export function initialNoise(key: Key, shape: readonly number[], sigmaMax: number, opts: { dtype?: Tensor['dtype'] } = {}): Tensor {
  return tidy(() => mul(normal(key, shape, { dtype: opts.dtype }), sigmaMax));
}

/**
 * Run `steps` steps of `step(i, x, model)` from x0, managing memory (each
 * step's temporaries are freed; x0 is left alone), the trajectory and the
 * NFE count. `step` returns the next state.
 */
export function runSampler(model: Denoiser, x0: Tensor, steps: number, opts: SamplerOptions, step: (i: number, x: Tensor, model: Denoiser) => Tensor): SampleResult {
  const { model: counted, calls } = countCalls(model);
  const trajectory: Tensor[] | undefined = opts.trajectory ? [copy(x0)] : undefined;
  let x = x0;
  for (let i = 0; i < steps; i++) {
    const next = tidy(() => step(i, x, counted));
    if (x !== x0 && !trajectory) x.dispose();
    x = next;
    trajectory?.push(x);
  }
  // the result is always a tensor of its own (a copy when it is also in the trajectory or is x0)
  const out = x === x0 || trajectory ? copy(x) : x;
  const res: SampleResult = { x: out, nfe: calls() };
  if (trajectory) res.trajectory = trajectory;
  return res;
}

/** Call the callback, if any, with this step's data. */
export function report(opts: SamplerOptions, info: StepInfo): void {
  opts.callback?.(info);
}
