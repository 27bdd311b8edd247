/**
 * Base distributions p_Z of a flow, factorised over the units (NICE, Dinh et
 * al., arXiv 1410.8516, §3.4):
 *   standard normal:   log p(z) = Σ −½z² − ½log 2π
 *   standard logistic: log p(z) = Σ −log(1 + e^z) − log(1 + e^{−z}) = Σ −softplus(z) − softplus(−z)
 * NICE prefers the logistic for its better-behaved (heavier-tailed) gradient.
 *
 * Sampling with temperature T (Glow, Kingma & Dhariwal, arXiv 1807.03039,
 * §5 and Fig. 8): z = T·ε, which trades diversity for fidelity for T < 1.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add, astype, log, log1p, mul, neg, softplus, sub } from '../../ops/elementwise.js';
import { defaultFloat } from '../../ops/creation.js';
import { normal, uniform } from '../../ops/random.js';
import { sumPerExample } from './layer.js';
import { gaussianLogProb } from './multiscale.js';

export type PriorName = 'gaussian' | 'logistic';

export interface Prior {
  readonly name: PriorName;
  /** log p(z) per example, (b,) */
  logProb(z: Tensor): Tensor;
  /** n samples of an example shape, scaled by the temperature */
  sample(key: Key, shape: readonly number[], opts?: { temperature?: number; dtype?: DType }): Tensor;
}

function checkTemperature(t: number): number {
  if (!(typeof t === 'number' && t >= 0 && Number.isFinite(t))) throw new Error(`prior.sample: temperature must be a finite number ≥ 0, got ${String(t)}`);
  return t;
}

export const standardNormal: Prior = {
  name: 'gaussian',
  logProb: (z) => gaussianLogProb(z),
  sample: (key, shape, opts = {}) => normal(key, shape, { dtype: opts.dtype, std: checkTemperature(opts.temperature ?? 1) }),
};

export const standardLogistic: Prior = {
  name: 'logistic',
  logProb: (z) => tidy(() => sumPerExample(neg(add(softplus(z), softplus(neg(z)))))),
  // inverse CDF: z = log u − log(1 − u), u ~ U(0, 1)
  sample: (key, shape, opts = {}) =>
    tidy(() => {
      // in float64, so that u never rounds to 0 or 1
      const u = uniform(key, shape, { dtype: 'f64', lo: 1e-12, hi: 1 - 1e-12 });
      const z = mul(sub(log(u), log1p(neg(u))), checkTemperature(opts.temperature ?? 1));
      return astype(z, opts.dtype ?? defaultFloat());
    }),
};

export function priorByName(name: PriorName): Prior {
  if (name === 'gaussian') return standardNormal;
  if (name === 'logistic') return standardLogistic;
  throw new Error(`prior: unknown prior '${String(name)}' (gaussian, logistic)`);
}
