/**
 * The tokenizer contract shared by the byte, character and byte-level BPE
 * tokenizers, and the UTF-8 helpers they share.
 *
 * Every token stands for a definite byte string (`tokenBytes`), so decoding
 * is "concatenate the bytes, read them as UTF-8" for all three kinds, and a
 * streaming decoder can hand out text as soon as the bytes of a character are
 * complete, even when a token ends in the middle of a multi-byte character
 * (byte and BPE tokens can). Decoding never throws: bytes that are not valid
 * UTF-8 (a byte model may generate them) become U+FFFD, as TextDecoder does.
 */

export type TokenizerKind = 'bytes' | 'chars' | 'bpe';

/** What `toJSON` writes and `tokenizerFromJSON` reads (tokenizer.json in a run directory). */
export type TokenizerJSON =
  | { kind: 'bytes' }
  | { kind: 'chars'; chars: string[] }
  | { kind: 'bpe'; merges: [number, number][] };

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** ids are 0 … vocabSize−1 */
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** the UTF-8 bytes token `id` stands for */
  tokenBytes(id: number): Uint8Array;
  toJSON(): TokenizerJSON;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Check an id list against a vocabulary, naming the first bad id. */
export function checkIds(who: string, ids: readonly number[], vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`${who}.decode: id ${id} at position ${i} is outside the vocabulary 0…${vocabSize - 1}`);
  }
}

/** Decode by concatenating each token's bytes (invalid UTF-8 → U+FFFD). */
export function decodeBytes(t: Pick<Tokenizer, 'tokenBytes'>, ids: readonly number[]): string {
  const parts = ids.map((id) => t.tokenBytes(id));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new TextDecoder('utf-8').decode(all);
}

/**
 * Incremental decoding for streaming: `push(id)` returns the text that became
 * complete with this token (possibly '' while a multi-byte character is still
 * open), `flush()` whatever is left.
 */
export class StreamDecoder {
  readonly #t: Pick<Tokenizer, 'tokenBytes'>;
  readonly #dec = new TextDecoder('utf-8');

  constructor(t: Pick<Tokenizer, 'tokenBytes'>) {
    this.#t = t;
  }

  push(id: number): string {
    return this.#dec.decode(this.#t.tokenBytes(id), { stream: true });
  }

  flush(): string {
    return this.#dec.decode();
  }
}
