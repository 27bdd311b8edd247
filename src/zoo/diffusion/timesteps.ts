/**
 * Where on the noise scale training looks: samplers of the time t (or of σ,
 * mapped to t by the process), each with its density so that a loss defined
 * as an expectation under one law can be estimated with samples from another
 * by importance weights w(t) = p_target(t)/p_sampler(t).
 *
 * - `uniformTime`: t ~ U[tMin, tMax] (Ho et al.; Song et al.; flow matching).
 * - `discreteTime`: t uniform on the integer steps 0 … T − 1 (DDPM).
 * - `logNormalSigma`: ln σ ~ N(P_mean, P_std²), P_mean = −1.2, P_std = 1.2
 *   (Karras et al. 2206.00364, Table 1), t = tOfSigma(σ).
 * - `logitNormal`: t = sigmoid(u), u ~ N(m, s²) (Esser et al., "Scaling
 *   Rectified Flow Transformers", arXiv 2403.03206, eq. 19), with density
 *   π(t; m, s) = 1/(s√(2π)) · 1/(t(1 − t)) · exp(−(logit(t) − m)²/(2s²)),
 *   mapped affinely onto [tMin, tMax].
 */
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import type { Process } from './process.js';

export interface TimeSampler {
  readonly name: string;
  /** n times in `process`'s time range */
  sample(key: Key, n: number, process: Process): Float64Array;
  /** the density (or, for discrete samplers, the probability) of t */
  density(t: number, process: Process): number;
}

function checkN(fn: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${fn}: n must be a non-negative integer, got ${n}`);
}

/** t ~ U[tMin, tMax] of the process (or of the given range). */
export function uniformTime(range: { tMin?: number; tMax?: number } = {}): TimeSampler {
  const lo = (p: Process): number => range.tMin ?? p.tMin;
  const hi = (p: Process): number => range.tMax ?? p.tMax;
  return {
    name: 'uniform',
    sample(key, n, p) {
      checkN('uniformTime', n);
      const u = prng.uniform(key, n);
      const a = lo(p);
      const b = hi(p);
      return u.map((v) => a + (b - a) * v);
    },
    density: (t, p) => (t >= lo(p) && t <= hi(p) ? 1 / (hi(p) - lo(p)) : 0),
  };
}

/** t uniform on the integers tMin … tMax (DDPM's 0 … T − 1). */
export function discreteTime(): TimeSampler {
  return {
    name: 'discrete',
    sample(key, n, p) {
      checkN('discreteTime', n);
      return Float64Array.from(prng.randint(key, n, Math.round(p.tMin), Math.round(p.tMax) + 1));
    },
    density: (t, p) => (Number.isInteger(t) && t >= p.tMin && t <= p.tMax ? 1 / (Math.round(p.tMax) - Math.round(p.tMin) + 1) : 0),
  };
}

const normalPdf = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** ln σ ~ N(pMean, pStd²) (EDM's training distribution), returned as t = tOfSigma(σ). */
export function logNormalSigma(opts: { pMean?: number; pStd?: number } = {}): TimeSampler {
  const m = opts.pMean ?? -1.2;
  const s = opts.pStd ?? 1.2;
  if (!(s > 0)) throw new Error(`logNormalSigma: pStd must be positive, got ${s}`);
  return {
    name: 'lognormal',
    sample(key, n, p) {
      checkN('logNormalSigma', n);
      return prng.normal(key, n, m, s).map((z) => p.tOfSigma(Math.exp(z)));
    },
    density(t, p) {
      // p_t(t) = p_σ(σ(t))·dσ/dt with p_σ the log-normal density; dσ/dt from the coefficients
      const sigma = p.sigma(t);
      const c = p.coefficients(t);
      const dSigma = (c.dNoiseStd - sigma * c.dScale) / c.scale;
      return (normalPdf((Math.log(sigma) - m) / s) / (s * sigma)) * Math.abs(dSigma);
    },
  };
}

/** SD3's logit-normal time sampler on the process's [tMin, tMax] (default m = 0, s = 1). */
export function logitNormal(opts: { m?: number; s?: number } = {}): TimeSampler {
  const m = opts.m ?? 0;
  const s = opts.s ?? 1;
  if (!(s > 0)) throw new Error(`logitNormal: s must be positive, got ${s}`);
  return {
    name: 'logit-normal',
    sample(key, n, p) {
      checkN('logitNormal', n);
      return prng.normal(key, n, m, s).map((z) => p.tMin + (p.tMax - p.tMin) / (1 + Math.exp(-z)));
    },
    density(t, p) {
      const u = (t - p.tMin) / (p.tMax - p.tMin);
      if (!(u > 0 && u < 1)) return 0;
      return normalPdf((Math.log(u / (1 - u)) - m) / s) / (s * u * (1 - u) * (p.tMax - p.tMin));
    },
  };
}

/** w(tᵢ) = p_target(tᵢ)/p_sampler(tᵢ): weights that turn an average under `sampler` into one under `target`. */
export function importanceWeights(ts: ArrayLike<number>, sampler: TimeSampler, target: TimeSampler, process: Process): Float64Array {
  return Float64Array.from(ts, (t) => {
    const q = sampler.density(t, process);
    if (!(q > 0)) throw new Error(`importanceWeights: the sampler '${sampler.name}' has zero density at t = ${t}`);
    return target.density(t, process) / q;
  });
}
