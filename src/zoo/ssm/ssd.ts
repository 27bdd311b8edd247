/**
 * State space duality (SSD), the layer of Mamba-2 (T. Dao, A. Gu,
 * "Transformers are SSMs: Generalized Models and Efficient Algorithms Through
 * Structured State Space Duality", arXiv 2405.21060). Per head h the state
 * matrix is a scalar times the identity, so with aₜ = Δₜ·A_h (a log-decay,
 * ≤ 0) and x̄ₜ = Δₜ·xₜ:
 *
 *   hₜ = exp(aₜ)·hₜ₋₁ + Bₜ x̄ₜᵀ           (N × P per head)       yₜ = hₜᵀ Cₜ
 *
 * Three ways to compute the same y (b, L, H, P):
 * - `ssdRecurrent`: the loop above (the naive twin, and the decoding step);
 * - `ssdQuadratic`: the masked "attention" form y = (L ∘ C Bᵀ) x̄ with the
 *   1-semiseparable mask L_ts = exp(a_{s+1} + … + a_t) for s ≤ t (§3, eq. 6);
 * - `ssdChunked`: the block decomposition of that matrix (§6, Listing 1):
 *   quadratic inside chunks of Q tokens (diagonal blocks), a state per chunk
 *   (B-blocks), a linear recurrence of states across chunks, and their
 *   output (C-blocks). Cost O(L·Q·(N + P)) and memory O(L·Q), linear in L.
 *
 * Shapes: x (b, L, H, P); Δ (b, L, H), already positive; A (H), negative;
 * B, C (b, L, H, N) (groups are broadcast by the caller). Returns
 * [y (b, L, H, P), final state (b, H, N, P)].
 */
import type { Tensor } from '../../core/tensor.js';
import { shapeStr, shapesEqual } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, sub, where } from '../../ops/elementwise.js';
import { cumsum, linearRecurrence, shiftAxis } from '../../ops/cumulative.js';
import { einsum } from '../../ops/einsum.js';
import { sum } from '../../ops/reduce.js';
import { pad, stack, tril } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { ones, zeros } from '../../ops/creation.js';
import { reshape, unsqueeze } from '../../ops/views.js';

export interface SsdInputs {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
}

function check(op: string, s: SsdInputs): [number, number, number, number, number] {
  if (s.x.ndim !== 4) throw new Error(`${op}: x must be (b, L, H, P), got ${shapeStr(s.x.shape)}`);
  const [b, L, H, P] = s.x.shape as [number, number, number, number];
  if (!shapesEqual(s.dt.shape, [b, L, H])) throw new Error(`${op}: dt must be ${shapeStr([b, L, H])} for x ${shapeStr(s.x.shape)}, got ${shapeStr(s.dt.shape)}`);
  if (!shapesEqual(s.A.shape, [H])) throw new Error(`${op}: A must be (${H}) (one scalar per head), got ${shapeStr(s.A.shape)}`);
  const N = s.B.shape[3]!;
  for (const [name, t] of [['B', s.B], ['C', s.C]] as const) {
    if (!shapesEqual(t.shape, [b, L, H, N])) throw new Error(`${op}: ${name} must be ${shapeStr([b, L, H, N])} (b, L, H, N), got ${shapeStr(t.shape)}`);
  }
  return [b, L, H, P, N];
}

/** The recurrence one token at a time. */
export function ssdRecurrent(s: SsdInputs): [Tensor, Tensor] {
  const [b, L, H, P, N] = check('ssdRecurrent', s);
  return tidy(() => {
    const decay = exp(mul(s.dt, s.A)); // (b, L, H)
    const xb = mul(s.x, unsqueeze(s.dt, -1)); // x̄ (b, L, H, P)
    let h = zeros([b, H, N, P], { dtype: s.x.dtype });
    const ys: Tensor[] = [];
    for (let t = 0; t < L; t++) {
      const at = (v: Tensor) => slice(v, [null, t]);
      h = add(mul(h, reshape(at(decay), [b, H, 1, 1])), mul(unsqueeze(at(s.B), -1), unsqueeze(at(xb), -2))); // (b, H, N, P)
      ys.push(sum(mul(h, unsqueeze(at(s.C), -1)), -2)); // (b, H, P)
    }
    return [stack(ys, 1), h];
  });
}

