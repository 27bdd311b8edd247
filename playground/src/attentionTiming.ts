/**
 * Time and memory of attention forms against sequence length n, measured
 * where the page runs, all causal, b = 1, h = 4 heads of d = 32 (width 128):
 *
 *   softmax         attentionRef: materialises the n×n scores (Vaswani et al. 2017)
 *   flash           FlashAttention: tiles, O(n) extra memory (Dao et al. 2022)
 *   linear          linear attention, elu+1 features, by chunks of 64 (Katharopoulos et al. 2020)
 *   performer       FAVOR+: the Performer mixer's positive random features
 *                   (m = d·ln d ≈ 111 per head) and its chunked linear attention (Choromanski et al. 2020)
 *   FLASH           FLASH's mixed chunk attention (Hua et al. 2022): relu² inside chunks
 *                   of 64, linear across them, on the heads merged to s = e = 128
 *   transformer-vq  Transformer-VQ (Lingle 2023): keys quantised to 64 codes per
 *                   head, exact attention over two blocks of 64, a per-code cache beyond
 *   mamba           a Mamba mixer's forward (Gu & Dao 2023) at d_model = 64, expand 2,
 *                   so its selective scan runs over 128 channels with state 16;
 *                   unlike the others it includes its projections and convolution
 *
 * The attention forms get q, k, v (1, 4, n, 32) and time only the attention
 * (no projections). Modules (Performer, Mamba) and fixed tensors (FAVOR's
 * random features are the module's; Transformer-VQ's codebook) are built
 * once per n from a fixed key outside the timed region, and disposed after.
 * Time: the median of a few runs after a warm-up. Memory: the peak of
 * nabla's live tensor bytes above the inputs and parameters during the runs.
 */
import { memory, resetPeakMemory, tidy } from '../../src/core/memory.js';
import type { Key } from '../../src/core/random.js';
import { normal, randomKey, foldIn } from '../../src/ops/random.js';
import { elu, add } from '../../src/ops/elementwise.js';
import { dispose } from '../../src/nn/module.js';
import { attentionRef } from '../../src/zoo/attention/attention.ref.js';
import { flashAttention } from '../../src/zoo/attention/flash.js';
import { linearAttentionChunked } from '../../src/zoo/attention/linear.js';
import { Performer } from '../../src/zoo/attention/performer.js';
import { mixedChunkAttention } from '../../src/zoo/attention/flashMixed.js';
import { quantizeKeys, vqAttention } from '../../src/zoo/attention/vq.js';
import { mergeHeads } from '../../src/zoo/attention/heads.js';
import { Mamba } from '../../src/zoo/ssm/mamba.js';
import type { Tensor } from '../../src/core/tensor.js';

export const ATTENTION_FORMS = ['softmax', 'flash', 'linear', 'performer', 'FLASH', 'transformer-vq', 'mamba'] as const;
export type AttentionForm = (typeof ATTENTION_FORMS)[number];

/** Names for the charts' legends ('flash' is FlashAttention, 'FLASH' the GAU model). */
export const ATTENTION_LABELS: Record<AttentionForm, string> = {
  softmax: 'softmax',
  flash: 'FlashAttention',
  linear: 'linear',
  performer: 'Performer',
  FLASH: 'FLASH (GAU)',
  'transformer-vq': 'Transformer-VQ',
  mamba: 'Mamba',
};

const [H, D, CHUNK] = [4, 32, 64];

/** A form made ready at one n: `run` is the timed forward; `dispose` frees what setup built outside the scope. */
interface Prepared {
  run: () => Tensor;
  dispose?: () => void;
}

/** q, k, v (1, h, n, d) from the key. */
const qkv = (key: Key, n: number): [Tensor, Tensor, Tensor] => [0, 1, 2].map((i) => normal(foldIn(key, i), [1, H, n, D])) as [Tensor, Tensor, Tensor];

const setups: Record<AttentionForm, (n: number, key: Key) => Prepared> = {
  softmax: (n, key) => {
    const [q, k, v] = qkv(key, n);
    return { run: () => attentionRef(q, k, v, { causal: true }) };
  },
  flash: (n, key) => {
    const [q, k, v] = qkv(key, n);
    return { run: () => flashAttention(q, k, v, { causal: true }) };
  },
  linear: (n, key) => {
    const [q, k, v] = qkv(key, n);
    return { run: () => linearAttentionChunked(add(elu(q), 1), add(elu(k), 1), v, { causal: true, chunk: CHUNK }) };
  },
  performer: (n, key) => {
    const [q, k, v] = qkv(key, n);
    const m = new Performer(H * D, { key: foldIn(key, 10), heads: H, chunk: CHUNK });
    return {
      run: () => {
        const [fq, fk] = m.features(q, k);
        return m.attend(fq, fk, v);
      },
      dispose: () => dispose(m),
    };
  },
  FLASH: (n, key) => {
    const [q, k, v] = qkv(key, n).map(mergeHeads) as [Tensor, Tensor, Tensor]; // (1, n, 128): s = e = 128
    // quadratic and linear parts share the transformed q and k here (the model derives four from one Z)
    return { run: () => mixedChunkAttention(q, k, q, k, v, { chunk: CHUNK, causal: true, linearScale: n, bias: null }) };
  },
  'transformer-vq': (n, key) => {
    const [q, k, v] = qkv(key, n);
    const C = normal(foldIn(key, 10), [H, 64, D]); // per-head codebooks of 64 codes
    return {
      run: () => {
        const { onehot, kHat } = quantizeKeys(k, C);
        return vqAttention(q, kHat, onehot, C, v, { causal: true, block: CHUNK });
      },
    };
  },
  mamba: (n, key) => {
    const m = new Mamba(64, { key: foldIn(key, 10), expand: 2, dState: 16 });
    const x = normal(foldIn(key, 0), [1, n, 64]);
    return { run: () => m.forward(x), dispose: () => dispose(m) };
  },
};

/** Median milliseconds and peak extra bytes of one causal forward at length n. */
export function timeAttention(form: AttentionForm, n: number, repeats = 3): { ms: number; peakBytes: number } {
  const setup = setups[form];
  if (!setup) throw new Error(`timeAttention: unknown form '${form}' (one of ${ATTENTION_FORMS.join(', ')})`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`timeAttention: n must be a positive integer, got ${n}`);
  const key = foldIn(randomKey(0), n);
  return tidy(() => {
    const p = setup(n, key);
    try {
      tidy(() => p.run().toF64()); // warm-up
      const times: number[] = [];
      const base = memory().liveBytes;
      resetPeakMemory();
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        tidy(() => p.run().toF64());
        times.push(performance.now() - t0);
      }
      const peak = memory().peakBytes - base;
      times.sort((a, b) => a - b);
      return { ms: times[Math.floor(times.length / 2)]!, peakBytes: peak };
    } finally {
      p.dispose?.();
    }
  });
}
