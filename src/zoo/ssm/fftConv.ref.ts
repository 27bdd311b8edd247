/**
 * The naive twin of fftConv.ts: the causal convolution y_t = Σ_{s≤t} k_{t−s}·u_s
 * as a product with the lower-triangular Toeplitz matrix T[t, s] = k_{t−s},
 * O(L²) work and memory. Autodiff differentiates it.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { indexSelect } from '../../ops/indexing.js';
import { concat } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { tensor } from '../../ops/creation.js';
import { reshape, unsqueeze } from '../../ops/views.js';

/** u (…, L) ∗ k (…, L) along the last axis → (…, L), directly. */
export function directConv(u: Tensor, k: Tensor): Tensor {
  const L = u.shape[u.ndim - 1]!;
  return tidy(() => {
    // Toeplitz indices t − s; s > t points at an appended zero (index L)
    const idx = new Int32Array(L * L);
    for (let t = 0; t < L; t++) for (let s = 0; s < L; s++) idx[t * L + s] = s <= t ? t - s : L;
    const zero = mul(slice(k, [...new Array(k.ndim - 1).fill(null), { stop: 1 }]), 0);
    const kz = concat([k, zero], -1); // (…, L + 1)
    const T = reshape(indexSelect(kz, -1, tensor(idx, [L * L], { dtype: 'i32' })), [...k.shape.slice(0, -1), L, L]); // (…, t, s)
    return sum(mul(T, unsqueeze(u, -2)), -1);
  });
}
