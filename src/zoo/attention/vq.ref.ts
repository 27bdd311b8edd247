/**
 * The naive twin of Transformer-VQ's block form (vq.ts): quadratic softmax
 * attention over the quantised keys K̂ (Lingle, arXiv 2309.16354, §3.2, the
 * "quadratic-time formulation" its Theorem 3.7 rewrites).
 */
import type { Tensor } from '../../core/tensor.js';
import { attentionRef } from './attention.ref.js';

/** softmax(q K̂ᵀ·scale + M) v with the full (n, n) score matrix. */
export function vqAttentionQuadratic(q: Tensor, kHat: Tensor, v: Tensor, opts: { causal?: boolean; scale?: number } = {}): Tensor {
  return attentionRef(q, kHat, v, { causal: opts.causal, scale: opts.scale });
}
