/**
 * The zoo's decoder-only `LanguageModel` (zoo/lm) as a Medusa base model:
 * its blocks decode a tree of candidates layer by layer (tree attention in
 * softmax layers, branched states in recurrent ones, see branch.ts), and its
 * final norm's output is the hidden state the Medusa heads read.
 *
 *   const base = medusaBase(lm);
 *   const heads = new MedusaHeads(base.dModel, base.vocabSize, { key, heads: 4, lmHead: base.lmHeadWeight() });
 *   fitMedusa(base, heads, (step) => batch(step), { steps: 200 });         // Medusa-1
 *   const r = compareDecoding(base, heads, promptIds, { maxNewTokens: 200 });
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { matmul } from '../../ops/matmul.js';
import { transpose } from '../../ops/views.js';
import type { Module } from '../../nn/module.js';
import type { LanguageModel } from '../lm/model.js';
import type { DecodeOutput, MedusaBase } from './base.js';
import { acceptStack, decodeStack, MixerLMState, type StackParts } from './mixerLM.js';

export class LMMedusaBase implements MedusaBase<MixerLMState> {
  readonly model: LanguageModel;
  private readonly parts: StackParts;

  constructor(model: LanguageModel) {
    this.model = model;
    this.parts = {
      vocab: model.config.vocabSize,
      dModel: model.config.dModel,
      embed: (t) => model.embed.forward(t),
      blocks: model.blocks,
      hidden: (x) => model.normOut.forward(x),
      logits: (h) => (model.head ? model.head.forward(h) : matmul(h, transpose(model.embed.weight))),
    };
  }

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }
  get dModel(): number {
    return this.model.config.dModel;
  }
  get module(): Module {
    return this.model;
  }

  forwardHidden(tokens: Tensor): { hidden: Tensor; logits: Tensor } {
    if (tokens.ndim !== 2 || tokens.dtype !== 'i32') throw new Error(`medusaBase: tokens must be i32 (b, n), got ${tokens.describe()}`);
    return tidy(() => {
      let x = this.model.embed.forward(tokens);
      for (const b of this.model.blocks) x = b.forward(x);
      const hidden = this.parts.hidden(x);
      return { hidden, logits: this.parts.logits(hidden) };
    });
  }

  initDecode(): MixerLMState {
    return new MixerLMState([...this.model.blocks].map((b) => b.mixer.initState(1)), null);
  }

  extendDecode(tokens: readonly number[], state: MixerLMState, parents?: readonly number[]): DecodeOutput<MixerLMState> {
    return decodeStack(this.parts, tokens, state, parents);
  }

  acceptPath(state: MixerLMState, path: readonly number[]): MixerLMState {
    return acceptStack(state, path);
  }

  /** the output projection (the embedding when tied) */
  lmHeadWeight(): Tensor {
    return this.model.head ? this.model.head.weight : this.model.embed.weight;
  }
}

/** Wrap a `LanguageModel` for Medusa. */
export function medusaBase(model: LanguageModel): LMMedusaBase {
  return new LMMedusaBase(model);
}
