/**
 * Householder QR factorization of dense row-major float64 matrices.
 */
import { householderInPlace } from './util.js';
import { checkDim, checkMatrix } from './validate.js';

/** Result of {@link qr}. */
export interface QrResult {
  /** Orthonormal columns: m×k in 'reduced' mode, m×m in 'complete' mode (k = min(m, n)). */
  q: Float64Array;
  /** Upper triangular (trapezoidal) factor with non-negative diagonal: k×n ('reduced') or m×n ('complete'). */
  r: Float64Array;
}

/**
 * QR factorization A = Q·R of an m×n matrix by Householder reflections
 * (Golub & Van Loan, "Matrix Computations", 4th ed., Alg. 5.2.1), with Q formed
 * explicitly by backward accumulation of the reflectors (§5.1.6).
 *
 * - `'reduced'` (default): Q is m×k with orthonormal columns, R is k×n, k = min(m, n).
 * - `'complete'`: Q is m×m orthogonal, R is m×n (rows k… are zero).
 *
 * Sign convention: the diagonal of R is made non-negative by flipping the sign
 * of row i of R together with column i of Q. When A has full column rank this
 * makes the reduced factorization unique (R's diagonal is then positive),
 * which gradient formulas for QR rely on.
 */
export function qr(a: Float64Array, m: number, n: number, mode: 'reduced' | 'complete' = 'reduced'): QrResult {
  checkDim('qr', 'm', m);
  checkDim('qr', 'n', n);
  checkMatrix('qr', 'a', a, m, n);
  if (mode !== 'reduced' && mode !== 'complete') {
    throw new Error(`qr: mode must be 'reduced' or 'complete', got ${JSON.stringify(mode)}`);
  }
  const k = Math.min(m, n);
  const work = Float64Array.from(a);
  const taus = new Float64Array(k);
  const reflector = new Float64Array(2);
  const w = new Float64Array(Math.max(m, n));

  // Triangularize: reflector j zeroes column j below the diagonal. Its vector
  // (v_j = 1 implied) overwrites the zeroed entries of column j.
  for (let j = 0; j < k; j++) {
    householderInPlace(work, j * n + j, n, m - j, reflector);
    const tau = reflector[0];
    taus[j] = tau;
    work[j * n + j] = reflector[1];
    if (tau === 0) continue;
    // Apply H = I − τ·v·vᵀ to the trailing columns: w = vᵀ·A_sub, A_sub −= τ·v·wᵀ.
    const rowJ = j * n;
    for (let c = j + 1; c < n; c++) w[c] = work[rowJ + c];
    for (let i = j + 1; i < m; i++) {
      const vi = work[i * n + j];
      if (vi === 0) continue;
      const rowI = i * n;
      for (let c = j + 1; c < n; c++) w[c] += vi * work[rowI + c];
    }
    for (let c = j + 1; c < n; c++) work[rowJ + c] -= tau * w[c];
    for (let i = j + 1; i < m; i++) {
      const f = tau * work[i * n + j];
      if (f === 0) continue;
      const rowI = i * n;
      for (let c = j + 1; c < n; c++) work[rowI + c] -= f * w[c];
    }
  }

  // Q = H_0·H_1·…·H_{k−1}·I[:, :qCols], applying the reflectors last to first so
  // that reflector j only touches rows j… and columns j… of the partial product.
  const qCols = mode === 'complete' ? m : k;
  const q = new Float64Array(m * qCols);
  for (let i = 0; i < Math.min(m, qCols); i++) q[i * qCols + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const tau = taus[j];
    if (tau === 0) continue;
    const rowJ = j * qCols;
    for (let c = j; c < qCols; c++) w[c] = q[rowJ + c];
    for (let i = j + 1; i < m; i++) {
      const vi = work[i * n + j];
      if (vi === 0) continue;
      const rowI = i * qCols;
      for (let c = j; c < qCols; c++) w[c] += vi * q[rowI + c];
    }
    for (let c = j; c < qCols; c++) q[rowJ + c] -= tau * w[c];
    for (let i = j + 1; i < m; i++) {
      const f = tau * work[i * n + j];
      if (f === 0) continue;
      const rowI = i * qCols;
      for (let c = j; c < qCols; c++) q[rowI + c] -= f * w[c];
    }
  }

  // R is the upper trapezoid of the work array.
  const rRows = mode === 'complete' ? m : k;
  const r = new Float64Array(rRows * n);
  for (let i = 0; i < k; i++) {
    for (let c = i; c < n; c++) r[i * n + c] = work[i * n + c];
  }

  // Make diag(R) non-negative: (Q·D)·(D·R) with D = diag(±1) leaves Q·R unchanged.
  for (let i = 0; i < k; i++) {
    if (r[i * n + i] >= 0) continue;
    for (let c = i; c < n; c++) r[i * n + c] = -r[i * n + c];
    for (let row = 0; row < m; row++) q[row * qCols + i] = -q[row * qCols + i];
  }
  return { q, r };
}
