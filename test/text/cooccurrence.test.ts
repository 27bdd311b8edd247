import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { key } from '../../src/core/random.js';
import { matmulF64, transposeF64 } from '../../src/linalg/index.js';
import {
  CooAccumulator, FastRng, cooccurrence, csrAddTranspose, csrColSums, csrFromDense, csrGet, csrMatmulDense, csrRowSums, csrToDense,
  csrTransposeMatmulDense, keepProbabilities, vocabFromList, type WindowWeighting,
} from '../../src/zoo/text/index.js';
import { mulberry32 } from '../helpers/rng.js';

/** Naive dense counts: every ordered pair of positions within the window, weighted by distance. */
function naiveCounts(sentences: Int32Array[], v: number, window: number, weight: (d: number) => number): Float64Array {
  const out = new Float64Array(v * v);
  for (const s of sentences) {
    for (let i = 0; i < s.length; i++) {
      for (let j = 0; j < s.length; j++) {
        const d = Math.abs(i - j);
        if (d >= 1 && d <= window) out[s[i] * v + s[j]] += weight(d);
      }
    }
  }
  return out;
}

function randomSentences(seed: number, v: number, count: number): Int32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => Int32Array.from({ length: 1 + Math.floor(rng() * 15) }, () => Math.floor(rng() ** 2 * v)));
}

describe('co-occurrence counts', () => {
  const v = 9;
  const vocab = vocabFromList(Array.from({ length: v }, (_, i) => `w${i}`), Array.from({ length: v }, (_, i) => 100 - i));
  const sentences = randomSentences(11, v, 60);
  const weights: Record<WindowWeighting, (d: number, L: number) => number> = {
    dynamic: (d, L) => (L - d + 1) / L,
    harmonic: (d) => 1 / d,
    uniform: () => 1,
  };

  for (const weighting of ['dynamic', 'harmonic', 'uniform'] as const) {
    it(`${weighting} weighting equals the naive double loop, and is symmetric`, () => {
      for (const window of [1, 2, 5]) {
        const m = cooccurrence(() => sentences, vocab, { window, weighting });
        const expected = naiveCounts(sentences, v, window, (d) => weights[weighting](d, window));
        const got = csrToDense(m);
        for (let i = 0; i < v * v; i++) expect(got[i]).toBeCloseTo(expected[i], 10);
        for (let a = 0; a < v; a++) for (let b = 0; b < v; b++) expect(got[a * v + b]).toBe(got[b * v + a]);
      }
    });
  }

  it('compacting the hash map often (flushEvery = 3) gives the same matrix', () => {
    const a = cooccurrence(() => sentences, vocab, { window: 4 });
    const b = cooccurrence(() => sentences, vocab, { window: 4, flushEvery: 3 });
    expect(b.indptr).toEqual(a.indptr);
    expect(b.indices).toEqual(a.indices);
    for (let p = 0; p < a.data.length; p++) expect(b.data[p]).toBeCloseTo(a.data[p], 12);
  });

  it('with subsampling, counts equal the naive counts of the subsampled sentences', () => {
    const sample = 0.02;
    const keep = keepProbabilities(vocab, sample);
    expect(Math.min(...keep)).toBeLessThan(1);
    const k = key(5);
    const rng = new FastRng(k);
    const thinned = sentences.map((s) => s.filter((id) => keep[id] >= 1 || rng.uniform01() < keep[id]));
    const m = cooccurrence(() => sentences, vocab, { window: 3, sample, key: k, weighting: 'uniform' });
    expect(Array.from(csrToDense(m))).toEqual(Array.from(naiveCounts(thinned, v, 3, () => 1)));
  });

  it('rejects bad windows and ids outside the vocabulary', () => {
    expect(() => cooccurrence(() => sentences, vocab, { window: 0 })).toThrow(/cooccurrence: window must be a positive integer, got 0/);
    expect(() => cooccurrence(() => [Int32Array.of(1, 99)], vocab)).toThrow(/id 99, outside the vocabulary of 9 words/);
  });
});

