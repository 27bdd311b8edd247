/**
 * The naive twin of the fused recurrence (rnnScan.ts): the Elman RNN
 * (J. L. Elman, "Finding structure in time", Cognitive Science 14, 1990),
 * LSTM (S. Hochreiter, J. Schmidhuber, Neural Computation 9(8), 1997, with
 * the forget gate of Gers et al. 2000) and GRU (K. Cho et al., arXiv
 * 1406.1078) cells written in tensor ops, one step at a time, with PyTorch's
 * gate orders (i, f, g, o and r, z, n) and its two bias vectors. Autodiff
 * differentiates the loop: backpropagation through time by definition.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, mul, relu, sigmoid, sub, tanh } from '../../ops/elementwise.js';
import { matmulT } from '../../ops/matmul.js';
import { split, slice } from '../../ops/slice.js';
import { stack } from '../../ops/join.js';
import { unsqueeze } from '../../ops/views.js';
import type { RnnMode } from '../../backends/cpu/wasm/rnnLoops.js';

export interface CellWeights {
  /** (G·H, H) */
  whh: Tensor;
  /** (G·H) or null */
  bhh: Tensor | null;
}

/**
 * One step: x̃ (b, G·H) the input projection x·W_ihᵀ + b_ih, h and (LSTM) c
 * (b, H) → [h', c'] (c' null except for LSTM).
 */
export function cellStep(mode: RnnMode, xt: Tensor, h: Tensor, c: Tensor | null, w: CellWeights): [Tensor, Tensor | null] {
  return tidy(() => {
    const hp0 = matmulT(h, w.whh, false, true); // (b, G·H)
    const hp = w.bhh ? add(hp0, w.bhh) : hp0;
    if (mode === 'lstm') {
      const [i, f, g, o] = split(add(xt, hp), 4, -1) as [Tensor, Tensor, Tensor, Tensor];
      const c2 = add(mul(sigmoid(f), c!), mul(sigmoid(i), tanh(g)));
      return [mul(sigmoid(o), tanh(c2)), c2];
    }
    if (mode === 'gru') {
      const [xr, xz, xn] = split(xt, 3, -1) as [Tensor, Tensor, Tensor];
      const [hr, hz, hn] = split(hp, 3, -1) as [Tensor, Tensor, Tensor];
      const r = sigmoid(add(xr, hr));
      const z = sigmoid(add(xz, hz));
      const n = tanh(add(xn, mul(r, hn)));
      return [add(mul(sub(1, z), n), mul(z, h)), null];
    }
    const a = add(xt, hp);
    return [mode === 'rnn_tanh' ? tanh(a) : relu(a), null];
  });
}

/**
 * The whole sequence: xp (L, b, G·H), h0 and c0 (b, H), mask (L, b) or null
 * → [hs (L, b, H), h_L, c_L (LSTM) or null]. Where the mask is 0 the state is
 * carried over unchanged.
 */
export function rnnScanRef(mode: RnnMode, xp: Tensor, w: CellWeights, h0: Tensor, c0: Tensor | null, mask: Tensor | null): [Tensor, Tensor, Tensor | null] {
  return tidy(() => {
    let h = h0;
    let c = c0;
    const hs: Tensor[] = [];
    for (let t = 0; t < xp.shape[0]!; t++) {
      let [h2, c2] = cellStep(mode, slice(xp, [t]), h, c, w);
      if (mask) {
        const m = unsqueeze(slice(mask, [t]), -1); // (b, 1)
        const keepOld = sub(1, m);
        h2 = add(mul(m, h2), mul(keepOld, h));
        if (c2) c2 = add(mul(m, c2), mul(keepOld, c!));
      }
      h = h2;
      c = c2;
      hs.push(h);
    }
    return [stack(hs), h, c];
  });
}
