/**
 * Skip-gram with negative sampling (SGNS), trained by plain SGD over
 * Float32Arrays. The per-pair update (the hot loop) runs as WebAssembly SIMD
 * kernels where the engine has them, else as its TypeScript reference twin
 * (`kernel` option; both in sgnsKernel.ts, held equal by a test).
 *
 * Mikolov, Chen, Corrado & Dean, "Efficient estimation of word
 * representations in vector space" (arXiv 1301.3781) and Mikolov et al.,
 * "Distributed representations of words and phrases and their
 * compositionality" (NIPS 2013, arXiv 1310.4546, eq. 4). A word is a one-hot
 * vector times an input matrix W (V×d); each (word, context) pair within the
 * window is a positive example for log σ(w·c) and k contexts drawn from the
 * noise distribution P_n(c) ∝ #(c)^0.75 are negatives for log σ(−w·n).
 *
 * Per pair, with g = lr·(label − σ(w·c)):  e += g·c;  c += g·w; then w += e
 * after the k+1 targets (the order word2vec.c uses). As in word2vec.c:
 * - the window is shrunk to b ~ U{1..L} per centre word (dynamic window);
 * - frequent words are subsampled before windows are formed (see vocab.ts);
 * - negatives come from a table in which word i fills a share of slots
 *   proportional to count_i^0.75;
 * - the learning rate decays linearly from lr₀ to lr₀·1e-4 over all epochs;
 * - input vectors start uniform in ±0.5/d, output vectors at zero.
 * One deliberate difference: word2vec.c skips a negative that equals the
 * positive target; we keep it (`rejectPositive: true` restores the skip),
 * because only then is the expected objective exactly the one Levy &
 * Goldberg analyse (NIPS 2014), whose optimum is w·c = PMI(w,c) − log k —
 * see `sgnsExact.ts` and the tests.
 */
import { key as makeKey, split, uniform, type Key } from '../../core/random.js';
import { checkWindow } from './cooccurrence.js';
import { FastRng } from './fastRng.js';
import { createPairUpdater } from './sgnsKernel.js';
import { keepProbabilities, subsampleInto, type IdSentences, type SubsampleFormula, type Vocab } from './vocab.js';

/** Options of {@link trainSgns}. */
export interface SgnsOptions {
  /** Embedding width d (default 100). */
  dim?: number;
  /** Largest window L (default 5). */
  window?: number;
  /** Negatives k per positive pair (default 5). */
  negatives?: number;
  /** Passes over the corpus (default 5). */
  epochs?: number;
  /** Initial learning rate lr₀ (default 0.025). */
  learningRate?: number;
  /** Subsampling threshold t (default 1e-3; 0 = off). */
  sample?: number;
  /** Subsampling formula (default 'word2vec'). */
  formula?: SubsampleFormula;
  /** Exponent α of the noise distribution #(c)^α (default 0.75). */
  noisePower?: number;
  /**
   * Slots in the noise table. Default: enough for the rarest word to get
   * ~100 slots (its probability within ~1%), a power of two clamped to
   * [2^16, 2^25]; smaller tables stay in cache (word2vec.c always uses 1e8).
   */
  tableSize?: number;
  /** Skip a negative equal to the positive target, as word2vec.c does (default false). */
  rejectPositive?: boolean;
  /** PRNG key for initialisation, windows, subsampling and negatives (default key(0)). */
  key?: Key;
  /** Average the loss of every update and report it (costs one log per target; default false). */
  trackLoss?: boolean;
  /**
   * Inner loop: 'wasm' (WebAssembly SIMD, sgnsKernel.ts), 'js' (the plain
   * TypeScript reference loop) or 'auto' (default: wasm where available).
   */
  kernel?: 'auto' | 'wasm' | 'js';
  /** Called about every `progressEvery` words (default 200,000; at sentence ends) and at the end. */
  onProgress?: (progress: SgnsProgress) => void;
  progressEvery?: number;
}

