/**
 * A decoder-only language model whose token mixer is chosen by name.
 *
 *   x = E[tokens]                                              (b, n, d)
 *   for each layer l:  x = x + mixer_l(norm(x))                pre-norm residual blocks
 *                      x = x + MLP(norm(x))                    (GPT-2: Radford et al. 2019;
 *   logits = W_out · norm(x)                                    Xiong et al., arXiv 2002.04745)
 *
 * `mixer_l` comes from the registry of zoo/mixer.ts (attention, recurrent and
 * state-space families all register there), so the same model is a
 * transformer ('softmax'), an LSTM stack ('lstm'), a Mamba ('mamba') or a
 * hybrid: a comma-separated list is cycled over the layers, so
 * 'mamba,mamba,softmax' with 6 layers puts attention in layers 2 and 5.
 * Position information is the mixer's own business (RoPE inside softmax
 * attention, order inside the recurrences), as in Mamba and RetNet.
 *
 * Decoding uses the mixers' `initState`/`step`: each new token costs one
 * step per layer against a state (KV cache or recurrent state), so
 * generating n tokens is linear in n for the recurrent mixers and never
 * recomputes the prefix for any of them.
 */
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { LayerNorm, RMSNorm } from '../../nn/norm.js';
import { Linear } from '../../nn/linear.js';
import { MLP } from '../../nn/mlp.js';
import { ModuleList } from '../../nn/containers.js';
import { key as makeKey, split, type Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import type { Tensor } from '../../core/tensor.js';
import { add } from '../../ops/elementwise.js';
import { tensor } from '../../ops/creation.js';
import { matmul } from '../../ops/matmul.js';
import { transpose } from '../../ops/views.js';
import { createMixer, mixerKinds, type Mixer, type MixerState } from '../mixer.js';
// the families register their mixers when imported
import '../attention/index.js';
import '../rnn/index.js';
import '../ssm/index.js';

export interface LanguageModelConfig {
  vocabSize: number;
  dModel: number;
  layers: number;
  /** a registered mixer kind, or a comma-separated list cycled over the layers */
  mixer: string;
  /** options passed to every mixer's factory (heads, chunk, state size, ...) */
  mixerOptions?: Record<string, unknown>;
  /** hidden width of the MLP as a multiple of dModel (default 4) */
  mlpRatio?: number;
  norm?: 'layernorm' | 'rmsnorm';
  /** share the embedding matrix with the output projection (default false) */
  tieEmbeddings?: boolean;
}

/** Parse and check a mixer list against the registry; one clear error naming the unknown kind. */
export function parseMixers(mixer: string, layers: number): string[] {
  if (typeof mixer !== 'string' || mixer.trim() === '') throw new Error('mixer must be a mixer name or a comma-separated list, e.g. softmax or mamba,mamba,softmax');
  const names = mixer.split(',').map((s) => s.trim());
  const known = new Set(mixerKinds());
  for (const n of names) {
    if (!known.has(n)) throw new Error(`unknown mixer '${n}'; choose from ${[...known].join(', ')}`);
  }
  return Array.from({ length: layers }, (_, l) => names[l % names.length]!);
}

function checkConfig(c: LanguageModelConfig): Required<Omit<LanguageModelConfig, 'mixerOptions'>> & { mixerOptions: Record<string, unknown> } {
  const posInt = (name: string, v: unknown): void => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`LanguageModel: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  posInt('vocabSize', c.vocabSize);
  posInt('dModel', c.dModel);
  posInt('layers', c.layers);
  const mlpRatio = c.mlpRatio ?? 4;
  if (!(mlpRatio > 0)) throw new Error(`LanguageModel: mlpRatio must be positive, got ${mlpRatio}`);
  const norm = c.norm ?? 'layernorm';
  if (norm !== 'layernorm' && norm !== 'rmsnorm') throw new Error(`LanguageModel: norm must be 'layernorm' or 'rmsnorm', got ${JSON.stringify(norm)}`);
  return { vocabSize: c.vocabSize, dModel: c.dModel, layers: c.layers, mixer: c.mixer, mixerOptions: c.mixerOptions ?? {}, mlpRatio, norm, tieEmbeddings: c.tieEmbeddings ?? false };
}

const makeNorm = (kind: string, d: number): LayerNorm | RMSNorm => (kind === 'rmsnorm' ? new RMSNorm(d, { dtype: 'f32' }) : new LayerNorm(d, { dtype: 'f32' }));

/** One pre-norm residual block: x + mixer(norm(x)), then + MLP(norm(x)). */
export class LMBlock extends Module {
  norm1: LayerNorm | RMSNorm;
  mixer: Mixer;
  norm2: LayerNorm | RMSNorm;
  mlp: MLP;

  constructor(d: number, kind: string, c: ReturnType<typeof checkConfig>, key: Key) {
    super();
    const [km, kf] = split(key, 2) as [Key, Key];
    this.norm1 = makeNorm(c.norm, d);
    this.mixer = createMixer(d, { ...c.mixerOptions, kind }, km);
    if (!this.mixer.causal) throw new Error(`mixer '${kind}' is not causal; a language model needs a causal mixer`);
    this.norm2 = makeNorm(c.norm, d);
    this.mlp = new MLP(d, Math.max(1, Math.round(c.mlpRatio * d)), d, { key: kf, activation: 'gelu', dtype: 'f32' });
  }

  /** (b, n, d) → (b, n, d) */
  forward(x: Tensor): Tensor {
    const h = add(x, this.mixer.forward(this.norm1.forward(x)));
    return add(h, this.mlp.forward(this.norm2.forward(h)));
  }

  /** one position (b, d) → [(b, d), next state] */
  step(x: Tensor, state: MixerState): [Tensor, MixerState] {
    const [y, next] = this.mixer.step(this.norm1.forward(x), state);
    const h = add(x, y);
    return [add(h, this.mlp.forward(this.norm2.forward(h))), next];
  }
}

/** The decoding state of a whole model: one mixer state per layer and the position reached. */
export class LMState {
  constructor(
    public layers: MixerState[],
    readonly batch: number,
    public position = 0,
  ) {}

  get disposed(): boolean {
    return this.layers.every((s) => s.disposed);
  }

  dispose(): void {
    for (const s of this.layers) s.dispose();
  }
}

export class LanguageModel extends Module {
  readonly config: Readonly<ReturnType<typeof checkConfig>>;
  /** the mixer kind of each layer */
  readonly mixers: readonly string[];
  embed: Embedding;
  blocks: ModuleList<LMBlock>;
  normOut: LayerNorm | RMSNorm;
  head: Linear | null;

  constructor(config: LanguageModelConfig, seedOrKey: number | Key = 0) {
    super();
    const c = checkConfig(config);
    this.config = c;
    this.mixers = parseMixers(c.mixer, c.layers);
    const k = split(typeof seedOrKey === 'number' ? makeKey(seedOrKey) : seedOrKey, c.layers + 2);
    this.embed = new Embedding(c.vocabSize, c.dModel, { key: k[0]!, std: 0.02, dtype: 'f32' });
    this.blocks = new ModuleList(this.mixers.map((kind, l) => new LMBlock(c.dModel, kind, c, k[l + 2]!)));
    this.normOut = makeNorm(c.norm, c.dModel);
    this.head = c.tieEmbeddings ? null : new Linear(c.dModel, c.vocabSize, { key: k[1]!, bias: false, dtype: 'f32' });
  }

  #logits(h: Tensor): Tensor {
    const y = this.normOut.forward(h);
    return this.head ? this.head.forward(y) : matmul(y, transpose(this.embed.weight));
  }

  /** tokens (b, n) i32 → logits (b, n, vocab) */
  forward(tokens: Tensor): Tensor {
    if (tokens.ndim !== 2 || tokens.dtype !== 'i32') throw new Error(`LanguageModel.forward: tokens must be i32 (b, n), got ${tokens.describe()}`);
    return tidy(() => {
      let x = this.embed.forward(tokens);
      for (const b of this.blocks) x = b.forward(x);
      return this.#logits(x);
    });
  }

  /** A fresh decoding state for `batch` sequences. */
  initState(batch = 1): LMState {
    return new LMState([...this.blocks].map((b) => b.mixer.initState(batch)), batch);
  }

  /**
   * Feed one token per sequence (`tokens`, length = the state's batch) and
   * return the next-token logits (b, vocab). The state advances in place
   * (each layer's old mixer state is consumed).
   */
  step(tokens: readonly number[] | Int32Array, state: LMState): Tensor {
    if (tokens.length !== state.batch) throw new Error(`LanguageModel.step: ${tokens.length} tokens for a state of batch ${state.batch}`);
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.config.vocabSize) throw new Error(`LanguageModel.step: token ${t} is outside the vocabulary 0…${this.config.vocabSize - 1}`);
    }
    const out = tidy(() => {
      let x = this.embed.forward(tensor(Int32Array.from(tokens), [tokens.length], { dtype: 'i32' })); // (b, d)
      [...this.blocks].forEach((b, l) => {
        const [y, next] = b.step(x, state.layers[l]!);
        state.layers[l] = next;
        x = y;
      });
      return this.#logits(x);
    });
    state.position++;
    return out;
  }
}
