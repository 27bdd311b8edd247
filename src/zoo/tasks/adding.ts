/**
 * The adding problem (S. Hochreiter, J. Schmidhuber, "Long Short-Term
 * Memory", 1997, §5.4; in the form of M. Arjovsky, A. Shah, Y. Bengio,
 * "Unitary Evolution Recurrent Neural Networks", arXiv 1511.06464, §4.2):
 *
 * - two input channels of length T: values uniform in [0, 1), and markers
 *   that are 0 except for exactly two 1s, one at a uniform position of the
 *   first half and one at a uniform position of the second half;
 * - the target is the sum of the two marked values, read after the last
 *   step; the error is the mean squared error.
 *
 * The memoryless baseline always answers 1, the mean of the sum: its MSE is
 * the variance of a sum of two U(0, 1) values, 2/12 ≈ 0.167.
 */
import type { FastRng } from '../text/fastRng.js';
import { checkInt, type RegressionTask } from './task.js';

export const ADDING_BASELINE_MSE = 1 / 6;

export class Adding implements RegressionTask {
  readonly kind = 'regression';
  readonly name = 'adding';
  readonly inputDim = 2;
  readonly seqLen: number;
  readonly baseline: RegressionTask['baseline'] = { metric: 'mse', value: ADDING_BASELINE_MSE, note: 'always predict 1' };

  constructor(o: { seqLen: number }) {
    this.seqLen = checkInt('adding', 'seqLen', o.seqLen, 2);
  }

  sample(rng: FastRng): { inputs: Float64Array; target: number; marked: [number, number] } {
    const T = this.seqLen;
    const half = Math.floor(T / 2);
    const inputs = new Float64Array(2 * T);
    for (let t = 0; t < T; t++) inputs[2 * t] = rng.uniform01();
    const i = rng.below(half);
    const j = half + rng.below(T - half);
    inputs[2 * i + 1] = 1;
    inputs[2 * j + 1] = 1;
    return { inputs, target: inputs[2 * i]! + inputs[2 * j]!, marked: [i, j] };
  }
}
