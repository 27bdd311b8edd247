/**
 * What Medusa needs from a base language model, kept small so that any
 * decoder can serve (the zoo's LM, the small `MixerLM` of this folder, or a
 * wrapper around another model). Decoding is for one sequence (batch 1), as
 * in the paper.
 */
import type { Tensor } from '../../core/tensor.js';
import type { MixerState } from '../mixer.js';
import type { Module } from '../../nn/module.js';

export interface DecodeOutput<S extends MixerState = MixerState> {
  /** last hidden states (m, d): what the LM head (and the Medusa heads) read */
  hidden: Tensor;
  /** next-token logits (m, vocab) */
  logits: Tensor;
  /** the state after these tokens (after a tree: pending until `accept`) */
  state: S;
}

export interface MedusaBase<S extends MixerState = MixerState> {
  readonly vocabSize: number;
  readonly dModel: number;
  /** training pass: tokens (b, n) i32 → hidden (b, n, d) and logits (b, n, vocab), causal */
  forwardHidden(tokens: Tensor): { hidden: Tensor; logits: Tensor };
  /** the decoding state before any token */
  initDecode(): S;
  /**
   * Feed `tokens` after the state's tokens. Without `parents` they continue
   * the sequence; with `parents` (parents[i] < i, −1 for a child of the last
   * token in the state) they are a tree of candidates, each seeing only its
   * ancestors (tree attention, or branched recurrent states), and the result
   * must go through `accept`. Consumes `state`.
   */
  extendDecode(tokens: readonly number[], state: S, parents?: readonly number[]): DecodeOutput<S>;
  /** After a tree: keep the tokens of `path` (tree node indices, root first, each the parent of the next). Consumes `state`. */
  acceptPath(state: S, path: readonly number[]): S;
  /** the LM head's weight (vocab, d), to start Medusa heads from */
  lmHeadWeight?(): Tensor;
  /** the module holding the base model's parameters (Medusa-2 trains them) */
  readonly module?: Module;
}
