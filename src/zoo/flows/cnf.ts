/**
 * Continuous normalising flows — FFJORD (Grathwohl, Chen, Bettencourt,
 * Sutskever & Duvenaud, arXiv 1810.01367; Chen et al., Neural ODEs, arXiv
 * 1806.07366, Theorem 1, the instantaneous change of variables):
 *
 *   dz/dt = f(z, t),   d log p(z(t))/dt = −tr(∂f/∂z(t))                 (eq. 3)
 *
 * Base N(0, I) at t = 0, data at t = 1. To score x, integrate the pair
 * (z, a) backwards from (x, 0) at t = 1 to t = 0 with da/dt = tr(∂f/∂z):
 * then a(0) = −∫₀¹ tr dt and
 *
 *   log p₁(x) = log N(z(0); 0, I) + a(0)                                (eq. 4)
 *
 * The trace is exact (d forward-mode passes) in low dimension, or
 * Hutchinson's estimate with one probe ε drawn per solve and held fixed
 * along it (eq. 7). Sampling integrates dz/dt = f alone from t = 0 to 1.
 * The ODE solvers are the shared ones of `zoo/ode` (fixed-step Euler/Heun/RK4
 * or adaptive Dormand–Prince); training backpropagates through the solver's
 * steps ("discretise, then optimise").
 *
 * The field f is FFJORD's concat-squash MLP (its `ConcatSquashLinear`):
 *   h ↦ (W h + b) ⊙ sigmoid(w_g t + b_g) + w_b t
 * with a smooth activation (tanh or softplus) so that ∂f/∂z is continuous.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, mul, neg, sigmoid, softplus, tanh } from '../../ops/elementwise.js';
import { zeros } from '../../ops/creation.js';
import { mean } from '../../ops/stats.js';
import { normal, splitKey } from '../../ops/random.js';
import { noGrad } from '../../autodiff/tape.js';
import { Module, param, parameters } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { checkPositiveInt } from '../../nn/util.js';
import { odeint, type OdeMethod, type OdeintOptions } from '../ode/index.js';
import { gaussianLogProb } from './multiscale.js';
import { exactDivergence, hutchinsonDivergence, hutchinsonProbe, type ProbeKind, type TraceMethod } from './trace.js';

/** One concat-squash layer: (W h + b) ⊙ sigmoid(w_g·t + b_g) + w_b·t. */
export class ConcatSquashLinear extends Module {
  layer: Linear;
  /** w_g, b_g: the time gate, per output */
  gateWeight: Tensor;
  gateBias: Tensor;
  /** w_b: the time bias, per output */
  timeBias: Tensor;

  constructor(inFeatures: number, outFeatures: number, opts: { key: Key; dtype?: DType }) {
    super();
    const [k1, k2, k3] = splitKey(opts.key, 3);
    this.layer = new Linear(inFeatures, outFeatures, { key: k1!, dtype: opts.dtype });
    const s = 1 / Math.sqrt(outFeatures);
    this.gateWeight = param(normal(k2!, [outFeatures], { dtype: opts.dtype, std: s }));
    this.gateBias = param(zeros([outFeatures], { dtype: opts.dtype }));
    this.timeBias = param(normal(k3!, [outFeatures], { dtype: opts.dtype, std: s }));
  }

  /** h (b, in), t a number → (b, out) */
  forward(h: Tensor, t: number): Tensor {
    return tidy(() => add(mul(this.layer.forward(h), sigmoid(add(mul(this.gateWeight, t), this.gateBias))), mul(this.timeBias, t)));
  }
}

/** f(z, t): a concat-squash MLP d → hidden… → d with a smooth activation. */
export class ODENet extends Module {
  readonly config: Readonly<{ dim: number; hidden: number[]; activation: 'tanh' | 'softplus' }>;
  layers: ConcatSquashLinear[];

  constructor(dim: number, hidden: readonly number[], opts: { key: Key; activation?: 'tanh' | 'softplus'; dtype?: DType }) {
    super();
    checkPositiveInt('ODENet', 'dim', dim);
    const widths = [dim, ...hidden, dim];
    const activation = opts.activation ?? 'tanh';
    if (activation !== 'tanh' && activation !== 'softplus') throw new Error(`ODENet: activation must be 'tanh' or 'softplus' (smooth), got ${String(activation)}`);
    this.config = { dim, hidden: hidden.slice(), activation };
    this.layers = splitKey(opts.key, widths.length - 1).map((k, i) => new ConcatSquashLinear(widths[i]!, widths[i + 1]!, { key: k, dtype: opts.dtype }));
  }

