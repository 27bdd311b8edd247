/**
 * Transformer-VQ: L. D. Lingle, "Transformer-VQ: Linear-Time Transformers via
 * Vector Quantization", arXiv 2309.16354.
 *
 * Keys are quantised to a codebook C of S codes (per head): z_j = argmin_s
 * ‖k_j − C_s‖², K̂ = ΔC with Δ the one-hot codes (§3.1), passed to attention
 * with the straight-through estimator K̂ = K + sg(ΔC − K). Then
 * softmax(QK̂ᵀ)V only needs, for keys far back, exp(QCᵀ) (n × S) and per-code
 * sums of values (§3.3): a compressive cache
 *
 *   U = Σ_j Δ_jᵀ v_j  (S × dv),   c = Σ_j Δ_j  (the per-code counts).
 *
 * Causal block form (Theorem 3.7, block length L): the queries of block t
 * attend exactly to the keys of blocks t − 1 and t (causal inside block t) and
 * to the cache of blocks ≤ t − 2; the two parts are merged as partial softmaxes
 * (partial.ts): cost O(n·(L + S)·d) and O(n·S) memory. Non-causal: the whole
 * sequence is one cache.
 *
 * Codebook learning (§3.4): a commitment loss β‖K − sg(K̂)‖² and EMA updates
 * (N_s ← γN_s + (1 − γ)n_s, m_s ← γm_s + (1 − γ)Σ_{z_j = s} k_j, C_s = m_s/N_s
 * with Laplace smoothing) in training mode; C receives no gradient.
 *
 * Gradients: with respect to q and v the block form equals quadratic
 * attention over K̂ exactly; keys get their straight-through gradient where
 * they are attended exactly (the last two blocks) and from the commitment
 * loss; cached keys enter only through their codes, as in the paper's
 * linear-time recurrence. Naive twin: attentionRef over K̂ (vq.ref.ts).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { add, mul, square, sub } from '../../ops/elementwise.js';
import { argmin, sum } from '../../ops/reduce.js';
import { mean } from '../../ops/stats.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { concat, pad } from '../../ops/join.js';
import { cumsum, shiftAxis } from '../../ops/cumulative.js';
import { slice } from '../../ops/slice.js';
import { reshape, unsqueeze } from '../../ops/views.js';
import { mergePartials, partialSoftmax } from './partial.js';

export interface Quantized {
  /** (…, n) i32 code of each key */
  codes: Tensor;
  /** (…, n, S) one-hot of the codes (the key's dtype; no gradient) */
  onehot: Tensor;
  /** (…, n, dk) straight-through quantised keys: the value of ΔC, the gradient of K */
  kHat: Tensor;
}

/** Quantise keys k (b, h, n, dk) with per-head codebooks C (h, S, dk). */
export function quantizeKeys(k: Tensor, C: Tensor): Quantized {
  return tidy(() => {
    const S = C.shape[1]!;
    const Cb = unsqueeze(C.detach(), 0); // (1, h, S, dk)
    const kd = k.detach();
    // ‖k − C_s‖² up to the per-key constant ‖k‖²
    const d2 = sub(unsqueeze(sum(square(Cb), -1), -2), mul(matmulT(kd, Cb, false, true), 2));
    const codes = argmin(d2, -1);
    const z = codes.toF64();
    const oh = new Float64Array(z.length * S);
    z.forEach((c, i) => (oh[i * S + c] = 1));
    const onehot = tensor(oh, [...codes.shape, S], { dtype: k.dtype });
    const q = matmul(onehot, Cb);
    return { codes, onehot, kHat: add(k, sub(q, kd)) };
  });
}

/** β·mean‖k − sg(K̂)‖²: pulls keys toward their codes. */
export function commitmentLoss(k: Tensor, kHat: Tensor, beta = 0.25): Tensor {
  return tidy(() => mul(mean(square(sub(k, kHat.detach()))), beta));
}

export interface VqAttentionOptions {
  causal?: boolean;
  /** block length L (default 64) */
  block?: number;
  scale?: number;
}