describe('sparse matrices', () => {
  const denseArb = fc
    .record({ rows: fc.integer({ min: 1, max: 7 }), cols: fc.integer({ min: 1, max: 7 }), seed: fc.integer() })
    .map(({ rows, cols, seed }) => {
      const rng = mulberry32(seed);
      const a = Float64Array.from({ length: rows * cols }, () => (rng() < 0.6 ? 0 : Math.round((rng() - 0.5) * 20) / 4 || 0));
      return { rows, cols, a, rng };
    });

  it('CSR round-trips dense matrices; sums, lookups and products match dense arithmetic', () => {
    fc.assert(
      fc.property(denseArb, fc.integer({ min: 0, max: 4 }), ({ rows, cols, a, rng }, k) => {
        const m = csrFromDense(a, rows, cols);
        expect(Array.from(csrToDense(m))).toEqual(Array.from(a));
        expect(m.data.every((x) => x !== 0)).toBe(true);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expect(csrGet(m, i, j)).toBe(a[i * cols + j]);
        const ones = new Float64Array(cols).fill(1);
        expect(Array.from(csrRowSums(m))).toEqual(Array.from(matmulF64(a, ones, rows, cols, 1)));
        expect(Array.from(csrColSums(m))).toEqual(Array.from(matmulF64(transposeF64(a, rows, cols), new Float64Array(rows).fill(1), cols, rows, 1)));
        const x = Float64Array.from({ length: cols * k }, () => rng() - 0.5);
        const y = Float64Array.from({ length: rows * k }, () => rng() - 0.5);
        const ax = csrMatmulDense(m, x, k);
        const aty = csrTransposeMatmulDense(m, y, k);
        const ax0 = matmulF64(a, x, rows, cols, k);
        const aty0 = matmulF64(transposeF64(a, rows, cols), y, cols, rows, k);
        ax.forEach((e, i) => expect(e).toBeCloseTo(ax0[i], 12));
        aty.forEach((e, i) => expect(e).toBeCloseTo(aty0[i], 12));
      }),
      { numRuns: 100 },
    );
  });

  it('the accumulator equals a naive sum for many triples, whatever the flush threshold (table growth, merges)', () => {
    const rng = mulberry32(21);
    const rows = 300;
    const cols = 200;
    const naive = new Float64Array(rows * cols);
    const triples = Array.from({ length: 20_000 }, () => {
      const r = Math.floor(rng() ** 3 * rows);
      const c = Math.floor(rng() * cols);
      const x = Math.round(rng() * 8) / 8;
      naive[r * cols + c] += x;
      return [r, c, x] as const;
    });
    for (const flushEvery of [1, 7, 1000, 1 << 20]) {
      const acc = new CooAccumulator(rows, cols, { flushEvery });
      for (const [r, c, x] of triples) acc.add(r, c, x);
      const m = acc.toCsr();
      expect(Array.from(csrToDense(m))).toEqual(Array.from(naive));
      expect(m.data.length).toBe(new Set(triples.map(([r, c]) => r * cols + c)).size);
    }
  });

  it('A + Aᵀ equals the dense sum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer(), (n, seed) => {
        const rng = mulberry32(seed);
        const a = Float64Array.from({ length: n * n }, () => (rng() < 0.5 ? 0 : Math.ceil(rng() * 5)));
        const sum = csrToDense(csrAddTranspose(csrFromDense(a, n, n)));
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(sum[i * n + j]).toBe(a[i * n + j] + a[j * n + i]);
      }),
    );
    expect(() => csrAddTranspose(csrFromDense([1, 2], 1, 2))).toThrow(/must be square, got 1x2/);
  });

  it('the accumulator sums duplicates in any order and across flushes', () => {
    const acc = new CooAccumulator(3, 4, { flushEvery: 2 });
    const triples: [number, number, number][] = [[2, 3, 1], [0, 0, 2], [2, 3, 0.5], [1, 2, 1], [0, 0, -2], [0, 1, 4], [2, 3, 1]];
    for (const [r, c, x] of triples) acc.add(r, c, x);
    const dense = csrToDense(acc.toCsr());
    expect(Array.from(dense)).toEqual([0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2.5]);
    expect(() => csrMatmulDense(acc.toCsr(), new Float64Array(5), 1)).toThrow(/x must be 4x1 \(length 4\), got length 5/);
  });
});
