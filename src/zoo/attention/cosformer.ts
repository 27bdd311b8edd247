/**
 * cosFormer: Z. Qin et al., "cosFormer: Rethinking Softmax in Attention",
 * arXiv 2202.08791, eq. (7)-(10). The similarity is ReLU features re-weighted
 * by a cosine of the distance, which puts more weight on nearby tokens:
 *
 *   s(Q_i, K_j) = ReLU(Q_i) ReLU(K_j)ᵀ cos(π(i − j)/2M),
 *
 * and by cos(a − b) = cos a cos b + sin a sin b the weight splits into a
 * query part and a key part, so the attention stays linear:
 *
 *   φ_q(i) = [ReLU(Q_i) cos(πi/2M), ReLU(Q_i) sin(πi/2M)],
 *   φ_k(j) = [ReLU(K_j) cos(πj/2M), ReLU(K_j) sin(πj/2M)],
 *   s(Q_i, K_j) = φ_q(i)·φ_k(j)  (features of width 2d),
 *
 * run through the chunked and recurrent linear-attention forms (linear.ts).
 * M must be at least the sequence length so every weight stays ≥ 0: the
 * paper takes M = n; here M is fixed (`maxLength`, default 2048) when causal so
 * that decoding token by token sees the same weights as the full pass, and
 * defaults to n for a non-causal mixer.
 *
 * Naive twin: `cosformerQuadratic`, the (n, n) re-weighted matrix itself.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { cos, mul, relu, sin } from '../../ops/elementwise.js';
import { concat } from '../../ops/join.js';
import { reshape } from '../../ops/views.js';
import { KernelAttention, type KernelAttentionOptions } from './linear.js';
import { reweightedAttentionParallel } from './linear.ref.js';

/** Angles πp/2M of positions offset … offset + n − 1, as a (n, 1) tensor of the dtype. */
function angles(n: number, offset: number, M: number, like: Tensor): Tensor {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.PI * (offset + i)) / (2 * M);
  return tensor(a, [n, 1], { dtype: like.dtype });
}

/** The cosFormer features of x (…, n, d) at positions offset …: (…, n, 2d). */
export function cosformerFeatures(x: Tensor, offset: number, M: number): Tensor {
  return tidy(() => {
    const n = x.shape[x.ndim - 2]!;
    const a = angles(n, offset, M, x);
    const r = relu(x);
    return concat([mul(r, cos(a)), mul(r, sin(a))], -1);
  });
}

/** The quadratic form s_ij = ReLU(q_i)·ReLU(k_j) cos(π(i − j)/2M), normalised by rows. q, k, v (…, n, ·). */
export function cosformerQuadratic(q: Tensor, k: Tensor, v: Tensor, opts: { causal?: boolean; M?: number; eps?: number } = {}): Tensor {
  return tidy(() => {
    const n = q.shape[q.ndim - 2]!;
    const M = opts.M ?? n;
    const w = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i * n + j] = Math.cos((Math.PI * (i - j)) / (2 * M));
    return reweightedAttentionParallel(relu(q), relu(k), v, reshape(tensor(w, [n, n], { dtype: q.dtype }), [n, n]), { causal: opts.causal, eps: opts.eps });
  });
}

export interface CosformerOptions extends KernelAttentionOptions {
  /** M of the re-weighting (≥ the longest sequence); default 2048 when causal, else n */
  maxLength?: number;
}

/** cosFormer attention as a token mixer. */
export class Cosformer extends KernelAttention {
  readonly maxLength: number | undefined;

  constructor(dModel: number, opts: CosformerOptions) {
    super(dModel, opts, 'Cosformer');
    this.maxLength = opts.maxLength ?? (this.causal ? 2048 : undefined);
    if (this.maxLength !== undefined && (!Number.isInteger(this.maxLength) || this.maxLength < 1)) throw new Error(`Cosformer: maxLength must be a positive integer, got ${this.maxLength}`);
  }

  get featureDim(): number {
    return 2 * this.config.headDim;
  }

  features(q: Tensor, k: Tensor, offset: number): [Tensor, Tensor] {
    const n = q.shape[2]!;
    const M = this.maxLength ?? n;
    if (offset + n > M) throw new Error(`Cosformer: position ${offset + n - 1} is past maxLength ${M}; the cos re-weighting would turn negative`);
    return [cosformerFeatures(q, offset, M), cosformerFeatures(k, offset, M)];
  }
}
