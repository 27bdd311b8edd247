/**
 * The naive twin of the fused selective scan (selectiveScan.ts): the S6
 * recurrence of Mamba (A. Gu, T. Dao, "Mamba: Linear-Time Sequence Modeling
 * with Selective State Spaces", arXiv 2312.00752, Algorithm 2 and eq. 2a-2b,
 * with the zero-order-hold Ā = exp(ΔA) and the simplified B̄ = ΔB of §3.5)
 * written step by step in tensor ops, the way the authors' own
 * `selective_scan_ref` is a Python loop. Autodiff differentiates it, so it is
 * the yardstick for the fused kernel's values and gradients.
 *
 *   Δ  = softplus(Δ_raw + Δ_bias)            (softplus optional)
 *   Āₜ = exp(Δₜ ⊗ A)                         (b, d, N)
 *   hₜ = Āₜ ⊙ hₜ₋₁ + (Δₜ ⊙ uₜ) ⊗ Bₜ          (b, d, N)
 *   yₜ = hₜ · Cₜ + D ⊙ uₜ                     (b, d)
 *   outₜ = yₜ ⊙ silu(zₜ)                      (z optional)
 *
 * Layout: token-major like the rest of nabla, u, Δ, z (b, L, d); B, C
 * (b, L, N); A (d, N); D and Δ_bias (d). (The reference code is channel-major,
 * (b, d, L); the math is the same.) It materialises Āₜ and Δₜuₜ Bₜ for every
 * step, (b, L, d, N): fine for a twin, which is why the fused kernel exists.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, silu, softplus } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { unsqueeze } from '../../ops/views.js';
import { slice } from '../../ops/slice.js';
import { stack } from '../../ops/join.js';
import { zeros } from '../../ops/creation.js';

export interface SelectiveScanInputs {
  /** (b, L, d) the input sequence */
  u: Tensor;
  /** (b, L, d) the step sizes before the optional bias and softplus */
  delta: Tensor;
  /** (d, N) the (negative) state matrix, diagonal per channel */
  A: Tensor;
  /** (b, L, N) input projection, per token */
  B: Tensor;
  /** (b, L, N) output projection, per token */
  C: Tensor;
  /** (d) the skip connection, or null */
  D?: Tensor | null;
  /** (b, L, d) the gate, or null: out = y·silu(z) */
  z?: Tensor | null;
  /** (d) added to Δ before the softplus, or null */
  deltaBias?: Tensor | null;
}

export interface SelectiveScanOptions {
  /** Δ ← softplus(Δ + Δ_bias) (default false, as in the reference) */
  deltaSoftplus?: boolean;
}

/** The discretised step size Δ = softplus(Δ_raw + bias) (each part optional), (b, L, d). */
export function stepSizes(delta: Tensor, deltaBias: Tensor | null | undefined, softplusOn: boolean): Tensor {
  return tidy(() => {
    const d = deltaBias ? add(delta, deltaBias) : delta;
    return softplusOn ? softplus(d) : d;
  });
}

/**
 * The selective scan, one step at a time. Returns [out (b, L, d), last state
 * h_{L−1} (b, d, N)].
 */
export function selectiveScanRef(x: SelectiveScanInputs, opts: SelectiveScanOptions = {}): [Tensor, Tensor] {
  const { u, A, B, C } = x;
  return tidy(() => {
    const [b, L, d] = u.shape as [number, number, number];
    const N = A.shape[1]!;
    const delta = stepSizes(x.delta, x.deltaBias, opts.deltaSoftplus ?? false);
    const dA = exp(mul(unsqueeze(delta, -1), A)); // (b, L, d, N)
    const dBu = mul(unsqueeze(mul(delta, u), -1), unsqueeze(B, 2)); // (b, L, d, N)
    let h = zeros([b, d, N], { dtype: dA.dtype });
    const ys: Tensor[] = [];
    for (let t = 0; t < L; t++) {
      h = add(mul(slice(dA, [null, t]), h), slice(dBu, [null, t])); // (b, d, N)
      ys.push(sum(mul(h, unsqueeze(slice(C, [null, t]), 1)), -1)); // (b, d)
    }
    let y = stack(ys, 1); // (b, L, d)
    if (x.D) y = add(y, mul(u, x.D));
    if (x.z) y = mul(y, silu(x.z));
    return [y, h];
  });
}
