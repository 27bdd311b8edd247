/**
 * The recurrent (step) form of an S4 channel, set up once in float64 for
 * decoding (A. Gu, K. Goel, C. Ré, arXiv 2111.00396, §3.2 and Appendix C.2;
 * the reference implementation's `_setup_step`). In the full complex
 * eigenbasis (the kept modes and their conjugates, n = 2·N/2):
 *
 *   A = diag(Λ) − P̃ P̃*,  bilinear:  Ā = (I − Δ/2·A)⁻¹(I + Δ/2·A),  B̄ = Δ (I − Δ/2·A)⁻¹ B̃
 *
 * The layer learns C̃ = (I − Ā^L)ᵀ C, the output vector of the kernel
 * truncated to L = lMax (what the Cauchy kernel at L-th roots of unity
 * needs); the step needs C itself, so it solves (I − Ā^L)ᵀ C = C̃. Then
 * xₜ = Ā xₜ₋₁ + B̄ uₜ and yₜ = Re(Cᵀ xₜ) (real: x and C are conjugate-
 * symmetric). Dense n×n complex matrices, row-major (re, im) pairs.
 */
import { solveN } from './matrixF64.js';

export interface CMat {
  re: Float64Array;
  im: Float64Array;
}

const cmat = (n: number, m = n): CMat => ({ re: new Float64Array(n * m), im: new Float64Array(n * m) });

function cmatmul(a: CMat, b: CMat, n: number): CMat {
  const c = cmat(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const [ar, ai] = [a.re[i * n + k]!, a.im[i * n + k]!];
      if (ar === 0 && ai === 0) continue;
      for (let j = 0; j < n; j++) {
        const [br, bi] = [b.re[k * n + j]!, b.im[k * n + j]!];
        c.re[i * n + j] += ar * br - ai * bi;
        c.im[i * n + j] += ar * bi + ai * br;
      }
    }
  }
  return c;
}

/** Solve A X = Y (A n×n, Y n×m complex) through the real embedding [[Ar, −Ai], [Ai, Ar]]. */
function csolve(a: CMat, y: CMat, n: number, m: number): CMat {
  const n2 = 2 * n;
  const M = new Float64Array(n2 * n2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const [r, q] = [a.re[i * n + j]!, a.im[i * n + j]!];
      M[i * n2 + j] = r;
      M[i * n2 + n + j] = -q;
      M[(n + i) * n2 + j] = q;
      M[(n + i) * n2 + n + j] = r;
    }
  }
  const R = new Float64Array(n2 * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      R[i * m + j] = y.re[i * m + j]!;
      R[(n + i) * m + j] = y.im[i * m + j]!;
    }
  }
  const X = solveN(M, R, n2, m);
  const out = cmat(n, m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      out.re[i * m + j] = X[i * m + j]!;
      out.im[i * m + j] = X[(n + i) * m + j]!;
    }
  }
  return out;
}

/** Aᵏ by binary powering. */
function cpow(a: CMat, n: number, k: number): CMat {
  let result = cmat(n);
  for (let i = 0; i < n; i++) result.re[i * n + i] = 1;
  let base = a;
  for (let e = k; e > 0; e >>= 1) {
    if (e & 1) result = cmatmul(result, base, n);
    if (e > 1) base = cmatmul(base, base, n);
  }
  return result;
}

/** One channel's half-spectrum parameters (N/2 complex each) and step Δ. */
export interface S4Channel {
  lambda: [Float64Array, Float64Array];
  P: [Float64Array, Float64Array];
  B: [Float64Array, Float64Array];
  /** C̃ (the truncated output vector the layer learns) */
  C: [Float64Array, Float64Array];
  dt: number;
}

export interface S4StepMatrices {
  /** n×n, n = N (the full conjugate-closed space) */
  dA: CMat;
  /** n */
  dB: CMat;
  /** n: C itself, untruncated */
  C: CMat;
  n: number;
}

/** The full-space vector [x; x̄] of a half vector. */
function full([re, im]: [Float64Array, Float64Array]): CMat {
  const h = re.length;
  const v = cmat(2 * h, 1);
  for (let j = 0; j < h; j++) {
    v.re[j] = re[j]!;
    v.im[j] = im[j]!;
    v.re[h + j] = re[j]!;
    v.im[h + j] = -im[j]!;
  }
  return v;
}

/** Ā, B̄ and C of one channel for a kernel of length lMax. */
export function s4StepMatrices(ch: S4Channel, lMax: number): S4StepMatrices {
  const lam = full(ch.lambda);
  const p = full(ch.P);
  const b = full(ch.B);
  const ct = full(ch.C);
  const n = lam.re.length;
  const h = ch.dt / 2;
  // M1 = I − Δ/2·A and M2 = I + Δ/2·A with A = diag(Λ) − p p*
  const M1 = cmat(n);
  const M2 = cmat(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // (p p*)_ij = p_i conj(p_j)
      let ar = -(p.re[i]! * p.re[j]! + p.im[i]! * p.im[j]!);
      let ai = -(p.im[i]! * p.re[j]! - p.re[i]! * p.im[j]!);
      if (i === j) {
        ar += lam.re[i]!;
        ai += lam.im[i]!;
      }
      M1.re[i * n + j] = (i === j ? 1 : 0) - h * ar;
      M1.im[i * n + j] = -h * ai;
      M2.re[i * n + j] = (i === j ? 1 : 0) + h * ar;
      M2.im[i * n + j] = h * ai;
    }
  }
  const dA = csolve(M1, M2, n, n);
  const dB = csolve(M1, b, n, 1);
  for (let i = 0; i < n; i++) {
    dB.re[i] *= ch.dt;
    dB.im[i] *= ch.dt;
  }
  // (I − Ā^L)ᵀ C = C̃
  const AL = cpow(dA, n, lMax);
  const G = cmat(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      G.re[i * n + j] = (i === j ? 1 : 0) - AL.re[j * n + i]!;
      G.im[i * n + j] = -AL.im[j * n + i]!;
    }
  }
  const C = csolve(G, ct, n, 1);
  return { dA, dB, C, n };
}
