/**
 * Autoregressive generation with a `LanguageModel`: the prompt is fed
 * through `step` (prefill), then each new token is sampled from the last
 * logits and fed back. Every token costs one `step` against the mixers'
 * decoding state (KV cache or recurrent state), so the work is linear in the
 * number of tokens for recurrent mixers and never recomputes the prefix.
 *
 * `generateText` adds the tokenizer: text streams out through `onText` as
 * soon as whole characters are decoded, and generation ends at a stop string
 * (not included in the result). Text that could still turn into a stop string
 * is held back until it cannot, so a stop string never leaks into the
 * stream.
 */
import { tidy } from '../../core/memory.js';
import { noGrad } from '../../autodiff/tape.js';
import { evalMode, train } from '../../nn/module.js';
import { StreamDecoder, type Tokenizer } from '../../tokenizers/tokenizer.js';
import type { LanguageModel } from './model.js';
import { TokenSampler, type SamplingOptions } from './sample.js';

export interface GenerateOptions extends SamplingOptions {
  /** new tokens to generate at most */
  maxTokens: number;
  seed?: number;
  /** called with each new token; return false to stop */
  onToken?: (id: number) => boolean | void;
}

export interface GenerateResult {
  /** the new tokens (the prompt not included) */
  tokens: number[];
  /** seconds spent on the prompt and on the new tokens */
  prefillSec: number;
  decodeSec: number;
}

/** Generate token ids after `prompt` (non-empty). */
export function generateTokens(model: LanguageModel, prompt: readonly number[], o: GenerateOptions): GenerateResult {
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0) throw new Error(`maxTokens must be a non-negative integer, got ${o.maxTokens}`);
  if (prompt.length === 0) throw new Error('the prompt is empty; give at least one token to start from');
  const sampler = new TokenSampler(o);
  const wasTraining = model.training;
  evalMode(model);
  const state = model.initState(1);
  const history = [...prompt];
  const tokens: number[] = [];
  try {
    const t0 = performance.now();
    let logits: Float64Array = new Float64Array(0);
    for (const t of prompt) logits = noGrad(() => tidy(() => model.step([t], state).toF64()));
    const t1 = performance.now();
    for (let i = 0; i < o.maxTokens; i++) {
      const next = sampler.next(logits, history, history.length);
      tokens.push(next);
      history.push(next);
      if (o.onToken?.(next) === false) break;
      if (i + 1 < o.maxTokens) logits = noGrad(() => tidy(() => model.step([next], state).toF64()));
    }
    return { tokens, prefillSec: (t1 - t0) / 1000, decodeSec: (performance.now() - t1) / 1000 };
  } finally {
    state.dispose();
    train(model, wasTraining);
  }
}

export interface GenerateTextOptions extends Omit<GenerateOptions, 'onToken'> {
  /** generation ends at the first of these strings (which is left out) */
  stop?: readonly string[];
  /** streamed text, in order; the pieces concatenate to the result's text */
  onText?: (piece: string) => void;
}

export interface GenerateTextResult extends GenerateResult {
  text: string;
  /** why it ended: a stop string, or maxTokens */
  finish: 'stop' | 'length';
}

/** Length of the longest suffix of `s` that is a proper prefix of some stop string. */
function heldBack(s: string, stops: readonly string[]): number {
  let hold = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, s.length); k > hold; k--) {
      if (s.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/** Generate text after `prompt`, streaming it and stopping at stop strings. */
export function generateText(model: LanguageModel, tokenizer: Tokenizer, prompt: string, o: GenerateTextOptions): GenerateTextResult {
  const stops = (o.stop ?? []).filter((s) => s.length > 0);
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens but the model ${model.config.vocabSize}; they do not belong together`);
  }
  const dec = new StreamDecoder(tokenizer);
  let text = ''; // decoded so far
  let emitted = 0; // characters of `text` handed to onText
  let finish: 'stop' | 'length' = 'length';
  const emit = (upTo: number): void => {
    if (upTo > emitted) o.onText?.(text.slice(emitted, upTo));
    emitted = Math.max(emitted, upTo);
  };
  const r = generateTokens(model, tokenizer.encode(prompt), {
    ...o,
    onToken: (id) => {
      text += dec.push(id);
      for (const s of stops) {
        const at = text.indexOf(s, Math.max(0, emitted - s.length));
        if (at >= 0) {
          text = text.slice(0, at);
          finish = 'stop';
        }
      }
      if (finish === 'stop') {
        emit(text.length);
        return false;
      }
      emit(text.length - heldBack(text, stops));
      return true;
    },
  });
  if (finish === 'length') {
    text += dec.flush();
    emit(text.length);
  }
  return { ...r, text, finish };
}
