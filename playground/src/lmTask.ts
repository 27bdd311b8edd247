/**
 * The playground's language-model task: a small decoder-only LM
 * (zoo/lm LanguageModel, any registered mixer) trained on pasted or built-in
 * text at the character level (tokenizers CharTokenizer), in chunks so a
 * worker can post the loss and a generated sample between them. Free of DOM
 * APIs, so Node tests run it too. Imports the library module by module, so
 * the code shows where each piece lives (the package root would do too: it
 * is browser-safe, test/io/browserBundle.test.ts).
 */
import type { Tensor } from '../../src/core/tensor.js';
import { tidy } from '../../src/core/memory.js';
import { tensor } from '../../src/ops/creation.js';
import { crossEntropy } from '../../src/ops/nn.js';
import { reshape } from '../../src/ops/views.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { adamw } from '../../src/optim/adam.js';
import { loadStateDict } from '../../src/nn/module.js';
import { ParamStep } from './paramStep.js';
import type { Safetensors } from '../../src/io/safetensors.js';
import { LanguageModel } from '../../src/zoo/lm/model.js';
import { CharTokenizer } from '../../src/tokenizers/simple.js';
import { SAMPLE_TEXT } from './sampleText.js';
import { generateTokensAsync, readScalars, safetensorsOf } from './read.js';
import { attentionMapsOf, type AttentionMaps } from './attentionMaps.js';

export { SAMPLE_TEXT };
export const LM_MIXERS = ['softmax', 'linear', 'mamba', 'lstm'] as const;
export type LmMixer = (typeof LM_MIXERS)[number];
/** Model sizes small enough to train live on a CPU in the browser. */
export const LM_SIZES = {
  tiny: { dModel: 32, layers: 1 },
  small: { dModel: 64, layers: 2 },
} as const;
export type LmSize = keyof typeof LM_SIZES;

export interface LmConfig {
  mixer: LmMixer;
  size: LmSize;
  /** the training text (the built-in sample when empty) */
  text?: string;
  /** the tokenizer's characters (from saved weights); the text keeps only these */
  chars?: readonly string[];
  lr?: number;
  seed?: number;
  context?: number;
  batch?: number;
}

/** A deterministic stream of window starts (mulberry32): batch i depends only on (seed, i). */
function windowStarts(seed: number, step: number, batch: number, max: number): number[] {
  let s = (seed * 0x9e3779b9 + step * 0x85ebca6b + 1) >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: batch }, () => Math.floor(next() * max));
}

/** A character-level language model being trained step by step. */
export class LmTask {
  readonly model: LanguageModel;
  readonly tokenizer: CharTokenizer;
  readonly tokens: Int32Array;
  readonly context: number;
  readonly batch: number;
  readonly seed: number;
  step = 0;
  #optim: ParamStep;

  constructor(config: LmConfig) {
    if (!LM_MIXERS.includes(config.mixer)) throw new Error(`playground: unknown mixer '${config.mixer}' (one of ${LM_MIXERS.join(', ')})`);
    const size = LM_SIZES[config.size];
    if (!size) throw new Error(`playground: unknown size '${config.size}' (one of ${Object.keys(LM_SIZES).join(', ')})`);
    const given = config.text && config.text.length > 0 ? config.text : SAMPLE_TEXT;
    const text = config.chars ? [...given].filter((c) => config.chars!.includes(c)).join('') : given;
    this.context = config.context ?? 32;
    this.batch = config.batch ?? 16;
    this.seed = config.seed ?? 0;
    if (text.length < this.context + 2) throw new Error(`playground: the text has ${text.length} characters; it needs at least ${this.context + 2}`);
    this.tokenizer = config.chars ? new CharTokenizer(config.chars) : CharTokenizer.fromText(text);
    this.tokens = Int32Array.from(this.tokenizer.encode(text));
    this.model = new LanguageModel({ vocabSize: this.tokenizer.vocabSize, dModel: size.dModel, layers: size.layers, mixer: config.mixer }, this.seed);
    this.#optim = new ParamStep(this.model, adamw({ lr: config.lr ?? 3e-3, weightDecay: 0 }));
  }

  /** Tokens consumed by one optimiser step. */
  get tokensPerStep(): number {
    return this.batch * this.context;
  }

  /** The inputs and next-character targets (batch, context) of batch `step`. */
  batchAt(step: number): { x: Tensor; y: Tensor } {
    const { batch, context } = this;
    const starts = windowStarts(this.seed, step, batch, this.tokens.length - context);
    const x = new Int32Array(batch * context);
    const y = new Int32Array(batch * context);
    starts.forEach((s, b) => {
      x.set(this.tokens.subarray(s, s + context), b * context);
      y.set(this.tokens.subarray(s + 1, s + context + 1), b * context);
    });
    return { x: tensor(x, [batch, context], { dtype: 'i32' }), y: tensor(y, [batch, context], { dtype: 'i32' }) };
  }

