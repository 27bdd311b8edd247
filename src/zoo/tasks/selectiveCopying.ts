/**
 * Selective copying (A. Gu, T. Dao, "Mamba: Linear-Time Sequence Modeling
 * with Selective State Spaces", arXiv 2312.00752, §3.1, Figure 2 and
 * Appendix E.1; the generator `torch_copying_data(L, M, A, variable=True)` of
 * the S4 repository that the paper uses):
 *
 * - alphabet A: 0 is the noise (white) token, A−1 the marker (black) token,
 *   data tokens are uniform over [1, A−1);
 * - M data tokens are scattered over the first L + M positions, at M distinct
 *   positions drawn uniformly and kept in increasing order; the other L of
 *   those positions are noise;
 * - then come M markers; the target at the j-th marker is the j-th data
 *   token: the model must reproduce the memorised tokens in order, skipping
 *   the noise, which needs a content-aware (selective) state. Nothing else is
 *   scored.
 *
 * The sequence length is N = L + 2M. The paper's setting: N = 4096 (L =
 * 4064), A = 16, M = 16; 2-layer models of width 64.
 */
import type { FastRng } from '../text/fastRng.js';
import { IGNORE, checkInt, distinct, type TokenTask } from './task.js';

export interface SelectiveCopyingOptions {
  /** A: noise, marker and A − 2 data tokens */
  vocabSize: number;
  /** N = L + 2M */
  seqLen: number;
  /** M: tokens to memorise */
  numTokens: number;
}

export class SelectiveCopying implements TokenTask {
  readonly kind = 'tokens';
  readonly name = 'selective-copying';
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly numTokens: number;
  /** the noise token */
  readonly noise = 0;

  constructor(o: SelectiveCopyingOptions) {
    this.vocabSize = checkInt('selective-copying', 'vocabSize', o.vocabSize, 3);
    this.seqLen = checkInt('selective-copying', 'seqLen', o.seqLen, 2);
    this.numTokens = checkInt('selective-copying', 'numTokens', o.numTokens, 1);
    if (2 * this.numTokens > this.seqLen) throw new Error(`selective-copying: seqLen ${this.seqLen} must be ≥ 2·numTokens = ${2 * this.numTokens}`);
  }

  /** the marker token A − 1 */
  get marker(): number {
    return this.vocabSize - 1;
  }

  sample(rng: FastRng): { inputs: Int32Array; targets: Int32Array; positions: number[] } {
    const { seqLen: N, numTokens: M, vocabSize: A } = this;
    const span = N - M; // L + M positions hold the data and the noise
    const positions = distinct(rng, 0, span, M).sort((a, b) => a - b);
    const inputs = new Int32Array(N); // noise = 0
    const targets = new Int32Array(N).fill(IGNORE);
    for (let j = 0; j < M; j++) {
      const tok = 1 + rng.below(A - 2);
      inputs[positions[j]!] = tok;
      inputs[span + j] = this.marker;
      targets[span + j] = tok;
    }
    return { inputs, targets, positions };
  }
}
