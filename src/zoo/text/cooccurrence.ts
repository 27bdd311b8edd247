/**
 * Word–context co-occurrence counts within a symmetric window, weighted by
 * distance and stored sparse.
 *
 * Weightings of a context at distance d (1 ≤ d ≤ L) from the centre word:
 * - `'dynamic'` (default): (L − d + 1) / L. word2vec samples the effective
 *   window b uniformly from 1..L for every centre word, so a context at
 *   distance d is used with probability (L − d + 1) / L; this is that
 *   expectation, which makes the counts the ones SGNS is trained on (Levy,
 *   Goldberg & Dagan, "Improving distributional similarity with lessons
 *   learned from word embeddings", TACL 2015, §3.2 "dynamic context window").
 * - `'harmonic'`: 1 / d, as GloVe weights its counts (Pennington, Socher &
 *   Manning, EMNLP 2014, §4.2).
 * - `'uniform'`: 1 (plain counts).
 * Counting is symmetric: every pair within the window adds its weight to both
 * (w, c) and (c, w), so the matrix is symmetric. Windows never cross
 * sentences. With `sample` > 0 the frequent words are subsampled before the
 * windows are formed, exactly as SGNS does ("dirty" subsampling, Levy et al.
 * 2015 §3.2): the counts are then random and depend on `key`.
 */
import { key as makeKey, type Key } from '../../core/random.js';
import { FastRng } from './fastRng.js';
import { CooAccumulator, csrAddTranspose, type Csr } from './sparse.js';
import { keepProbabilities, type IdSentences, type SubsampleFormula, type Vocab, subsampleInto } from './vocab.js';

/** Distance weighting of contexts (see the module comment). */
export type WindowWeighting = 'dynamic' | 'harmonic' | 'uniform';

/** Options of {@link cooccurrence}. */
export interface CooccurrenceOptions {
  /** Largest distance L between a word and a context (default 5). */
  window?: number;
  /** Distance weighting (default 'dynamic'). */
  weighting?: WindowWeighting;
  /** Subsampling threshold t (default 0: no subsampling). */
  sample?: number;
  /** Subsampling formula (default 'word2vec'). */
  formula?: SubsampleFormula;
  /** PRNG key for subsampling (default key(0)). */
  key?: Key;
  /** Cells held in the hash map before it is compacted (see {@link CooAccumulator}). */
  flushEvery?: number;
}

/** Weight of a context at distance d for window L. */
export function distanceWeight(weighting: WindowWeighting, d: number, window: number): number {
  switch (weighting) {
    case 'dynamic':
      return (window - d + 1) / window;
    case 'harmonic':
      return 1 / d;
    case 'uniform':
      return 1;
  }
}

/** Validates a window option and returns it. */
export function checkWindow(fn: string, window: unknown): number {
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 1) {
    throw new Error(`${fn}: window must be a positive integer, got ${String(window)}`);
  }
  return window;
}

/**
 * The V×V matrix of weighted co-occurrence counts of `sentences` (ids of
 * `vocab`), one streaming pass. Rows are words, columns contexts.
 */
export function cooccurrence(sentences: IdSentences, vocab: Vocab, options: CooccurrenceOptions = {}): Csr {
  const fn = 'cooccurrence';
  const window = checkWindow(fn, options.window ?? 5);
  const weighting = options.weighting ?? 'dynamic';
  if (weighting !== 'dynamic' && weighting !== 'harmonic' && weighting !== 'uniform') {
    throw new Error(`${fn}: weighting must be 'dynamic', 'harmonic' or 'uniform', got ${JSON.stringify(weighting)}`);
  }
  const sample = options.sample ?? 0;
  const keep = keepProbabilities(vocab, sample, options.formula ?? 'word2vec');
  const rng = new FastRng(options.key ?? makeKey(0));
  const uniform01 = (): number => rng.uniform01();
  const v = vocab.words.length;
  const weights = new Float64Array(window + 1);
  for (let d = 1; d <= window; d++) weights[d] = distanceWeight(weighting, d, window);

  const acc = new CooAccumulator(v, v, { flushEvery: options.flushEvery });
  let buffer = new Int32Array(0);
  for (const sentence of sentences()) {
    for (let i = 0; i < sentence.length; i++) {
      const id = sentence[i];
      if (!(id >= 0 && id < v)) throw new Error(`${fn}: sentence holds id ${id}, outside the vocabulary of ${v} words`);
    }
    let ids = sentence;
    let n = sentence.length;
    if (sample > 0) {
      if (buffer.length < n) buffer = new Int32Array(n);
      n = subsampleInto(sentence, keep, uniform01, buffer);
      ids = buffer;
    }
    for (let i = 0; i < n; i++) {
      const w = ids[i];
      const last = Math.min(n - 1, i + window);
      for (let j = i + 1; j <= last; j++) {
        const c = ids[j];
        const weight = weights[j - i];
        acc.add(w, c, weight);
      }
    }
  }
  // Each pair was added once, as (earlier word, later word); the symmetric matrix is A + Aᵀ.
  return csrAddTranspose(acc.toCsr());
}
