/**
 * Codebook updates that are not gradient steps.
 *
 * EMA codebook — van den Oord et al., arXiv 1711.00937, Appendix A.1
 * (eq. 6–8), with Laplace smoothing of the counts as in Sonnet's
 * VectorQuantizerEMA: with nⱼ the number of encoder outputs assigned to code j
 * in the batch and sⱼ their sum,
 *
 *   Nⱼ ← γ·Nⱼ + (1 − γ)·nⱼ
 *   mⱼ ← γ·mⱼ + (1 − γ)·sⱼ
 *   Ñⱼ = (Nⱼ + ε) / (N + K·ε) · N,   N = Σⱼ Nⱼ
 *   eⱼ = mⱼ / Ñⱼ
 *
 * so each code tracks the running mean of the vectors assigned to it (online
 * k-means), and smoothing keeps a rarely used code from dividing by ~0.
 *
 * Dead-code restart (Dhariwal et al., Jukebox, arXiv 2005.00341, §3.2
 * "random restarts"; Zeghidour et al., SoundStream, arXiv 2107.03312): a code
 * whose running usage Nⱼ falls below a threshold is moved onto a random
 * encoder output of the current batch, so it is used again.
 *
 * These functions work on flat arrays in place (they are called on the
 * parameters' storage between optimiser steps, never inside a recorded graph).
 */

type Floats = Float32Array | Float64Array;

export interface EmaState {
  /** Nⱼ (K) */
  clusterSize: Floats;
  /** mⱼ (K·d, row-major) */
  embedSum: Floats;
  /** eⱼ (K·d): overwritten */
  codebook: Floats;
}

/** Counts nⱼ (K) and sums sⱼ (K·d) of the rows z (n·d) assigned to each code. */
export function assignmentStats(z: ArrayLike<number>, indices: ArrayLike<number>, K: number, d: number): { counts: Float64Array; sums: Float64Array } {
  const n = indices.length;
  if (z.length !== n * d) throw new Error(`assignmentStats: ${n} indices but ${z.length} values for d = ${d}`);
  const counts = new Float64Array(K);
  const sums = new Float64Array(K * d);
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    if (!(j >= 0 && j < K)) throw new Error(`assignmentStats: index ${j} is out of range for ${K} codes`);
    counts[j]! += 1;
    for (let c = 0; c < d; c++) sums[j * d + c]! += z[i * d + c]!;
  }
  return { counts, sums };
}

/** One EMA step of the codebook (eq. 6–8 with Laplace smoothing), in place. */
export function emaCodebookStep(state: EmaState, z: ArrayLike<number>, indices: ArrayLike<number>, d: number, decay: number, eps: number): void {
  const K = state.clusterSize.length;
  if (!(decay >= 0 && decay < 1)) throw new Error(`emaCodebookStep: decay must be in [0, 1), got ${decay}`);
  const { counts, sums } = assignmentStats(z, indices, K, d);
  let N = 0;
  for (let j = 0; j < K; j++) {
    state.clusterSize[j] = decay * state.clusterSize[j]! + (1 - decay) * counts[j]!;
    N += state.clusterSize[j]!;
  }
  for (let j = 0; j < K; j++) {
    const smoothed = ((state.clusterSize[j]! + eps) / (N + K * eps)) * N;
    for (let c = 0; c < d; c++) {
      const m = decay * state.embedSum[j * d + c]! + (1 - decay) * sums[j * d + c]!;
      state.embedSum[j * d + c] = m;
      state.codebook[j * d + c] = m / smoothed;
    }
  }
}

/** Running usage only: Nⱼ ← γ·Nⱼ + (1 − γ)·nⱼ (for codebooks trained by gradient, to find dead codes). */
export function emaUsageStep(clusterSize: Floats, indices: ArrayLike<number>, decay: number): void {
  const K = clusterSize.length;
  const counts = new Float64Array(K);
  for (let i = 0; i < indices.length; i++) counts[indices[i]!]! += 1;
  for (let j = 0; j < K; j++) clusterSize[j] = decay * clusterSize[j]! + (1 - decay) * counts[j]!;
}

/**
 * Move every code j with Nⱼ < threshold onto row `pick(j)` of z (n·d); reset its
 * usage to `resetCount` (and mⱼ = resetCount·z, so the EMA mean is the new code).
 * Returns the indices of the restarted codes.
 */
export function restartDeadCodes(
  state: { clusterSize: Floats; codebook: Floats; embedSum?: Floats | null },
  z: ArrayLike<number>,
  d: number,
  threshold: number,
  pick: (deadRank: number) => number,
  resetCount = 1,
): number[] {
  const K = state.clusterSize.length;
  const n = z.length / d;
  const dead: number[] = [];
  for (let j = 0; j < K; j++) if (state.clusterSize[j]! < threshold) dead.push(j);
  dead.forEach((j, r) => {
    const i = pick(r);
    if (!(i >= 0 && i < n)) throw new Error(`restartDeadCodes: picked row ${i} of a batch of ${n}`);
    for (let c = 0; c < d; c++) {
      state.codebook[j * d + c] = z[i * d + c]!;
      if (state.embedSum) state.embedSum[j * d + c] = resetCount * z[i * d + c]!;
    }
    state.clusterSize[j] = resetCount;
  });
  return dead;
}
