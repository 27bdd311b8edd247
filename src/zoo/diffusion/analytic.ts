/**
 * Exact denoisers, scores and densities for data whose noised law is known
 * in closed form. They stand in for a trained network when testing
 * samplers and likelihoods: any error left is the sampler's own.
 *
 * Gaussian data x₀ ~ N(μ, Σ): x = x₀ + σε ~ N(μ, Σ + σ²I) and
 *   D(x; σ) = E[x₀ | x] = μ + Σ(Σ + σ²I)⁻¹(x − μ).
 *
 * Mixture data Σ_k w_k·N(μ_k, s_k²I): x ~ Σ_k w_k·N(μ_k, (s_k² + σ²)I) and
 *   D(x; σ) = Σ_k r_k(x)·(μ_k + s_k²/(s_k² + σ²)·(x − μ_k)),
 * r_k the posterior responsibility of component k at noise level σ
 * (Karras et al. 2206.00364, App. B.3 uses the same construction for their
 * ideal denoiser). Everything is written in tensor ops, so it differentiates
 * (exact divergence, Hutchinson probes) like a network would.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { add, exp, mul, square, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { logsumexp } from '../../ops/stats.js';
import { softmax } from '../../ops/nn.js';
import { matmul } from '../../ops/matmul.js';
import { reshape, unsqueeze } from '../../ops/views.js';
import { checkGmm, type Gmm } from '../data/gmm.js';
import type { Denoiser } from './denoiser.js';

// ---- small dense linear algebra in float64 (d is small here) --------------------------------

/** Inverse and log-determinant of a symmetric positive-definite d×d matrix by Cholesky. */
export function spdInverse(a: readonly (readonly number[])[]): { inv: number[][]; logdet: number } {
  const d = a.length;
  const L = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`spdInverse: the matrix is not positive definite (pivot ${i} is ${s})`);
        L[i]![i] = Math.sqrt(s);
      } else L[i]![j] = s / L[j]![j]!;
    }
  }
  // inverse of L by forward substitution, then A⁻¹ = L⁻ᵀL⁻¹
  const Li = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i]![k]! * Li[k]![c]!;
      Li[i]![c] = s / L[i]![i]!;
    }
  }
  const inv = Array.from({ length: d }, (_, i) =>
    Array.from({ length: d }, (_, j) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += Li[k]![i]! * Li[k]![j]!;
      return s;
    }),
  );
  let logdet = 0;
  for (let i = 0; i < d; i++) logdet += 2 * Math.log(L[i]![i]!);
  return { inv, logdet };
}

const plusSigma2 = (cov: readonly (readonly number[])[], sigma: number): number[][] => cov.map((row, i) => row.map((v, j) => v + (i === j ? sigma * sigma : 0)));

function checkGaussian(fn: string, mean: readonly number[], cov: readonly (readonly number[])[]): number {
  const d = mean.length;
  if (cov.length !== d || cov.some((r) => r.length !== d)) throw new Error(`${fn}: the mean has ${d} coordinates but the covariance is not ${d}×${d}`);
  return d;
}

/** The exact denoiser of N(mean, cov) data. */
export function gaussianDenoiser(mean: readonly number[], cov: readonly (readonly number[])[]): Denoiser {
  const d = checkGaussian('gaussianDenoiser', mean, cov);
  return (x, sigma) =>
    tidy(() => {
      const { inv } = spdInverse(plusSigma2(cov, sigma));
      // M = Σ(Σ + σ²I)⁻¹; D = μ + (x − μ)Mᵀ for row vectors
      const M = cov.map((row) => Array.from({ length: d }, (_, j) => row.reduce((s, v, k) => s + v * inv[k]![j]!, 0)));
      const mu = tensor(mean.slice(), [1, d], { dtype: x.dtype });
      const Mt = tensor(
        Array.from({ length: d * d }, (_, q) => M[q % d]![Math.floor(q / d)]!),
        [d, d],
        { dtype: x.dtype },
      );
      return add(mu, matmul(sub(x, mu), Mt));
    });
}

