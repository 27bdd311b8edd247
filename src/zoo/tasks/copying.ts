/**
 * The copying memory problem (S. Hochreiter, J. Schmidhuber, "Long
 * Short-Term Memory", 1997, §5; in the form of M. Arjovsky, A. Shah,
 * Y. Bengio, "Unitary Evolution Recurrent Neural Networks", arXiv 1511.06464,
 * §4.1):
 *
 * - alphabet a₀ … a₉: a₀ blank, a₁ … a₈ data, a₉ delimiter;
 * - input (length T + 20): 10 symbols uniform over a₁ … a₈, then T − 1
 *   blanks, the delimiter, and 10 blanks;
 * - target: T + 10 blanks, then the 10 symbols in order; every position is
 *   scored.
 *
 * The memoryless baseline predicts blanks and then a uniform guess over the
 * 8 data symbols: its cross-entropy is 10·ln 8 / (T + 20).
 */
import type { FastRng } from '../text/fastRng.js';
import { checkInt, type TokenTask } from './task.js';

export interface CopyingOptions {
  /** T: the delay between the symbols and the delimiter */
  delay: number;
  /** symbols to copy (default 10) */
  numSymbols?: number;
  /** data symbols (default 8) */
  numData?: number;
}

/** Cross-entropy of the memoryless strategy: S·ln K / (T + 2S). */
export function copyingBaseline(delay: number, numSymbols = 10, numData = 8): number {
  return (numSymbols * Math.log(numData)) / (delay + 2 * numSymbols);
}

export class Copying implements TokenTask {
  readonly kind = 'tokens';
  readonly name = 'copying';
  readonly delay: number;
  readonly numSymbols: number;
  readonly numData: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly baseline: TokenTask['baseline'];

  constructor(o: CopyingOptions) {
    this.delay = checkInt('copying', 'delay', o.delay, 1);
    this.numSymbols = checkInt('copying', 'numSymbols', o.numSymbols ?? 10, 1);
    this.numData = checkInt('copying', 'numData', o.numData ?? 8, 1);
    this.vocabSize = this.numData + 2;
    this.seqLen = this.delay + 2 * this.numSymbols;
    this.baseline = { metric: 'loss', value: copyingBaseline(this.delay, this.numSymbols, this.numData), note: 'blanks, then a uniform guess over the data symbols' };
  }

  /** the delimiter a₉ (numData + 1) */
  get delimiter(): number {
    return this.numData + 1;
  }

  sample(rng: FastRng): { inputs: Int32Array; targets: Int32Array } {
    const { delay: T, numSymbols: S } = this;
    const inputs = new Int32Array(this.seqLen);
    const targets = new Int32Array(this.seqLen);
    for (let i = 0; i < S; i++) {
      const s = 1 + rng.below(this.numData);
      inputs[i] = s;
      targets[T + S + i] = s;
    }
    inputs[T + S - 1] = this.delimiter;
    return { inputs, targets };
  }
}
