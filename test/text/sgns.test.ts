import { describe, expect, it } from 'vitest';
import { key } from '../../src/core/random.js';
import {
  FastRng, buildNoiseTable, cooccurrence, createPairUpdater, defaultTableSize, csrToDense, fitSgnsExact, pmi, textCorpus, trainSgns, trainWordVectors, vocabFromList,
  type Csr,
} from '../../src/zoo/text/index.js';

/**
 * A tiny corpus where every pair co-occurs often: one long walk of a Markov
 * chain over 5 words, so the SGNS optimum is finite for every pair.
 */
function tinyCorpus(): { ids: Int32Array; v: number } {
  const transition = [
    [0.1, 0.4, 0.2, 0.2, 0.1],
    [0.3, 0.1, 0.3, 0.1, 0.2],
    [0.2, 0.2, 0.1, 0.4, 0.1],
    [0.25, 0.25, 0.25, 0.05, 0.2],
    [0.4, 0.1, 0.1, 0.3, 0.1],
  ];
  const rng = new FastRng(key(1));
  const ids = new Int32Array(20000);
  let state = 0;
  for (let i = 0; i < ids.length; i++) {
    ids[i] = state;
    let u = rng.uniform01();
    let next = 0;
    while (next < 4 && u > transition[state][next]) u -= transition[state][next++];
    state = next;
  }
  return { ids, v: 5 };
}

const { ids, v } = tinyCorpus();
const tally = new Array<number>(v).fill(0);
ids.forEach((id) => tally[id]++);
const vocab = vocabFromList(tally.map((_, i) => `w${i}`), tally);
const window = 2;
// The corpus in two sentences (so the sentence boundary is exercised), and its dynamic-window counts.
const sentences = (): Int32Array[] => [ids.subarray(0, 10000), ids.subarray(10000)];
const counts = cooccurrence(sentences, vocab, { window, weighting: 'dynamic' });

/** max and mean over all pairs of |w·c − (PMI_α(w,c) − log k)|. */
function deviation(w: ArrayLike<number>, c: ArrayLike<number>, d: number, m: Csr, k: number, alpha: number): { max: number; mean: number } {
  const p = csrToDense(pmi(m, { alpha }));
  let max = 0;
  let sum = 0;
  for (let a = 0; a < v; a++) {
    for (let b = 0; b < v; b++) {
      let x = 0;
      for (let t = 0; t < d; t++) x += w[a * d + t] * c[b * d + t];
      const e = Math.abs(x - (p[a * v + b] - Math.log(k)));
      max = Math.max(max, e);
      sum += e;
    }
  }
  return { max, mean: sum / (v * v) };
}

describe('SGNS is an implicit factorisation of PMI − log k (Levy & Goldberg 2014)', () => {
  it('every pair co-occurs often in the tiny corpus', () => {
    expect(Math.min(...csrToDense(counts))).toBeGreaterThan(500);
  });

  for (const [k, alpha] of [[1, 1], [5, 0.75], [3, 1]] as const) {
    it(`at the optimum of the exact objective with d = V, w·c = PMI − log k (k = ${k}, α = ${alpha})`, () => {
      const fit = fitSgnsExact(counts, { negatives: k, alpha, key: key(k), tolerance: 1e-13 });
      expect(fit.gradMax).toBeLessThan(1e-12);
      expect(deviation(fit.w, fit.c, fit.dim, counts, k, alpha).max).toBeLessThan(1e-8);
    });
  }

  it('with too few dimensions the optimum is only a low-rank approximation', () => {
    const fit = fitSgnsExact(counts, { dim: 1, negatives: 1, alpha: 1, key: key(0), maxIterations: 500 });
    expect(deviation(fit.w, fit.c, 1, counts, 1, 1).max).toBeGreaterThan(0.05);
  });

  for (const kernel of ['js', 'wasm'] as const) {
    it(`the hand-written SGD loop (${kernel}) reaches the same dot products (k = 5, α = 0.75, 5 epochs)`, () => {
      const r = trainSgns(sentences, vocab, { dim: v, window, negatives: 5, noisePower: 0.75, sample: 0, epochs: 5, key: key(2), kernel });
      expect(r.kernel).toBe(kernel);
      const dev = deviation(r.input, r.output, v, counts, 5, 0.75);
      expect(dev.max).toBeLessThan(0.15);
      expect(dev.mean).toBeLessThan(0.05);
      expect(r.stats.words).toBe(5 * ids.length);
    });
  }

  it("word2vec.c's rejection of negatives equal to the target biases small vocabularies away from PMI − log k", () => {
    const r = trainSgns(sentences, vocab, {
      dim: v, window, negatives: 5, noisePower: 0.75, sample: 0, epochs: 5, key: key(2), rejectPositive: true,
    });
    expect(deviation(r.input, r.output, v, counts, 5, 0.75).max).toBeGreaterThan(0.2);
  });
});

