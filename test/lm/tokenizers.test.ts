/**
 * Tokenizers: exact encode/decode round trips on random Unicode (property
 * tests), the BPE merges of a hand-checked example, save/load, streaming
 * decode across split multi-byte characters, and clear errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpeTokenizer,
  ByteTokenizer,
  CharTokenizer,
  StreamDecoder,
  loadTokenizer,
  pretokenize,
  saveTokenizer,
  tokenizerFromJSON,
  trainTokenizer,
} from '../../src/tokenizers/index.js';

const SAMPLE = 'The quick brown fox — 快速的棕色狐狸 🦊🦊 jumps over 12 lazy dogs!\n\tthe the the 狐狸狐狸 🦊 fox fox.';
const text = fc.string({ unit: 'grapheme', maxLength: 60 });
const anyCodePoints = fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !/\p{Cs}/u.test(s)); // no lone surrogates: they have no UTF-8 form

describe('BPE', () => {
  it('reproduces the hand-checked merges of "aaabdaaabac"', () => {
    // pairs: aa 4, ab 2 → Z=256 "aa"; then (a,b) and (Z,a) both 2, the tie goes to the smaller pair (97,98) → Y=257 "ab";
    // then (Z,Y) occurs twice → X=258; what is left: X d X a c (the Wikipedia "Byte pair encoding" example)
    const t = BpeTokenizer.train('aaabdaaabac', { vocabSize: 300 });
    expect(t.merges).toEqual([[97, 97], [97, 98], [256, 257]]);
    expect(t.encode('aaabdaaabac')).toEqual([258, 100, 258, 97, 99]);
    expect(t.decode([258])).toBe('aaab');
    expect(t.vocabSize).toBe(259);
  });

  it('merges never cross chunk boundaries and the chunks partition the text', () => {
    fc.assert(fc.property(anyCodePoints, (s) => pretokenize(s).join('') === s));
    const t = BpeTokenizer.train('ab ab ab ab', { vocabSize: 300 });
    for (const id of t.encode('ab ab')) expect(t.decode([id]).trim()).not.toContain(' ');
  });

  const trained = BpeTokenizer.train(SAMPLE.repeat(3), { vocabSize: 400 });

  it('round-trips random Unicode exactly (Chinese, emoji, combining marks)', () => {
    expect(trained.merges.length).toBeGreaterThan(20);
    fc.assert(fc.property(text, (s) => trained.decode(trained.encode(s)) === s), { numRuns: 300 });
    fc.assert(fc.property(anyCodePoints, (s) => trained.decode(trained.encode(s)) === s), { numRuns: 300 });
    expect(trained.decode(trained.encode(SAMPLE))).toBe(SAMPLE);
    expect(trained.encode(SAMPLE).length).toBeLessThan(new TextEncoder().encode(SAMPLE).length / 2);
  });

  it('trained on random text, still round-trips random text', () => {
    fc.assert(
      fc.property(text, text, (corpus, s) => {
        const t = BpeTokenizer.train(corpus.repeat(2), { vocabSize: 280 });
        return t.decode(t.encode(s)) === s && t.decode(t.encode(corpus)) === corpus;
      }),
      { numRuns: 60 },
    );
  });

  it('rejects bad merges naming the entry', () => {
    expect(() => new BpeTokenizer([[97, 300]])).toThrow(/merge 0 must be a pair of ids below 256/);
    expect(() => new BpeTokenizer([[97, 98], [97, 98]])).toThrow(/merge 1 repeats/);
    expect(() => BpeTokenizer.train('x', { vocabSize: 10 })).toThrow(/vocabSize must be an integer in 256…65536/);
  });
});

describe('bytes and chars', () => {
  it('bytes round-trip any well-formed string', () => {
    const t = new ByteTokenizer();
    fc.assert(fc.property(anyCodePoints, (s) => t.decode(t.encode(s)) === s));
    expect(t.encode('é')).toEqual([0xc3, 0xa9]);
  });

  it('chars learn the corpus alphabet and round-trip text over it', () => {
    const t = CharTokenizer.fromText(SAMPLE);
    expect(t.vocabSize).toBe(new Set(SAMPLE).size);
    fc.assert(fc.property(fc.array(fc.constantFrom(...new Set(SAMPLE)), { maxLength: 50 }), (cs) => t.decode(t.encode(cs.join(''))) === cs.join('')));
    expect(() => t.encode('Z')).toThrow(/character 'Z' \(U\+005A\) is not among the \d+ characters .* use the bytes or bpe tokenizer/);
    expect(() => t.decode([t.vocabSize])).toThrow(/id \d+ at position 0 is outside the vocabulary/);
  });
});

describe('save, load, stream', () => {
  it('every kind survives save and load with identical encodings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-tok-'));
    try {
      for (const kind of ['bytes', 'chars', 'bpe']) {
        const t = trainTokenizer(kind, SAMPLE, { vocabSize: 320 });
        const file = join(dir, `${kind}.json`);
        saveTokenizer(file, t);
        const u = loadTokenizer(file);
        expect(u.kind).toBe(kind);
        expect(u.vocabSize).toBe(t.vocabSize);
        expect(u.encode(SAMPLE)).toEqual(t.encode(SAMPLE));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => trainTokenizer('words', 'x')).toThrow(/unknown tokenizer 'words'; choose one of bytes, chars, bpe/);
    expect(() => tokenizerFromJSON({ kind: 'nope' } as never)).toThrow(/unknown tokenizer kind "nope"/);
  });

  it('the stream decoder emits whole characters only, and the concatenation equals decode', () => {
    const t = new ByteTokenizer();
    const ids = t.encode('a🦊b');
    const d = new StreamDecoder(t);
    const pieces = ids.map((id) => d.push(id));
    expect(pieces).toEqual(['a', '', '', '', '🦊', 'b']);
    expect(pieces.join('') + d.flush()).toBe('a🦊b');
    fc.assert(
      fc.property(text, (s) => {
        const sd = new StreamDecoder(trained());
        const ids2 = trained().encode(s);
        return ids2.map((id) => sd.push(id)).join('') + sd.flush() === s;
      }),
    );
  });
});

let cached: BpeTokenizer | undefined;
function trained(): BpeTokenizer {
  return (cached ??= BpeTokenizer.train(SAMPLE, { vocabSize: 300 }));
}
