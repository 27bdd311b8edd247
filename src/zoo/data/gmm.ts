/**
 * Gaussian mixtures with isotropic components, Σ_k w_k·N(μ_k, s_k²·I): toy
 * data whose density, score and denoiser are known in closed form, so
 * samplers and likelihoods can be checked against exact answers.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { defaultFloat, tensor } from '../../ops/creation.js';

export interface Gmm {
  /** mixture weights (normalised on use) */
  weights: readonly number[];
  /** component means, K × d */
  means: readonly (readonly number[])[];
  /** component standard deviations (isotropic), K */
  stds: readonly number[];
}

export function checkGmm(fn: string, g: Gmm): { K: number; d: number; w: number[] } {
  const K = g.means.length;
  if (K === 0) throw new Error(`${fn}: the mixture has no components`);
  const d = g.means[0]!.length;
  if (g.weights.length !== K || g.stds.length !== K) throw new Error(`${fn}: ${K} means but ${g.weights.length} weights and ${g.stds.length} stds`);
  g.means.forEach((m, k) => {
    if (m.length !== d) throw new Error(`${fn}: mean ${k} has ${m.length} coordinates, mean 0 has ${d}`);
  });
  g.stds.forEach((s, k) => {
    if (!(s >= 0)) throw new Error(`${fn}: stds[${k}] must be non-negative, got ${s}`);
  });
  const total = g.weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || g.weights.some((x) => !(x >= 0))) throw new Error(`${fn}: weights must be non-negative with a positive sum, got ${JSON.stringify(g.weights)}`);
  return { K, d, w: g.weights.map((x) => x / total) };
}

/** n samples (n, d) and the component each came from. */
export function sampleGmmWithLabels(key: Key, g: Gmm, n: number, opts: { dtype?: DType } = {}): { x: Tensor; labels: Int32Array } {
  const { K, d, w } = checkGmm('sampleGmm', g);
  const [kc, kz] = prng.split(key, 2);
  const u = prng.uniform(kc!, n);
  const z = prng.normal(kz!, n * d);
  const out = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const cdf: number[] = [];
  w.reduce((acc, x) => (cdf.push(acc + x), acc + x), 0);
  for (let i = 0; i < n; i++) {
    let k = 0;
    while (k < K - 1 && u[i]! >= cdf[k]!) k++;
    labels[i] = k;
    for (let j = 0; j < d; j++) out[i * d + j] = g.means[k]![j]! + g.stds[k]! * z[i * d + j]!;
  }
  return { x: tensor(out, [n, d], { dtype: opts.dtype ?? defaultFloat() }), labels };
}

/** n samples (n, d) of the mixture. */
export function sampleGmm(key: Key, g: Gmm, n: number, opts: { dtype?: DType } = {}): Tensor {
  return sampleGmmWithLabels(key, g, n, opts).x;
}

/**
 * The "8 Gaussians" of FFJORD (Grathwohl et al., arXiv 1810.01367) and the
 * flow-matching papers: equal weights on the points of radius 2√2 at angles
 * kπ/4, each with standard deviation 1/(2√2). The components barely overlap,
 * so the entropy is ln 8 + ln(2πe·σ²) ≈ 2.838 nats.
 */
export function eightGaussiansGmm(): Gmm {
  const r = 4 / Math.SQRT2;
  const means = Array.from({ length: 8 }, (_, k) => [r * Math.cos((k * Math.PI) / 4), r * Math.sin((k * Math.PI) / 4)]);
  return { weights: new Array(8).fill(1), means, stds: new Array(8).fill(0.5 / Math.SQRT2) };
}
