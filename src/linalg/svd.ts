/**
 * Singular value decomposition of dense row-major float64 matrices: an
 * accurate one-sided Jacobi SVD and a randomized truncated SVD built on it.
 */
import { qr } from './qr.js';
import { matmulF64, scaledNorm, transposeF64 } from './util.js';
import { checkDim, checkFinite, checkMatrix } from './validate.js';

/** Result of {@link svd} and {@link randomizedSvd}: A ≈ U·diag(s)·Vᵀ. */
export interface SvdResult {
  /** Left singular vectors as columns: m×k (reduced / truncated) or m×m (full). */
  u: Float64Array;
  /** Singular values, descending, non-negative; length k. */
  s: Float64Array;
  /** Right singular vectors as rows: k×n (reduced / truncated) or n×n (full). */
  vt: Float64Array;
}

/** Options for {@link svd}. */
export interface SvdOptions {
  /** Return square orthogonal U (m×m) and Vᵀ (n×n) instead of the reduced factors. Default false. */
  full?: boolean;
}

/** Options for {@link randomizedSvd}. */
export interface RandomizedSvdOptions {
  /** Extra sample columns beyond k (Halko et al. recommend 5–10). Default 10. */
  oversample?: number;
  /** Number of power (subspace) iterations; more sharpens slowly decaying spectra. Default 2. */
  powerIters?: number;
  /** Source of independent standard normal samples; called n·(k + oversample) times. */
  rng: () => number;
}

/** Jacobi sweeps allowed before giving up (quadratic convergence needs ~5–15). */
const MAX_SWEEPS = 80;
/**
 * Squared norm below which a working column that is not exactly orthogonal to
 * its partner is set to exactly zero. The input is scaled so that
 * max |a_ij| = 1 (hence σ₁ ≥ 1), so such a column carries less than 1e-140·σ₁.
 * Without this cut-off, columns that should cancel to zero (e.g. every column
 * of a rank-one matrix after the first) keep leaving rounding residue parallel
 * to the surviving column, which shrinks by ε per sweep but never becomes
 * orthogonal to it, and squared norms underflow long before it vanishes.
 */
const NEGLIGIBLE_SQUARED_NORM = 1e-280;

/**
 * Singular value decomposition A = U·diag(s)·Vᵀ of an m×n matrix by one-sided
 * (Hestenes) Jacobi rotations.
 *
 * Working on the k = min(m, n) columns of A (or of Aᵀ when m < n), each pair
 * of columns is rotated to be orthogonal, cycling through all pairs until no
 * pair has |xᵀy| > √(max(m,n))·ε·‖x‖‖y‖ (Golub & Van Loan, "Matrix
 * Computations", 4th ed., §8.6.4; Demmel & Veselić 1992 for its high relative
 * accuracy). The converged columns are U·Σ and the accumulated rotations V.
 * Left vectors for zero singular values, and the extra columns of the `full`
 * factors, are completed to an orthonormal basis by Gram–Schmidt (applied
 * twice) against the standard basis vector with the largest residual.
 *
 * Reduced by default: u m×k, s k, vt k×n; `{ full: true }` gives u m×m and
 * vt n×n. Singular values descend. Sign convention: for each singular pair the
 * largest-magnitude entry of the column of U is positive (Vᵀ's row flips with
 * it). The input is scaled by its largest entry to keep squared norms in range;
 * a working column that shrinks below 1e-140·max|a_ij| without being exactly
 * orthogonal to the others is treated as zero. Throws on NaN/Infinity inputs.
 */
