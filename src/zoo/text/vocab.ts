/**
 * Vocabulary (minimum count, frequency order) and subsampling of frequent
 * words.
 *
 * Subsampling (Mikolov, Sutskever, Chen, Corrado & Dean, "Distributed
 * representations of words and phrases and their compositionality", NIPS
 * 2013, arXiv 1310.4546, §2.3) drops each occurrence of a word of relative
 * frequency f = count / total with a probability that grows with f, which
 * both speeds training and down-weights uninformative frequent words. Two
 * variants exist and give different numbers:
 * - `'word2vec'` (default; what the released word2vec.c computes):
 *   P(keep) = √(t/f) + t/f;
 * - `'paper'` (eq. 5 of the paper): P(discard) = 1 − √(t/f), i.e.
 *   P(keep) = √(t/f).
 * Both are clipped to 1; `t` is the `sample` threshold (word2vec's default
 * 1e-3; 0 disables subsampling). `total` counts the in-vocabulary tokens,
 * as word2vec's `train_words` does.
 */
import type { Corpus, WordCounts } from './corpus.js';

/** Words kept for training, most frequent first. */
export interface Vocab {
  /** Word of each id, by decreasing count (ties in code-unit order of the word). */
  readonly words: readonly string[];
  /** Count of each id. */
  readonly counts: Float64Array;
  /** Word → id. */
  readonly index: ReadonlyMap<string, number>;
  /** Σ counts: tokens of the corpus that are in the vocabulary. */
  readonly total: number;
}

/** Options of {@link buildVocab}. */
export interface VocabOptions {
  /** Drop words seen fewer times (default 5, as in word2vec). */
  minCount?: number;
  /** Keep at most this many of the most frequent words (default: no limit). */
  maxSize?: number;
}

/** Builds the vocabulary from word counts. Throws when no word survives. */
export function buildVocab(wordCounts: WordCounts | Map<string, number>, options: VocabOptions = {}): Vocab {
  const counts = wordCounts instanceof Map ? wordCounts : wordCounts.counts;
  const minCount = options.minCount ?? 5;
  const maxSize = options.maxSize ?? Infinity;
  if (!Number.isFinite(minCount) || minCount < 1) {
    throw new Error(`buildVocab: minCount must be a number ≥ 1, got ${String(minCount)}`);
  }
  if (!(maxSize === Infinity || (Number.isSafeInteger(maxSize) && maxSize >= 1))) {
    throw new Error(`buildVocab: maxSize must be a positive integer, got ${String(maxSize)}`);
  }
  if (counts.size === 0) throw new Error('buildVocab: the corpus is empty (no tokens were found)');
  const kept: [string, number][] = [];
  for (const [word, c] of counts) if (c >= minCount) kept.push([word, c]);
  if (kept.length === 0) {
    let most = 0;
    for (const c of counts.values()) most = Math.max(most, c);
    throw new Error(
      `buildVocab: no word occurs at least minCount = ${minCount} times (${counts.size} distinct words, the most frequent occurs ${most} times); lower minCount`,
    );
  }
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (kept.length > maxSize) kept.length = maxSize;
  return vocabFromList(kept.map((e) => e[0]), kept.map((e) => e[1]));
}

/** A vocabulary from parallel lists of words and counts (taken in the given order). */
export function vocabFromList(words: readonly string[], counts: ArrayLike<number>): Vocab {
  if (words.length !== counts.length) {
    throw new Error(`vocabFromList: ${words.length} words but ${counts.length} counts`);
  }
  const index = new Map<string, number>();
  const c = new Float64Array(words.length);
  let total = 0;
  for (let i = 0; i < words.length; i++) {
    if (index.has(words[i])) throw new Error(`vocabFromList: word ${JSON.stringify(words[i])} appears twice`);
    if (!(counts[i] > 0)) throw new Error(`vocabFromList: count of ${JSON.stringify(words[i])} must be positive, got ${counts[i]}`);
    index.set(words[i], i);
    c[i] = counts[i];
    total += counts[i];
  }
  return { words: [...words], counts: c, index, total };
}

/** Subsampling variant (see the module comment). */
export type SubsampleFormula = 'word2vec' | 'paper';

/**
 * P(keep) of every word id for threshold `sample` (0 keeps everything).
 * See the module comment for the two formulas.
 */
export function keepProbabilities(vocab: Vocab, sample: number, formula: SubsampleFormula = 'word2vec'): Float64Array {
  if (!Number.isFinite(sample) || sample < 0) {
    throw new Error(`keepProbabilities: sample must be a finite number ≥ 0, got ${String(sample)}`);
  }
  if (formula !== 'word2vec' && formula !== 'paper') {
    throw new Error(`keepProbabilities: formula must be 'word2vec' or 'paper', got ${JSON.stringify(formula)}`);
  }
  const keep = new Float64Array(vocab.words.length);
  for (let i = 0; i < keep.length; i++) {
    if (sample === 0) {
      keep[i] = 1;
      continue;
    }
    const ratio = sample / (vocab.counts[i] / vocab.total); // t / f
    const p = formula === 'word2vec' ? Math.sqrt(ratio) + ratio : Math.sqrt(ratio);
    keep[i] = Math.min(1, p);
  }
  return keep;
}

/** Maps tokens to ids, dropping out-of-vocabulary tokens. */
export function encode(vocab: Vocab, tokens: readonly string[]): Int32Array {
  const ids = new Int32Array(tokens.length);
  let n = 0;
  for (const token of tokens) {
    const id = vocab.index.get(token);
    if (id !== undefined) ids[n++] = id;
  }
  return n === tokens.length ? ids : ids.slice(0, n);
}

/** A re-readable stream of sentences as id arrays. */
export type IdSentences = () => Iterable<Int32Array>;

/** The corpus' sentences encoded with `vocab` (empty ones skipped), one pass per call. */
export function encodedSentences(corpus: Corpus, vocab: Vocab): IdSentences {
  return function* () {
    for (const sentence of corpus.sentences()) {
      const ids = encode(vocab, sentence);
      if (ids.length > 0) yield ids;
    }
  };
}

/**
 * Keeps each id with probability keep[id], writing the survivors to the front
 * of `out` (which may be `ids` itself) and returning how many there are.
 * `uniform01` returns independent uniforms in [0, 1).
 */
export function subsampleInto(
  ids: Int32Array,
  keep: Float64Array,
  uniform01: () => number,
  out: Int32Array = ids,
): number {
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const p = keep[id];
    if (p >= 1 || uniform01() < p) out[n++] = id;
  }
  return n;
}
