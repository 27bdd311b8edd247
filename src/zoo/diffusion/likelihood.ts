/**
 * Likelihoods through the probability-flow ODE (Song et al., arXiv
 * 2011.13456, §4.3 and App. D.2), in σ-space where the ODE is
 * dx/dσ = f(x, σ) = (x − D(x; σ))/σ. Along a solution the density obeys the
 * instantaneous change of variables (Chen et al., "Neural Ordinary
 * Differential Equations", arXiv 1806.07366, Theorem 1):
 *
 *   d log p(x(σ); σ)/dσ = −∇·f(x(σ), σ),
 *   log p(x; σ_min) = log p(x(σ_max); σ_max) + ∫_{σ_min}^{σ_max} ∇·f dσ,
 *
 * with ∇·f = (d − tr ∂D/∂x)/σ per example. The trace is exact (d forward-mode
 * products with the basis vectors; fine in low dimension) or Hutchinson's
 * estimate E[εᵀ(∂f/∂x)ε] with a Gaussian or Rademacher probe ε held fixed
 * through the solve (FFJORD, Grathwohl et al., arXiv 1810.01367, §3.1); the
 * estimate of log p is then unbiased up to the solver's error. The prior at
 * σ_max defaults to N(0, (σ_max² + 1)·I) (data of unit variance).
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { jvp } from '../../autodiff/forward.js';
import { noGrad } from '../../autodiff/tape.js';
import { tensor, zeros } from '../../ops/creation.js';
import { add, mul, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { normal, foldIn } from '../../ops/random.js';
import { reshape } from '../../ops/views.js';
import { odeint, type OdeMethod } from '../ode/index.js';
import { countCalls, type Denoiser } from './denoiser.js';
import { isotropicLogDensity } from './analytic.js';

export type TraceMethod = 'exact' | 'hutchinson';
export type Probe = 'gaussian' | 'rademacher';

/** Per-example flattened size of x (b, …). */
const dimOf = (x: Tensor): number => x.size / x.shape[0]!;

/** Draw probe vectors shaped like x: N(0, I) or uniform ±1. */
export function drawProbe(key: Key, x: Tensor, probe: Probe): Tensor {
  if (probe === 'gaussian') return normal(key, x.shape, { dtype: x.dtype });
  if (probe === 'rademacher') return tensor(prng.rademacher(key, x.size), x.shape, { dtype: x.dtype });
  throw new Error(`drawProbe: probe must be 'gaussian' or 'rademacher', got '${String(probe)}'`);
}

/**
 * The per-example trace of the Jacobian of g: (b, …) → (b, …), with g acting on
 * each example separately. 'exact' sums d forward-mode products with basis
 * vectors; 'hutchinson' averages εᵀ(Jε) over the given probes. Returns
 * [g(x), trace (b)].
 */
export function jacobianTrace(g: (x: Tensor) => Tensor, x: Tensor, method: TraceMethod, probes: readonly Tensor[] = []): [Tensor, Tensor] {
  return tidy(() => {
    const b = x.shape[0]!;
    const d = dimOf(x);
    let y: Tensor | null = null;
    let tr: Tensor = zeros([b], { dtype: x.dtype });
    if (method === 'exact') {
      for (let j = 0; j < d; j++) {
        const e = new Float64Array(b * d);
        for (let i = 0; i < b; i++) e[i * d + j] = 1;
        const ej = tensor(e, x.shape, { dtype: x.dtype });
        const [yj, jv] = jvp((z: Tensor) => g(z), [x], [ej]);
        y ??= yj;
        tr = add(tr, sum(mul(reshape(jv, [b, d]), reshape(ej, [b, d])), -1));
      }
    } else if (method === 'hutchinson') {
      if (probes.length === 0) throw new Error('jacobianTrace: Hutchinson needs at least one probe');
      for (const eps of probes) {
        const [yj, jv] = jvp((z: Tensor) => g(z), [x], [eps]);
        y ??= yj;
        tr = add(tr, mul(sum(mul(reshape(jv, [b, d]), reshape(eps, [b, d])), -1), 1 / probes.length));
      }
    } else {
      throw new Error(`jacobianTrace: method must be 'exact' or 'hutchinson', got '${String(method)}'`);
    }
    return [y!, tr];
  });
}

