/**
 * Induction heads (C. Olsson et al., "In-context Learning and Induction
 * Heads", Transformer Circuits 2022, arXiv 2209.11895; the synthetic version
 * of A. Gu, T. Dao, "Mamba", arXiv 2312.00752, §4.1.2 and Appendix E.1,
 * from the H3/Hyena synthetics):
 *
 * - tokens are uniform over the vocabulary without the special token
 *   s = V − 1;
 * - s appears once at a uniform position p ∈ [0, N − 3], and the token right
 *   after it (position p + 1) is the target;
 * - the last position N − 1 holds s again, and its target is the token that
 *   followed the first s: "…s b … s → b", the pattern an induction head
 *   completes. Only the last position is scored.
 *
 * Trained at one length and tested at longer ones, it measures length
 * extrapolation: the paper trains at N = 256 with V = 16 and tests at
 * N = 2^6 … 2^20.
 */
import type { FastRng } from '../text/fastRng.js';
import { IGNORE, checkInt, type TokenTask } from './task.js';

export interface InductionHeadsOptions {
  vocabSize: number;
  seqLen: number;
}

export class InductionHeads implements TokenTask {
  readonly kind = 'tokens';
  readonly name = 'induction-heads';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(o: InductionHeadsOptions) {
    this.vocabSize = checkInt('induction-heads', 'vocabSize', o.vocabSize, 3);
    this.seqLen = checkInt('induction-heads', 'seqLen', o.seqLen, 3);
  }

  /** the special token s = V − 1 */
  get special(): number {
    return this.vocabSize - 1;
  }

  /** The same task at another length (for extrapolation tests). */
  withLength(seqLen: number): InductionHeads {
    return new InductionHeads({ vocabSize: this.vocabSize, seqLen });
  }

  sample(rng: FastRng): { inputs: Int32Array; targets: Int32Array; trigger: number } {
    const { seqLen: N, vocabSize: V } = this;
    const inputs = new Int32Array(N);
    for (let t = 0; t < N; t++) inputs[t] = rng.below(V - 1);
    const trigger = rng.below(N - 2);
    inputs[trigger] = this.special;
    inputs[N - 1] = this.special;
    const targets = new Int32Array(N).fill(IGNORE);
    targets[N - 1] = inputs[trigger + 1]!;
    return { inputs, targets, trigger };
  }
}
