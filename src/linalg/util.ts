/**
 * Small dense float64 matrix helpers (row-major `Float64Array`s) used by the
 * linear-algebra kernels and their tests.
 */
import { checkDim, checkMatrix } from './validate.js';

/**
 * Dense matrix product C = A·B with A `m`×`k`, B `k`×`n`, C `m`×`n`.
 *
 * Plain triple loop in i-p-j order so the innermost loop streams along rows of
 * B and C (Golub & Van Loan, "Matrix Computations", 4th ed., §1.1.10 on loop
 * orderings).
 */
export function matmulF64(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  checkDim('matmulF64', 'm', m);
  checkDim('matmulF64', 'k', k);
  checkDim('matmulF64', 'n', n);
  checkMatrix('matmulF64', 'a', a, m, k);
  checkMatrix('matmulF64', 'b', b, k, n);
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const bRow = p * n;
      for (let j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
    }
  }
  return c;
}

/** Transpose of the `m`×`n` matrix `a`, returned as a new `n`×`m` matrix. */
export function transposeF64(a: Float64Array, m: number, n: number): Float64Array {
  checkDim('transposeF64', 'm', m);
  checkDim('transposeF64', 'n', n);
  checkMatrix('transposeF64', 'a', a, m, n);
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  }
  return t;
}

/** The `n`×`n` identity matrix. */
export function identityF64(n: number): Float64Array {
  checkDim('identityF64', 'n', n);
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return eye;
}

/**
 * Frobenius norm sqrt(Σ aᵢ²) of any array of numbers.
 *
 * Accumulates with a running scale (the LAPACK `dnrm2` idea) so that entries
 * near the overflow or underflow thresholds do not spoil the result.
 */
export function frobeniusNormF64(a: Float64Array): number {
  if (!(a instanceof Float64Array)) throw new Error('frobeniusNormF64: a must be a Float64Array');
  return scaledNorm(a, 0, 1, a.length);
}

/**
 * Euclidean norm of `count` entries of `x` starting at `start` with step
 * `stride`, accumulated as scale²·ssq to avoid overflow and underflow.
 * Internal helper for the factorizations (not re-exported).
 */
export function scaledNorm(x: Float64Array, start: number, stride: number, count: number): number {
  let scale = 0;
  let ssq = 1;
  for (let i = 0, idx = start; i < count; i++, idx += stride) {
    const v = x[idx];
    if (v !== 0) {
      const av = Math.abs(v);
      if (scale < av) {
        const r = scale / av;
        ssq = 1 + ssq * r * r;
        scale = av;
      } else {
        const r = av / scale;
        ssq += r * r;
      }
    } else if (Number.isNaN(v)) {
      return NaN;
    }
  }
  return scale * Math.sqrt(ssq);
}

/**
 * Builds a Householder reflector H = I − τ·v·vᵀ with v₀ = 1 such that
 * H·x = β·e₁, in place (Golub & Van Loan §5.1.2–5.1.3, LAPACK `dlarfg`).
 *
 * x is the `count` entries `x[start + i·stride]`. On return entries i ≥ 1 hold
 * v₁…v_{count−1} (x₀ is left untouched; the caller stores β there), and
 * `out[0] = τ`, `out[1] = β`. β gets the sign opposite to x₀ so that
 * computing v₀ = x₀ − β never cancels. τ = 0 (H = I) when x₁… are all zero.
 * Internal helper for the factorizations (not re-exported).
 */
export function householderInPlace(
  x: Float64Array,
  start: number,
  stride: number,
  count: number,
  out: Float64Array,
): void {
  const alpha = x[start];
  const tailNorm = count > 1 ? scaledNorm(x, start + stride, stride, count - 1) : 0;
  if (tailNorm === 0) {
    out[0] = 0;
    out[1] = alpha;
    return;
  }
  const norm = Math.hypot(alpha, tailNorm);
  const beta = alpha >= 0 ? -norm : norm;
  // Divide rather than multiply by a reciprocal: 1/(x₀ − β) could overflow for tiny x.
  const v0 = alpha - beta;
  for (let i = 1, idx = start + stride; i < count; i++, idx += stride) x[idx] /= v0;
  out[0] = (beta - alpha) / beta;
  out[1] = beta;
}
