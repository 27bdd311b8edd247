/**
 * Choosing the next token from logits, on the host (one row of `vocab`
 * numbers per step), in the order the common samplers apply them:
 *
 * 1. repetition penalty (Keskar et al. 2019, CTRL, arXiv 1909.05858 §4.1):
 *    for every token already in the context, a positive logit is divided by
 *    θ and a negative one multiplied by θ (θ > 1 discourages repeats);
 * 2. temperature T: logits / T; T = 0 means greedy (argmax, ties to the
 *    smallest id);
 * 3. top-k (Fan et al. 2018, arXiv 1805.04833): keep the k largest;
 * 4. top-p / nucleus (Holtzman et al. 2019, arXiv 1904.09751): keep the
 *    smallest set of most probable tokens whose probability reaches p;
 * 5. draw from the renormalised distribution with one uniform number u:
 *    the first token whose cumulative probability exceeds u.
 *
 * Randomness is a pure function of (seed, position): `u = uniform(foldIn(key(seed), position))`,
 * so a generation replays exactly from its seed.
 */
import { foldIn, key as makeKey, uniform, type Key } from '../../core/random.js';

export interface SamplingOptions {
  /** 0 = greedy; default 1 */
  temperature?: number;
  /** keep the k most likely tokens (0 or undefined: all) */
  topK?: number;
  /** nucleus: keep the most likely tokens up to cumulative probability p (1 or undefined: all) */
  topP?: number;
  /** CTRL's penalty θ ≥ 1 on tokens already present (default 1: none) */
  repetitionPenalty?: number;
}

/** Validate sampling options once, naming the option at fault. */
export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  const repetitionPenalty = o.repetitionPenalty ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be a number ≥ 0 (0 = greedy), got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`top-k must be an integer ≥ 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${topP}`);
  if (!(repetitionPenalty >= 1) || !Number.isFinite(repetitionPenalty)) throw new Error(`repetition penalty must be a number ≥ 1, got ${repetitionPenalty}`);
  return { temperature, topK, topP, repetitionPenalty };
}

/** Apply CTRL's repetition penalty in place to the logits of tokens in `history`. */
export function applyRepetitionPenalty(logits: Float64Array, history: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const t of new Set(history)) {
    const v = logits[t]!;
    logits[t] = v > 0 ? v / penalty : v * penalty;
  }
}

/** Index of the largest value (ties: the smallest index). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * The sampling distribution after temperature, top-k and top-p, as
 * probabilities over the vocabulary (zeros outside the kept set).
 */
export function samplingDistribution(logits: Float64Array, o: Required<SamplingOptions>): Float64Array {
  const V = logits.length;
  const p = new Float64Array(V);
  if (o.temperature === 0) {
    p[argmax(logits)] = 1;
    return p;
  }
  // sort ids by logit, descending (stable: ties by id)
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const k = o.topK > 0 ? Math.min(o.topK, V) : V;
  const top = logits[order[0]!]! / o.temperature;
  let z = 0;
  for (let r = 0; r < k; r++) {
    const e = Math.exp(logits[order[r]!]! / o.temperature - top);
    p[order[r]!] = e;
    z += e;
  }
  let kept = k;
  if (o.topP < 1) {
    let cum = 0;
    for (let r = 0; r < k; r++) {
      cum += p[order[r]!]! / z;
      if (cum >= o.topP) {
        kept = r + 1;
        break;
      }
    }
    for (let r = kept; r < k; r++) p[order[r]!] = 0;
    z = 0;
    for (let r = 0; r < kept; r++) z += p[order[r]!]!;
  }
  for (let r = 0; r < kept; r++) p[order[r]!]! /= z;
  return p;
}

/** Draw an id from probabilities `p` with a uniform number u ∈ [0, 1). */
export function drawFrom(p: Float64Array, u: number): number {
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i]! <= 0) continue;
    cum += p[i]!;
    last = i;
    if (u < cum) return i;
  }
  return last;
}

/** A sampler bound to a seed: `next(logits, history, position)` picks the token at `position`. */
export class TokenSampler {
  readonly options: Required<SamplingOptions>;
  readonly #key: Key;

  constructor(o: SamplingOptions & { seed?: number } = {}) {
    this.options = checkSampling(o);
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
    this.#key = makeKey(seed);
  }

  next(logits: Float64Array, history: readonly number[], position: number): number {
    const l = Float64Array.from(logits);
    applyRepetitionPenalty(l, history, this.options.repetitionPenalty);
    if (this.options.temperature === 0) return argmax(l);
    const p = samplingDistribution(l, this.options);
    return drawFrom(p, uniform(foldIn(this.#key, position), 1)[0]!);
  }
}