export function svd(a: Float64Array, m: number, n: number, options: SvdOptions = {}): SvdResult {
  checkDim('svd', 'm', m);
  checkDim('svd', 'n', n);
  checkMatrix('svd', 'a', a, m, n);
  checkFinite('svd', 'a', a);
  if (options === null || typeof options !== 'object') throw new Error('svd: options must be an object');
  const full = options.full ?? false;

  const tall = m >= n;
  const k = Math.min(m, n);
  const q = Math.max(m, n);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0) scale = 1;

  // g: k rows of length q = the columns of A (tall) or of Aᵀ (wide), scaled.
  const g = new Float64Array(k * q);
  if (tall) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[j * q + i] = a[i * n + j] / scale;
  } else {
    for (let i = 0; i < a.length; i++) g[i] = a[i] / scale;
  }
  // rot (k×k) receives the same row rotations as g, starting from I: it ends
  // as Vᵀ for a tall A and as Uᵀ for a wide one, orthogonal throughout.
  const rot = new Float64Array(k * k);
  for (let i = 0; i < k; i++) rot[i * k + i] = 1;
  jacobiOrthogonalizeRows(g, rot, k, q);

  // Singular values are the row norms; order them descending.
  const norms = new Float64Array(k);
  for (let i = 0; i < k; i++) norms[i] = scaledNorm(g, i * q, 1, q);
  const order = new Int32Array(k);
  for (let i = 0; i < k; i++) order[i] = i;
  for (let i = 0; i < k; i++) {
    let best = i;
    for (let j = i + 1; j < k; j++) if (norms[order[j]] > norms[order[best]]) best = j;
    const t = order[i];
    order[i] = order[best];
    order[best] = t;
  }

  // y: normalized rows of g (the long singular vectors), completed to yRows.
  const yRows = full ? q : k;
  const y = new Float64Array(yRows * q);
  const valid = new Uint8Array(yRows);
  const s = new Float64Array(k);
  const rotSorted = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const src = order[j];
    const sigma = norms[src];
    s[j] = sigma * scale;
    rotSorted.set(rot.subarray(src * k, src * k + k), j * k);
    if (sigma > 0) {
      for (let c = 0; c < q; c++) y[j * q + c] = g[src * q + c] / sigma;
      valid[j] = 1;
    }
  }
  completeOrthonormalRows(y, valid, yRows, q);

  // Assemble U and Vᵀ. Tall: U = yᵀ, Vᵀ = rot. Wide: U = rotᵀ, Vᵀ = y.
  let u: Float64Array;
  let vt: Float64Array;
  let uCols: number;
  if (tall) {
    uCols = yRows;
    u = new Float64Array(m * uCols);
    for (let j = 0; j < uCols; j++) for (let i = 0; i < m; i++) u[i * uCols + j] = y[j * q + i];
    vt = rotSorted;
  } else {
    uCols = k;
    u = new Float64Array(m * k);
    for (let j = 0; j < k; j++) for (let i = 0; i < m; i++) u[i * k + j] = rotSorted[j * k + i];
    vt = y;
  }
  applySignConvention(u, vt, m, uCols, n, 0, k);
  // Extra basis vectors of a full factorization get the same rule on their own.
  if (full && tall) applySignConvention(u, null, m, uCols, n, k, uCols);
  if (full && !tall) normalizeRowSigns(vt, n, n, k);
  return { u, s, vt };
}

/**
 * Randomized truncated SVD: the top-k singular triplets of an m×n matrix.
 *
 * Halko, Martinsson & Tropp, "Finding structure with randomness" (SIAM Review
 * 2011), Alg. 4.4 (randomized subspace iteration) followed by Alg. 5.1 (direct
 * SVD): with Ω an n×l Gaussian matrix, l = min(k + oversample, m, n), form
 * Q = orth(A·Ω), then `powerIters` times Q = orth(A·orth(Aᵀ·Q)) — the
 * re-orthonormalization (Householder QR) between products keeps the small
 * singular directions from being lost to rounding — and finally the exact SVD
 * of the small l×n matrix B = Qᵀ·A, with U = Q·U_B. Returns u m×k, s k, vt k×n
 * with the same sign convention as {@link svd}.
 *
 * `rng` must return independent standard normal samples; Ω is filled in
 * row-major order, so a seeded generator makes the result reproducible.
 */
