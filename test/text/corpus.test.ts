import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildVocab, countWords, encode, encodedSentences, fileCorpus, keepProbabilities, subsampleInto, textCorpus, tokenize, vocabFromList,
} from '../../src/zoo/text/index.js';
import { mulberry32 } from '../helpers/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'nabla-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Naive reference: split lines, tokenise with a simple hand-written scanner. */
function naiveSentences(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const tokens: string[] = [];
    let cur = '';
    const chars = Array.from(line.toLowerCase());
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      const word = /[\p{L}\p{N}]/u.test(ch);
      const apostropheInside = (ch === "'" || ch === '’') && cur !== '' && i + 1 < chars.length && /[\p{L}\p{N}]/u.test(chars[i + 1]);
      if (word || apostropheInside) cur += ch;
      else if (cur !== '') {
        tokens.push(cur);
        cur = '';
      }
    }
    if (cur !== '') tokens.push(cur);
    if (tokens.length > 0) out.push(tokens);
  }
  return out;
}

describe('tokenize', () => {
  it('keeps letters, digits and inner apostrophes, lower-cases, drops punctuation', () => {
    expect(tokenize("Don't STOP: naïve café, 42 times—'quoted' x2!")).toEqual(["don't", 'stop', 'naïve', 'café', '42', 'times', 'quoted', 'x2']);
    expect(tokenize('Mixed Case', false)).toEqual(['Mixed', 'Case']);
    expect(tokenize('  ... ')).toEqual([]);
  });
});

