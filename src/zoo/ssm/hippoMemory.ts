/**
 * HiPPO online memory (A. Gu et al., arXiv 2008.07669, §2.4 and §3): feed a
 * signal one sample at a time (each held over its step of length Δ), keep
 * the N coefficients c, and reconstruct the remembered history at any time.
 *
 * LegT and LagT are time-invariant, so their discrete Ā, B̄ are computed
 * once. LegS scales with time: its ODE is time-invariant in s = ln t,
 * dc/ds = −A c + B f, so step k (from t = kΔ to (k+1)Δ) is a discretisation
 * with step ln((k+1)/k) — Euler with it is the paper's c_{k+1} = (1 − A/k) c_k
 * + (1/k) B f_k to first order, and zero-order hold is exact for held
 * samples. A is lower triangular, so Euler, backward Euler and bilinear cost
 * O(N²) per step; LegS with zero-order hold needs an N×N exponential per step.
 * The first LegS sample sets c = (f₀, 0, …, 0), the exact projection of a
 * constant.
 */
import { discretize, hippo, hippoReconstruct, type Discrete, type Discretization, type HippoMatrices, type HippoMeasure } from './hippo.js';
import { matvec } from './matrixF64.js';

export interface HippoMemoryOptions {
  /** sample spacing Δ (default 1) */
  dt?: number;
  /** LegT window / LagT timescale (default 1) */
  theta?: number;
  /** default 'bilinear' */
  method?: Discretization;
}

/** Solve (I + αA) x = y for a lower-triangular A (forward substitution). */
function lowerSolve(A: Float64Array, N: number, alpha: number, y: Float64Array): Float64Array {
  const x = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = y[i]!;
    for (let k = 0; k < i; k++) s -= alpha * A[i * N + k]! * x[k]!;
    x[i] = s / (1 + alpha * A[i * N + i]!);
  }
  return x;
}

export class HippoMemory {
  readonly measure: HippoMeasure;
  readonly N: number;
  readonly dt: number;
  readonly theta: number;
  readonly method: Discretization;
  private readonly m: HippoMatrices;
  private readonly lti: Discrete | null;
  private coef: Float64Array;
  /** samples consumed */
  steps = 0;

  constructor(measure: HippoMeasure, N: number, opts: HippoMemoryOptions = {}) {
    this.measure = measure;
    this.N = N;
    this.dt = opts.dt ?? 1;
    this.theta = opts.theta ?? 1;
    this.method = opts.method ?? 'bilinear';
    if (!(this.dt > 0)) throw new Error(`HippoMemory: dt must be positive, got ${this.dt}`);
    this.m = hippo(measure, N, this.theta);
    this.lti = measure === 'legs' ? null : discretize(this.m.A, this.m.B, N, this.dt, this.method);
    this.coef = new Float64Array(N);
  }

  /** The time the memory covers: steps·Δ. */
  get t(): number {
    return this.steps * this.dt;
  }

  /** The current coefficients (a copy). */
  get c(): Float64Array {
    return Float64Array.from(this.coef);
  }

  /** Consume one sample f_k, held over [kΔ, (k+1)Δ). */
  update(f: number): void {
    const { N } = this;
    const { A, B } = this.m;
    if (this.lti) {
      const next = matvec(this.lti.Ad, this.coef, N);
      for (let n = 0; n < N; n++) next[n] += this.lti.Bd[n]! * f;
      this.coef = next;
    } else if (this.steps === 0) {
      this.coef = new Float64Array(N);
      this.coef[0] = f;
    } else {
      const k = this.steps;
      const ds = Math.log((k + 1) / k);
      const c = this.coef;
      const Ac = matvec(A, c, N);
      const drive = B.map((b) => ds * b * f);
      if (this.method === 'forward') this.coef = c.map((v, n) => v - ds * Ac[n]! + drive[n]!);
      else if (this.method === 'backward') this.coef = lowerSolve(A, N, ds, c.map((v, n) => v + drive[n]!));
      else if (this.method === 'bilinear') this.coef = lowerSolve(A, N, ds / 2, c.map((v, n) => v - (ds / 2) * Ac[n]! + drive[n]!));
      else {
        const d = discretize(A, B, N, ds, 'zoh');
        const next = matvec(d.Ad, c, N);
        for (let n = 0; n < N; n++) next[n] += d.Bd[n]! * f;
        this.coef = next;
      }
    }
    this.steps++;
  }

  /** Feed every sample of `fs`. */
  updateAll(fs: ArrayLike<number>): this {
    for (let i = 0; i < fs.length; i++) this.update(fs[i]!);
    return this;
  }

  /** The remembered signal at the points xs (x ≤ t). */
  reconstruct(xs: readonly number[]): Float64Array {
    return hippoReconstruct(this.measure, this.coef, this.t, xs, this.theta);
  }
}