export interface LikelihoodOptions {
  /** where the density is evaluated: x is taken at this noise level (default 1e-3) */
  sigmaMin?: number;
  /** where the prior takes over (default 80) */
  sigmaMax?: number;
  /** log-density of the prior at σ_max, per example (default N(0, (σ_max² + 1)·I)) */
  prior?: (z: Tensor) => Tensor;
  /** 'exact' (default when each example has ≤ 16 values) or 'hutchinson' */
  trace?: TraceMethod;
  /** Hutchinson's probe distribution (default 'rademacher', the lower-variance one) */
  probe?: Probe;
  /** probes averaged per evaluation (default 1) */
  probes?: number;
  /** required by Hutchinson */
  key?: Key;
  /** ODE solver (default 'dopri5' with rtol = atol = 1e-5) */
  method?: OdeMethod;
  rtol?: number;
  atol?: number;
  /** steps of a fixed-step method, uniform in log σ */
  steps?: number;
}

export interface LikelihoodResult {
  /** log p(x; σ_min) per example, in nats */
  logp: Tensor;
  /** log prior of the latent */
  priorLogp: Tensor;
  /** ∫ ∇·f dσ per example */
  deltaLogp: Tensor;
  /** the latent x(σ_max) */
  z: Tensor;
  /** denoiser evaluations (forward-mode products count one each) */
  nfe: number;
}

/** log p(x) under the model by the probability-flow ODE and the instantaneous change of variables. */
export function logLikelihood(model: Denoiser, x: Tensor, opts: LikelihoodOptions = {}): LikelihoodResult {
  const sigmaMin = opts.sigmaMin ?? 1e-3;
  const sigmaMax = opts.sigmaMax ?? 80;
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new Error(`logLikelihood: need 0 < sigmaMin < sigmaMax, got ${sigmaMin} and ${sigmaMax}`);
  const d = dimOf(x);
  const trace = opts.trace ?? (d <= 16 ? 'exact' : 'hutchinson');
  const nProbes = opts.probes ?? 1;
  let probes: Tensor[] = [];
  if (trace === 'hutchinson') {
    if (!opts.key) throw new Error("logLikelihood: trace 'hutchinson' needs { key }");
    probes = Array.from({ length: nProbes }, (_, k) => drawProbe(foldIn(opts.key!, k), x, opts.probe ?? 'rademacher'));
  }
  const { model: D, calls } = countCalls(model);
  // integrate in u = log σ (the ODE is much smoother there): dx/du = σ·f, dℓ/du = σ·∇·f = d − tr ∂D/∂x
  const rhs = (u: number, y: readonly Tensor[]): Tensor[] =>
    tidy(() => {
      const sigma = Math.exp(u);
      const [den, trD] = jacobianTrace((z) => D(z, sigma), y[0]!, trace, probes);
      return [sub(y[0]!, den), sub(d, trD)];
    });
  try {
    // no reverse-mode recording: the traces are forward-mode products, and a
    // model with trainable parameters would otherwise chain every step's
    // intermediates onto the tape (gigabytes over a long solve)
    return noGrad(() => tidy(() => {
      const method = opts.method ?? 'dopri5';
      const sol = odeint(rhs, [x, zeros([x.shape[0]!], { dtype: x.dtype })], Math.log(sigmaMin), Math.log(sigmaMax), {
        method,
        rtol: opts.rtol ?? 1e-5,
        atol: opts.atol ?? 1e-5,
        steps: method === 'dopri5' ? undefined : (opts.steps ?? 100),
      });
      const [z, deltaLogp] = sol.y as [Tensor, Tensor];
      const priorLogp = opts.prior ? opts.prior(z) : isotropicLogDensity(z, sigmaMax * sigmaMax + 1);
      return { logp: add(priorLogp, deltaLogp), priorLogp, deltaLogp, z, nfe: calls() };
    }));
  } finally {
    probes.forEach((p) => p.dispose());
  }
}

/**
 * Bits per dimension of a log-likelihood in nats: −(log p + d·log Δ)/(d·ln 2),
 * where Δ is the width of one quantisation bin in the model's units (for
 * 8-bit images scaled to [−1, 1], Δ = 2/256), so that log p + d·log Δ is the
 * log-probability of the bin (uniform dequantisation).
 */
export function bitsPerDim(logp: number, dims: number, opts: { binWidth?: number } = {}): number {
  const delta = opts.binWidth ?? 1;
  if (!(dims > 0)) throw new Error(`bitsPerDim: dims must be positive, got ${dims}`);
  return -(logp + dims * Math.log(delta)) / (dims * Math.LN2);
}
