/**
 * Text data for the language models: read a corpus (a file, or every file of
 * a directory in name order), refuse what is not text, tokenize, split off a
 * held-out tail, draw training batches, and measure bits per byte.
 *
 * - Binary input is caught before it becomes a model of garbage: a NUL byte
 *   or bytes that are not valid UTF-8 name the file and offset.
 * - The held-out split is the last `heldOut` fraction of the token stream
 *   (contiguous, so no window straddles both sides).
 * - Batch i is a pure function of (seed, i): windows start at
 *   `randint(foldIn(key(seed), i))`, so a resumed run sees exactly the
 *   batches the uninterrupted one would have.
 * - Bits per byte = Σ −log₂ p(token) / (UTF-8 bytes of the predicted text):
 *   unlike per-token perplexity it compares models with different
 *   tokenizers (bytes, characters, BPE) on the same text.
 */
import { nodeFs, nodePath } from '../../io/node.js';
import { foldIn, key as makeKey, randint } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { noGrad } from '../../autodiff/tape.js';
import { tensor } from '../../ops/creation.js';
import { crossEntropy } from '../../ops/nn.js';
import { reshape } from '../../ops/views.js';
import { evalMode, train } from '../../nn/module.js';
import type { Tensor } from '../../core/tensor.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import type { LanguageModel } from './model.js';

export interface Corpus {
  text: string;
  /** the files read, in order */
  files: string[];
  bytes: number;
}

function decodeUtf8(file: string, buf: Uint8Array): string {
  const nul = buf.indexOf(0);
  if (nul >= 0) throw new Error(`${file} looks binary (a NUL byte at offset ${nul}); give a UTF-8 text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new Error(`${file} is not valid UTF-8 text; give a UTF-8 text file (convert it with iconv)`);
  }
}

/** Read a text file, or the files of a directory (not recursive, skipping dotfiles) joined by blank lines. */
export function readCorpus(path: string): Corpus {
  const { existsSync, readdirSync, readFileSync, statSync } = nodeFs('readCorpus', 'in a browser tokenize the text itself');
  const { join } = nodePath('readCorpus', 'in a browser tokenize the text itself');
  if (!existsSync(path)) throw new Error(`corpus ${path} does not exist; give a text file or a directory of text files`);
  const st = statSync(path);
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((n) => !n.startsWith('.') && !/\.(md|json)$/i.test(n) && statSync(join(path, n)).isFile())
        .sort()
        .map((n) => join(path, n))
    : [path];
  if (files.length === 0) throw new Error(`corpus directory ${path} holds no text files`);
  const parts = files.map((f) => decodeUtf8(f, readFileSync(f)));
  const text = parts.join('\n\n');
  if (text.trim().length === 0) throw new Error(`corpus ${path} is empty; give a file with some text in it`);
  return { text, files, bytes: new TextEncoder().encode(text).length };
}

export interface TokenSplit {
  train: Int32Array;
  heldOut: Int32Array;
}

/** Split a token stream: the last `fraction` is held out; both parts need at least `minLength` tokens. */
export function splitTokens(tokens: ArrayLike<number>, fraction: number, minLength: number): TokenSplit {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`the held-out fraction must be in (0, 1), got ${fraction}`);
  const all = Int32Array.from(tokens);
  const cut = Math.floor(all.length * (1 - fraction));
  const split = { train: all.subarray(0, cut), heldOut: all.subarray(cut) };
  if (split.train.length < minLength || split.heldOut.length < minLength) {
    throw new Error(`the corpus has ${all.length} tokens: too few for windows of ${minLength} tokens in both the training part and the held-out ${Math.round(fraction * 100)}%; give more text or a shorter --context`);
  }
  return split;
}

/** Batch `step`: `batch` windows of `context + 1` tokens → inputs and targets (b, context), i32. */
export function batchAt(tokens: Int32Array, step: number, batch: number, context: number, seed: number): { x: Tensor; y: Tensor } {
  const maxStart = tokens.length - context - 1;
  if (maxStart < 0) throw new Error(`batchAt: ${tokens.length} tokens are fewer than a window of ${context + 1}`);
  const starts = randint(foldIn(makeKey(seed), step), batch, 0, maxStart + 1);
  const x = new Int32Array(batch * context);
  const y = new Int32Array(batch * context);
  for (let b = 0; b < batch; b++) {
    const s = starts[b]!;
    x.set(tokens.subarray(s, s + context), b * context);
    y.set(tokens.subarray(s + 1, s + context + 1), b * context);
  }
  return { x: tensor(x, [batch, context], { dtype: 'i32' }), y: tensor(y, [batch, context], { dtype: 'i32' }) };
}

/** Mean next-token cross-entropy (nats) of a batch. */
export function lmLoss(model: LanguageModel, x: Tensor, y: Tensor): Tensor {
  return tidy(() => {
    const logits = model.forward(x); // (b, n, V)
    const V = logits.shape[2]!;
    return crossEntropy(reshape(logits, [-1, V]), reshape(y, [-1]));
  });
}

export interface EvalResult {
  /** mean nats per predicted token */
  loss: number;
  perplexity: number;
  bitsPerByte: number;
  tokens: number;
  bytes: number;
}

/**
 * Evaluate on a token stream in consecutive windows of `context + 1` tokens
 * (each window predicts its last `context` tokens), up to `maxTokens`
 * predictions; in eval mode, without gradients.
 */
export function evaluateLM(model: LanguageModel, tokenizer: Tokenizer, tokens: Int32Array, o: { context: number; maxTokens?: number; batch?: number }): EvalResult {
  const { context } = o;
  const limit = Math.min(o.maxTokens ?? Infinity, tokens.length - 1);
  const batch = o.batch ?? 8;
  const windows: number[] = [];
  for (let s = 0; s + context < tokens.length && windows.length * context < limit; s += context) windows.push(s);
  if (windows.length === 0) throw new Error(`evaluate: ${tokens.length} held-out tokens are fewer than a window of ${context + 1}`);
  const wasTraining = model.training;
  evalMode(model);
  let nats = 0;
  let count = 0;
  let bytes = 0;
  try {
    for (let w = 0; w < windows.length; w += batch) {
      const group = windows.slice(w, w + batch);
      const x = new Int32Array(group.length * context);
      const y = new Int32Array(group.length * context);
      group.forEach((s, b) => {
        x.set(tokens.subarray(s, s + context), b * context);
        y.set(tokens.subarray(s + 1, s + context + 1), b * context);
      });
      nats += noGrad(() => tidy(() => {
        const logits = model.forward(tensor(x, [group.length, context], { dtype: 'i32' }));
        const V = logits.shape[2]!;
        return crossEntropy(reshape(logits, [-1, V]), tensor(y, [y.length], { dtype: 'i32' }), { reduction: 'sum' }).item();
      }));
      count += y.length;
      for (const t of y) bytes += tokenizer.tokenBytes(t).length;
    }
  } finally {
    train(model, wasTraining);
  }
  const loss = nats / count;
  return { loss, perplexity: Math.exp(loss), bitsPerByte: nats / Math.LN2 / bytes, tokens: count, bytes };
}
