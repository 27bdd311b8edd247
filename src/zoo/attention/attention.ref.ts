/**
 * Scaled dot-product attention written plainly in tensor ops: the naive twin
 * of every fused or clever form in this folder (FlashAttention, the sparse
 * patterns, DiagAttention, Transformer-VQ's block form are all tested against
 * it).
 *
 * A. Vaswani et al., "Attention Is All You Need", arXiv 1706.03762, eq. (1):
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ · scale + B + M) V,   scale = 1/√d
 *
 * with B an optional additive bias (ALiBi, relative positions) and M the mask
 * (0 where a query may see a key, −∞ elsewhere). Grouped-query attention
 * (Ainslie et al. 2023, arXiv 2305.13245) shares each key/value head among
 * h/h_kv query heads; multi-query attention (Shazeer 2019, arXiv 1911.02150)
 * is the case h_kv = 1. The query heads of a group are laid out contiguously:
 * query head i reads key/value head ⌊i·h_kv/h⌋ (PyTorch's and Llama's layout).
 *
 * Causal alignment: with nq queries and nk ≥ nq keys the queries are the last
 * nq positions (decoding with a KV cache), so query i sees key j iff
 * j ≤ i + nk − nq.
 *
 * A row whose keys are all masked (e.g. a padding query with left padding)
 * outputs zeros and has zero gradient, where PyTorch gives NaN: the softmax
 * below never exponentiates −∞ and never divides by zero.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, div, exp, gt, isfinite, logicalAnd, mul, sub, where } from '../../ops/elementwise.js';
import { max, sum } from '../../ops/reduce.js';
import { matmulT } from '../../ops/matmul.js';
import { reshape } from '../../ops/views.js';
import { dropout } from '../../nn/dropout.js';
import { causalMask } from './masks.js';

export interface AttentionOptions {
  /** query i sees key j iff j ≤ i + nk − nq */
  causal?: boolean;
  /** bool, broadcastable to (b, h, nq, nk): true where a query may see a key (a tree mask, a sparse pattern, ...) */
  mask?: Tensor;
  /** bool (b, nk): true where a key is real, false where it is padding */
  keyPadding?: Tensor;
  /** additive bias broadcastable to (b, h, nq, nk) (ALiBi, relative position bias) */
  bias?: Tensor;
  /** multiplies QKᵀ (default 1/√d) */
  scale?: number;
  /** dropout rate on the attention weights (training); needs `key` when > 0 */
  dropout?: number;
  key?: Key;
}

