/**
 * A generated corpus with planted synonym groups, for testing word vectors.
 *
 * Text is produced by a first-order Markov chain over `groups` concepts. Each
 * concept has a few preferred successors (weights 1, 1/2, 1/3, …) and with
 * probability `noise` jumps to any concept; sentences start at a Zipf-
 * distributed concept. Each concept is then written as one of its
 * `groupSize` synonyms ("g07a", "g07b", …, chosen with weights 1, 1/1.5,
 * 1/2, … so synonyms differ in frequency, as real ones do), and with
 * probability `functionRate` a frequent "function word" ("f0" … , Zipfian)
 * is inserted between concepts.
 *
 * Synonyms of one concept therefore have exactly the same distribution of
 * contexts and nothing else does: the distributional hypothesis holds by
 * construction, and any method that models contexts should put synonyms
 * nearest to each other. Function words give subsampling something to do.
 */
import { key as makeKey, type Key } from '../../core/random.js';
import { FastRng } from './fastRng.js';

/** Options of {@link syntheticCorpus}. */
export interface SyntheticCorpusOptions {
  /** Number of concepts, i.e. synonym groups (default 40). */
  groups?: number;
  /** Synonyms per concept (default 3). */
  groupSize?: number;
  /** Distinct function words (default 8). */
  functionWords?: number;
  /** Probability of a function word before each concept (default 0.3). */
  functionRate?: number;
  /** Preferred successors per concept (default 3). */
  successors?: number;
  /** Probability of a uniformly random next concept (default 0.1). */
  noise?: number;
  /** Tokens to produce, about (default 100,000). */
  tokens?: number;
  /** Concepts per sentence, uniform in [min, max] (default [5, 15]). */
  sentenceLength?: [number, number];
  key?: Key;
}

/** Result of {@link syntheticCorpus}. */
export interface SyntheticCorpus {
  /** The text, one sentence per line. */
  text: string;
  /** The planted synonym groups, groups[g] = the synonyms of concept g. */
  groups: string[][];
  functionWords: string[];
  tokens: number;
}

/** Index drawn with probability ∝ weights (cumulative weights given, total last). */
function draw(rng: FastRng, cumulative: Float64Array): number {
  const u = rng.uniform01() * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulativeOf(weights: number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  weights.forEach((w, i) => (out[i] = s += w));
  return out;
}

function intOption(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`syntheticCorpus: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function probOption(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new Error(`syntheticCorpus: ${name} must be a probability in [0, 1], got ${value}`);
  return value;
}

/** Generates the corpus (deterministic for a given key and options). */
export function syntheticCorpus(options: SyntheticCorpusOptions = {}): SyntheticCorpus {
  const g = intOption('groups', options.groups ?? 40, 2);
  const s = intOption('groupSize', options.groupSize ?? 3, 1);
  if (s > 26) throw new Error(`syntheticCorpus: groupSize must be at most 26 (synonyms are lettered a-z), got ${s}`);
  const f = intOption('functionWords', options.functionWords ?? 8, 0);
  const functionRate = f === 0 ? 0 : probOption('functionRate', options.functionRate ?? 0.3);
  const successors = intOption('successors', options.successors ?? 3, 1);
  const noise = probOption('noise', options.noise ?? 0.1);
  const targetTokens = intOption('tokens', options.tokens ?? 100_000, 1);
  const [minLen, maxLen] = options.sentenceLength ?? [5, 15];
  intOption('sentenceLength[0]', minLen, 1);
  intOption('sentenceLength[1]', maxLen, minLen);
  const rng = new FastRng(options.key ?? makeKey(0));

  const width = String(g - 1).length;
  const groups = Array.from({ length: g }, (_, c) =>
    Array.from({ length: s }, (_, j) => `g${String(c).padStart(width, '0')}${String.fromCharCode(97 + j)}`),
  );
  const functionWords = Array.from({ length: f }, (_, i) => `f${i}`);
  const synonymCdf = cumulativeOf(Array.from({ length: s }, (_, j) => 1 / (1 + j / 2)));
  const functionCdf = cumulativeOf(Array.from({ length: Math.max(f, 1) }, (_, i) => 1 / (i + 1)));
  const startCdf = cumulativeOf(Array.from({ length: g }, (_, c) => 1 / (c + 1)));
  // Each concept's preferred successors: distinct, drawn uniformly, weights 1, 1/2, 1/3, ...
  const next: Int32Array[] = [];
  const nextCdf = cumulativeOf(Array.from({ length: successors }, (_, r) => 1 / (r + 1)));
  for (let c = 0; c < g; c++) {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(successors, g)) chosen.add(rng.below(g));
    next.push(Int32Array.from(chosen));
  }

  const lines: string[] = [];
  let tokens = 0;
  while (tokens < targetTokens) {
    const length = minLen + rng.below(maxLen - minLen + 1);
    const words: string[] = [];
    let concept = draw(rng, startCdf);
    for (let t = 0; t < length; t++) {
      if (functionRate > 0 && rng.uniform01() < functionRate) words.push(functionWords[draw(rng, functionCdf)]);
      words.push(groups[concept][draw(rng, synonymCdf)]);
      const succ = next[concept];
      concept = rng.uniform01() < noise ? rng.below(g) : succ[Math.min(draw(rng, nextCdf), succ.length - 1)];
    }
    tokens += words.length;
    lines.push(words.join(' '));
  }
  return { text: lines.join('\n') + '\n', groups, functionWords, tokens };
}