  /**
   * Run n optimiser steps; returns their losses (mean cross-entropy in nats
   * per character). Async: on WebGPU the losses are read with `await` at the
   * end of the chunk.
   */
  async train(n: number): Promise<number[]> {
    const pending: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const loss = tidy(() => {
        const { x, y } = this.batchAt(this.step);
        const logits = this.model.forward(x);
        const l = crossEntropy(reshape(logits, [-1, this.tokenizer.vocabSize]), reshape(y, [-1]));
        this.#optim.step(l);
        return l;
      });
      pending.push(loss);
      this.step++;
    }
    return readScalars(pending);
  }

  /**
   * The weights as safetensors bytes; the metadata holds what rebuilds the
   * model (mixer, dModel, layers) and the tokenizer's characters (JSON).
   */
  async weights(): Promise<Uint8Array> {
    const c = this.model.config;
    return safetensorsOf(this.model, { mixer: c.mixer, dModel: String(c.dModel), layers: String(c.layers), chars: JSON.stringify(this.tokenizer.chars), step: String(this.step) });
  }

  /**
   * Load weights saved by `weights()`: the metadata must name this task's
   * mixer, width, depth and characters (`lmWeightsConfig` builds a matching
   * task), and a tensor of another shape fails naming it (nn.loadStateDict).
   * The step count is restored, so a sample draws with the saved run's seed.
   */
  loadWeights(st: Safetensors): void {
    const md = st.metadata ?? {};
    const c = this.model.config;
    const mine = `${c.mixer} model (d = ${c.dModel}, ${c.layers} layers)`;
    if (md.mixer !== c.mixer || Number(md.dModel) !== c.dModel || Number(md.layers) !== c.layers) {
      throw new Error(`playground: the weights are of a ${md.mixer ?? '(no mixer)'} model (d = ${md.dModel ?? '?'}, ${md.layers ?? '?'} layers), this task is a ${mine}`);
    }
    if (md.chars !== JSON.stringify(this.tokenizer.chars)) throw new Error(`playground: the weights' characters (${md.chars ?? 'none'}) are not this task's ${this.tokenizer.vocabSize}`);
    loadStateDict(this.model, st.tensors);
    this.step = Number(md.step ?? 0);
  }

  /**
   * The Frobenius norm of each layer's decoding state (a Mamba layer's SSM
   * and conv states, an LSTM's h and c, linear attention's S and z, softmax's
   * growing k and v cache) after each character of `prompt`, fed one at a
   * time through `LanguageModel.step`: how the recurrent memory fills up.
   */
  async stateNorms(prompt: string): Promise<{ chars: string[]; series: { label: string; norms: number[] }[] }> {
    const chars = [...prompt].filter((c) => this.tokenizer.chars.includes(c));
    const series = new Map<string, number[]>();
    const state = this.model.initState(1);
    try {
      for (const c of chars) {
        noGrad(() => tidy(() => void this.model.step(this.tokenizer.encode(c), state)));
        for (const [l, s] of state.layers.entries()) {
          // the mixers' state classes keep their tensors as .t (attention, RNN) or .tensors (SSMs)
          const held = s as unknown as { t?: Record<string, Tensor>; tensors?: Record<string, Tensor> };
          const t = held.t ?? held.tensors ?? {};
          for (const [name, v] of Object.entries(t)) {
            const label = `layer ${l} ${name}`;
            if (!series.has(label)) series.set(label, []);
            series.get(label)!.push(Math.hypot(...(await v.data())));
          }
        }
      }
    } finally {
      state.dispose();
    }
    return { chars, series: [...series].map(([label, norms]) => ({ label, norms })) };
  }

  /**
   * The attention maps of `prompt` (its characters that occur in the text,
   * at most `maxChars`): per layer and head a T×T map, row i the weights of
   * query i over the characters 0…i (softmax attention: softmax(QKᵀ/√d + M);
   * linear attention: φ(q)·φ(k) row-normalised; attentionMaps.ts). Mamba and
   * LSTM layers have none: their entries have kind null and `note` says so.
   */
  attentionMaps(prompt: string, maxChars = 48): Promise<AttentionMaps> {
    const chars = [...prompt].filter((c) => this.tokenizer.chars.includes(c)).slice(0, maxChars);
    return attentionMapsOf(this.model, this.tokenizer.encode(chars.join('')), chars);
  }

  /** Generate up to `maxTokens` characters after `prompt` (its characters must occur in the text). */
  async sample(prompt: string, maxTokens = 120, temperature = 0.8): Promise<string> {
    const known = [...prompt].filter((c) => this.tokenizer.chars.includes(c)).join('');
    const start = known.length > 0 ? known : this.tokenizer.decode([this.tokens[0]!]);
    const ids = await generateTokensAsync(this.model, this.tokenizer.encode(start), { maxTokens, temperature, seed: this.seed + this.step });
    return start + this.tokenizer.decode(ids);
  }
}

/** The task settings that saved LM weights need (mixer, size, characters), read from their metadata. */
export function lmWeightsConfig(md: Readonly<Record<string, string>> | undefined): { mixer: LmMixer; size: LmSize; chars: string[] } {
  const mixer = md?.mixer as LmMixer | undefined;
  if (!mixer || !LM_MIXERS.includes(mixer)) throw new Error(`playground: these weights name no mixer of the panel (metadata mixer = ${JSON.stringify(mixer ?? null)}; one of ${LM_MIXERS.join(', ')}); were they saved from the language-model panel?`);
  const dModel = Number(md!.dModel);
  const layers = Number(md!.layers);
  const size = (Object.keys(LM_SIZES) as LmSize[]).find((k) => LM_SIZES[k].dModel === dModel && LM_SIZES[k].layers === layers);
  if (!size) throw new Error(`playground: the weights' model (d = ${md!.dModel}, ${md!.layers} layers) is none of the panel's sizes (${Object.entries(LM_SIZES).map(([k, v]) => `${k}: d = ${v.dModel}, ${v.layers} layers`).join('; ')})`);
  if (!md!.chars) throw new Error('playground: these weights carry no characters (metadata chars)');
  return { mixer, size, chars: JSON.parse(md!.chars) as string[] };
}