/** What {@link SgnsOptions.onProgress} receives. */
export interface SgnsProgress {
  epoch: number;
  wordsDone: number;
  totalWords: number;
  learningRate: number;
  wordsPerSecond: number;
  /** Mean loss per target since the last report (NaN unless trackLoss). */
  loss: number;
}

/** Result of {@link trainSgns}. */
export interface SgnsResult {
  dim: number;
  /** Input ("word") vectors W, V×d row-major. */
  input: Float32Array;
  /** Output ("context") vectors C, V×d row-major. */
  output: Float32Array;
  /** The inner loop that ran. */
  kernel: 'wasm' | 'js';
  stats: {
    /** In-vocabulary tokens read, before subsampling, over all epochs. */
    words: number;
    /** (word, context) pairs trained. */
    pairs: number;
    seconds: number;
    wordsPerSecond: number;
  };
}

function positiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`${fn}: ${name} must be a positive integer (≥ 1), got ${String(v)}`);
  return v;
}

/**
 * The negative-sampling table: `size` slots, word i filling a contiguous run
 * of round(size·Σ_{j≤i} p_j) − round(size·Σ_{j<i} p_j) of them, with
 * p_i ∝ counts_i^power. Drawing a uniform slot samples P_n.
 */
export function buildNoiseTable(counts: Float64Array, power: number, size: number): Int32Array {
  positiveInt('buildNoiseTable', 'size', size);
  if (!(power >= 0 && power <= 1)) throw new Error(`buildNoiseTable: power must be in [0, 1], got ${power}`);
  let z = 0;
  for (let i = 0; i < counts.length; i++) z += Math.pow(counts[i], power);
  const table = new Int32Array(size);
  let cum = 0;
  let start = 0;
  for (let i = 0; i < counts.length; i++) {
    cum += Math.pow(counts[i], power);
    const end = i === counts.length - 1 ? size : Math.min(size, Math.round((cum / z) * size));
    table.fill(i, start, end);
    start = Math.max(start, end);
  }
  return table;
}

/** The default noise-table size (see {@link SgnsOptions.tableSize}). */
export function defaultTableSize(counts: Float64Array, power: number): number {
  let z = 0;
  let least = Infinity;
  for (let i = 0; i < counts.length; i++) {
    const q = Math.pow(counts[i], power);
    z += q;
    least = Math.min(least, q);
  }
  const wanted = (100 * z) / least;
  return 2 ** Math.min(25, Math.max(16, Math.ceil(Math.log2(wanted))));
}

