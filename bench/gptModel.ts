/**
 * The GPT of the end-to-end benchmark, in nabla: a decoder-only transformer
 * with pre-LN blocks (GPT-2: Radford et al. 2019; the layout of Karpathy's
 * nanoGPT), learned positions, GELU (tanh form) MLPs of width 4d, causal
 * self-attention with separate q, k, v projections, a final LayerNorm and an
 * untied output head, trained with AdamW on next-token cross-entropy.
 * bench/peers/torch_gpt.py and bench/peers/tfjs_gpt.ts build the very same
 * model (names, shapes, init scale, mask), so tokens/s compare like for like.
 *
 *   x = tok[idx] + pos
 *   x = x + Wo·attn(LN1(x));  x = x + W2·gelu(W1·LN2(x))       (× layers)
 *   logits = head(LN(x))
 */
import { Module } from '../src/nn/module.js';
import { Linear } from '../src/nn/linear.js';
import { Embedding } from '../src/nn/embedding.js';
import { LayerNorm } from '../src/nn/norm.js';
import { ModuleList } from '../src/nn/containers.js';
import { key as makeKey, split, type Key } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';
import { add, gelu, mul } from '../src/ops/elementwise.js';
import { matmulT } from '../src/ops/matmul.js';
import { softmax } from '../src/ops/nn.js';
import { permute, reshape } from '../src/ops/views.js';
import { tensor } from '../src/ops/creation.js';

export interface GptConfig {
  vocab: number;
  /** context length T (positions) */
  T: number;
  d: number;
  heads: number;
  layers: number;
}

/** Parameters of the model: embeddings, per layer 12d² + 13d, final LN and head. */
export function gptParams(c: GptConfig): number {
  return c.vocab * c.d + c.T * c.d + c.layers * (12 * c.d * c.d + 13 * c.d) + 2 * c.d + c.d * c.vocab;
}

/** Floating-point operations of one training step (forward + backward ≈ 3× forward) on `batch` sequences. */
export function gptStepFlops(c: GptConfig, batch: number): number {
  const tokens = batch * c.T;
  return 6 * gptParams(c) * tokens + 12 * c.layers * batch * c.T * c.T * c.d;
}

/** The additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above. */
export function causalMask(T: number): Tensor {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tensor(m, [T, T], { dtype: 'f32' });
}

class Block extends Module {
  ln1: LayerNorm;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;
  ln2: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  readonly #heads: number;

  constructor(d: number, heads: number, key: Key) {
    super();
    const k = split(key, 6);
    this.#heads = heads;
    this.ln1 = new LayerNorm(d, { dtype: 'f32' });
    this.wq = new Linear(d, d, { key: k[0]!, dtype: 'f32' });
    this.wk = new Linear(d, d, { key: k[1]!, dtype: 'f32' });
    this.wv = new Linear(d, d, { key: k[2]!, dtype: 'f32' });
    this.wo = new Linear(d, d, { key: k[3]!, dtype: 'f32' });
    this.ln2 = new LayerNorm(d, { dtype: 'f32' });
    this.fc1 = new Linear(d, 4 * d, { key: k[4]!, dtype: 'f32' });
    this.fc2 = new Linear(4 * d, d, { key: k[5]!, dtype: 'f32' });
  }

  /** x [B, T, d] → [B, T, d]; `mask` is the additive causal mask [T, T]. */
  forward(x: Tensor, mask: Tensor): Tensor {
    const [B, T, d] = x.shape as [number, number, number];
    const H = this.#heads;
    const dh = d / H;
    const heads = (t: Tensor): Tensor => permute(reshape(t, [B, T, H, dh]), [0, 2, 1, 3]); // [B, H, T, dh]
    const h = this.ln1.forward(x);
    const q = heads(this.wq.forward(h));
    const k = heads(this.wk.forward(h));
    const v = heads(this.wv.forward(h));
    const att = softmax(add(mul(matmulT(q, k, false, true), 1 / Math.sqrt(dh)), mask), -1); // [B, H, T, T]
    const y = reshape(permute(matmulT(att, v), [0, 2, 1, 3]), [B, T, d]);
    const x1 = add(x, this.wo.forward(y));
    return add(x1, this.fc2.forward(gelu(this.fc1.forward(this.ln2.forward(x1)), 'tanh')));
  }
}

export class Gpt extends Module {
  readonly config: Readonly<GptConfig>;
  tok: Embedding;
  pos: Embedding;
  blocks: ModuleList<Block>;
  lnf: LayerNorm;
  head: Linear;
  readonly #mask: Tensor;

  constructor(c: GptConfig, seed = 0) {
    super();
    if (c.d % c.heads !== 0) throw new Error(`Gpt: d ${c.d} is not a multiple of heads ${c.heads}`);
    this.config = { ...c };
    const k = split(makeKey(seed), c.layers + 3);
    this.tok = new Embedding(c.vocab, c.d, { key: k[0]!, std: 0.02, dtype: 'f32' });
    this.pos = new Embedding(c.T, c.d, { key: k[1]!, std: 0.02, dtype: 'f32' });
    this.blocks = new ModuleList(Array.from({ length: c.layers }, (_, l) => new Block(c.d, c.heads, k[3 + l]!)));
    this.lnf = new LayerNorm(c.d, { dtype: 'f32' });
    this.head = new Linear(c.d, c.vocab, { key: k[2]!, bias: false, dtype: 'f32' });
    this.#mask = causalMask(c.T);
  }

  /** idx (i32) [B, T] → logits [B, T, vocab] */
  forward(idx: Tensor): Tensor {
    let x = add(this.tok.forward(idx), this.pos.weight);
    for (const b of this.blocks) x = b.forward(x, this.#mask);
    return this.head.forward(this.lnf.forward(x));
  }

  /** Free the mask (the parameters are freed by `dispose(model)`). */
  disposeMask(): void {
    this.#mask.dispose();
  }
}
