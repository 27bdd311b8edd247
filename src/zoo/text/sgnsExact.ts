/**
 * The SGNS objective in expectation over a corpus, trained full-batch in
 * float64: the model SGD in `sgns.ts` samples, without the sampling.
 *
 * Levy & Goldberg, "Neural word embedding as implicit matrix factorization"
 * (NIPS 2014), §3.1: summing the SGNS loss over every pair of the corpus and
 * taking the expectation over the k negatives drawn from P_α gives
 *
 *   ℓ(W, C) = Σ_w Σ_c  #(w,c)·log σ(x_wc) + k·#(w)·P_α(c)·log σ(−x_wc),   x = W·Cᵀ,
 *
 * with #(w) = Σ_c #(w,c). Each x_wc enters one concave term, maximised at
 * σ(x) = #(w,c) / (#(w,c) + k·#(w)·P_α(c)), i.e. x_wc = PMI_α(w,c) − log k.
 * With d ≥ V dimensions W·Cᵀ can take any value, so a minimiser of −ℓ reaches
 * it; with fewer, SGNS is a weighted low-rank factorisation of the shifted
 * PMI matrix — the claim the tests check against `ppmi.ts`.
 *
 * Minimised with L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed.,
 * Alg. 7.4 two-loop recursion, Armijo backtracking line search) on −ℓ / Σ#.
 */
import { normal, type Key } from '../../core/random.js';
import { csrRowSums, csrToDense, type Csr } from './sparse.js';

/** Options of {@link fitSgnsExact}. */
export interface SgnsExactOptions {
  /** Width d (default: the vocabulary size, enough to reach the unconstrained optimum). */
  dim?: number;
  /** k (default 5). */
  negatives?: number;
  /** Context-distribution exponent α of P_α (default 0.75). */
  alpha?: number;
  /** Iteration cap (default 5000). */
  maxIterations?: number;
  /** Stop when the gradient's max-norm falls below this (default 1e-10). */
  tolerance?: number;
  /** Initial scale of the Gaussian init (default 0.1). */
  initScale?: number;
  /** PRNG key for the initialisation. */
  key: Key;
}

/** Result of {@link fitSgnsExact}. */
export interface SgnsExactResult {
  /** W (V×d) and C (V×d), float64. */
  w: Float64Array;
  c: Float64Array;
  dim: number;
  /** −ℓ / Σ# at the end. */
  loss: number;
  /** Max |∂(−ℓ/Σ#)/∂θ| at the end. */
  gradMax: number;
  iterations: number;
}

