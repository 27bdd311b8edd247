/**
 * Multi-query associative recall, MQAR (S. Arora, S. Eyuboglu, A. Timalsina,
 * I. Johnson, M. Poli, J. Zou, A. Rudra, C. Ré, "Zoology: Measuring and
 * Improving Recall in Efficient Language Models", arXiv 2312.04927, §3.1 and
 * Appendix E; the generator `multiquery_ar` of their code, which this one
 * follows draw for draw in distribution):
 *
 * - the vocabulary V is split in two: keys are drawn from [1, V/2), values
 *   from [V/2, V), D distinct keys and D distinct values per example;
 * - the context is the D pairs k₁ v₁ k₂ v₂ … k_D v_D (positions 0 … 2D−1);
 * - the rest of the sequence has S = (N − 2D)/2 even slots; the D keys are
 *   queried again, key i at slot gᵢ (position 2D + 2gᵢ), with the gaps g drawn
 *   without replacement from {0 … S−1} with P(g) ∝ α·(g+1)^(α−1), α = 0.01
 *   (a power law: short distances between a query and the end of the context
 *   are the most likely, as in natural text);
 * - the target at a query's position is the value paired with its key; no
 *   other position is scored;
 * - every other position holds a token uniform over the whole vocabulary
 *   (`random_non_queries`).
 *
 * Requirements of the paper's generator: N even, V > N, 4D ≤ N.
 */
import type { FastRng } from '../text/fastRng.js';
import { IGNORE, checkInt, distinct, weightedDistinct, type TokenTask } from './task.js';

export interface MqarOptions {
  vocabSize: number;
  seqLen: number;
  /** D: key-value pairs in the context (and queries after it) */
  numPairs: number;
  /** α of the power law of query gaps (default 0.01, the paper's) */
  powerA?: number;
  /** fill non-query positions with random tokens (default true) or with 0 */
  randomNonQueries?: boolean;
}

/** P(gap = g) for g = 0 … space−1 (the paper's `p`, normalised). */
export function mqarGapProbabilities(space: number, powerA = 0.01): number[] {
  const p = Array.from({ length: space }, (_, g) => powerA * (g + 1) ** (powerA - 1));
  const s = p.reduce((a, x) => a + x, 0);
  return p.map((x) => x / s);
}

export class Mqar implements TokenTask {
  readonly kind = 'tokens';
  readonly name = 'mqar';
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly numPairs: number;
  readonly powerA: number;
  readonly randomNonQueries: boolean;
  private readonly gapP: number[];

  constructor(o: MqarOptions) {
    this.vocabSize = checkInt('mqar', 'vocabSize', o.vocabSize, 4);
    this.seqLen = checkInt('mqar', 'seqLen', o.seqLen, 4);
    this.numPairs = checkInt('mqar', 'numPairs', o.numPairs, 1);
    this.powerA = o.powerA ?? 0.01;
    this.randomNonQueries = o.randomNonQueries ?? true;
    if (this.seqLen % 2 !== 0) throw new Error(`mqar: seqLen must be even, got ${this.seqLen}`);
    if (this.vocabSize <= this.seqLen) throw new Error(`mqar: vocabSize ${this.vocabSize} must exceed seqLen ${this.seqLen}`);
    if (4 * this.numPairs > this.seqLen) throw new Error(`mqar: 4·numPairs = ${4 * this.numPairs} must be ≤ seqLen ${this.seqLen}`);
    if (!(this.powerA > 0 && this.powerA <= 1)) throw new Error(`mqar: powerA must be in (0, 1], got ${this.powerA}`);
    this.gapP = mqarGapProbabilities((this.seqLen - 2 * this.numPairs) / 2, this.powerA);
  }

  /** The gap slots: the query of key i sits at position 2D + 2·gap. */
  get space(): number {
    return this.gapP.length;
  }

  sample(rng: FastRng): { inputs: Int32Array; targets: Int32Array; gaps: number[] } {
    const { vocabSize: V, seqLen: N, numPairs: D } = this;
    const half = Math.floor(V / 2);
    const keys = distinct(rng, 1, half, D);
    const values = distinct(rng, half, V, D);
    const inputs = new Int32Array(N);
    const targets = new Int32Array(N).fill(IGNORE);
    for (let i = 0; i < D; i++) {
      inputs[2 * i] = keys[i]!;
      inputs[2 * i + 1] = values[i]!;
    }
    const gaps = weightedDistinct(rng, this.gapP, D);
    const isQuery = new Uint8Array(N);
    for (let i = 0; i < D; i++) {
      const pos = 2 * D + 2 * gaps[i]!;
      inputs[pos] = keys[i]!;
      targets[pos] = values[i]!;
      isQuery[pos] = 1;
    }
    for (let t = 2 * D; t < N; t++) if (!isQuery[t]) inputs[t] = this.randomNonQueries ? rng.below(V) : 0;
    return { inputs, targets, gaps };
  }
}
