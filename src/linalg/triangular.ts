/**
 * Triangular solves op(T)·X = B for dense row-major float64 matrices.
 */
import { checkDim, checkMatrix, checkRhs } from './validate.js';

/** Options for {@link triangularSolve}. */
export interface TriangularSolveOptions {
  /** Use the lower triangle of `t` (true) or the upper triangle (false). The other triangle is never read. */
  lower: boolean;
  /** Assume a unit diagonal (the stored diagonal is not read). Default false. */
  unit?: boolean;
  /** Solve Tᵀ·X = B instead of T·X = B. Default false. */
  transpose?: boolean;
}

/**
 * Solves op(T)·X = B where T is n×n triangular, op(T) is T or Tᵀ, and B, X are n×m.
 *
 * Forward or back substitution (Golub & Van Loan, "Matrix Computations", 4th
 * ed., §3.1, Algs. 3.1.1–3.1.2). For op(T) = T the row-oriented (dot product)
 * form is used; for op(T) = Tᵀ the column-oriented (saxpy) form, which reads T
 * by rows, so every inner loop is over a contiguous row of X either way.
 * Throws if a diagonal entry is zero (T singular) when `unit` is false.
 */
export function triangularSolve(
  t: Float64Array,
  n: number,
  b: Float64Array,
  m: number,
  options: TriangularSolveOptions,
): Float64Array {
  checkDim('triangularSolve', 'n', n);
  checkDim('triangularSolve', 'm', m);
  checkMatrix('triangularSolve', 't', t, n, n);
  checkRhs('triangularSolve', 't', n, b, m);
  if (options === null || typeof options !== 'object' || typeof options.lower !== 'boolean') {
    throw new Error('triangularSolve: options.lower must be a boolean (which triangle of t to use)');
  }
  const unit = options.unit ?? false;
  const transpose = options.transpose ?? false;
  if (!unit) {
    for (let i = 0; i < n; i++) {
      const d = t[i * n + i];
      if (d === 0) throw new Error(`triangularSolve: t is singular (diagonal entry ${i} is 0)`);
    }
  }

  const x = Float64Array.from(b);
  // op(T) is lower triangular exactly when (lower XOR transpose): substitute forward.
  const forward = options.lower !== transpose;

  if (!transpose) {
    // Row form: x_i = (b_i - Σ_k T[i,k]·x_k) / T[i,i], k over already-solved rows.
    for (let s = 0; s < n; s++) {
      const i = forward ? s : n - 1 - s;
      const rowI = i * m;
      const kStart = forward ? 0 : i + 1;
      const kEnd = forward ? i : n;
      for (let k = kStart; k < kEnd; k++) {
        const c = t[i * n + k];
        if (c === 0) continue;
        const rowK = k * m;
        for (let j = 0; j < m; j++) x[rowI + j] -= c * x[rowK + j];
      }
      if (!unit) {
        const inv = 1 / t[i * n + i];
        for (let j = 0; j < m; j++) x[rowI + j] *= inv;
      }
    }
  } else {
    // Column form on op(T) = Tᵀ: once x_k is final, remove its contribution
    // Tᵀ[i,k]·x_k = T[k,i]·x_k from every row i still unsolved.
    for (let s = 0; s < n; s++) {
      const k = forward ? s : n - 1 - s;
      const rowK = k * m;
      if (!unit) {
        const inv = 1 / t[k * n + k];
        for (let j = 0; j < m; j++) x[rowK + j] *= inv;
      }
      const iStart = forward ? k + 1 : 0;
      const iEnd = forward ? n : k;
      for (let i = iStart; i < iEnd; i++) {
        const c = t[k * n + i];
        if (c === 0) continue;
        const rowI = i * m;
        for (let j = 0; j < m; j++) x[rowI + j] -= c * x[rowK + j];
      }
    }
  }
  return x;
}