describe('SGNS training details', () => {
  it('the WebAssembly SIMD pair update equals the TypeScript reference (padded rows stay zero)', () => {
    for (const dim of [7, 16, 100]) {
      const stride = (dim + 3) & ~3;
      const rows = 50;
      const js = createPairUpdater(rows, stride, 'js');
      const wasm = createPairUpdater(rows, stride, 'wasm');
      expect([js.kind, wasm.kind]).toEqual(['js', 'wasm']);
      const rng = new FastRng(key(dim));
      for (let i = 0; i < rows; i++) {
        for (let t = 0; t < dim; t++) {
          js.syn0[i * stride + t] = wasm.syn0[i * stride + t] = rng.uniform01() - 0.5;
          js.syn1[i * stride + t] = wasm.syn1[i * stride + t] = rng.uniform01() - 0.5;
        }
      }
      const targets = new Int32Array(6);
      let lossJs = 0;
      let lossWasm = 0;
      for (let step = 0; step < 2000; step++) {
        for (let d = 0; d < 6; d++) targets[d] = rng.below(rows);
        const row = rng.below(rows);
        lossJs += js.step(row, targets, 6, 0.05, true);
        lossWasm += wasm.step(row, targets, 6, 0.05, true);
      }
      let diff = 0;
      let scale = 0;
      let padding = 0;
      for (let p = 0; p < rows * stride; p++) {
        diff = Math.max(diff, Math.abs(js.syn0[p] - wasm.syn0[p]), Math.abs(js.syn1[p] - wasm.syn1[p]));
        scale = Math.max(scale, Math.abs(js.syn0[p]), Math.abs(js.syn1[p]));
        if (p % stride >= dim) padding = Math.max(padding, Math.abs(wasm.syn0[p]), Math.abs(wasm.syn1[p]), Math.abs(js.syn0[p]));
      }
      expect(diff / scale).toBeLessThan(1e-5);
      expect(padding).toBe(0);
      expect(Math.abs(lossJs - lossWasm) / lossJs).toBeLessThan(1e-5);
    }
    expect(() => createPairUpdater(2, 4, 'gpu' as 'js')).toThrow(/kernel must be 'auto', 'wasm' or 'js', got "gpu"/);
  });

  it('the noise table gives each word a share of slots ∝ count^0.75', () => {
    const c = Float64Array.of(1000, 300, 40, 7, 1);
    const size = 1 << 16;
    const table = buildNoiseTable(c, 0.75, size);
    const z = c.reduce((s, x) => s + x ** 0.75, 0);
    const slots = new Array<number>(c.length).fill(0);
    table.forEach((id) => slots[id]++);
    c.forEach((x, i) => expect(Math.abs(slots[i] / size - x ** 0.75 / z)).toBeLessThanOrEqual(1 / size));
    // Runs are contiguous and in id order.
    // Default size: the rarest word gets ≥ 100 slots (within the clamp).
    const auto = defaultTableSize(c, 0.75);
    expect(auto).toBe(2 ** Math.max(16, Math.ceil(Math.log2((100 * z) / 1))));
    expect(defaultTableSize(Float64Array.of(1e6, 1, 1), 0.75)).toBe(2 ** Math.ceil(Math.log2(100 * (1e6 ** 0.75 + 2))));
    expect((auto * 1) / z).toBeGreaterThanOrEqual(100);
    expect(defaultTableSize(Float64Array.of(1e9, 1), 0.75)).toBe(2 ** 25);
    expect(defaultTableSize(Float64Array.of(1, 1), 0.75)).toBe(2 ** 16);
    let sorted = true;
    for (let i = 1; i < size; i++) sorted &&= table[i] >= table[i - 1];
    expect(sorted).toBe(true);
  });

  it('is deterministic for a key and changes with it; reports progress and loss', () => {
    const progress: number[] = [];
    const opts = { dim: 4, window: 2, epochs: 2, sample: 0, key: key(3) };
    const a = trainSgns(sentences, vocab, { ...opts, trackLoss: true, progressEvery: 10000, onProgress: (p) => progress.push(p.loss) });
    const b = trainSgns(sentences, vocab, opts);
    const c = trainSgns(sentences, vocab, { ...opts, key: key(4) });
    expect(Array.from(b.input)).toEqual(Array.from(a.input));
    expect(Array.from(c.input)).not.toEqual(Array.from(a.input));
    expect(progress.length).toBeGreaterThanOrEqual(4);
    // The mean loss per target falls from its start at log 2 (w·c = 0 initially for every target).
    expect(progress[0]).toBeLessThan(Math.log(2));
    expect(progress[progress.length - 1]).toBeLessThan(progress[0]);
  });

  it('bad arguments name the argument', () => {
    expect(() => trainSgns(sentences, vocab, { negatives: 0 })).toThrow(/trainSgns: negatives must be a positive integer \(≥ 1\), got 0/);
    expect(() => trainSgns(sentences, vocab, { dim: 0 })).toThrow(/trainSgns: dim must be a positive integer/);
    expect(() => trainSgns(sentences, vocab, { window: 1.5 })).toThrow(/trainSgns: window must be a positive integer, got 1.5/);
    expect(() => trainSgns(() => [Int32Array.of(0, 7)], vocab)).toThrow(/id 7, outside the vocabulary of 5 words/);
    expect(() => trainWordVectors(textCorpus(''), { method: 'sgns' })).toThrow(/trainWordVectors: the corpus \(text of 0 characters\) is empty/);
    expect(() => trainWordVectors(textCorpus('a b'), { method: 'svd', negatives: 0, minCount: 1 })).toThrow(/negatives \(k\) must be ≥ 1, got 0/);
    expect(() => trainWordVectors(textCorpus('a b'), { method: 'cbow' as 'sgns' })).toThrow(/method must be 'sgns' or 'svd', got "cbow"/);
  });
});
