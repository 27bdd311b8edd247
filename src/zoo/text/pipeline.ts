/**
 * Word vectors from a corpus end to end, by either view of the same model:
 * - `'sgns'`: skip-gram with negative sampling trained by SGD (sgns.ts);
 * - `'svd'`: co-occurrence counts (cooccurrence.ts) → shifted PPMI
 *   (ppmi.ts) → randomised truncated SVD → U·Σ^p (sparseSvd.ts).
 * Levy & Goldberg (NIPS 2014) show the first implicitly factorises the matrix
 * the second factorises explicitly; the defaults follow Levy, Goldberg & Dagan
 * (TACL 2015): dynamic-window weights, context smoothing α = 0.75 on both
 * sides (SGNS' noise distribution, PPMI's context distribution), p = 0.5.
 */
import { key as makeKey, split, type Key } from '../../core/random.js';
import { countWords, type Corpus } from './corpus.js';
import { cooccurrence, type WindowWeighting } from './cooccurrence.js';
import { ppmi } from './ppmi.js';
import { WordVectors } from './query.js';
import { trainSgns, type SgnsProgress } from './sgns.js';
import { sparseRandomizedSvd, svdEmbedding } from './sparseSvd.js';
import { buildVocab, encodedSentences, type Vocab } from './vocab.js';

/** Training method. */
export type WordVectorMethod = 'sgns' | 'svd';

/** Options of {@link trainWordVectors}. */
export interface WordVectorOptions {
  method: WordVectorMethod;
  /** Width d (default 100). */
  dim?: number;
  /** Window L (default 5). */
  window?: number;
  /** Vocabulary: minimum count (default 5) and maximum size (default none). */
  minCount?: number;
  maxVocab?: number;
  /** Subsampling threshold (default 1e-3 for sgns, 0 for svd). */
  sample?: number;
  /** k: negatives for sgns (default 5); the shift log k for svd (default 1, i.e. PPMI). */
  negatives?: number;
  /** Noise / context-distribution exponent α (default 0.75). */
  alpha?: number;
  /** sgns: epochs (default 5) and initial learning rate (default 0.025). */
  epochs?: number;
  learningRate?: number;
  /** svd: window weighting (default 'dynamic'), eigenvalue exponent p (default 0.5), power iterations (default 3). */
  weighting?: WindowWeighting;
  power?: number;
  powerIters?: number;
  key?: Key;
  /** sgns inner loop (default 'auto': WebAssembly SIMD where available). */
  kernel?: 'auto' | 'wasm' | 'js';
  /** sgns progress. */
  onProgress?: (progress: SgnsProgress) => void;
}

/** Result of {@link trainWordVectors}. */
export interface WordVectorResult {
  vectors: WordVectors;
  vocab: Vocab;
  /** Seconds per stage, and method-specific figures. */
  stats: Record<string, number>;
  /** sgns: the inner loop that ran. */
  kernel?: 'wasm' | 'js';
}

/** Trains word vectors on `corpus` (see the module comment). */
export function trainWordVectors(corpus: Corpus, options: WordVectorOptions): WordVectorResult {
  const fn = 'trainWordVectors';
  if (options === null || typeof options !== 'object') throw new Error(`${fn}: options must be an object`);
  const method = options.method;
  if (method !== 'sgns' && method !== 'svd') throw new Error(`${fn}: method must be 'sgns' or 'svd', got ${JSON.stringify(method)}`);
  const dim = options.dim ?? 100;
  if (!Number.isSafeInteger(dim) || dim < 1) throw new Error(`${fn}: dim must be a positive integer, got ${String(dim)}`);
  const negatives = options.negatives ?? (method === 'sgns' ? 5 : 1);
  if (typeof negatives !== 'number' || !(negatives >= 1)) {
    throw new Error(`${fn}: negatives (k) must be ≥ 1, got ${String(negatives)}`);
  }
  const [svdKey, trainKey] = split(options.key ?? makeKey(0));

  let t0 = performance.now();
  const counts = countWords(corpus);
  if (counts.totalTokens === 0) throw new Error(`${fn}: the corpus (${corpus.description}) is empty: no tokens were found`);
  const vocab = buildVocab(counts, { minCount: options.minCount ?? 5, maxSize: options.maxVocab });
  const stats: Record<string, number> = {
    tokens: counts.totalTokens,
    vocabulary: vocab.words.length,
    countSeconds: (performance.now() - t0) / 1000,
  };
  const sentences = encodedSentences(corpus, vocab);

  if (method === 'sgns') {
    const result = trainSgns(sentences, vocab, {
      dim,
      window: options.window ?? 5,
      negatives,
      epochs: options.epochs ?? 5,
      learningRate: options.learningRate ?? 0.025,
      sample: options.sample ?? 1e-3,
      noisePower: options.alpha ?? 0.75,
      key: trainKey,
      onProgress: options.onProgress,
      kernel: options.kernel,
    });
    Object.assign(stats, {
      trainSeconds: result.stats.seconds,
      wordsPerSecond: result.stats.wordsPerSecond,
      pairs: result.stats.pairs,
    });
    return { vectors: new WordVectors(vocab.words, result.input, dim), vocab, stats, kernel: result.kernel };
  }

  if (dim > vocab.words.length) {
    throw new Error(`${fn}: dim (${dim}) must not exceed the vocabulary size (${vocab.words.length}) for the svd method`);
  }
  t0 = performance.now();
  const counts2 = cooccurrence(sentences, vocab, {
    window: options.window ?? 5,
    weighting: options.weighting ?? 'dynamic',
    sample: options.sample ?? 0,
    key: trainKey,
  });
  stats.cooccurrenceSeconds = (performance.now() - t0) / 1000;
  stats.cooccurrenceNnz = counts2.data.length;
  t0 = performance.now();
  const m = ppmi(counts2, { alpha: options.alpha ?? 0.75, negatives });
  stats.ppmiNnz = m.data.length;
  if (m.data.length === 0) {
    throw new Error(`${fn}: the shifted PPMI matrix is all zeros (negatives = ${negatives} shifts every PMI below 0); lower negatives`);
  }
  const svdResult = sparseRandomizedSvd(m, dim, { key: svdKey, powerIters: options.powerIters ?? 3 });
  stats.svdSeconds = (performance.now() - t0) / 1000;
  stats.topSingularValue = svdResult.s[0];
  const embedding = svdEmbedding(svdResult, vocab.words.length, options.power ?? 0.5);
  return { vectors: new WordVectors(vocab.words, embedding, dim), vocab, stats };
}