/**
 * Attention over quantised keys in linear time. q (b, h, n, dk); kHat and
 * onehot from `quantizeKeys`; C (h, S, dk); v (b, h, n, dv) → (b, h, n, dv).
 */
export function vqAttention(q: Tensor, kHat: Tensor, onehot: Tensor, C: Tensor, v: Tensor, opts: VqAttentionOptions = {}): Tensor {
  return tidy(() => {
    const [b, h, n, dk] = q.shape as [number, number, number, number];
    const dv = v.shape[3]!;
    const scale = opts.scale ?? 1 / Math.sqrt(dk);
    const Cb = unsqueeze(C.detach(), 0); // (1, h, S, dk)
    if (!opts.causal) {
      // one cache for the whole sequence: U = Δᵀv, counts c = Σ Δ
      const U = matmulT(onehot, v, true, false); // (b, h, S, dv)
      const counts = unsqueeze(sum(onehot, -2), -2); // (b, h, 1, S)
      return mergePartials([partialSoftmax(mul(matmulT(q, Cb, false, true), scale), U, { weights: counts })]);
    }
    const L = opts.block ?? 64;
    const N = Math.ceil(n / L);
    const p = N * L - n;
    const blocks = (x: Tensor): Tensor => reshape(p ? pad(x, [[0, 0], [0, 0], [0, p], [0, 0]]) : x, [b, h, N, L, x.shape[3]!]);
    const [qB, kB, vB, dB] = [q, kHat, v, onehot].map(blocks) as [Tensor, Tensor, Tensor, Tensor]; // (b, h, N, L, ·)
    // exact part: the previous block and the current one (causal), never padding
    const kLoc = concat([shiftAxis(kB, 2, 1), kB], 3); // (b, h, N, 2L, dk)
    const vLoc = concat([shiftAxis(vB, 2, 1), vB], 3);
    const allowed = new Uint8Array(N * L * 2 * L);
    for (let t = 0; t < N; t++) {
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < 2 * L; j++) {
          const pos = (t - 1) * L + j; // absolute position of local key j
          allowed[(t * L + i) * 2 * L + j] = pos >= 0 && pos < n && pos <= t * L + i ? 1 : 0;
        }
      }
    }
    const local = partialSoftmax(mul(matmulT(qB, kLoc, false, true), scale), vLoc, { allowed: tensor(allowed, [N, L, 2 * L], { dtype: 'bool' }) });
    // cache part: blocks ≤ t − 2, per code: U = Σ Δᵀv and the counts
    const Ublk = matmulT(dB, vB, true, false); // (b, h, N, S, dv)
    const cblk = sum(dB, -2); // (b, h, N, S)
    const Ucache = shiftAxis(cumsum(Ublk, 2), 2, 2);
    const counts = unsqueeze(shiftAxis(cumsum(cblk, 2), 2, 2), -2); // (b, h, N, 1, S)
    const cached = partialSoftmax(mul(matmulT(qB, unsqueeze(Cb, 2), false, true), scale), Ucache, { weights: counts });
    const o = reshape(mergePartials([local, cached]), [b, h, N * L, dv]);
    return p ? slice(o, [null, null, { stop: n }]) : o;
  });
}

/** The per-code counts of the cache after the whole sequence: Σ_j Δ_j, (b, h, S). */
export function codeCounts(onehot: Tensor): Tensor {
  return sum(onehot, -2);
}

/** One query row (b, h, 1, dk) against exact recent keys and a cache (U, counts): the decoding step of the block form. */
export function vqStepAttention(q: Tensor, kRecent: Tensor, vRecent: Tensor, C: Tensor, U: Tensor, counts: Tensor, scale: number): Tensor {
  return tidy(() => {
    const recent = kRecent.shape[2]! > 0 ? [partialSoftmax(mul(matmulT(q, kRecent, false, true), scale), vRecent)] : [];
    const cached = partialSoftmax(mul(matmulT(q, unsqueeze(C.detach(), 0), false, true), scale), U, { weights: unsqueeze(counts, -2) });
    return mergePartials([...recent, cached]);
  });
}