  /** z (b, d), t → dz/dt (b, d) */
  forward(z: Tensor, t: number): Tensor {
    const act = this.config.activation === 'tanh' ? tanh : softplus;
    return tidy(() => {
      let h = z;
      this.layers.forEach((l, i) => {
        h = l.forward(h, t);
        if (i < this.layers.length - 1) h = act(h);
      });
      return h;
    });
  }
}

/** Anything with forward(z (b, d), t) → (b, d): the vector field of a CNF. */
export interface VectorField extends Module {
  forward(z: Tensor, t: number): Tensor;
}

export interface CNFOptions {
  /** 'exact' (default) or 'hutchinson' */
  trace?: TraceMethod;
  /** Hutchinson's probe distribution (default 'gaussian') */
  probe?: ProbeKind;
  /** ODE solver (default 'rk4') and its settings */
  method?: OdeMethod;
  steps?: number;
  rtol?: number;
  atol?: number;
}

export class CNF extends Module {
  readonly config: Readonly<{ dim: number; trace: TraceMethod; probe: ProbeKind; method: OdeMethod; steps: number; rtol: number; atol: number }>;
  net: VectorField;

  constructor(dim: number, net: VectorField, opts: CNFOptions = {}) {
    super();
    checkPositiveInt('CNF', 'dim', dim);
    const trace = opts.trace ?? 'exact';
    if (trace !== 'exact' && trace !== 'hutchinson') throw new Error(`CNF: trace must be 'exact' or 'hutchinson', got ${String(trace)}`);
    this.config = { dim, trace, probe: opts.probe ?? 'gaussian', method: opts.method ?? 'rk4', steps: opts.steps ?? 8, rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-5 };
    this.net = net;
  }

  #solverOptions(): OdeintOptions {
    const c = this.config;
    return c.method === 'dopri5' ? { method: 'dopri5', rtol: c.rtol, atol: c.atol } : { method: c.method, steps: c.steps };
  }

  /** The augmented dynamics of (z, a): [f(z, t), tr ∂f/∂z] (exact, or Hutchinson with the probe ε). */
  dynamics(t: number, z: Tensor, eps?: Tensor): [Tensor, Tensor] {
    const f = (x: Tensor): Tensor => this.net.forward(x, t);
    return eps ? hutchinsonDivergence(f, z, eps) : exactDivergence(f, z);
  }

  /** z(0) and log p(x) per example: the solve from data (t = 1) to base (t = 0); `key` draws Hutchinson's probe. */
  encode(x: Tensor, key?: Key): { z0: Tensor; logProb: Tensor } {
    if (x.ndim !== 2 || x.shape[1] !== this.config.dim) throw new Error(`CNF: x is ${shapeStr(x.shape)}; expected (b, ${this.config.dim})`);
    let eps: Tensor | undefined;
    if (this.config.trace === 'hutchinson') {
      if (!key) throw new Error("CNF: trace 'hutchinson' needs a key for the probe");
      eps = hutchinsonProbe(key, x.shape, this.config.probe, x.dtype);
    }
    try {
      const sol = odeint((t, [z]) => this.dynamics(t, z!, eps), [x, zeros([x.shape[0]!], { dtype: x.dtype })], 1, 0, this.#solverOptions());
      const [z0, a0] = sol.y as [Tensor, Tensor];
      const logProb = tidy(() => add(gaussianLogProb(z0), a0));
      a0.dispose();
      return { z0, logProb };
    } finally {
      eps?.dispose();
    }
  }

  /** log p(x) per example (b,) */
  logProb(x: Tensor, key?: Key): Tensor {
    const { z0, logProb } = this.encode(x, key);
    z0.dispose();
    return logProb;
  }

  /** −mean log p(x), the training loss */
  nll(x: Tensor, key?: Key): Tensor {
    return tidy(() => neg(mean(this.logProb(x, key))));
  }

  /** z(1) from z(0) = z0 (the map from base to data) */
  transform(z0: Tensor): Tensor {
    return noGrad(() => {
      const sol = odeint((t, [z]) => [this.net.forward(z!, t)], [z0], 0, 1, this.#solverOptions());
      return sol.y[0]!;
    });
  }

  /** n samples x = z(1), z(0) ~ N(0, T²·I) (T = temperature) */
  sample(key: Key, n: number, opts: { temperature?: number } = {}): Tensor {
    const dtype = parameters(this)[0]?.dtype;
    const z0 = normal(key, [n, this.config.dim], { dtype, std: opts.temperature ?? 1 });
    const x = this.transform(z0);
    z0.dispose();
    return x;
  }
}