/** Shapes of (q, k, v) checked; returns the sizes. q (b, h, nq, d), k (b, hkv, nk, d), v (b, hkv, nk, dv). */
export function attentionDims(op: string, q: Tensor, k: Tensor, v: Tensor): { b: number; h: number; hkv: number; nq: number; nk: number; d: number; dv: number } {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new Error(`${op}: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} must all be (b, heads, n, d)`);
  const [b, h, nq, d] = q.shape as [number, number, number, number];
  const [bk, hkv, nk, dk] = k.shape as [number, number, number, number];
  const [bv, hv, nv, dv] = v.shape as [number, number, number, number];
  if (bk !== b || bv !== b) throw new Error(`${op}: batch sizes differ: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`);
  if (dk !== d) throw new Error(`${op}: q ${shapeStr(q.shape)} and k ${shapeStr(k.shape)} have different head widths ${d} and ${dk}`);
  if (hv !== hkv || nv !== nk) throw new Error(`${op}: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} must have the same heads and length`);
  if (hkv < 1 || h % hkv !== 0) throw new Error(`${op}: q has ${h} heads, which is not a multiple of the ${hkv} key/value heads`);
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new Error(`${op}: q, k, v must share a dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  return { b, h, hkv, nq, nk, d, dv };
}

/**
 * softmax over the last axis restricted to `allowed` (bool, broadcastable):
 * P_ij = allowed_ij·exp(s_ij − m_i) / Σ_j allowed_ij·exp(s_ij − m_i), m_i the
 * (detached) maximum over allowed entries; rows with nothing allowed are 0.
 */
export function maskedSoftmax(s: Tensor, allowed: Tensor | null): Tensor {
  return tidy(() => {
    if (!allowed) {
      const m = max(s.detach(), -1, true);
      const e = exp(sub(s, where(isfinite(m), m, 0)));
      return div(e, sum(e, -1, true));
    }
    const sm = where(allowed, s.detach(), -Infinity);
    const m0 = max(sm, -1, true);
    const m = where(isfinite(m0), m0, 0);
    // masked entries are replaced by m before exp (never exp(−∞) or an overflow), then zeroed
    const e = where(allowed, exp(sub(where(allowed, s, m), m)), 0);
    const z = sum(e, -1, true);
    return div(e, where(gt(z, 0), z, 1));
  });
}

/** The combined boolean mask of the options, broadcastable to (b, 1, nq, nk), or null when nothing is masked. */
export function combinedMask(opts: AttentionOptions, b: number, nq: number, nk: number, op = 'attention'): Tensor | null {
  return tidy(() => {
    let m: Tensor | null = null;
    const and = (x: Tensor): void => {
      m = m ? logicalAnd(m, x) : x;
    };
    if (opts.causal) {
      if (nk < nq) throw new Error(`${op}: causal attention needs at least as many keys as queries, got nq ${nq} and nk ${nk}`);
      and(causalMask(nq, nk));
    }
    if (opts.keyPadding) {
      const p = opts.keyPadding;
      if (p.dtype !== 'bool' || p.ndim !== 2 || p.shape[0] !== b || p.shape[1] !== nk) throw new Error(`${op}: keyPadding must be bool (b = ${b}, nk = ${nk}), got ${p.describe()}`);
      and(reshape(p, [b, 1, 1, nk]));
    }
    if (opts.mask) {
      if (opts.mask.dtype !== 'bool') throw new Error(`${op}: mask must be bool (true = may attend), got ${opts.mask.describe()}`);
      and(opts.mask);
    }
    return m;
  });
}

/**
 * Naive attention: forms the (b, h, nq, nk) score matrix. q (b, h, nq, d),
 * k (b, hkv, nk, d), v (b, hkv, nk, dv) → (b, h, nq, dv).
 */
export function attentionRef(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { b, h, hkv, nq, nk, d, dv } = attentionDims('attention', q, k, v);
  const g = h / hkv;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  if ((opts.dropout ?? 0) > 0 && !opts.key) throw new Error('attention: dropout > 0 needs a PRNG key');
  return tidy(() => {
    // query heads of a group share one key/value head: (b, hkv, g, nq, d) against (b, hkv, 1, nk, d)
    const qg = reshape(q, [b, hkv, g, nq, d]);
    const kg = reshape(k, [b, hkv, 1, nk, d]);
    const vg = reshape(v, [b, hkv, 1, nk, dv]);
    let s = mul(matmulT(qg, kg, false, true), scale); // (b, hkv, g, nq, nk)
    s = reshape(s, [b, h, nq, nk]);
    if (opts.bias) s = add(s, opts.bias);
    const allowed = combinedMask(opts, b, nq, nk);
    let p = maskedSoftmax(s, allowed); // (b, h, nq, nk)
    if ((opts.dropout ?? 0) > 0) p = dropout(p, opts.dropout!, opts.key);
    const o = matmulT(reshape(p, [b, hkv, g, nq, nk]), vg); // (b, hkv, g, nq, dv)
    return reshape(o, [b, h, nq, dv]);
  });
}

/** The attention weights P (b, h, nq, nk) of attentionRef (no dropout): for inspection and tests. */
export function attentionWeights(q: Tensor, k: Tensor, opts: Omit<AttentionOptions, 'dropout' | 'key'> = {}): Tensor {
  const { b, h, hkv, nq, nk, d } = attentionDims('attentionWeights', q, k, k);
  const g = h / hkv;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  return tidy(() => {
    let s = reshape(mul(matmulT(reshape(q, [b, hkv, g, nq, d]), reshape(k, [b, hkv, 1, nk, d]), false, true), scale), [b, h, nq, nk]);
    if (opts.bias) s = add(s, opts.bias);
    return maskedSoftmax(s, combinedMask(opts, b, nq, nk, 'attentionWeights'));
  });
}
