/**
 * Performer's FAVOR+ attention: K. Choromanski et al., "Rethinking Attention
 * with Performers", arXiv 2009.14794.
 *
 * Positive random features (Lemma 1): for ω ~ N(0, I_d),
 *
 *   exp(xᵀy) = E_ω[ exp(ωᵀx − ‖x‖²/2) · exp(ωᵀy − ‖y‖²/2) ],
 *
 * so φ(x) = exp(Wx − ‖x‖²/2)/√m, W's m rows ω_i, gives an unbiased estimate
 * φ(q)ᵀφ(k) ≈ exp(qᵀk) whose terms are all positive (no cancellation, unlike
 * sin/cos features). Orthogonal random features (§2.4): the rows are drawn in
 * blocks of d exactly orthogonal directions, each row rescaled to the length
 * of an independent Gaussian vector, so every row is still marginally
 * N(0, I) (the estimate stays unbiased) while the variance drops.
 *
 * Softmax attention exp(qᵀk/√d) is estimated with φ applied to q/d^{1/4} and
 * k/d^{1/4}, then runs through the linear-attention machinery (linear.ts):
 * chunked for training, recurrent for decoding, causal or not. A query's
 * features are multiplied by e^{−max}, a per-row constant that cancels
 * between numerator and denominator (numerical safety; keys need none since
 * ωᵀk − ‖k‖²/2 ≤ ‖ω‖²/2).
 *
 * `redraw(key)` draws a new W (the paper redraws periodically in training).
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { normal as normalF64, split } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { div, exp, mul, square, sub } from '../../ops/elementwise.js';
import { max, sum } from '../../ops/reduce.js';
import { matmulT } from '../../ops/matmul.js';
import { param } from '../../nn/module.js';
import { KernelAttention, type KernelAttentionOptions } from './linear.js';
import type { DType } from '../../core/dtype.js';

/**
 * m random feature directions in d dimensions (m, d) from one Gaussian
 * matrix G: iid rows (G itself), or orthogonal blocks (Gram–Schmidt on each
 * d×d block of G, row i rescaled to ‖G_i‖). Row i's direction is uniform and
 * independent of its χ_d length, so each row is still N(0, I); the same key
 * gives coupled iid and orthogonal draws (a sharper comparison).
 */
export function randomFeatureMatrix(key: Key, m: number, d: number, opts: { orthogonal?: boolean; dtype?: DType } = {}): Tensor {
  const blocks = Math.ceil(m / d);
  const G = normalF64(key, blocks * d * d); // (blocks·d, d) iid N(0, 1)
  const W = new Float64Array(m * d);
  if (opts.orthogonal === false) W.set(G.subarray(0, m * d));
  else {
    for (let b = 0; b < blocks; b++) {
      const B = G.slice(b * d * d, (b + 1) * d * d);
      for (let i = 0; i < d && b * d + i < m; i++) {
        // Gram–Schmidt direction, the length of the Gaussian row it came from (χ_d, independent of the direction)
        let len = 0;
        for (let c = 0; c < d; c++) len += B[i * d + c]! ** 2;
        len = Math.sqrt(len);
        for (let j = 0; j < i; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += B[i * d + c]! * B[j * d + c]!;
          for (let c = 0; c < d; c++) B[i * d + c]! -= dot * B[j * d + c]!;
        }
        let nrm = 0;
        for (let c = 0; c < d; c++) nrm += B[i * d + c]! ** 2;
        nrm = Math.sqrt(nrm);
        for (let c = 0; c < d; c++) B[i * d + c]! /= nrm;
        for (let c = 0; c < d; c++) W[(b * d + i) * d + c] = B[i * d + c]! * len;
      }
    }
  }
  return tensor(W, [m, d], { dtype: opts.dtype });
}

/**
 * φ(x) = exp(Wx − ‖x‖²/2)/√m for x (…, d), W (m, d) → (…, m). With
 * `stabilize` each row is also multiplied by e^{−max_i (Wx)_i} (a constant per
 * row: the estimate of a ratio is unchanged).
 */
export function favorFeatures(x: Tensor, W: Tensor, opts: { stabilize?: boolean } = {}): Tensor {
  return tidy(() => {
    const m = W.shape[0]!;
    const wx = matmulT(x, W, false, true); // (…, m)
    let logits = sub(wx, div(sum(square(x), -1, true), 2));
    if (opts.stabilize) logits = sub(logits, max(wx.detach(), -1, true));
    return mul(exp(logits), 1 / Math.sqrt(m));
  });
}

export interface PerformerOptions extends KernelAttentionOptions {
  /** number of random features m (default max(d, round(d·ln d)), d the head width) */
  features?: number;
  /** orthogonal random features (default true) */
  orthogonal?: boolean;
}

/** FAVOR+ attention as a token mixer; `W` (m, headDim) is a non-trainable parameter. */
export class Performer extends KernelAttention {
  W: Tensor;
  readonly favor: Readonly<{ features: number; orthogonal: boolean }>;

  constructor(dModel: number, opts: PerformerOptions) {
    super(dModel, opts, 'Performer');
    const d = this.config.headDim;
    const m = opts.features ?? Math.max(d, Math.round(d * Math.log(d)));
    if (!Number.isInteger(m) || m < 1) throw new Error(`Performer: features must be a positive integer, got ${m}`);
    this.favor = { features: m, orthogonal: opts.orthogonal ?? true };
    // float32 unless told: a float64 W (the default of a tensor made from a Float64Array) would promote every product to float64
    this.W = param(randomFeatureMatrix(split(opts.key, 5)[4]!, m, d, { orthogonal: this.favor.orthogonal, dtype: opts.dtype ?? 'f32' }), false);
  }

  get featureDim(): number {
    return this.favor.features;
  }

  /** Draw new random features (in place: the module keeps its identity). */
  redraw(key: Key): void {
    const old = this.W;
    this.W = param(randomFeatureMatrix(key, this.favor.features, this.config.headDim, { orthogonal: this.favor.orthogonal, dtype: old.dtype }), false);
    old.dispose();
  }

  features(q: Tensor, k: Tensor): [Tensor, Tensor] {
    const s = this.config.headDim ** -0.25;
    return tidy(() => [favorFeatures(mul(q, s), this.W, { stabilize: true }), favorFeatures(mul(k, s), this.W)]);
  }
}
