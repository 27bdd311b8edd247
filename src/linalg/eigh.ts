/**
 * Symmetric eigendecomposition A = V·diag(λ)·Vᵀ of dense row-major float64
 * matrices.
 */
import { householderInPlace } from './util.js';
import { checkDim, checkFinite, checkMatrix } from './validate.js';

/** Result of {@link eigh}. */
export interface EighResult {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** n×n orthogonal matrix; column j is the unit eigenvector for `values[j]`. */
  vectors: Float64Array;
}

/** QR sweeps allowed per eigenvalue before giving up (typically 1–3 are needed). */
const MAX_SWEEPS_PER_EIGENVALUE = 50;

/**
 * Eigenvalues and eigenvectors of a real symmetric n×n matrix.
 *
 * 1. Householder tridiagonalization Qᵀ·A·Q = T (Golub & Van Loan, "Matrix
 *    Computations", 4th ed., Alg. 8.3.1), accumulating Qᵀ explicitly.
 * 2. Implicit symmetric QR steps with the Wilkinson shift on T (G&VL Alg.
 *    8.3.2 inside the deflation loop of Alg. 8.3.3), chasing the bulge with
 *    Givens rotations that are also applied to Qᵀ.
 *
 * Only the lower triangle of `a` (with the diagonal) is read, like numpy's
 * default `UPLO='L'`. The input is scaled by its largest entry first so the
 * squares formed along the way can neither overflow nor underflow.
 *
 * Output convention: eigenvalues ascending; each eigenvector is normalized so
 * that its largest-magnitude component (the first one, on exact ties) is
 * positive, which makes the result deterministic for simple eigenvalues.
 * Eigenvectors of repeated eigenvalues are any orthonormal basis of the
 * eigenspace. Throws on NaN/Infinity inputs.
 */
export function eigh(a: Float64Array, n: number): EighResult {
  checkDim('eigh', 'n', n);
  checkMatrix('eigh', 'a', a, n, n);
  checkFinite('eigh', 'a', a);

  // Symmetric working copy from the lower triangle, scaled to max |a_ij| = 1.
  let scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) scale = Math.max(scale, Math.abs(a[i * n + j]));
  }
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  if (scale === 0) {
    for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
    return { values, vectors };
  }
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j] / scale;
      s[i * n + j] = v;
      s[j * n + i] = v;
    }
  }

  const d = new Float64Array(n); // diagonal of T
  const e = new Float64Array(Math.max(n - 1, 0)); // e[i] couples i and i+1
  const z = new Float64Array(n * n); // Zᵀ: row i will become eigenvector i
  tridiagonalize(s, n, d, e, z);
  tridiagonalQr(d, e, z, n);

  // Sort ascending (selection sort on indices: O(n²), negligible next to O(n³)).
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < n; i++) {
    let best = i;
    for (let j = i + 1; j < n; j++) if (d[order[j]] < d[order[best]]) best = j;
    const t = order[i];
    order[i] = order[best];
    order[best] = t;
  }
  for (let j = 0; j < n; j++) {
    const src = order[j];
    values[j] = d[src] * scale;
    const row = src * n;
    // Largest-magnitude component positive.
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(z[row + i]) > Math.abs(z[row + big])) big = i;
    const flip = z[row + big] < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[i * n + j] = flip * z[row + i];
  }
  return { values, vectors };
}

/**
 * Householder tridiagonalization of the symmetric matrix `s` (overwritten):
 * writes T's diagonal to `d`, off-diagonal to `e`, and Z = Qᵀ to `z`, so that
 * S = Zᵀ·T·Z. Reflector k acts on rows/columns k+1… and zeroes s[k, k+2…].
 */
