/**
 * LU factorization with partial pivoting and the solvers and determinants
 * built on it. All matrices are dense, row-major, float64.
 */
import { checkDim, checkFloat64, checkMatrix, checkRhs } from './validate.js';

/** Packed LU factorization P·A = L·U as returned by {@link lu}. */
export interface LuResult {
  /** n×n: strictly lower part holds L (unit diagonal implied), upper part incl. diagonal holds U. */
  lu: Float64Array;
  /** Row permutation: row i of P·A is row `piv[i]` of A. */
  piv: Int32Array;
  /** Determinant of P, i.e. (-1)^(number of row swaps). */
  sign: 1 | -1;
  /** True when some pivot of U is exactly zero (A is exactly singular in floating point). */
  singular: boolean;
}

/**
 * LU factorization with partial (row) pivoting: P·A = L·U with L unit lower
 * triangular and U upper triangular, both packed into one n×n array.
 *
 * Right-looking Doolittle elimination (Golub & Van Loan, "Matrix
 * Computations", 4th ed., Alg. 3.4.1, outer-product form), choosing the
 * largest-magnitude entry of each column as pivot, which bounds every
 * multiplier |l_ij| ≤ 1. As in LAPACK `dgetrf`, an exactly zero pivot column
 * does not stop the factorization: the column is skipped, `singular` is set
 * and U gets a zero on its diagonal. `piv` is stored as a permutation vector
 * (not LAPACK's swap list): (P·A)[i, :] = A[piv[i], :].
 */