/** −ℓ/Σ# and its gradient with respect to θ = [W; C] for dense counts n (V×V). */
function lossAndGrad(
  theta: Float64Array, grad: Float64Array, n: Float64Array, negMass: Float64Array, v: number, d: number, total: number,
): number {
  const wOff = 0;
  const cOff = v * d;
  grad.fill(0);
  let loss = 0;
  for (let a = 0; a < v; a++) {
    for (let b = 0; b < v; b++) {
      let x = 0;
      for (let t = 0; t < d; t++) x += theta[wOff + a * d + t] * theta[cOff + b * d + t];
      const pos = n[a * v + b];
      const neg = negMass[a * v + b];
      // log σ(x) = −softplus(−x), log σ(−x) = −softplus(x), computed stably.
      loss += (pos * softplus(-x) + neg * softplus(x)) / total;
      const sig = 1 / (1 + Math.exp(-x));
      const gx = (-pos * (1 - sig) + neg * sig) / total; // ∂loss/∂x
      if (gx === 0) continue;
      for (let t = 0; t < d; t++) {
        grad[wOff + a * d + t] += gx * theta[cOff + b * d + t];
        grad[cOff + b * d + t] += gx * theta[wOff + a * d + t];
      }
    }
  }
  return loss;
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * Minimises the expected SGNS loss for the co-occurrence counts `counts`
 * (V×V; small V only: the objective is evaluated densely, O(V²·d)).
 */
export function fitSgnsExact(counts: Csr, options: SgnsExactOptions): SgnsExactResult {
  const fn = 'fitSgnsExact';
  const v = counts.rows;
  if (counts.cols !== v) throw new Error(`${fn}: counts must be square, got ${counts.rows}x${counts.cols}`);
  if (v > 2000) throw new Error(`${fn}: the dense objective is for small vocabularies (≤ 2000), got ${v}`);
  if (counts.data.length === 0) throw new Error(`${fn}: counts has no non-zero entries`);
  const d = options.dim ?? v;
  const k = options.negatives ?? 5;
  const alpha = options.alpha ?? 0.75;
  if (!Number.isSafeInteger(d) || d < 1) throw new Error(`${fn}: dim must be a positive integer, got ${d}`);
  if (!(k >= 1)) throw new Error(`${fn}: negatives (k) must be ≥ 1, got ${k}`);
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`${fn}: alpha must be in (0, 1], got ${alpha}`);
  const maxIterations = options.maxIterations ?? 5000;
  const tolerance = options.tolerance ?? 1e-10;

  const n = csrToDense(counts);
  const rowSums = csrRowSums(counts);
  const colPow = new Float64Array(v);
  let z = 0;
  for (let i = 0; i < v * v; i++) colPow[i % v] += n[i];
  for (let c = 0; c < v; c++) {
    colPow[c] = colPow[c] > 0 ? Math.pow(colPow[c], alpha) : 0;
    z += colPow[c];
  }
  let total = 0;
  const negMass = new Float64Array(v * v);
  for (let a = 0; a < v; a++) {
    total += rowSums[a];
    for (let b = 0; b < v; b++) negMass[a * v + b] = (k * rowSums[a] * colPow[b]) / z;
  }

  const size = 2 * v * d;
  const theta = normal(options.key, size, 0, options.initScale ?? 0.1);
  const grad = new Float64Array(size);
  let loss = lossAndGrad(theta, grad, n, negMass, v, d, total);
  const memory = 10;
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const dir = new Float64Array(size);
  const alphas = new Float64Array(memory);
  const trial = new Float64Array(size);
  const trialGrad = new Float64Array(size);
  let iterations = 0;
  const maxAbs = (x: Float64Array): number => x.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
  const dot = (x: Float64Array, y: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * y[i];
    return s;
  };

  while (iterations < maxIterations && maxAbs(grad) > tolerance) {
    iterations++;
    // Two-loop recursion: dir = −H·grad.
    for (let i = 0; i < size; i++) dir[i] = -grad[i];
    for (let h = sHist.length - 1; h >= 0; h--) {
      alphas[h] = dot(sHist[h], dir) / dot(yHist[h], sHist[h]);
      for (let i = 0; i < size; i++) dir[i] -= alphas[h] * yHist[h][i];
    }
    if (sHist.length > 0) {
      const last = sHist.length - 1;
      const gamma = dot(sHist[last], yHist[last]) / dot(yHist[last], yHist[last]);
      for (let i = 0; i < size; i++) dir[i] *= gamma;
    }
    for (let h = 0; h < sHist.length; h++) {
      const beta = dot(yHist[h], dir) / dot(yHist[h], sHist[h]);
      for (let i = 0; i < size; i++) dir[i] += (alphas[h] - beta) * sHist[h][i];
    }
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Not a descent direction (curvature lost): restart from steepest descent.
      sHist.length = 0;
      yHist.length = 0;
      for (let i = 0; i < size; i++) dir[i] = -grad[i];
      slope = dot(grad, dir);
    }
    let step = sHist.length === 0 ? Math.min(1, 1 / Math.max(maxAbs(grad), 1e-300)) : 1;
    let trialLoss = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < size; i++) trial[i] = theta[i] + step * dir[i];
      trialLoss = lossAndGrad(trial, trialGrad, n, negMass, v, d, total);
      if (trialLoss <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(trialLoss <= loss)) break; // no further progress is representable in float64
    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      s[i] = trial[i] - theta[i];
      y[i] = trialGrad[i] - grad[i];
    }
    if (dot(s, y) > 1e-300) {
      sHist.push(s);
      yHist.push(y);
      if (sHist.length > memory) {
        sHist.shift();
        yHist.shift();
      }
    }
    theta.set(trial);
    grad.set(trialGrad);
    loss = trialLoss;
  }
  return { w: theta.slice(0, v * d), c: theta.slice(v * d), dim: d, loss, gradMax: maxAbs(grad), iterations };
}
