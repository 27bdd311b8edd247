/**
 * Tokenizers for the language models: bytes, characters, and byte-level BPE
 * trained by nabla; saved and loaded as JSON (tokenizer.json in a run).
 */
import { nodeFs } from '../io/node.js';
import { atomicWriteFileSync } from '../io/atomicWrite.js';
import { BpeTokenizer } from './bpe.js';
import { ByteTokenizer, CharTokenizer } from './simple.js';
import type { Tokenizer, TokenizerJSON, TokenizerKind } from './tokenizer.js';

export { StreamDecoder, decodeBytes, utf8, type Tokenizer, type TokenizerJSON, type TokenizerKind } from './tokenizer.js';
export { ByteTokenizer, CharTokenizer } from './simple.js';
export { BpeTokenizer, pretokenize, type BpeTrainOptions } from './bpe.js';

export const TOKENIZER_KINDS: readonly TokenizerKind[] = ['bytes', 'chars', 'bpe'];

/** Build a tokenizer of `kind` for `text` (chars: its characters; bpe: merges learned from it up to `vocabSize`, default 512). */
export function trainTokenizer(kind: string, text: string, opts: { vocabSize?: number } = {}): Tokenizer {
  switch (kind) {
    case 'bytes':
      return new ByteTokenizer();
    case 'chars':
      return CharTokenizer.fromText(text);
    case 'bpe':
      return BpeTokenizer.train(text, { vocabSize: opts.vocabSize ?? 512 });
    default:
      throw new Error(`unknown tokenizer '${kind}'; choose one of ${TOKENIZER_KINDS.join(', ')}`);
  }
}

export function tokenizerFromJSON(j: TokenizerJSON): Tokenizer {
  if (!j || typeof j !== 'object') throw new Error('tokenizerFromJSON: expected an object with a kind');
  switch (j.kind) {
    case 'bytes':
      return new ByteTokenizer();
    case 'chars':
      return new CharTokenizer(j.chars);
    case 'bpe':
      return new BpeTokenizer(j.merges);
    default:
      throw new Error(`tokenizerFromJSON: unknown tokenizer kind ${JSON.stringify((j as { kind?: unknown }).kind)}`);
  }
}

/** Write a tokenizer as JSON (atomically). */
export function saveTokenizer(path: string, t: Tokenizer): void {
  atomicWriteFileSync(path, new TextEncoder().encode(JSON.stringify(t.toJSON())));
}

export function loadTokenizer(path: string): Tokenizer {
  let j: TokenizerJSON;
  try {
    j = JSON.parse(nodeFs('loadTokenizer', 'in a browser build one with tokenizerFromJSON').readFileSync(path, 'utf8')) as TokenizerJSON;
  } catch (e) {
    throw new Error(`cannot read the tokenizer ${path}: ${(e as Error).message}`, { cause: e });
  }
  return tokenizerFromJSON(j);
}