export function lu(a: Float64Array, n: number): LuResult {
  checkDim('lu', 'n', n);
  checkMatrix('lu', 'a', a, n, n);
  const f = Float64Array.from(a);
  const piv = new Int32Array(n);
  for (let i = 0; i < n; i++) piv[i] = i;
  let sign: 1 | -1 = 1;
  let singular = false;

  for (let k = 0; k < n; k++) {
    // Pick the pivot: the largest |a_ik| on or below the diagonal.
    let p = k;
    let best = Math.abs(f[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(f[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (p !== k) {
      const rowK = k * n;
      const rowP = p * n;
      for (let j = 0; j < n; j++) {
        const t = f[rowK + j];
        f[rowK + j] = f[rowP + j];
        f[rowP + j] = t;
      }
      const t = piv[k];
      piv[k] = piv[p];
      piv[p] = t;
      sign = sign === 1 ? -1 : 1;
    }
    const pivot = f[k * n + k];
    if (pivot === 0) {
      // Whole column below the diagonal is zero: nothing to eliminate.
      singular = true;
      continue;
    }
    // Eliminate below the pivot and update the trailing submatrix (rank-1 update).
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      const l = f[rowI + k] / pivot;
      f[rowI + k] = l;
      if (l === 0) continue;
      const rowK = k * n;
      for (let j = k + 1; j < n; j++) f[rowI + j] -= l * f[rowK + j];
    }
  }
  return { lu: f, piv, sign, singular };
}

/**
 * Solves A·X = B given the packed factorization P·A = L·U from {@link lu};
 * B and X are n×m.
 *
 * Applies the permutation, then forward substitution with the unit lower L and
 * back substitution with U (Golub & Van Loan §3.4.4), row-oriented so every
 * inner loop runs along a contiguous row of X. Throws if U has a zero pivot.
 */
export function luSolve(lu: Float64Array, piv: Int32Array, n: number, b: Float64Array, m: number): Float64Array {
  checkDim('luSolve', 'n', n);
  checkDim('luSolve', 'm', m);
  checkMatrix('luSolve', 'lu', lu, n, n);
  if (!(piv instanceof Int32Array) || piv.length !== n) {
    throw new Error(`luSolve: piv must be an Int32Array of length ${n}, got length ${piv?.length}`);
  }
  checkRhs('luSolve', 'lu', n, b, m);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = piv[i];
    if (p < 0 || p >= n || seen[p]) {
      throw new Error(`luSolve: piv is not a permutation of 0..${n - 1} (piv[${i}] = ${p})`);
    }
    seen[p] = 1;
  }
  for (let i = 0; i < n; i++) {
    const d = lu[i * n + i];
    if (d === 0 || !Number.isFinite(d)) {
      throw new Error(`luSolve: matrix is singular (U[${i},${i}] is ${d})`);
    }
  }

  // X = P·B
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const src = piv[i] * m;
    const dst = i * m;
    for (let j = 0; j < m; j++) x[dst + j] = b[src + j];
  }
  // L·Y = P·B (unit diagonal)
  for (let i = 1; i < n; i++) {
    const rowI = i * m;
    for (let k = 0; k < i; k++) {
      const l = lu[i * n + k];
      if (l === 0) continue;
      const rowK = k * m;
      for (let j = 0; j < m; j++) x[rowI + j] -= l * x[rowK + j];
    }
  }
  // U·X = Y
  for (let i = n - 1; i >= 0; i--) {
    const rowI = i * m;
    for (let k = i + 1; k < n; k++) {
      const u = lu[i * n + k];
      if (u === 0) continue;
      const rowK = k * m;
      for (let j = 0; j < m; j++) x[rowI + j] -= u * x[rowK + j];
    }
    const inv = 1 / lu[i * n + i];
    for (let j = 0; j < m; j++) x[rowI + j] *= inv;
  }
  return x;
}

/**
 * Sign and natural log of |det A| for an n×n matrix, from an LU factorization:
 * det A = sign(P)·Π u_ii. Summing logs instead of multiplying avoids overflow
 * and underflow for large n. Singular matrices give `{ sign: 0, logabsdet:
 * -Infinity }` (same convention as numpy.linalg.slogdet). det of a 0×0 matrix is 1.
 */
export function slogdet(a: Float64Array, n: number): { sign: number; logabsdet: number } {
  checkDim('slogdet', 'n', n);
  checkMatrix('slogdet', 'a', a, n, n);
  const f = lu(a, n);
  if (f.singular) return { sign: 0, logabsdet: -Infinity };
  let sign: number = f.sign;
  let logabsdet = 0;
  for (let i = 0; i < n; i++) {
    const d = f.lu[i * n + i];
    if (d < 0) sign = -sign;
    logabsdet += Math.log(Math.abs(d));
  }
  return { sign, logabsdet };
}

/**
 * Determinant of an n×n matrix as sign(P)·Π u_ii from {@link lu}
 * (Golub & Van Loan §3.2.11). May overflow to ±Infinity or underflow to 0 for
 * large matrices; use {@link slogdet} there.
 */
export function det(a: Float64Array, n: number): number {
  checkDim('det', 'n', n);
  checkMatrix('det', 'a', a, n, n);
  const f = lu(a, n);
  if (f.singular) return 0; // not −0 from a negative pivot sign
  let d: number = f.sign;
  for (let i = 0; i < n; i++) d *= f.lu[i * n + i];
  return d;
}

/**
 * Inverse of an n×n matrix, computed by solving A·X = I with the LU
 * factorization (Golub & Van Loan §3.4.9). Throws if A is singular.
 */
export function inverse(a: Float64Array, n: number): Float64Array {
  checkDim('inverse', 'n', n);
  checkMatrix('inverse', 'a', a, n, n);
  const f = factorNonsingular('inverse', a, n);
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return luSolve(f.lu, f.piv, n, eye, n);
}

/**
 * Solves A·X = B for X with A n×n and B n×m, via LU with partial pivoting
 * (Golub & Van Loan §3.4). Throws a descriptive error if A is singular.
 */
export function solve(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  checkDim('solve', 'n', n);
  checkDim('solve', 'm', m);
  checkMatrix('solve', 'a', a, n, n);
  checkFloat64('solve', 'b', b);
  checkRhs('solve', 'a', n, b, m);
  const f = factorNonsingular('solve', a, n);
  return luSolve(f.lu, f.piv, n, b, m);
}

/** LU-factorizes `a`, throwing a message that names `fn` if a pivot is zero or non-finite. */
function factorNonsingular(fn: string, a: Float64Array, n: number): LuResult {
  const f = lu(a, n);
  for (let i = 0; i < n; i++) {
    const d = f.lu[i * n + i];
    if (d === 0) throw new Error(`${fn}: matrix a is singular (U[${i},${i}] = 0 in its LU factorization)`);
    if (!Number.isFinite(d)) throw new Error(`${fn}: matrix a has non-finite entries (U[${i},${i}] = ${d})`);
  }
  return f;
}
