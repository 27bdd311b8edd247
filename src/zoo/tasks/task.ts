/**
 * The shape shared by the synthetic quality tasks (MQAR, selective copying,
 * induction heads, copying, adding): a task draws one example at a time from
 * a seeded generator, so a stream of batches of any size and any sequence
 * length is a pure function of the seed. Held-out data is the same task with
 * another seed.
 *
 * Token tasks give `inputs` and `targets` of the sequence length, where a
 * target is the class to predict at that position or IGNORE (−100, PyTorch's
 * ignore_index) where nothing is scored. Regression tasks (the adding
 * problem) give real-valued inputs (n, inputDim) and one scalar target, read
 * at the last position.
 */
import { key as philoxKey } from '../../core/random.js';
import { FastRng } from '../text/fastRng.js';

/** The target of a position that is not scored (PyTorch's ignore_index). */
export const IGNORE = -100;

export interface TokenExample {
  /** (n) token ids in [0, vocabSize) */
  inputs: Int32Array;
  /** (n) class to predict at each position, or IGNORE */
  targets: Int32Array;
}

export interface RegressionExample {
  /** (n, inputDim) row-major */
  inputs: Float64Array;
  /** the value to predict after the last position */
  target: number;
}

interface TaskBase {
  readonly name: string;
  readonly seqLen: number;
  /** the loss or error of the best memoryless predictor, where the paper gives one */
  readonly baseline?: { metric: 'loss' | 'mse' | 'accuracy'; value: number; note: string };
}

export interface TokenTask extends TaskBase {
  readonly kind: 'tokens';
  readonly vocabSize: number;
  sample(rng: FastRng): TokenExample;
}

export interface RegressionTask extends TaskBase {
  readonly kind: 'regression';
  readonly inputDim: number;
  sample(rng: FastRng): RegressionExample;
}

export type Task = TokenTask | RegressionTask;

/** A batch of b examples, concatenated row-major. */
export interface TokenBatch {
  kind: 'tokens';
  b: number;
  n: number;
  /** (b, n) */
  inputs: Int32Array;
  /** (b, n) */
  targets: Int32Array;
}

export interface RegressionBatch {
  kind: 'regression';
  b: number;
  n: number;
  inputDim: number;
  /** (b, n, inputDim) */
  inputs: Float64Array;
  /** (b) */
  targets: Float64Array;
}

export type Batch = TokenBatch | RegressionBatch;

/** The generator of a seed: xoshiro128** keyed by Philox, so streams are reproducible. */
export function taskRng(seed: number): FastRng {
  return new FastRng(philoxKey(seed));
}

/** Draw b examples from `rng`. */
export function drawBatch(task: Task, rng: FastRng, b: number): Batch {
  if (!Number.isInteger(b) || b < 1) throw new Error(`drawBatch: batch size must be a positive integer, got ${b}`);
  const n = task.seqLen;
  if (task.kind === 'tokens') {
    const inputs = new Int32Array(b * n);
    const targets = new Int32Array(b * n);
    for (let i = 0; i < b; i++) {
      const ex = task.sample(rng);
      inputs.set(ex.inputs, i * n);
      targets.set(ex.targets, i * n);
    }
    return { kind: 'tokens', b, n, inputs, targets };
  }
  const c = task.inputDim;
  const inputs = new Float64Array(b * n * c);
  const targets = new Float64Array(b);
  for (let i = 0; i < b; i++) {
    const ex = task.sample(rng);
    inputs.set(ex.inputs, i * n * c);
    targets[i] = ex.target;
  }
  return { kind: 'regression', b, n, inputDim: c, inputs, targets };
}

/** An endless stream of batches: a pure function of (task, seed, batch size). */
export function* batches(task: Task, seed: number, batchSize: number): Generator<Batch, never, void> {
  const rng = taskRng(seed);
  for (;;) yield drawBatch(task, rng, batchSize);
}

/** A uniform integer in [lo, hi). */
export function randInt(rng: FastRng, lo: number, hi: number): number {
  return lo + rng.below(hi - lo);
}

/** k distinct integers of [lo, hi) in random order (partial Fisher–Yates over a virtual array). */
export function distinct(rng: FastRng, lo: number, hi: number, k: number): number[] {
  const n = hi - lo;
  if (k > n) throw new Error(`distinct: cannot draw ${k} distinct values from [${lo}, ${hi})`);
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + rng.below(n - i);
    const vj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out.push(lo + vj);
  }
  return out;
}

/**
 * k distinct indices of [0, p.length) drawn one after another with
 * probability proportional to the weights left (successive sampling), the
 * distribution of numpy's `choice(n, size=k, replace=False, p=p)`.
 */
export function weightedDistinct(rng: FastRng, p: readonly number[], k: number): number[] {
  const w = Float64Array.from(p);
  if (k > w.length) throw new Error(`weightedDistinct: cannot draw ${k} distinct indices from ${w.length}`);
  let total = w.reduce((a, x) => a + x, 0);
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    let u = rng.uniform01() * total;
    let j = 0;
    while (j < w.length - 1 && (u >= w[j]! || w[j] === 0)) {
      u -= w[j]!;
      j++;
    }
    // float drift can leave u past the last weight; walk back to a live index
    while (w[j] === 0) j--;
    out.push(j);
    total -= w[j]!;
    w[j] = 0;
  }
  return out;
}

export function checkInt(task: string, name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${task}: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}