describe('corpora', () => {
  const alphabet = ['a', 'b', 'é', '日本', ' ', ' ', '\n', ',', "'", '9', 'Z'];
  const textArb = fc.array(fc.constantFrom(...alphabet), { maxLength: 200 }).map((parts) => parts.join(''));

  it('a file streamed in tiny chunks gives the same sentences as the text in memory and as a naive tokenizer', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 1, max: 9 }), (text, chunkBytes) => {
        const path = join(dir, 'prop.txt');
        writeFileSync(path, text);
        const fromFile = Array.from(fileCorpus(path, { chunkBytes }).sentences());
        const fromText = Array.from(textCorpus(text).sentences());
        expect(fromFile).toEqual(fromText);
        expect(fromText).toEqual(naiveSentences(text));
      }),
      { numRuns: 150 },
    );
  });

  it('a pass can be repeated and long lines are cut into pieces of maxSentenceLength', () => {
    const c = textCorpus('a b c d e f g\nh i', { maxSentenceLength: 3 });
    const once = Array.from(c.sentences());
    expect(once).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g'], ['h', 'i']]);
    expect(Array.from(c.sentences())).toEqual(once);
  });

  it('a file without newlines is cut at whitespace once it exceeds maxLineChars, never inside a token', () => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`);
    const path = join(dir, 'oneline.txt');
    writeFileSync(path, words.join(' '));
    const sentences = Array.from(fileCorpus(path, { chunkBytes: 16, maxLineChars: 40 }).sentences());
    expect(sentences.length).toBeGreaterThan(10);
    expect(sentences.flat()).toEqual(words);
  });

  it('bad inputs fail clearly', () => {
    expect(() => fileCorpus(join(dir, 'missing.txt'))).toThrow(/fileCorpus: cannot open corpus file ".*missing\.txt"/);
    expect(() => textCorpus('x', { maxSentenceLength: 0 })).toThrow(/maxSentenceLength must be a positive integer/);
    expect(() => fileCorpus(join(dir, 'oneline.txt'), { chunkBytes: 0 })).toThrow(/chunkBytes/);
  });
});

describe('counting and the vocabulary', () => {
  const rng = mulberry32(7);
  const zipf = Array.from({ length: 40 }, (_, i) => `w${i}`);
  const lines = Array.from({ length: 300 }, () =>
    Array.from({ length: 1 + Math.floor(rng() * 12) }, () => zipf[Math.min(39, Math.floor(1 / (rng() + 0.025)) - 1)]).join(' '),
  );
  const text = lines.join('\n');

  it('countWords matches naive counts; buildVocab applies minCount, maxSize and frequency order', () => {
    const naive = new Map<string, number>();
    for (const w of text.split(/\s+/).filter(Boolean)) naive.set(w, (naive.get(w) ?? 0) + 1);
    const counted = countWords(textCorpus(text));
    expect(counted.counts).toEqual(naive);
    expect(counted.totalTokens).toBe([...naive.values()].reduce((a, b) => a + b, 0));
    expect(counted.pruneThreshold).toBe(0);

    const vocab = buildVocab(counted, { minCount: 3 });
    const expected = [...naive].filter(([, c]) => c >= 3).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    expect(vocab.words).toEqual(expected.map((e) => e[0]));
    expect(Array.from(vocab.counts)).toEqual(expected.map((e) => e[1]));
    expect(vocab.total).toBe(expected.reduce((s, e) => s + e[1], 0));
    expect(buildVocab(counted, { minCount: 3, maxSize: 5 }).words).toEqual(vocab.words.slice(0, 5));
    // encode drops unknown words; encodedSentences skips sentences left empty.
    expect(Array.from(encode(vocab, [vocab.words[2], 'zzz', vocab.words[0]]))).toEqual([2, 0]);
    const encoded = Array.from(encodedSentences(textCorpus(text), vocab)());
    expect(encoded.reduce((s, e) => s + e.length, 0)).toBe(vocab.total);
  });

  it('pruning keeps memory bounded and the frequent words exact', () => {
    const pruned = countWords(textCorpus(text), { maxDistinct: 12 });
    const exact = countWords(textCorpus(text));
    expect(pruned.pruneThreshold).toBeGreaterThan(0);
    expect(pruned.counts.size).toBeLessThanOrEqual(12 + 12);
    for (const w of ['w0', 'w1', 'w2']) expect(pruned.counts.get(w)).toBe(exact.counts.get(w));
  });

  it('empty corpora and impossible minimum counts are reported', () => {
    expect(() => buildVocab(countWords(textCorpus(' \n ,, \n')))).toThrow(/buildVocab: the corpus is empty/);
    expect(() => buildVocab(countWords(textCorpus('a b a')), { minCount: 5 })).toThrow(/no word occurs at least minCount = 5 times.*most frequent occurs 2 times/);
    expect(() => buildVocab(countWords(textCorpus('a')), { minCount: 0 })).toThrow(/minCount must be a number ≥ 1/);
  });
});

describe('subsampling', () => {
  const vocab = vocabFromList(['the', 'of', 'cat', 'rare'], [6000, 3000, 900, 100]); // total 10,000

  it('keep probabilities follow the stated formulas', () => {
    const t = 0.01;
    const f = [0.6, 0.3, 0.09, 0.01];
    const w2v = keepProbabilities(vocab, t, 'word2vec');
    const paper = keepProbabilities(vocab, t, 'paper');
    f.forEach((fi, i) => {
      expect(w2v[i]).toBeCloseTo(Math.min(1, Math.sqrt(t / fi) + t / fi), 14);
      expect(paper[i]).toBeCloseTo(Math.min(1, Math.sqrt(t / fi)), 14);
    });
    expect(w2v[3]).toBe(1); // f = t: word2vec keeps it always (√1 + 1 > 1)
    expect(Array.from(keepProbabilities(vocab, 0))).toEqual([1, 1, 1, 1]);
    expect(() => keepProbabilities(vocab, -1)).toThrow(/sample must be a finite number ≥ 0/);
  });

  it('the kept fraction of each word matches its keep probability', () => {
    const keep = keepProbabilities(vocab, 0.01);
    const rng = mulberry32(3);
    const n = 200_000;
    const ids = new Int32Array(n).map((_, i) => i % 4);
    const out = new Int32Array(n);
    const kept = subsampleInto(ids, keep, rng, out);
    const tally = [0, 0, 0, 0];
    for (let i = 0; i < kept; i++) tally[out[i]]++;
    for (let id = 0; id < 4; id++) {
      const p = keep[id];
      const sd = Math.sqrt((n / 4) * p * (1 - p));
      expect(Math.abs(tally[id] - (n / 4) * p)).toBeLessThanOrEqual(5 * sd + 1e-9);
    }
  });
});
