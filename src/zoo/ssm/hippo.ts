/**
 * HiPPO: high-order polynomial projection operators (A. Gu, T. Dao, S. Ermon,
 * A. Rudra, C. Ré, "HiPPO: Recurrent Memory with Optimal Polynomial
 * Projections", arXiv 2008.07669). The coefficients c(t) ∈ ℝᴺ of the best
 * approximation of a signal's history f(x ≤ t) in an orthonormal polynomial
 * basis, under a measure μ⁽ᵗ⁾, evolve by a linear ODE, written here as the
 * paper writes it:
 *
 *   LegS  ċ = −(1/t)·A c + (1/t)·B f    μ uniform on [0, t]              (eq. 2, Theorem 2)
 *         A_nk = √(2n+1)√(2k+1) (n > k),  n+1 (n = k),  0 (n < k);   B_n = √(2n+1)
 *   LegT  ċ = −A c + B f                μ uniform on [t − θ, t]          (Appendix D.1)
 *         A_nk = (1/θ)√(2n+1)√(2k+1)·{1 if k ≤ n; (−1)^(n−k) if k > n};  B_n = √(2n+1)/θ
 *   LagT  ċ = −A c + B f                μ = (1/θ)e^(−(t−x)/θ) on (−∞, t] (Appendix D.2)
 *         A_nk = 1/θ (k ≤ n), 0 (k > n);  B_n = 1/θ
 *
 * Orthonormal bases: LegS g_n(x) = √(2n+1)·P_n(2x/t − 1); LegT g_n(x) =
 * √(2n+1)·P_n(2(x − t)/θ + 1); LagT g_n(x) = L_n((t − x)/θ) (P Legendre, L
 * Laguerre). The signal is reconstructed as f(x) ≈ Σ c_n g_n(x). S4 writes
 * the state matrix with the opposite sign (x' = −A x + …, so "A" there is −A
 * here).
 *
 * Discretisations of an LTI system ċ = −A c + B f with step Δ (the input held
 * over the step): forward Euler, backward Euler, bilinear (GBT with α = ½)
 * and zero-order hold (exact for a held input).
 */
import { axpby, expm, eye, solveN, type Mat } from './matrixF64.js';

export type HippoMeasure = 'legs' | 'legt' | 'lagt';
export type Discretization = 'forward' | 'backward' | 'bilinear' | 'zoh';

export interface HippoMatrices {
  /** N×N row-major, as in the paper (the dynamics use −A) */
  A: Mat;
  /** N */
  B: Float64Array;
  N: number;
}

/** The HiPPO transition matrices; θ is the window (LegT) or timescale (LagT), default 1. */
export function hippo(measure: HippoMeasure, N: number, theta = 1): HippoMatrices {
  if (!Number.isInteger(N) || N < 1) throw new Error(`hippo: N must be a positive integer, got ${N}`);
  if (!(theta > 0)) throw new Error(`hippo: theta must be positive, got ${theta}`);
  const A = new Float64Array(N * N);
  const B = new Float64Array(N);
  const r = (n: number): number => Math.sqrt(2 * n + 1);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < N; k++) {
      let v: number;
      if (measure === 'legs') v = n > k ? r(n) * r(k) : n === k ? n + 1 : 0;
      else if (measure === 'legt') v = (r(n) * r(k) * (k <= n ? 1 : (n - k) % 2 === 0 ? 1 : -1)) / theta;
      else if (measure === 'lagt') v = k <= n ? 1 / theta : 0;
      else throw new Error(`hippo: measure must be 'legs', 'legt' or 'lagt', got ${String(measure)}`);
      A[n * N + k] = v;
    }
    B[n] = measure === 'legs' ? r(n) : measure === 'legt' ? r(n) / theta : 1 / theta;
  }
  return { A, B, N };
}

export interface Discrete {
  /** c_{k+1} = Ad c_k + Bd f_k */
  Ad: Mat;
  Bd: Float64Array;
}

/** Discretise ċ = −A c + B f with step Δ. */
export function discretize(A: Mat, B: Float64Array, N: number, dt: number, method: Discretization): Discrete {
  const I = eye(N);
  const M = axpby(-1, A, 0, A); // the state matrix −A
  const col = (v: Float64Array): Mat => Float64Array.from(v);
  switch (method) {
    case 'forward':
      return { Ad: axpby(1, I, dt, M), Bd: B.map((b) => dt * b) };
    case 'backward': {
      const lhs = axpby(1, I, -dt, M);
      return { Ad: solveN(lhs, I, N, N), Bd: solveN(lhs, col(B.map((b) => dt * b)), N, 1) };
    }
    case 'bilinear': {
      const lhs = axpby(1, I, -dt / 2, M);
      return { Ad: solveN(lhs, axpby(1, I, dt / 2, M), N, N), Bd: solveN(lhs, col(B.map((b) => dt * b)), N, 1) };
    }
    case 'zoh': {
      const Ad = expm(axpby(dt, M, 0, M), N);
      // B̄ = M⁻¹(e^{ΔM} − I)B
      return { Ad, Bd: solveN(M, matvecCol(axpby(1, Ad, -1, I), B, N), N, 1) };
    }
    default:
      throw new Error(`discretize: method must be 'forward', 'backward', 'bilinear' or 'zoh', got ${String(method)}`);
  }
}

function matvecCol(A: Mat, x: Float64Array, N: number): Float64Array {
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let k = 0; k < N; k++) y[i] += A[i * N + k]! * x[k]!;
  return y;
}

/** Legendre polynomials P_0 … P_{N−1} at z (Bonnet's recursion). */
export function legendre(N: number, z: number): Float64Array {
  const p = new Float64Array(N);
  if (N > 0) p[0] = 1;
  if (N > 1) p[1] = z;
  for (let n = 1; n + 1 < N; n++) p[n + 1] = ((2 * n + 1) * z * p[n]! - n * p[n - 1]!) / (n + 1);
  return p;
}

/** Laguerre polynomials L_0 … L_{N−1} at y (orthonormal under e^{−y} on [0, ∞)). */
export function laguerre(N: number, y: number): Float64Array {
  const l = new Float64Array(N);
  if (N > 0) l[0] = 1;
  if (N > 1) l[1] = 1 - y;
  for (let n = 1; n + 1 < N; n++) l[n + 1] = ((2 * n + 1 - y) * l[n]! - n * l[n - 1]!) / (n + 1);
  return l;
}

/** The orthonormal basis g_0 … g_{N−1} of a measure at time t, evaluated at x ≤ t. */
export function hippoBasis(measure: HippoMeasure, N: number, t: number, x: number, theta = 1): Float64Array {
  if (measure === 'lagt') return laguerre(N, (t - x) / theta);
  const z = measure === 'legs' ? (2 * x) / t - 1 : (2 * (x - t)) / theta + 1;
  return legendre(N, z).map((p, n) => Math.sqrt(2 * n + 1) * p);
}

/** f(x) ≈ Σ c_n g_n(x): the signal the coefficients c at time t remember, at the points xs. */
export function hippoReconstruct(measure: HippoMeasure, c: ArrayLike<number>, t: number, xs: readonly number[], theta = 1): Float64Array {
  const N = c.length;
  return Float64Array.from(xs, (x) => hippoBasis(measure, N, t, x, theta).reduce((s, g, n) => s + g * c[n]!, 0));
}