/** log N(x; mean, cov + σ²I) for each row of x (b, d) → (b). */
export function gaussianLogDensity(x: Tensor, mean: readonly number[], cov: readonly (readonly number[])[], sigma = 0): Tensor {
  const d = checkGaussian('gaussianLogDensity', mean, cov);
  return tidy(() => {
    const { inv, logdet } = spdInverse(plusSigma2(cov, sigma));
    const diff = sub(x, tensor(mean.slice(), [1, d], { dtype: x.dtype }));
    const quad = sum(mul(matmul(diff, tensor(inv.flat(), [d, d], { dtype: x.dtype })), diff), -1);
    return sub(mul(quad, -0.5), 0.5 * (d * Math.log(2 * Math.PI) + logdet));
  });
}

/** Per-component log w_k − (d/2)·log(2π v_k) − ‖x − μ_k‖²/(2v_k), v_k = s_k² + σ²: (b, K); and x − μ_k: (b, K, d). */
function gmmTerms(x: Tensor, g: Gmm, sigma: number): { logits: Tensor; diff: Tensor; v: number[] } {
  const { K, d, w } = checkGmm('gmm', g);
  if (x.ndim !== 2 || x.shape[1] !== d) throw new Error(`gmm: x must be (b, ${d}), got [${x.shape.join(', ')}]`);
  const v = g.stds.map((s) => s * s + sigma * sigma);
  const mu = tensor(g.means.flat(), [1, K, d], { dtype: x.dtype });
  const diff = sub(unsqueeze(x, 1), mu); // (b, K, d)
  const sq = sum(square(diff), -1); // (b, K)
  const invV = tensor(
    v.map((vk) => -0.5 / vk),
    [1, K],
    { dtype: x.dtype },
  );
  const consts = tensor(
    w.map((wk, k) => Math.log(wk) - 0.5 * d * Math.log(2 * Math.PI * v[k]!)),
    [1, K],
    { dtype: x.dtype },
  );
  return { logits: add(mul(sq, invV), consts), diff, v };
}

/** The exact denoiser of a Gaussian mixture with isotropic components. */
export function gmmDenoiser(g: Gmm): Denoiser {
  const K = g.means.length;
  return (x, sigma) =>
    tidy(() => {
      const { logits, diff, v } = gmmTerms(x, g, sigma);
      const r = softmax(logits, -1); // (b, K)
      const shrink = tensor(
        g.stds.map((s, k) => (s * s) / v[k]!),
        [1, K, 1],
        { dtype: x.dtype },
      );
      const mu = tensor(g.means.flat(), [1, K, x.shape[1]!], { dtype: x.dtype });
      const comp = add(mu, mul(diff, shrink)); // (b, K, d)
      return sum(mul(comp, unsqueeze(r, -1)), 1);
    });
}

/** log p(x; σ) of the mixture convolved with N(0, σ²I), per row: (b). */
export function gmmLogDensity(x: Tensor, g: Gmm, sigma = 0): Tensor {
  return tidy(() => logsumexp(gmmTerms(x, g, sigma).logits, -1));
}

/** Mixture responsibilities r_k(x) at noise level σ: (b, K). */
export function gmmResponsibilities(x: Tensor, g: Gmm, sigma = 0): Tensor {
  return tidy(() => softmax(gmmTerms(x, g, sigma).logits, -1));
}

/** The density p(x; σ) itself, for plotting: exp(log p). */
export function gmmDensity(x: Tensor, g: Gmm, sigma = 0): Tensor {
  return tidy(() => exp(gmmLogDensity(x, g, sigma)));
}

/** N(μ, s²I) as a one-component mixture. */
export function isotropicGaussian(mean: readonly number[], std: number): Gmm {
  return { weights: [1], means: [mean.slice()], stds: [std] };
}

/** log N(x; 0, v·I) per example (all axes after the first are flattened): the prior of the likelihood ODE. */
export function isotropicLogDensity(x: Tensor, variance: number): Tensor {
  return tidy(() => {
    const d = x.size / x.shape[0]!;
    const flat = reshape(x, [x.shape[0]!, d]);
    return sub(mul(sum(square(flat), -1), -0.5 / variance), 0.5 * d * Math.log(2 * Math.PI * variance));
  });
}

