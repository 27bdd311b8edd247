/**
 * Retention, the token mixer of RetNet (Y. Sun et al., "Retentive Network: A
 * Successor to Transformer for Large Language Models", arXiv 2307.08621,
 * §2.1), in its three equal forms. Per head, with decay γ and queries and
 * keys already rotated by e^{inθ} (xPos, done by the caller):
 *
 *   parallel    Retention(X) = (Q Kᵀ ⊙ D) V,   D_nm = γ^{n−m} for n ≥ m, else 0       (eq. 5)
 *   recurrent   S_n = γ S_{n−1} + K_nᵀ V_n,    Retention(X_n) = Q_n S_n                 (eq. 6)
 *   chunkwise   R_i = K_[i]ᵀ (V_[i] ⊙ ζ) + γ^B R_{i−1},   ζ_j = γ^{B−j−1}
 *               Retention(X_[i]) = (Q_[i] K_[i]ᵀ ⊙ D) V_[i] + (Q_[i] R_{i−1}) ⊙ ξ,  ξ_j = γ^{j+1}  (eq. 7)
 *
 * q, k (b, h, n, d_k); v (b, h, n, d_v); γ one per head. The parallel form
 * costs O(n²), the recurrent and chunkwise forms O(n) (chunkwise O(n·B)).
 */
import type { Tensor } from '../../core/tensor.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, mul } from '../../ops/elementwise.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { pad, stack } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { tensor, zeros } from '../../ops/creation.js';
import { reshape, transpose } from '../../ops/views.js';

/** RetNet's multi-scale decays γ_h = 1 − 2^(−5−h). */
export function retentionGammas(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => 1 - 2 ** (-5 - h));
}

function check(op: string, q: Tensor, k: Tensor, v: Tensor, gammas: readonly number[]): void {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new Error(`${op}: q, k, v must be (b, h, n, d); got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  const [b, h, n] = q.shape;
  if (k.shape.some((s, i) => s !== q.shape[i]) || v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== n) {
    throw new Error(`${op}: k must equal q's shape ${shapeStr(q.shape)} and v must be (${b}, ${h}, ${n}, d_v); got k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`);
  }
  if (gammas.length !== h || gammas.some((g) => !(g > 0 && g <= 1))) throw new Error(`${op}: gammas must be ${h} decays in (0, 1], got ${JSON.stringify(gammas)}`);
}

/** The decay mask D (h, n, n) with offsets: D[h, i, j] = γ_h^(i−j) for i ≥ j. */
function decayMask(gammas: readonly number[], n: number, like: Tensor): Tensor {
  const d = new Float64Array(gammas.length * n * n);
  gammas.forEach((g, h) => {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[(h * n + i) * n + j] = g ** (i - j);
  });
  return tensor(d, [gammas.length, n, n], { dtype: like.dtype });
}

/** Per-head column (h, n, 1) of γ_h^(e(j)) for j = 0 … n−1. */
function powers(gammas: readonly number[], n: number, e: (j: number) => number, like: Tensor): Tensor {
  return tensor(gammas.flatMap((g) => Array.from({ length: n }, (_, j) => g ** e(j))), [gammas.length, n, 1], { dtype: like.dtype });
}

export function retentionParallel(q: Tensor, k: Tensor, v: Tensor, gammas: readonly number[]): Tensor {
  check('retentionParallel', q, k, v, gammas);
  return tidy(() => matmul(mul(matmulT(q, k, false, true), decayMask(gammas, q.shape[2]!, q)), v));
}

/** The recurrence over n, from state s0 (b, h, d_k, d_v) (zeros by default): [outputs, final state]. */
export function retentionRecurrent(q: Tensor, k: Tensor, v: Tensor, gammas: readonly number[], s0: Tensor | null = null): [Tensor, Tensor] {
  check('retentionRecurrent', q, k, v, gammas);
  return tidy(() => {
    const [b, h, n, dk] = q.shape as [number, number, number, number];
    const dv = v.shape[3]!;
    const g = tensor(gammas, [h, 1, 1], { dtype: q.dtype });
    let S = s0 ?? zeros([b, h, dk, dv], { dtype: q.dtype });
    const ys: Tensor[] = [];
    for (let t = 0; t < n; t++) {
      const row = (x: Tensor): Tensor => slice(x, [null, null, { start: t, stop: t + 1 }]); // (b, h, 1, d)
      S = add(mul(S, g), matmulT(row(k), row(v), true, false)); // (b, h, d_k, d_v)
      ys.push(matmul(row(q), S));
    }
    return [reshape(stack(ys, 2), [b, h, n, dv]), S];
  });
}

/** The chunkwise form with chunks of B tokens (n is padded to a multiple of B). */
export function retentionChunkwise(q: Tensor, k: Tensor, v: Tensor, gammas: readonly number[], B = 64): Tensor {
  check('retentionChunkwise', q, k, v, gammas);
  if (!Number.isInteger(B) || B < 1) throw new Error(`retentionChunkwise: chunk must be a positive integer, got ${B}`);
  return tidy(() => {
    const [b, h, n, dk] = q.shape as [number, number, number, number];
    const dv = v.shape[3]!;
    const c = Math.ceil(n / B);
    const np = c * B;
    // zero padding at the end: padded keys and values add nothing, padded queries are cut off
    const chunks = (x: Tensor): Tensor => reshape(np === n ? x : pad(x, [[0, 0], [0, 0], [0, np - n], [0, 0]]), [b, h, c, B, x.shape[3]!]);
    const [qc, kc, vc] = [chunks(q), chunks(k), chunks(v)]; // (b, h, c, B, d)
    const D = reshape(decayMask(gammas, B, q), [h, 1, B, B]);
    const inner = matmul(mul(matmulT(qc, kc, false, true), D), vc); // (b, h, c, B, d_v)
    const zeta = reshape(powers(gammas, B, (j) => B - j - 1, q), [h, 1, B, 1]);
    const xi = powers(gammas, B, (j) => j + 1, q); // (h, B, 1)
    const own = matmulT(kc, mul(vc, zeta), true, false); // (b, h, c, d_k, d_v): each chunk's K_[i]ᵀ(V_[i] ⊙ ζ)
    const gB = tensor(gammas.map((g) => g ** B), [h, 1, 1], { dtype: q.dtype });
    let R = zeros([b, h, dk, dv], { dtype: q.dtype }); // R_{i−1}
    const cross: Tensor[] = [];
    for (let i = 0; i < c; i++) {
      const at = (x: Tensor): Tensor => slice(x, [null, null, i]);
      cross.push(mul(matmul(at(qc), R), xi)); // (b, h, B, d_v)
      R = add(at(own), mul(R, gB));
    }
    const y = reshape(add(inner, stack(cross, 2)), [b, h, np, dv]);
    return np === n ? y : slice(y, [null, null, { stop: n }]);
  });
}

/** Layout helper: (b, n, h·d) → (b, h, n, d). */
export function splitHeads(x: Tensor, h: number): Tensor {
  const [b, n, hd] = x.shape as [number, number, number];
  return transpose(reshape(x, [b, n, h, hd / h]), 1, 2);
}
