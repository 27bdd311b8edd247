/**
 * Softmax attention split over disjoint sets of keys and merged exactly: each
 * set contributes a partial result (m, z, y) with m its row maximum, z =
 * Σ_j w_j e^{s_j − m} and y = Σ_j e^{s_j − m} u_j, and the merge rescales
 * every part to the common maximum M = max_p m_p:
 *
 *   o = Σ_p e^{m_p − M} y_p / Σ_p e^{m_p − M} z_p.
 *
 * This is the online-softmax identity FlashAttention is built on (Milakov &
 * Gimelshein 2018, arXiv 1805.02867), used here in tensor ops so gradients
 * come for free: the sparse patterns (a local block part plus a strided or
 * summary part), DiagAttention's blocks and Transformer-VQ (the last two
 * blocks exactly plus a compressed cache, where a key stands for w_j keys
 * that share it and u_j is the sum of their values) all merge parts this way.
 *
 * Empty rows (no allowed key in a part) have z = 0 and y = 0 and never
 * exponentiate −∞ or divide by zero; a row empty in every part outputs 0.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, div, exp, gt, isfinite, logicalAnd, maximum, mul, sub, where } from '../../ops/elementwise.js';
import { max, sum } from '../../ops/reduce.js';
import { matmul } from '../../ops/matmul.js';

export interface PartialSoftmax {
  /** (…, q, 1): the row maximum over allowed keys (0 for an empty row), detached */
  m: Tensor;
  /** (…, q, 1) */
  z: Tensor;
  /** (…, q, dv) */
  y: Tensor;
}

/**
 * The partial of scores s (…, q, k) over values u (…, k, dv), with an
 * optional bool mask (broadcastable to s) and optional key multiplicities w
 * (broadcastable to s; a key with w = 0 is treated as masked).
 */
export function partialSoftmax(s: Tensor, u: Tensor, opts: { allowed?: Tensor | null; weights?: Tensor | null } = {}): PartialSoftmax {
  return tidy(() => {
    let allowed = opts.allowed ?? null;
    if (opts.weights) allowed = allowed ? logicalAnd(allowed, gt(opts.weights, 0)) : gt(opts.weights, 0);
    const sd = s.detach();
    const m0 = max(allowed ? where(allowed, sd, -Infinity) : sd, -1, true);
    const m = where(isfinite(m0), m0, 0);
    let e = allowed ? where(allowed, exp(sub(where(allowed, s, m), m)), 0) : exp(sub(s, m));
    const y = matmul(e, u);
    if (opts.weights) e = mul(e, opts.weights);
    return { m, z: sum(e, -1, true), y };
  });
}

/** o = Σ_p e^{m_p − M} y_p / Σ_p e^{m_p − M} z_p over the parts (their leading shapes broadcast). */
export function mergePartials(parts: readonly PartialSoftmax[]): Tensor {
  if (parts.length === 0) throw new Error('mergePartials: no parts');
  return tidy(() => {
    let M = parts[0]!.m;
    for (const p of parts.slice(1)) M = maximum(M, p.m);
    let z: Tensor | null = null;
    let y: Tensor | null = null;
    for (const p of parts) {
      const scale = exp(sub(p.m, M));
      const zp = mul(p.z, scale);
      const yp = mul(p.y, scale);
      z = z ? add(z, zp) : zp;
      y = y ? add(y, yp) : yp;
    }
    return div(y!, where(gt(z!, 0), z!, 1));
  });
}
