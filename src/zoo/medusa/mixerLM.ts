/**
 * A small decoder-only language model over any registered token mixer,
 * implementing `MedusaBase`: token embedding → L pre-norm blocks (mixer, then
 * a GELU MLP, each residual) → RMSNorm → LM head. It is Medusa's test bed and
 * reference base model; tree verification runs per layer through
 * `mixerTree` (tree attention for softmax attention, branched states for
 * recurrent mixers).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { add } from '../../ops/elementwise.js';
import { reshape } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { RMSNorm } from '../../nn/norm.js';
import { MLP } from '../../nn/mlp.js';
import { createMixer, type Mixer, type MixerSpec, type MixerState } from '../mixer.js';
import '../attention/index.js';
import { acceptLayer, mixerExtend, mixerTree, type LayerTree } from './branch.js';
import type { DecodeOutput, MedusaBase } from './base.js';

export interface MixerLMOptions {
  key: Key;
  vocab: number;
  dModel: number;
  layers: number;
  /** the mixer of every layer, or one spec per layer (hybrid stacks) */
  mixer: MixerSpec | readonly MixerSpec[];
  /** MLP width (default 4·dModel) */
  hidden?: number;
  dtype?: DType;
}

/** Per-layer decoding states; after a tree, per-layer trees until `acceptPath`. */
export class MixerLMState implements MixerState {
  disposed = false;
  constructor(
    readonly layers: MixerState[] | null,
    readonly trees: LayerTree[] | null,
  ) {}

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.layers?.forEach((s) => s.dispose());
    this.trees?.forEach((t) => {
      if (t.kind === 'kv') t.cache.dispose();
      else [t.prefix, ...t.nodes].forEach((s) => s.dispose());
    });
  }
}

/** A pre-norm residual block as the stack decoder sees it: x + mixer(norm1(x)), then + mlp(norm2(x)). */
export interface StackBlock {
  norm1: { forward(x: Tensor): Tensor };
  mixer: Mixer;
  norm2: { forward(x: Tensor): Tensor };
  mlp: { forward(x: Tensor): Tensor };
}

/** The parts of a decoder-only LM that tree decoding needs. */
export interface StackParts {
  vocab: number;
  dModel: number;
  /** i32 tokens (1, m) → (1, m, d) */
  embed(tokens: Tensor): Tensor;
  blocks: Iterable<StackBlock>;
  /** the final norm: residual stream → the hidden state the LM head reads */
  hidden(x: Tensor): Tensor;
  /** the LM head */
  logits(h: Tensor): Tensor;
}

/**
 * Feed tokens through a block stack with per-layer decoding states: a
 * continuation (each mixer extends its cache or steps its state), or with
 * `parents` a tree of candidates (tree attention per softmax layer, branched
 * states per recurrent layer). Consumes `state`.
 */
export function decodeStack(p: StackParts, tokens: readonly number[], state: MixerLMState, parents?: readonly number[]): DecodeOutput<MixerLMState> {
  if (state.disposed || !state.layers) throw new Error('extendDecode: the state was consumed or is a pending tree (call acceptPath first)');
  if (tokens.length === 0) throw new Error('extendDecode: no tokens');
  tokens.forEach((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= p.vocab) throw new Error(`extendDecode: token ${t} is outside the vocabulary of ${p.vocab}`);
  });
  const m = tokens.length;
  const layers = state.layers;
  state.disposed = true; // its layer states move into the result
  const next: MixerState[] = [];
  const trees: LayerTree[] = [];
  const [hidden, logits] = tidy(() => {
    let x = p.embed(tensor(Int32Array.from(tokens), [1, m], { dtype: 'i32' }));
    let l = 0;
    for (const b of p.blocks) {
      const h = b.norm1.forward(x);
      let y: Tensor;
      if (parents) {
        const [yy, tr] = mixerTree(b.mixer, h, layers[l]!, parents);
        trees.push(tr);
        y = yy;
      } else {
        const [yy, st] = mixerExtend(b.mixer, h, layers[l]!);
        next.push(st);
        y = yy;
      }
      x = add(x, y);
      x = add(x, b.mlp.forward(b.norm2.forward(x)));
      l++;
    }
    const hid = reshape(p.hidden(x), [m, p.dModel]);
    return [hid, p.logits(hid)];
  });
  return { hidden, logits, state: parents ? new MixerLMState(null, trees) : new MixerLMState(next, null) };
}