/** Trains SGNS vectors for `vocab` on `sentences` (ids of `vocab`). */
export function trainSgns(sentences: IdSentences, vocab: Vocab, options: SgnsOptions = {}): SgnsResult {
  const fn = 'trainSgns';
  const dim = positiveInt(fn, 'dim', options.dim ?? 100);
  const window = checkWindow(fn, options.window ?? 5);
  const k = positiveInt(fn, 'negatives', options.negatives ?? 5);
  const epochs = positiveInt(fn, 'epochs', options.epochs ?? 5);
  const lr0 = options.learningRate ?? 0.025;
  if (!(lr0 > 0 && Number.isFinite(lr0))) throw new Error(`${fn}: learningRate must be a positive number, got ${lr0}`);
  const noisePower = options.noisePower ?? 0.75;
  const v = vocab.words.length;
  if (v === 0) throw new Error(`${fn}: the vocabulary is empty`);
  const tableSize = options.tableSize ?? defaultTableSize(vocab.counts, noisePower);
  const progressEvery = positiveInt(fn, 'progressEvery', options.progressEvery ?? 200_000);
  const keep = keepProbabilities(vocab, options.sample ?? 1e-3, options.formula ?? 'word2vec');
  const table = buildNoiseTable(vocab.counts, noisePower, tableSize);
  const rejectPositive = options.rejectPositive ?? false;
  const trackLoss = options.trackLoss ?? false;

  const [initKey, streamKey] = split(options.key ?? makeKey(0));
  const init = uniform(initKey, v * dim, -0.5 / dim, 0.5 / dim);
  // Rows padded to a multiple of 4 floats (zeros that stay zero) so the SIMD kernel runs whole vectors.
  const stride = (dim + 3) & ~3;
  const pair = createPairUpdater(v, stride, options.kernel ?? 'auto');
  const { syn0, syn1 } = pair;
  for (let i = 0; i < v; i++) for (let t = 0; t < dim; t++) syn0[i * stride + t] = init[i * dim + t];
  const targets = new Int32Array(k + 1);
  const rng = new FastRng(streamKey);
  const uniform01 = (): number => rng.uniform01();

  const totalWords = epochs * vocab.total;
  const minLr = lr0 * 1e-4;
  let wordsDone = 0;
  let pairs = 0;
  let lossSum = 0;
  let lossCount = 0;
  let nextReport = progressEvery;
  const started = performance.now();
  let buffer = new Int32Array(0);
  let lastReported = 0;
  const report = (epoch: number, lr: number): void => {
    if (!options.onProgress || wordsDone === lastReported) return;
    lastReported = wordsDone;
    const seconds = (performance.now() - started) / 1000;
    options.onProgress({
      epoch,
      wordsDone,
      totalWords,
      learningRate: lr,
      wordsPerSecond: wordsDone / Math.max(seconds, 1e-9),
      loss: trackLoss && lossCount > 0 ? lossSum / lossCount : NaN,
    });
    lossSum = 0;
    lossCount = 0;
  };

  let lr = lr0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const sentence of sentences()) {
      for (let i = 0; i < sentence.length; i++) {
        const id = sentence[i];
        if (!(id >= 0 && id < v)) throw new Error(`${fn}: sentence holds id ${id}, outside the vocabulary of ${v} words`);
      }
      if (buffer.length < sentence.length) buffer = new Int32Array(sentence.length);
      const n = subsampleInto(sentence, keep, uniform01, buffer);
      // Progress through the sentence, in words read, per kept word (for the decay below).
      const step = n > 0 ? sentence.length / n : 0;
      for (let i = 0; i < n; i++) {
        // Linear decay by words read so far (word2vec.c refreshes it every 10,000 words).
        lr = Math.max(lr0 * (1 - (wordsDone + i * step) / (totalWords + 1)), minLr);
        const center = buffer[i];
        const reach = window - rng.below(window); // b ∈ 1..L
        const lo = Math.max(0, i - reach);
        const hi = Math.min(n - 1, i + reach);
        for (let j = lo; j <= hi; j++) {
          if (j === i) continue;
          // word2vec.c's order: the context word's input vector predicts the centre word.
          let count = 1;
          targets[0] = center;
          for (let d = 0; d < k; d++) {
            const target = table[rng.below(tableSize)];
            if (rejectPositive && target === center) continue;
            targets[count++] = target;
          }
          const loss = pair.step(buffer[j], targets, count, lr, trackLoss);
          if (trackLoss) {
            lossSum += loss;
            lossCount += count;
          }
          pairs++;
        }
      }
      wordsDone += sentence.length;
      if (wordsDone >= nextReport) {
        report(epoch, lr);
        nextReport = wordsDone + progressEvery;
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  report(epochs - 1, lr);
  if (wordsDone === 0) throw new Error(`${fn}: the corpus has no in-vocabulary words`);
  return {
    dim,
    input: unpad(syn0, v, dim, stride),
    output: unpad(syn1, v, dim, stride),
    kernel: pair.kind,
    stats: { words: wordsDone, pairs, seconds, wordsPerSecond: wordsDone / Math.max(seconds, 1e-9) },
  };
}


/** The V×dim rows of a V×stride padded matrix, as a new array. */
function unpad(a: Float32Array, v: number, dim: number, stride: number): Float32Array {
  const out = new Float32Array(v * dim);
  for (let i = 0; i < v; i++) out.set(a.subarray(i * stride, i * stride + dim), i * dim);
  return out;
}
