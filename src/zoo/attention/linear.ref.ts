/**
 * The parallel (quadratic) form of linear attention, the naive twin of the
 * chunked and recurrent forms in linear.ts. A. Katharopoulos et al.,
 * "Transformers are RNNs: Fast Autoregressive Transformers with Linear
 * Attention", arXiv 2006.16236, eq. (4)-(5):
 *
 *   O_i = Σ_j A_ij V_j / Σ_j A_ij,   A_ij = φ(Q_i)·φ(K_j)  (j ≤ i when causal),
 *
 * formed as the (n, n) matrix A: O(n²d) time and O(n²) memory.
 *
 * `normalize: false` drops the denominator (TransNormer's NormAttention
 * numerator, Qin et al. 2022, arXiv 2210.10340 eq. (9)); `eps` is added to
 * the denominator in every form alike.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, div, mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { tril } from '../../ops/join.js';

export interface LinearAttentionOptions {
  causal?: boolean;
  /** divide by Σ_j A_ij (default true) */
  normalize?: boolean;
  /** added to the denominator (default 1e-6) */
  eps?: number;
}

/** fq (…, n, f), fk (…, n, f): features φ(Q), φ(K); v (…, n, dv) → (…, n, dv). */
export function linearAttentionParallel(fq: Tensor, fk: Tensor, v: Tensor, opts: LinearAttentionOptions = {}): Tensor {
  return tidy(() => {
    const A = matmulT(fq, fk, false, true); // (…, n, n)
    return applyAttentionMap(opts.causal ? tril(A) : A, v, opts);
  });
}

/**
 * O = A V / (A 1 + eps), or A V when `normalize` is false: the step after the
 * attention map A (…, n, n) is formed, exposed so tests can differentiate with
 * respect to A itself (TransNormer §3.1 analyses exactly this gradient).
 */
export function applyAttentionMap(A: Tensor, v: Tensor, opts: { normalize?: boolean; eps?: number } = {}): Tensor {
  return tidy(() => {
    const num = matmul(A, v);
    if (opts.normalize === false) return num;
    return div(num, add(sum(A, -1, true), opts.eps ?? 1e-6));
  });
}

/**
 * The same with an explicit weight matrix multiplying A elementwise (cosFormer's
 * cos(π(i − j)/2M) re-weighting, tests of decompositions): O = (A∘W)V / rowsum(A∘W).
 */
export function reweightedAttentionParallel(fq: Tensor, fk: Tensor, v: Tensor, w: Tensor, opts: LinearAttentionOptions = {}): Tensor {
  return tidy(() => {
    const A = mul(matmulT(fq, fk, false, true), w);
    return applyAttentionMap(opts.causal ? tril(A) : A, v, opts);
  });
}
