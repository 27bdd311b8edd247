/**
 * Pointwise mutual information of word–context counts, positive and shifted.
 *
 * PMI(w, c) = log( #(w,c) / (#(w) · P_α(c)) ), with #(w) = Σ_c #(w,c) the row
 * sum and P_α(c) = #(c)^α / Σ_c' #(c')^α the context distribution raised to
 * α and renormalised; α = 1 gives the usual log(#(w,c)·|D| / (#(w)·#(c))).
 * Levy, Goldberg & Dagan (TACL 2015, §3.3 "context distribution smoothing")
 * take α = 0.75, the power word2vec's noise distribution uses.
 *
 * Levy & Goldberg ("Neural word embedding as implicit matrix factorization",
 * NIPS 2014) show that at the optimum of skip-gram with k negative samples
 * drawn from P_α, every dot product w·c equals PMI(w,c) − log k. The shifted
 * positive PMI max(PMI − log k, 0) keeps only what the sparse matrix can hold
 * (unobserved pairs have PMI = −∞), and k = 1 gives plain PPMI.
 */
import { csrColSums, csrMap, csrRowSums, type Csr } from './sparse.js';

/** Options of {@link pmi} and {@link ppmi}. */
export interface PmiOptions {
  /** Context-distribution smoothing exponent α in (0, 1] (default 1: none). */
  alpha?: number;
}

/** Options of {@link ppmi}. */
export interface PpmiOptions extends PmiOptions {
  /** k ≥ 1 of the shift log k (SGNS' number of negatives); 1 = unshifted PPMI (default 1). */
  negatives?: number;
}

function checkCounts(fn: string, counts: Csr): void {
  if (counts === null || typeof counts !== 'object' || !(counts.data instanceof Float64Array)) {
    throw new Error(`${fn}: counts must be a CSR matrix`);
  }
  if (counts.data.length === 0) throw new Error(`${fn}: counts has no non-zero entries (empty corpus?)`);
  for (let p = 0; p < counts.data.length; p++) {
    if (!(counts.data[p] > 0) || !Number.isFinite(counts.data[p])) {
      throw new Error(`${fn}: counts must be positive and finite, got ${counts.data[p]} at entry ${p}`);
    }
  }
}

function checkAlpha(fn: string, alpha: number): number {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha <= 1)) {
    throw new Error(`${fn}: alpha must be in (0, 1], got ${String(alpha)}`);
  }
  return alpha;
}

/** log #(w) and log P_α(c) for every row and column. */
export function pmiMarginals(counts: Csr, alpha = 1): { logRow: Float64Array; logContext: Float64Array } {
  checkAlpha('pmiMarginals', alpha);
  const rowSums = csrRowSums(counts);
  const colSums = csrColSums(counts);
  let z = 0;
  for (let c = 0; c < colSums.length; c++) if (colSums[c] > 0) z += Math.pow(colSums[c], alpha);
  const logZ = Math.log(z);
  const logRow = rowSums.map((s) => Math.log(s));
  const logContext = colSums.map((s) => alpha * Math.log(s) - logZ);
  return { logRow, logContext };
}

/** PMI of every observed pair (same sparsity as `counts`; values may be negative). */
export function pmi(counts: Csr, options: PmiOptions = {}): Csr {
  checkCounts('pmi', counts);
  const alpha = checkAlpha('pmi', options.alpha ?? 1);
  const { logRow, logContext } = pmiMarginals(counts, alpha);
  // An exact PMI of 0 would be dropped by csrMap; keep it as the smallest subnormal instead.
  return csrMap(counts, (n, w, c) => Math.log(n) - logRow[w] - logContext[c] || Number.MIN_VALUE);
}

/**
 * Shifted positive PMI: max(PMI(w,c) − log k, 0), stored sparse (entries that
 * become 0 are dropped). `negatives` = 1 gives PPMI.
 */
export function ppmi(counts: Csr, options: PpmiOptions = {}): Csr {
  checkCounts('ppmi', counts);
  const alpha = checkAlpha('ppmi', options.alpha ?? 1);
  const k = options.negatives ?? 1;
  if (typeof k !== 'number' || !Number.isFinite(k) || k < 1) {
    throw new Error(`ppmi: negatives (the shift k in log k) must be a number ≥ 1, got ${String(k)}`);
  }
  const shift = Math.log(k);
  const { logRow, logContext } = pmiMarginals(counts, alpha);
  return csrMap(counts, (n, w, c) => Math.max(Math.log(n) - logRow[w] - logContext[c] - shift, 0));
}
