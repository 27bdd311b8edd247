/**
 * Medusa heads: T. Cai et al., "Medusa: Simple LLM Inference Acceleration
 * Framework with Multiple Decoding Heads", arXiv 2401.10774, §2.1.1.
 *
 * The k-th head reads the base model's last hidden state h_t (the one its LM
 * head reads) and predicts the token at position t + k + 1, one further than
 * the base model's own next-token prediction:
 *
 *   p_t^(k) = softmax( W₂^(k) · ( SiLU(W₁^(k) · h_t + b₁^(k)) + h_t ) ),
 *
 * a single residual feed-forward block followed by a vocabulary projection.
 * As in the paper, W₁ starts at zero (so the block starts as the identity)
 * and W₂ starts as a copy of the base model's LM head, so every head starts
 * out predicting what the base model predicts and only has to learn the shift.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add, silu } from '../../ops/elementwise.js';
import { stack } from '../../ops/join.js';
import { zeros } from '../../ops/creation.js';
import { copy } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';

export interface MedusaHeadsOptions {
  key: Key;
  /** number of heads K (the paper uses 4 or 5) */
  heads: number;
  /** the base model's LM head weight (vocab, dModel) to start W₂ from (default: a fresh init) */
  lmHead?: Tensor;
  dtype?: DType;
}

/** One head: residual SiLU block, then the vocabulary projection. */
export class MedusaHead extends Module {
  block: Linear;
  proj: Linear;

  constructor(dModel: number, vocab: number, opts: { key: Key; lmHead?: Tensor; dtype?: DType }) {
    super();
    const [k1, k2] = splitKey(opts.key, 2);
    this.block = new Linear(dModel, dModel, { key: k1!, dtype: opts.dtype });
    this.block.weight.dispose();
    this.block.weight = param(zeros([dModel, dModel], { dtype: opts.dtype ?? 'f32' }));
    this.block.bias?.dispose();
    this.block.bias = param(zeros([dModel], { dtype: opts.dtype ?? 'f32' }));
    this.proj = new Linear(dModel, vocab, { key: k2!, bias: false, dtype: opts.dtype });
    if (opts.lmHead) {
      if (opts.lmHead.ndim !== 2 || opts.lmHead.shape[0] !== vocab || opts.lmHead.shape[1] !== dModel) {
        throw new Error(`MedusaHead: lmHead is [${opts.lmHead.shape.join(',')}]; expected [${vocab},${dModel}] (vocab, dModel)`);
      }
      this.proj.weight.dispose();
      this.proj.weight = param(tidy(() => copy(opts.lmHead!.detach())));
    }
  }

  /** h (…, d) → logits (…, vocab) */
  forward(h: Tensor): Tensor {
    return tidy(() => this.proj.forward(add(silu(this.block.forward(h)), h)));
  }
}

/** K Medusa heads over one base model. */
export class MedusaHeads extends Module {
  readonly config: Readonly<{ dModel: number; vocab: number; heads: number }>;
  heads: MedusaHead[];

  constructor(dModel: number, vocab: number, opts: MedusaHeadsOptions) {
    super();
    if (!Number.isInteger(opts.heads) || opts.heads < 1) throw new Error(`MedusaHeads: heads must be a positive integer, got ${opts.heads}`);
    this.config = { dModel, vocab, heads: opts.heads };
    const keys = splitKey(opts.key, opts.heads);
    this.heads = keys.map((k) => new MedusaHead(dModel, vocab, { key: k, lmHead: opts.lmHead, dtype: opts.dtype }));
  }

  get count(): number {
    return this.heads.length;
  }

  /** h (…, d) → logits (K, …, vocab): head k (0-based) predicts the token k + 2 places after h's position. */
  forward(h: Tensor): Tensor {
    return tidy(() => stack(this.heads.map((hd) => hd.forward(h)), 0));
  }
}
