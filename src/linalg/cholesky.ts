/**
 * Cholesky factorization A = L·Lᵀ of symmetric positive definite matrices and
 * the corresponding solver. Dense, row-major, float64.
 */
import { triangularSolve } from './triangular.js';
import { checkDim, checkMatrix, checkRhs } from './validate.js';

/**
 * Cholesky factor of a symmetric positive definite n×n matrix: returns the
 * lower triangular L with positive diagonal such that A = L·Lᵀ, with the
 * strictly upper part of the result set to zero.
 *
 * Row-by-row (Cholesky–Banachiewicz) gaxpy form of Golub & Van Loan, "Matrix
 * Computations", 4th ed., Alg. 4.2.1: every entry is one dot product of two
 * contiguous, already computed rows of L. Only the lower triangle of `a`
 * (including the diagonal) is read, as with LAPACK `dpotrf('L')`; symmetry is
 * assumed, not checked. Throws if a pivot d_j = a_jj − Σ_k l_jk² is not
 * strictly positive (or not finite), i.e. A is not positive definite.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  checkDim('cholesky', 'n', n);
  checkMatrix('cholesky', 'a', a, n, n);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const rowI = i * n;
    for (let j = 0; j < i; j++) {
      const rowJ = j * n;
      let s = a[rowI + j];
      for (let k = 0; k < j; k++) s -= l[rowI + k] * l[rowJ + k];
      l[rowI + j] = s / l[rowJ + j];
    }
    let d = a[rowI + i];
    for (let k = 0; k < i; k++) d -= l[rowI + k] * l[rowI + k];
    if (!(d > 0) || !Number.isFinite(d)) {
      throw new Error(`cholesky: matrix is not positive definite (pivot ${i} is ${d})`);
    }
    l[rowI + i] = Math.sqrt(d);
  }
  return l;
}

/**
 * Solves A·X = B given the Cholesky factor L of A (A = L·Lᵀ, from
 * {@link cholesky}); B and X are n×m. Two triangular solves, L·Y = B then
 * Lᵀ·X = Y (Golub & Van Loan §4.2.1). Only the lower triangle of `l` is read.
 */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  checkDim('choleskySolve', 'n', n);
  checkDim('choleskySolve', 'm', m);
  checkMatrix('choleskySolve', 'l', l, n, n);
  checkRhs('choleskySolve', 'l', n, b, m);
  for (let i = 0; i < n; i++) {
    const d = l[i * n + i];
    if (!(d > 0) || !Number.isFinite(d)) {
      throw new Error(`choleskySolve: l is not a valid Cholesky factor (diagonal entry ${i} is ${d})`);
    }
  }
  const y = triangularSolve(l, n, b, m, { lower: true });
  return triangularSolve(l, n, y, m, { lower: true, transpose: true });
}