export function randomizedSvd(
  a: Float64Array,
  m: number,
  n: number,
  k: number,
  options: RandomizedSvdOptions,
): SvdResult {
  const fn = 'randomizedSvd';
  checkDim(fn, 'm', m);
  checkDim(fn, 'n', n);
  checkMatrix(fn, 'a', a, m, n);
  checkDim(fn, 'k', k);
  if (k < 1 || k > Math.min(m, n)) {
    throw new Error(`${fn}: k must be between 1 and min(m, n) = ${Math.min(m, n)} for a ${m}x${n} matrix, got ${k}`);
  }
  if (options === null || typeof options !== 'object' || typeof options.rng !== 'function') {
    throw new Error(`${fn}: options.rng must be a function returning standard normal samples`);
  }
  const oversample = options.oversample ?? 10;
  const powerIters = options.powerIters ?? 2;
  checkDim(fn, 'options.oversample', oversample);
  checkDim(fn, 'options.powerIters', powerIters);
  checkFinite(fn, 'a', a);

  const l = Math.min(k + oversample, m, n);
  const omega = new Float64Array(n * l);
  for (let i = 0; i < omega.length; i++) {
    const v = options.rng();
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${fn}: options.rng returned a non-finite value (${String(v)}) at draw ${i}`);
    }
    omega[i] = v;
  }

  const at = transposeF64(a, m, n);
  let basis = qr(matmulF64(a, omega, m, n, l), m, l).q; // m×l
  for (let it = 0; it < powerIters; it++) {
    const back = qr(matmulF64(at, basis, n, m, l), n, l).q; // n×l
    basis = qr(matmulF64(a, back, m, n, l), m, l).q;
  }
  const b = matmulF64(transposeF64(basis, m, l), a, l, m, n); // l×n
  const small = svd(b, l, n); // u l×l, s l, vt l×n
  const uFull = matmulF64(basis, small.u, m, l, l); // m×l

  const u = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) u[i * k + j] = uFull[i * l + j];
  const s = small.s.slice(0, k);
  const vt = small.vt.slice(0, k * n);
  applySignConvention(u, vt, m, k, n, 0, k);
  return { u, s, vt };
}

/**
 * One-sided Jacobi: rotates pairs of rows of g (k×q) until they are mutually
 * orthogonal, applying the same rotations to the rows of rot (k×k).
 */
function jacobiOrthogonalizeRows(g: Float64Array, rot: Float64Array, k: number, q: number): void {
  const tol = Number.EPSILON * Math.sqrt(Math.max(q, 1));
  for (let sweep = 0; ; sweep++) {
    if (sweep >= MAX_SWEEPS) {
      throw new Error(`svd: Jacobi iteration did not converge in ${MAX_SWEEPS} sweeps`);
    }
    let rotated = false;
    for (let i = 0; i < k - 1; i++) {
      const rowI = i * q;
      for (let j = i + 1; j < k; j++) {
        const rowJ = j * q;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let c = 0; c < q; c++) {
          const xi = g[rowI + c];
          const xj = g[rowJ + c];
          alpha += xi * xi;
          beta += xj * xj;
          gamma += xi * xj;
        }
        if (gamma === 0) continue; // exactly orthogonal (includes zero columns)
        if (alpha < NEGLIGIBLE_SQUARED_NORM || beta < NEGLIGIBLE_SQUARED_NORM) {
          if (alpha < NEGLIGIBLE_SQUARED_NORM) g.fill(0, rowI, rowI + q);
          if (beta < NEGLIGIBLE_SQUARED_NORM) g.fill(0, rowJ, rowJ + q);
          continue;
        }
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        // Rotation angle making the pair orthogonal; t = tan θ is the smaller
        // root of t² + 2ζt − 1 = 0 (|θ| ≤ π/4, G&VL §8.5.2).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.hypot(1, zeta));
        const c = 1 / Math.hypot(1, t);
        const s = c * t;
        for (let p = 0; p < q; p++) {
          const xi = g[rowI + p];
          const xj = g[rowJ + p];
          g[rowI + p] = c * xi - s * xj;
          g[rowJ + p] = s * xi + c * xj;
        }
        const rI = i * k;
        const rJ = j * k;
        for (let p = 0; p < k; p++) {
          const xi = rot[rI + p];
          const xj = rot[rJ + p];
          rot[rI + p] = c * xi - s * xj;
          rot[rJ + p] = s * xi + c * xj;
        }
      }
    }
    if (!rotated) return;
  }
}

/**
 * Fills the rows of y (rows×q) not flagged in `valid` with unit vectors
 * orthogonal to every valid row (and to each other). Each new row starts as the
 * standard basis vector e_i whose component outside the current span is
 * largest (≥ 1/√q in norm, so never ill-conditioned), then is orthogonalized
 * by classical Gram–Schmidt applied twice ("twice is enough").
 */
function completeOrthonormalRows(y: Float64Array, valid: Uint8Array, rows: number, q: number): void {
  // inSpan[i] = Σ over valid rows of y[r,i]² = squared length of e_i's projection.
  const inSpan = new Float64Array(q);
  for (let r = 0; r < rows; r++) {
    if (!valid[r]) continue;
    for (let c = 0; c < q; c++) inSpan[c] += y[r * q + c] * y[r * q + c];
  }
  const vec = new Float64Array(q);
  for (let r = 0; r < rows; r++) {
    if (valid[r]) continue;
    let pick = 0;
    for (let c = 1; c < q; c++) if (inSpan[c] < inSpan[pick]) pick = c;
    vec.fill(0);
    vec[pick] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let other = 0; other < rows; other++) {
        if (!valid[other]) continue;
        const base = other * q;
        let dot = 0;
        for (let c = 0; c < q; c++) dot += y[base + c] * vec[c];
        for (let c = 0; c < q; c++) vec[c] -= dot * y[base + c];
      }
    }
    const norm = scaledNorm(vec, 0, 1, q);
    for (let c = 0; c < q; c++) {
      const v = vec[c] / norm;
      y[r * q + c] = v;
      inSpan[c] += v * v;
    }
    valid[r] = 1;
  }
}

/**
 * For columns j in [from, to), flips column j of u (m×uCols) — and row j of vt
 * (·×n) when given — so that the largest-magnitude entry of the column (the
 * first one on exact ties) is positive.
 */
function applySignConvention(
  u: Float64Array,
  vt: Float64Array | null,
  m: number,
  uCols: number,
  n: number,
  from: number,
  to: number,
): void {
  if (m === 0) return;
  for (let j = from; j < to; j++) {
    let big = 0;
    for (let i = 1; i < m; i++) if (Math.abs(u[i * uCols + j]) > Math.abs(u[big * uCols + j])) big = i;
    if (u[big * uCols + j] >= 0) continue;
    for (let i = 0; i < m; i++) u[i * uCols + j] = -u[i * uCols + j];
    if (vt !== null) for (let c = 0; c < n; c++) vt[j * n + c] = -vt[j * n + c];
  }
}

/** Makes the largest-magnitude entry (first on ties) of rows from…rows−1 of x (rows×cols) positive. */
function normalizeRowSigns(x: Float64Array, rows: number, cols: number, from: number): void {
  if (cols === 0) return;
  for (let r = from; r < rows; r++) {
    const base = r * cols;
    let big = 0;
    for (let c = 1; c < cols; c++) if (Math.abs(x[base + c]) > Math.abs(x[base + big])) big = c;
    if (x[base + big] >= 0) continue;
    for (let c = 0; c < cols; c++) x[base + c] = -x[base + c];
  }
}
