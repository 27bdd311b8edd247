/**
 * Nearest-code search and codebook statistics for vector quantisation
 * (van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
 * Learning", arXiv 1711.00937, eq. 1–2):
 *
 *   k(z) = argminⱼ ‖z − eⱼ‖²,   z_q = e_{k(z)}
 *
 * Batched: ‖z − eⱼ‖² = ‖z‖² − 2·z·eⱼ + ‖eⱼ‖², so all n×K distances are one
 * (n, d)·(d, K) matmul plus two broadcasts — no (n, K, d) intermediate.
 *
 * Usage and perplexity describe how much of the codebook is alive:
 *   usage = |{j : some z picks j}| / K,   perplexity = exp(−Σⱼ p̄ⱼ log p̄ⱼ)
 * with p̄ the histogram of picked codes; perplexity K means uniform use,
 * 1 means total collapse onto one code.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, mul, square, sub } from '../../ops/elementwise.js';
import { matmulT } from '../../ops/matmul.js';
import { argmin, sum } from '../../ops/reduce.js';
import { reshape } from '../../ops/views.js';
import { noGrad } from '../../autodiff/tape.js';

/** Squared distances (n, K) between rows of z (n, d) and codes (K, d). */
export function squaredDistances(z: Tensor, codebook: Tensor): Tensor {
  if (z.ndim !== 2 || codebook.ndim !== 2 || z.shape[1] !== codebook.shape[1]) throw new Error(`squaredDistances: z is ${shapeStr(z.shape)} and the codebook ${shapeStr(codebook.shape)}; expected (n, d) and (K, d)`);
  return tidy(() => {
    const zz = sum(square(z), 1, true); // (n, 1)
    const ee = reshape(sum(square(codebook), 1), [1, codebook.shape[0]!]); // (1, K)
    return add(sub(zz, mul(matmulT(z, codebook, false, true), 2)), ee);
  });
}

/** The index (i32, (n,)) of the nearest code for each row of z (n, d); no gradient. */
export function nearestCode(z: Tensor, codebook: Tensor): Tensor {
  return noGrad(() => tidy(() => argmin(squaredDistances(z.detach(), codebook.detach()), 1)));
}

/** How many times each of K codes was picked. */
export function codeCounts(indices: Tensor | ArrayLike<number>, K: number): Float64Array {
  const idx = 'toF64' in (indices as object) ? (indices as Tensor).toF64() : (indices as ArrayLike<number>);
  const counts = new Float64Array(K);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    if (!(j >= 0 && j < K)) throw new Error(`codeCounts: index ${j} is out of range for ${K} codes`);
    counts[j]! += 1;
  }
  return counts;
}

/** The fraction of the K codes picked at least once. */
export function codebookUsage(indices: Tensor | ArrayLike<number>, K: number): number {
  const c = codeCounts(indices, K);
  let used = 0;
  for (const v of c) if (v > 0) used++;
  return used / K;
}

/** exp of the entropy (nats) of the code histogram: between 1 (one code) and K (uniform). */
export function perplexity(indices: Tensor | ArrayLike<number>, K: number): number {
  const c = codeCounts(indices, K);
  const n = c.reduce((a, b) => a + b, 0);
  if (n === 0) return 0;
  let h = 0;
  for (const v of c) if (v > 0) h -= (v / n) * Math.log(v / n);
  return Math.exp(h);
}
