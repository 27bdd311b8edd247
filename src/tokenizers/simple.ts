/**
 * The two tokenizers that need no training beyond a vocabulary:
 *
 * - `ByteTokenizer`: the 256 byte values of the UTF-8 encoding. Any text
 *   round-trips; a character outside ASCII takes 2-4 tokens.
 * - `CharTokenizer`: one token per Unicode code point seen in a corpus
 *   (Karpathy's char-rnn / makemore style): the smallest vocabulary for a
 *   given text, but a character it never saw cannot be encoded (the error
 *   says which and suggests the byte or BPE tokenizer).
 */
import { checkIds, decodeBytes, utf8, type Tokenizer, type TokenizerJSON } from './tokenizer.js';

const BYTE_TOKENS: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

export class ByteTokenizer implements Tokenizer {
  readonly kind = 'bytes' as const;
  readonly vocabSize = 256;

  encode(text: string): number[] {
    return Array.from(utf8(text));
  }

  decode(ids: readonly number[]): string {
    checkIds('ByteTokenizer', ids, 256);
    return decodeBytes(this, ids);
  }

  tokenBytes(id: number): Uint8Array {
    const b = BYTE_TOKENS[id];
    if (!b) throw new Error(`ByteTokenizer: id ${id} is outside 0…255`);
    return b;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'bytes' };
  }
}

function describeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  const shown = cp < 32 || cp === 127 ? '' : `'${c}' `;
  return `${shown}(U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'chars' as const;
  /** the characters (code points), id = index */
  readonly chars: readonly string[];
  readonly #ids: Map<string, number>;
  readonly #bytes: Uint8Array[];

  constructor(chars: readonly string[]) {
    if (!Array.isArray(chars) || chars.length === 0) throw new Error('CharTokenizer: the character list is empty');
    const ids = new Map<string, number>();
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) throw new Error(`CharTokenizer: entry ${i} must be one character, got ${JSON.stringify(c)}`);
      if (ids.has(c)) throw new Error(`CharTokenizer: character ${describeChar(c)} is listed twice`);
      ids.set(c, i);
    });
    this.chars = [...chars];
    this.#ids = ids;
    this.#bytes = this.chars.map((c) => utf8(c));
  }

  /** The sorted set of code points of `text`. */
  static fromText(text: string): CharTokenizer {
    const set = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    if (set.length === 0) throw new Error('CharTokenizer.fromText: the text is empty');
    return new CharTokenizer(set);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const c of text) {
      const id = this.#ids.get(c);
      if (id === undefined) {
        throw new Error(`CharTokenizer: character ${describeChar(c)} is not among the ${this.chars.length} characters of the training corpus; use the bytes or bpe tokenizer for open text`);
      }
      out.push(id);
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    checkIds('CharTokenizer', ids, this.chars.length);
    return ids.map((i) => this.chars[i]!).join('');
  }

  tokenBytes(id: number): Uint8Array {
    const b = this.#bytes[id];
    if (!b) throw new Error(`CharTokenizer: id ${id} is outside 0…${this.chars.length - 1}`);
    return b;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'chars', chars: [...this.chars] };
  }
}
