/**
 * Randomised truncated SVD of a sparse matrix, and word embeddings U·Σ^p.
 *
 * Halko, Martinsson & Tropp, "Finding structure with randomness:
 * probabilistic algorithms for constructing approximate matrix
 * decompositions" (SIAM Review 2011, arXiv 0909.4061): Alg. 4.4 (randomised
 * subspace iteration) then Alg. 5.1 (direct SVD of the small factor). The
 * sparse matrix A (m×n) is only ever multiplied by thin dense matrices — A·X
 * and Aᵀ·Y, O(nnz·l) each — and never densified:
 *
 *   Ω  n×l Gaussian, l = k + oversample
 *   Q  = orth(A·Ω)                                  m×l
 *   q times:  Q = orth(A·orth(Aᵀ·Q))                (power iterations; QR
 *             between products so small directions survive rounding)
 *   Bᵀ = Aᵀ·Q = Q₂·R                                n×l, thin QR
 *   Rᵀ = U_R·Σ·V_Rᵀ                                 l×l dense SVD
 *   A ≈ Q·B = (Q·U_R)·Σ·(Q₂·V_R)ᵀ
 *
 * The last step differs from Alg. 5.1 only in factoring the wide l×n matrix B
 * through a thin QR, so the dense SVD is l×l whatever n is.
 */
import { normal, type Key } from '../../core/random.js';
import { matmulF64, qr, svd, type SvdResult } from '../../linalg/index.js';
import { csrMatmulDense, csrTransposeMatmulDense, type Csr } from './sparse.js';

/** Options of {@link sparseRandomizedSvd}. */
export interface SparseSvdOptions {
  /** PRNG key for the Gaussian test matrix. */
  key: Key;
  /** Extra sample columns beyond k (default 10). */
  oversample?: number;
  /** Power (subspace) iterations (default 3). */
  powerIters?: number;
}

/**
 * Top-k singular triplets of the sparse m×n matrix `a`: u m×k, s (k,
 * descending), vt k×n. Sign convention as `svd` in `src/linalg/svd.ts`: the
 * largest-magnitude entry of each column of u is positive.
 */
export function sparseRandomizedSvd(a: Csr, k: number, options: SparseSvdOptions): SvdResult {
  const fn = 'sparseRandomizedSvd';
  if (a === null || typeof a !== 'object' || !(a.data instanceof Float64Array)) throw new Error(`${fn}: a must be a CSR matrix`);
  const { rows: m, cols: n } = a;
  if (!Number.isSafeInteger(k) || k < 1 || k > Math.min(m, n)) {
    throw new Error(`${fn}: k must be an integer between 1 and min(rows, cols) = ${Math.min(m, n)} for a ${m}x${n} matrix, got ${k}`);
  }
  if (options === null || typeof options !== 'object' || !Array.isArray(options.key)) {
    throw new Error(`${fn}: options.key must be a PRNG key (from key(seed))`);
  }
  const oversample = options.oversample ?? 10;
  const powerIters = options.powerIters ?? 3;
  if (!Number.isSafeInteger(oversample) || oversample < 0) throw new Error(`${fn}: oversample must be a non-negative integer, got ${oversample}`);
  if (!Number.isSafeInteger(powerIters) || powerIters < 0) throw new Error(`${fn}: powerIters must be a non-negative integer, got ${powerIters}`);
  for (let p = 0; p < a.data.length; p++) {
    if (!Number.isFinite(a.data[p])) throw new Error(`${fn}: a holds a non-finite value (${a.data[p]}) at entry ${p}`);
  }

  const l = Math.min(k + oversample, m, n);
  const omega = normal(options.key, n * l); // n×l
  let q = qr(csrMatmulDense(a, omega, l), m, l).q; // m×l
  for (let it = 0; it < powerIters; it++) {
    const back = qr(csrTransposeMatmulDense(a, q, l), n, l).q; // n×l
    q = qr(csrMatmulDense(a, back, l), m, l).q;
  }
  const bt = csrTransposeMatmulDense(a, q, l); // n×l = (Qᵀ·A)ᵀ
  const { q: q2, r } = qr(bt, n, l); // n×l, l×l
  const rt = new Float64Array(l * l);
  for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) rt[j * l + i] = r[i * l + j];
  const small = svd(rt, l, l); // Rᵀ = U_R·Σ·V_Rᵀ
  const uAll = matmulF64(q, small.u, m, l, l); // m×l
  // V = Q₂·V_R, so Vᵀ = V_Rᵀ·Q₂ᵀ: row j of Vᵀ is Σ_t vt_R[j,t]·Q₂[:,t].
  const u = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) u[i * k + j] = uAll[i * l + j];
  const vt = new Float64Array(k * n);
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < l; t++) {
      const f = small.vt[j * l + t];
      if (f === 0) continue;
      for (let c = 0; c < n; c++) vt[j * n + c] += f * q2[c * l + t];
    }
  }
  const s = small.s.slice(0, k);
  fixSigns(u, vt, m, n, k);
  return { u, s, vt };
}

/** Flips each singular pair so that the largest-magnitude entry (first on ties) of u's column is positive. */
function fixSigns(u: Float64Array, vt: Float64Array, m: number, n: number, k: number): void {
  for (let j = 0; j < k; j++) {
    let big = 0;
    for (let i = 1; i < m; i++) if (Math.abs(u[i * k + j]) > Math.abs(u[big * k + j])) big = i;
    if (m === 0 || u[big * k + j] >= 0) continue;
    for (let i = 0; i < m; i++) u[i * k + j] = -u[i * k + j];
    for (let c = 0; c < n; c++) vt[j * n + c] = -vt[j * n + c];
  }
}

/**
 * Word vectors from a truncated SVD: W = U·Σ^p (m×k, float32). p = 1 is the
 * plain factor, p = 0.5 splits Σ evenly between words and contexts, p = 0
 * drops the singular values (Levy, Goldberg & Dagan 2015, §3.3
 * "eigenvalue weighting"; they found p ≤ 0.5 better on similarity tasks).
 */
export function svdEmbedding(result: SvdResult, rows: number, power = 0.5): Float32Array {
  if (typeof power !== 'number' || !Number.isFinite(power) || power < 0) {
    throw new Error(`svdEmbedding: power (the eigenvalue-weighting exponent p) must be a finite number ≥ 0, got ${String(power)}`);
  }
  const k = result.s.length;
  if (result.u.length !== rows * k) throw new Error(`svdEmbedding: u must be ${rows}x${k}, got length ${result.u.length}`);
  const scale = Array.from(result.s, (s) => Math.pow(s, power));
  const out = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) out[i * k + j] = result.u[i * k + j] * scale[j];
  return out;
}