function tridiagonalize(s: Float64Array, n: number, d: Float64Array, e: Float64Array, z: Float64Array): void {
  const reflector = new Float64Array(2);
  const p = new Float64Array(n);
  const taus = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    const size = n - k - 1;
    const off = k + 1; // first index of the trailing block
    // Row k of s, right of the diagonal, equals column k below it (symmetry).
    householderInPlace(s, k * n + off, 1, size, reflector);
    const tau = reflector[0];
    taus[k] = tau;
    e[k] = reflector[1];
    if (tau === 0) continue;
    // v lives in s[k, off…] with v_0 = 1 implied.
    const vBase = k * n + off;
    // p = τ·S_sub·v
    for (let i = 0; i < size; i++) {
      const row = (off + i) * n + off;
      let acc = s[row]; // v_0 = 1
      for (let j = 1; j < size; j++) acc += s[row + j] * s[vBase + j];
      p[i] = tau * acc;
    }
    // w = p − (τ/2)(pᵀv)·v, stored back into p.
    let pv = p[0];
    for (let i = 1; i < size; i++) pv += p[i] * s[vBase + i];
    const half = 0.5 * tau * pv;
    p[0] -= half;
    for (let i = 1; i < size; i++) p[i] -= half * s[vBase + i];
    // S_sub −= v·wᵀ + w·vᵀ (full square kept symmetric).
    for (let i = 0; i < size; i++) {
      const vi = i === 0 ? 1 : s[vBase + i];
      const wi = p[i];
      const row = (off + i) * n + off;
      s[row] -= vi * p[0] + wi; // j = 0, v_0 = 1
      for (let j = 1; j < size; j++) s[row + j] -= vi * p[j] + wi * s[vBase + j];
    }
  }
  for (let i = 0; i < n; i++) d[i] = s[i * n + i];
  if (n >= 2) e[n - 2] = s[(n - 2) * n + (n - 1)];

  // Z = H_{n−3}·…·H_0 (each H symmetric, so Z = Qᵀ), accumulated forward on rows.
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  const w = p;
  for (let k = 0; k + 2 < n; k++) {
    const tau = taus[k];
    if (tau === 0) continue;
    const off = k + 1;
    const vBase = k * n + off;
    // w = vᵀ·Z[off…, :]; Z[off…, :] −= τ·v·wᵀ
    for (let c = 0; c < n; c++) w[c] = z[off * n + c];
    for (let i = 1; off + i < n; i++) {
      const vi = s[vBase + i];
      if (vi === 0) continue;
      const row = (off + i) * n;
      for (let c = 0; c < n; c++) w[c] += vi * z[row + c];
    }
    for (let i = 0; off + i < n; i++) {
      const f = tau * (i === 0 ? 1 : s[vBase + i]);
      if (f === 0) continue;
      const row = (off + i) * n;
      for (let c = 0; c < n; c++) z[row + c] -= f * w[c];
    }
  }
}

/**
 * Diagonalizes the symmetric tridiagonal (d, e) in place by implicit
 * Wilkinson-shifted QR steps, applying every rotation to the rows of `z`.
 * On return `d` holds the (unsorted) eigenvalues and row i of z the
 * eigenvector for d[i].
 */
function tridiagonalQr(d: Float64Array, e: Float64Array, z: Float64Array, n: number): void {
  const eps = Number.EPSILON;
  const tiny = Number.MIN_VALUE / eps; // guards the deflation test when d_i = d_{i+1} = 0
  const negligible = (i: number): boolean =>
    Math.abs(e[i]) <= eps * (Math.abs(d[i]) + Math.abs(d[i + 1])) || Math.abs(e[i]) <= tiny;

  let hi = n - 1;
  let sweeps = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) {
      // d[hi] has converged: deflate.
      e[hi - 1] = 0;
      hi--;
      sweeps = 0;
      continue;
    }
    if (++sweeps > MAX_SWEEPS_PER_EIGENVALUE) {
      throw new Error(`eigh: QR iteration did not converge (eigenvalue ${hi} after ${MAX_SWEEPS_PER_EIGENVALUE} sweeps)`);
    }
    // Unreduced block [lo, hi]: extend upward while the coupling is significant.
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    if (lo > 0) e[lo - 1] = 0;

    // Wilkinson shift: eigenvalue of the trailing 2×2 closer to d[hi].
    const half = (d[hi - 1] - d[hi]) / 2;
    const eh = e[hi - 1];
    const denom = half + (half >= 0 ? 1 : -1) * Math.hypot(half, eh);
    const mu = d[hi] - (eh / denom) * eh;

    // Bulge chase. Rotation J on (p, q = p+1): row_p' = c·row_p + s·row_q,
    // row_q' = −s·row_p + c·row_q, applied as T' = J·T·Jᵀ and Z' = J·Z.
    let x = d[lo] - mu;
    let y = e[lo];
    for (let p = lo; p < hi; p++) {
      const q = p + 1;
      const r = Math.hypot(x, y);
      const c = r === 0 ? 1 : x / r;
      const sn = r === 0 ? 0 : y / r;
      if (p > lo) e[p - 1] = r; // the rotation zeroed the bulge at (q, p−1)
      const dp = d[p];
      const dq = d[q];
      const b = e[p];
      const cs2b = 2 * c * sn * b;
      d[p] = c * c * dp + cs2b + sn * sn * dq;
      d[q] = sn * sn * dp - cs2b + c * c * dq;
      e[p] = c * sn * (dq - dp) + (c * c - sn * sn) * b;
      if (q < hi) {
        // The rotation creates a bulge at (q+1, p) and shrinks e[q].
        y = sn * e[q];
        e[q] = c * e[q];
        x = e[p];
      }
      const rowP = p * n;
      const rowQ = q * n;
      for (let k = 0; k < n; k++) {
        const zp = z[rowP + k];
        const zq = z[rowQ + k];
        z[rowP + k] = c * zp + sn * zq;
        z[rowQ + k] = c * zq - sn * zp;
      }
    }
  }
}