/** After a tree: keep each layer's accepted path. Consumes `state`. */
export function acceptStack(state: MixerLMState, path: readonly number[]): MixerLMState {
  if (state.disposed || !state.trees) throw new Error('acceptPath: the state is not a pending tree');
  state.disposed = true;
  return new MixerLMState(state.trees.map((t) => acceptLayer(t, path)), null);
}

class Block extends Module {
  norm1: RMSNorm;
  mixer: Mixer;
  norm2: RMSNorm;
  mlp: MLP;
  constructor(d: number, spec: MixerSpec, hidden: number, key: Key, dtype?: DType) {
    super();
    const [k1, k2] = splitKey(key, 2);
    this.norm1 = new RMSNorm(d, { dtype });
    this.mixer = createMixer(d, dtype && spec.dtype === undefined ? { ...spec, dtype } : spec, k1!);
    this.norm2 = new RMSNorm(d, { dtype });
    this.mlp = new MLP(d, [hidden], d, { key: k2!, activation: 'gelu', dtype });
  }
  ffn(x: Tensor): Tensor {
    return add(x, this.mlp.forward(this.norm2.forward(x)));
  }
}

export class MixerLM extends Module implements MedusaBase<MixerLMState> {
  readonly config: Readonly<{ vocab: number; dModel: number; layers: number }>;
  embed: Embedding;
  blocks: Block[];
  norm: RMSNorm;
  head: Linear;

  constructor(opts: MixerLMOptions) {
    super();
    const { vocab, dModel, layers } = opts;
    const specs = Array.isArray(opts.mixer) ? (opts.mixer as readonly MixerSpec[]) : Array.from({ length: layers }, () => opts.mixer as MixerSpec);
    if (specs.length !== layers) throw new Error(`MixerLM: ${specs.length} mixer specs for ${layers} layers`);
    this.config = { vocab, dModel, layers };
    const keys = splitKey(opts.key, layers + 2);
    this.embed = new Embedding(vocab, dModel, { key: keys[0]!, std: 0.5, dtype: opts.dtype });
    this.blocks = specs.map((s, i) => new Block(dModel, s, opts.hidden ?? 4 * dModel, keys[i + 2]!, opts.dtype));
    this.norm = new RMSNorm(dModel, { dtype: opts.dtype });
    this.head = new Linear(dModel, vocab, { key: keys[1]!, bias: false, dtype: opts.dtype });
  }

  get vocabSize(): number {
    return this.config.vocab;
  }
  get dModel(): number {
    return this.config.dModel;
  }

  forwardHidden(tokens: Tensor): { hidden: Tensor; logits: Tensor } {
    if (tokens.ndim !== 2 || tokens.dtype !== 'i32') throw new Error(`MixerLM: tokens must be i32 (b, n), got ${tokens.dtype} [${tokens.shape.join(',')}]`);
    return tidy(() => {
      let x = this.embed.forward(tokens);
      for (const b of this.blocks) x = b.ffn(add(x, b.mixer.forward(b.norm1.forward(x))));
      const hidden = this.norm.forward(x);
      return { hidden, logits: this.head.forward(hidden) };
    });
  }

  /** logits only (b, n, vocab) */
  forward(tokens: Tensor): Tensor {
    const { hidden, logits } = this.forwardHidden(tokens);
    hidden.dispose();
    return logits;
  }

  initDecode(): MixerLMState {
    return new MixerLMState(this.blocks.map((b) => b.mixer.initState(1)), null);
  }

  extendDecode(tokens: readonly number[], state: MixerLMState, parents?: readonly number[]): DecodeOutput<MixerLMState> {
    return decodeStack(this.stackParts(), tokens, state, parents);
  }

  private stackParts(): StackParts {
    return {
      vocab: this.config.vocab,
      dModel: this.config.dModel,
      embed: (t) => this.embed.forward(t),
      blocks: this.blocks,
      hidden: (x) => this.norm.forward(x),
      logits: (h) => this.head.forward(h),
    };
  }

  acceptPath(state: MixerLMState, path: readonly number[]): MixerLMState {
    return acceptStack(state, path);
  }

  get module(): Module {
    return this;
  }

  lmHeadWeight(): Tensor {
    return this.head.weight;
  }
}
