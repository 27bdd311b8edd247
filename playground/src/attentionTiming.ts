/**
 * Time and memory of attention forms against sequence length n, measured
 * where the page runs: softmax attention (materialises the n×n scores),
 * FlashAttention (tiles, O(n) extra memory) and causal linear attention by
 * chunks (O(n) time). b = 1, h = 4, d = 32; the median of a few runs after
 * a warm-up; memory is the peak of nabla's live tensor bytes above the
 * inputs during one forward.
 */
import { memory, resetPeakMemory, tidy } from '../../src/core/memory.js';
import { normal, randomKey, foldIn } from '../../src/ops/random.js';
import { elu, add } from '../../src/ops/elementwise.js';
import { attentionRef } from '../../src/zoo/attention/attention.ref.js';
import { flashAttention } from '../../src/zoo/attention/flash.js';
import { linearAttentionChunked } from '../../src/zoo/attention/linear.js';
import type { Tensor } from '../../src/core/tensor.js';

export const ATTENTION_FORMS = ['softmax', 'flash', 'linear'] as const;
export type AttentionForm = (typeof ATTENTION_FORMS)[number];

const forms: Record<AttentionForm, (q: Tensor, k: Tensor, v: Tensor) => Tensor> = {
  softmax: (q, k, v) => attentionRef(q, k, v, { causal: true }),
  flash: (q, k, v) => flashAttention(q, k, v, { causal: true }),
  linear: (q, k, v) => linearAttentionChunked(add(elu(q), 1), add(elu(k), 1), v),
};

/** Median milliseconds and peak bytes of one causal forward at length n. */
export function timeAttention(form: AttentionForm, n: number, repeats = 3): { ms: number; peakBytes: number } {
  const key = foldIn(randomKey(0), n);
  const shape = [1, 4, n, 32];
  return tidy(() => {
    const [q, k, v] = [0, 1, 2].map((i) => normal(foldIn(key, i), shape)) as [Tensor, Tensor, Tensor];
    tidy(() => forms[form](q, k, v)); // warm-up
    const times: number[] = [];
    const base = memory().liveBytes;
    resetPeakMemory();
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      tidy(() => forms[form](q, k, v).toF64());
      times.push(performance.now() - t0);
    }
    const peak = memory().peakBytes - base;
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(times.length / 2)]!, peakBytes: peak };
  });
}
