/**
 * Causal convolution of a sequence with a kernel as long as itself, by FFT:
 * y_t = Σ_{s≤t} k_{t−s}·u_s for t < L. Both are zero-padded to 2L so that the
 * FFT's circular convolution equals the linear one on the first L outputs
 * (A. Gu, K. Goel, C. Ré, "Efficiently Modeling Long Sequences with
 * Structured State Spaces", arXiv 2111.00396, §3.3: the S4 convolution).
 * O(L log L) instead of the direct O(L²) of fftConv.ref.ts, its twin.
 */
import type { Tensor } from '../../core/tensor.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, mul, sub } from '../../ops/elementwise.js';
import { pad } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { irfft, rfft } from '../../ops/fft.js';

/** u (…, L) ∗ k (…, L) along the last axis (k broadcasts against u's leading axes) → (…, L). */
export function fftConv(u: Tensor, k: Tensor): Tensor {
  const L = u.shape[u.ndim - 1]!;
  if (k.shape[k.ndim - 1] !== L) throw new Error(`fftConv: u is ${shapeStr(u.shape)} and k ${shapeStr(k.shape)}; their last axes (the sequence) must match`);
  return tidy(() => {
    const padLast = (x: Tensor): Tensor => pad(x, [...new Array<[number, number]>(x.ndim - 1).fill([0, 0]), [0, L]]);
    const [ur, ui] = rfft(padLast(u)); // (…, L + 1) bins of the 2L-point transform
    const [kr, ki] = rfft(padLast(k));
    const yr = sub(mul(ur, kr), mul(ui, ki));
    const yi = add(mul(ur, ki), mul(ui, kr));
    const y = irfft(yr, yi, { n: 2 * L });
    return slice(y, [...new Array(y.ndim - 1).fill(null), { stop: L }]);
  });
}
