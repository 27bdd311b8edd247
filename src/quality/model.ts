/**
 * The small sequence model of the quality benchmarks: the Zoology recipe
 * (arXiv 2312.04927, §3 and Appendix E: a few pre-norm residual blocks whose
 * sequence mixer is the thing compared, optionally a state mixer (MLP) after
 * each) with the token mixer chosen by name from the registry of
 * zoo/mixer.ts, so that every family (attention, RNN, SSM) runs the same
 * embedding, blocks and head:
 *
 *   h₀ = embed(x) (+ positions)                 tokens, or Linear(inputDim → d) for real inputs
 *   hₗ = hₗ₋₁ + mixer(norm(hₗ₋₁)) [+ MLP(norm(·))]  for l = 1 … layers
 *   logits = head(norm(h_L))                    (b, n, classes); a regression reads the last position
 *
 * Positions: 'learned' (a table of maxLen rows, Zoology's choice for
 * attention), 'sinusoidal' (absolute, defined at any length: the "MHA-Abs"
 * of Mamba's induction-heads extrapolation), or 'none' (for mixers that see
 * order themselves: RoPE in softmax attention, recurrences, convolutions).
 */
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../core/random.js';
import { tidy } from '../core/memory.js';
import { add } from '../ops/elementwise.js';
import { slice } from '../ops/slice.js';
import { reshape } from '../ops/views.js';
import { splitKey, foldIn } from '../ops/random.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/norm.js';
import { MLP } from '../nn/mlp.js';
import { LearnedPositionalEmbedding, sinusoidalPositions } from '../nn/positional.js';
import { createMixer, type Mixer, type MixerSpec } from '../zoo/mixer.js';
// every family registers its mixers on import
import '../zoo/attention/index.js';
import '../zoo/rnn/index.js';
import '../zoo/ssm/index.js';

export type Positions = 'none' | 'learned' | 'sinusoidal';

export interface SeqModelOptions {
  key: Key;
  dModel: number;
  mixer: MixerSpec;
  /** residual blocks (default 2, as Zoology and Mamba's synthetics) */
  layers?: number;
  /** token vocabulary (token inputs) */
  vocabSize?: number;
  /** real-valued input channels instead of tokens */
  inputDim?: number;
  /** output classes (default vocabSize), or 1 for regression */
  outputs?: number;
  positions?: Positions;
  /** rows of the learned position table */
  maxLen?: number;
  /** an MLP of width mlpRatio·d after each mixer (default 0: none, Zoology's MQAR models) */
  mlpRatio?: number;
}

class Block extends Module {
  norm1: LayerNorm;
  mixer: Mixer;
  norm2: LayerNorm | null;
  mlp: MLP | null;

  constructor(d: number, spec: MixerSpec, mlpRatio: number, key: Key) {
    super();
    const [k1, k2] = splitKey(key);
    this.norm1 = new LayerNorm(d);
    this.mixer = createMixer(d, spec, k1!);
    this.norm2 = mlpRatio > 0 ? new LayerNorm(d) : null;
    this.mlp = mlpRatio > 0 ? new MLP(d, Math.round(mlpRatio * d), d, { key: k2! }) : null;
  }

  forward(h: Tensor): Tensor {
    return tidy(() => {
      let x = add(h, this.mixer.forward(this.norm1.forward(h)));
      if (this.mlp) x = add(x, this.mlp.forward(this.norm2!.forward(x)));
      return x;
    });
  }
}

export class SeqModel extends Module {
  readonly config: Readonly<{ dModel: number; layers: number; positions: Positions; vocabSize: number; inputDim: number; outputs: number; mixer: MixerSpec }>;
  embed: Embedding | null;
  inProj: Linear | null;
  pos: LearnedPositionalEmbedding | null;
  blocks: Block[];
  normF: LayerNorm;
  head: Linear;

  constructor(o: SeqModelOptions) {
    super();
    const d = o.dModel;
    const layers = o.layers ?? 2;
    const positions = o.positions ?? 'none';
    if (!o.vocabSize === !o.inputDim) throw new Error('SeqModel: give exactly one of vocabSize (tokens) and inputDim (real inputs)');
    const outputs = o.outputs ?? o.vocabSize;
    if (!outputs) throw new Error('SeqModel: outputs is required with real inputs');
    this.config = { dModel: d, layers, positions, vocabSize: o.vocabSize ?? 0, inputDim: o.inputDim ?? 0, outputs, mixer: o.mixer };
    const [kIn, kPos, kHead, kBlocks] = splitKey(o.key, 4);
    this.embed = o.vocabSize ? new Embedding(o.vocabSize, d, { key: kIn!, std: 0.02 }) : null;
    this.inProj = o.inputDim ? new Linear(o.inputDim, d, { key: kIn! }) : null;
    if (positions === 'learned' && !o.maxLen) throw new Error("SeqModel: positions 'learned' needs maxLen");
    this.pos = positions === 'learned' ? new LearnedPositionalEmbedding(o.maxLen!, d, { key: kPos! }) : null;
    this.blocks = Array.from({ length: layers }, (_, l) => new Block(d, o.mixer, o.mlpRatio ?? 0, foldIn(kBlocks!, l)));
    this.normF = new LayerNorm(d);
    this.head = new Linear(d, outputs, { key: kHead! });
  }

  /** tokens (b, n) i32 or real inputs (b, n, inputDim) → (b, n, outputs) */
  forward(x: Tensor): Tensor {
    return tidy(() => this.head.forward(this.hidden(x)));
  }

  /** The normalised last hidden state (b, n, d), before the head. */
  hidden(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.embed ? this.embed.forward(x) : this.inProj!.forward(x); // (b, n, d)
      const n = h.shape[1]!;
      if (this.pos) h = this.pos.forward(h);
      else if (this.config.positions === 'sinusoidal') h = add(h, sinusoidalPositions(n, this.config.dModel, { dtype: h.dtype }));
      for (const b of this.blocks) h = b.forward(h);
      return this.normF.forward(h);
    });
  }

  /** The output at the last position, (b, outputs) (regression tasks). */
  forwardLast(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.forward(x);
      const [b, n, c] = y.shape as [number, number, number];
      return reshape(slice(y, [null, { start: n - 1, stop: n }]), [b, c]);
    });
  }
}