/** exp of segment sums: out[…, t, s] = exp(cs_t − cs_s) for s ≤ t, else 0; cs (…, Q) is an inclusive cumsum. */
function segsumExp(cs: Tensor): Tensor {
  const Q = cs.shape[cs.ndim - 1]!;
  const diff = sub(unsqueeze(cs, -1), unsqueeze(cs, -2)); // (…, t, s)
  const causal = tril(ones([Q, Q], { dtype: 'bool' }));
  // the masked entries are positive and may overflow: take them out before exp
  return where(causal, exp(where(causal, diff, 0)), 0);
}

/** The masked (quadratic, attention-like) form: y_t = Σ_{s≤t} (C_t·B_s)·exp(a_{s+1}+…+a_t)·x̄_s. */
export function ssdQuadratic(s: SsdInputs): Tensor {
  check('ssdQuadratic', s);
  return tidy(() => {
    const a = mul(s.dt, s.A); // (b, L, H)
    const cs = cumsum(a, 1);
    const Lmask = segsumExp(einsum('blh->bhl', cs)); // (b, H, t, s)
    const CB = einsum('bthn,bshn->bhts', s.C, s.B);
    const xb = mul(s.x, unsqueeze(s.dt, -1));
    return einsum('bhts,bshp->bthp', mul(CB, Lmask), xb);
  });
}

/** The chunked form with chunks of Q tokens (L is padded to a multiple of Q). */
export function ssdChunked(s: SsdInputs, Q = 64): [Tensor, Tensor] {
  const [b, L, H, P] = check('ssdChunked', s);
  if (!Number.isInteger(Q) || Q < 1) throw new Error(`ssdChunked: chunk must be a positive integer, got ${Q}`);
  return tidy(() => {
    const padT = (v: Tensor): Tensor => (L % Q === 0 ? v : pad(v, [[0, 0], [0, Q - (L % Q)], ...new Array<[number, number]>(v.ndim - 2).fill([0, 0])]));
    // padded tokens have Δ = 0: no input and no decay, so they change nothing
    const Lp = Math.ceil(L / Q) * Q;
    const c = Lp / Q;
    const chunks = (v: Tensor): Tensor => reshape(padT(v), [b, c, Q, ...v.shape.slice(2)]);
    const a = chunks(mul(s.dt, s.A)); // (b, c, Q, H)
    const xb = chunks(mul(s.x, unsqueeze(s.dt, -1))); // (b, c, Q, H, P)
    const Bc = chunks(s.B); // (b, c, Q, H, N)
    const Cc = chunks(s.C);
    const cs = cumsum(a, 2); // (b, c, Q, H), inclusive within each chunk
    // 1. diagonal blocks: quadratic attention inside each chunk
    const Lmask = segsumExp(einsum('bcqh->bchq', cs)); // (b, c, H, t, s)
    const yDiag = einsum('bchts,bcshp->bcthp', mul(einsum('bcthn,bcshn->bchts', Cc, Bc), Lmask), xb);
    // 2. each chunk's own contribution to the state at its end
    const total = slice(cs, [null, null, Q - 1]); // (b, c, H): log-decay across the whole chunk
    const toEnd = exp(sub(unsqueeze(total, 2), cs)); // (b, c, Q, H)
    const own = einsum('bcshn,bcshp->bchnp', mul(Bc, unsqueeze(toEnd, -1)), xb); // (b, c, H, N, P)
    // 3. states across chunks: S_end[c] = exp(total_c)·S_end[c−1] + own_c, a linear recurrence over c
    const ends = linearRecurrence(reshape(exp(total), [b, c, H, 1, 1]), own, 1); // (b, c, H, N, P)
    const entering = shiftAxis(ends, 1, 1, 0); // the state entering chunk c
    // 4. the entering state's contribution to each output of the chunk, decayed to token t
    const yOff = mul(einsum('bcthn,bchnp->bcthp', Cc, entering), unsqueeze(exp(cs), -1));
    const y = reshape(add(yDiag, yOff), [b, Lp, H, P]);
    const out = Lp === L ? y : slice(y, [null, { stop: L }]);
    return [out, slice(ends, [null, c - 1])];
  });
}
