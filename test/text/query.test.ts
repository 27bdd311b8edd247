import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  WordVectors, formatFloat32, loadWord2vecText, parseWord2vecText, saveWord2vecText, toWord2vecText,
} from '../../src/zoo/text/index.js';
import { mulberry32, randn } from '../helpers/rng.js';
import * as nabla from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nabla-w2v-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A 2-D toy: angles make cosines easy to compute by hand.
const at = (deg: number, r = 1): number[] => [r * Math.cos((deg * Math.PI) / 180), r * Math.sin((deg * Math.PI) / 180)];
const toy = new WordVectors(
  ['east', 'northeast', 'north', 'west', 'south', 'tiny'],
  Float32Array.from([...at(0), ...at(45, 3), ...at(90), ...at(180, 2), ...at(270), ...at(10, 1e-3)]),
  2,
);

describe('queries', () => {
  it('the word-vector API is exported from the package root as `words`', () => {
    expect(nabla.words.WordVectors).toBe(WordVectors);
    expect(typeof nabla.words.trainWordVectors).toBe('function');
  });

  it('similarity is the cosine, independent of length', () => {
    expect(toy.similarity('east', 'northeast')).toBeCloseTo(Math.SQRT1_2, 6);
    expect(toy.similarity('east', 'west')).toBeCloseTo(-1, 6);
    expect(toy.similarity('north', 'south')).toBeCloseTo(-1, 6);
    expect(toy.similarity('tiny', 'east')).toBeCloseTo(Math.cos(Math.PI / 18), 6);
  });

  it('nearest neighbours come best first, exclude the query, and accept vectors', () => {
    const nn = toy.nearest('east', 3);
    expect(nn.map((n) => n.word)).toEqual(['tiny', 'northeast', 'north']);
    expect(nn[0].score).toBeCloseTo(Math.cos(Math.PI / 18), 6);
    expect(toy.nearest(at(100), 1)[0].word).toBe('north');
    expect(toy.nearest('east', 2, { exclude: ['tiny'] }).map((n) => n.word)).toEqual(['northeast', 'north']);
    expect(toy.nearest('east', 99)).toHaveLength(5);
  });

  it('3CosAdd and 3CosMul answer a : b :: c : ?', () => {
    // b − a + c with unit vectors: north − east + west = (−2, 1) → nearest by cosine among the rest.
    const add = toy.analogy('east', 'north', 'west', 3, '3cosadd');
    const q = [-2, 1];
    const expectedAdd = ['northeast', 'south', 'tiny']
      .map((w) => ({ w, cos: cosine(Array.from(toy.vector(w)), q) }))
      .sort((x, y) => y.cos - x.cos);
    expect(add.map((n) => n.word)).toEqual(expectedAdd.map((e) => e.w));
    expect(add[0].score).toBeCloseTo(expectedAdd[0].cos, 6);
    const mul = toy.analogy('east', 'north', 'west', 3, '3cosmul');
    const score = (w: string): number => {
      const c = (x: string): number => (toy.similarity(w, x) + 1) / 2;
      return (c('north') * c('west')) / (c('east') + 0.001);
    };
    const expectedMul = ['northeast', 'south', 'tiny'].sort((x, y) => score(y) - score(x));
    expect(mul.map((n) => n.word)).toEqual(expectedMul);
    expect(mul[0].score).toBeCloseTo(score(expectedMul[0]), 6);
  });

  it('unknown words and bad k are reported by query and argument', () => {
    expect(() => toy.nearest('up')).toThrow(/nearest: query "up" is not in the vocabulary \(6 words\)/);
    expect(() => toy.similarity('east', 'up')).toThrow(/similarity: b "up" is not in the vocabulary/);
    expect(() => toy.analogy('east', 'north', 'up')).toThrow(/analogy: c "up" is not in the vocabulary/);
    expect(() => toy.nearest('east', 0)).toThrow(/nearest: k must be a positive integer, got 0/);
    expect(() => toy.nearest([1, 2, 3])).toThrow(/nearest: query must be a word or a vector of length 2/);
    expect(() => toy.analogy('east', 'north', 'west', 1, 'pairdir' as '3cosadd')).toThrow(/method must be '3cosadd' or '3cosmul'/);
  });
});

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  return dot / Math.hypot(...a) / Math.hypot(...b);
}

describe('word2vec text format', () => {
  it('every float32 is written shortest and read back exactly', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = formatFloat32(x);
        expect(Math.fround(Number(s))).toBe(x === 0 ? 0 : x);
        expect(s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 2000 },
    );
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(0.5)).toBe('0.5');
    expect(formatFloat32(-3)).toBe('-3');
  });

  it('round-trips vectors bit-exactly through text and through a file', () => {
    const rng = mulberry32(1);
    const words = Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? `naïve${i}` : `w${i}`));
    const data = Float32Array.from({ length: 50 * 13 }, () => randn(rng) * 10 ** Math.floor(rng() * 8 - 4));
    const vectors = new WordVectors(words, data, 13);
    const text = toWord2vecText(vectors);
    expect(text.split('\n')[0]).toBe('50 13');
    expect(text.split('\n')[1].split(' ')).toHaveLength(14);
    const back = parseWord2vecText(text);
    expect(back.words).toEqual(words);
    expect(back.dim).toBe(13);
    expect(Array.from(back.vectors)).toEqual(Array.from(data));
    const path = join(dir, 'v.txt');
    saveWord2vecText(path, vectors);
    expect(Array.from(loadWord2vecText(path).vectors)).toEqual(Array.from(data));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads files written by other tools (trailing spaces, tabs, blank last line)', () => {
    const v = parseWord2vecText('2 3\nthe 0.1 -0.2 3e-3 \nof\t1 2 3\n\n');
    expect(v.words).toEqual(['the', 'of']);
    expect(Array.from(v.vectors)).toEqual([0.1, -0.2, 3e-3, 1, 2, 3].map(Math.fround));
  });

  it('malformed files and unstorable words are reported with the line', () => {
    expect(() => parseWord2vecText('2 x\n')).toThrow(/line 1 must be "<words> <dim>"/);
    expect(() => parseWord2vecText('1 2\na 1\n')).toThrow(/line 2 has 1 numbers, expected dim = 2/);
    expect(() => parseWord2vecText('1 2\na 1 zz\n')).toThrow(/line 2: "zz" is not a finite number/);
    expect(() => parseWord2vecText('2 1\na 1\n')).toThrow(/header announces 2 words but the file holds 1/);
    expect(() => parseWord2vecText('1 1\na 1\nb 2\n')).toThrow(/line 3 follows the 1 announced words/);
    expect(() => toWord2vecText(new WordVectors(['two words'], Float32Array.of(1), 1))).toThrow(/holds whitespace/);
    expect(() => loadWord2vecText(join(dir, 'nope.txt'))).toThrow(/loadWord2vecText: cannot read ".*nope\.txt"/);
    // A failed save leaves neither the target nor a temporary file behind.
    const bad = join(dir, 'bad.txt');
    expect(() => saveWord2vecText(bad, new WordVectors(['a', 'b c'], Float32Array.of(1, 2), 1))).toThrow(/holds whitespace/);
    expect(readdirSync(dir).filter((f) => f.startsWith('bad'))).toEqual([]);
    writeFileSync(bad, 'keep');
    expect(() => saveWord2vecText(bad, new WordVectors(['a'], Float32Array.of(NaN), 1))).toThrow(/non-finite/);
    expect(readFileSync(bad, 'utf8')).toBe('keep');
  });
});
