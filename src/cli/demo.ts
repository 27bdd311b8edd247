/**
 * `nabla demo`: fit a small multilayer perceptron to a smooth 2-D function
 * with plain stochastic gradient descent, written with nothing but nabla ops
 * and `valueAndGrad`. It is the shortest end-to-end tour of the library:
 * explicit PRNG keys, tensors, reverse-mode autodiff, and `tidy` keeping a
 * training loop from leaking (the live-tensor count is printed at the end).
 *
 * Model: ŷ = tanh(x·W1 + b1)·W2 + b2 with x ∈ R², 32 hidden units, weights
 * drawn from the Glorot normal initialisation (Glorot & Bengio, AISTATS 2010:
 * std = √(2 / (fan_in + fan_out))). Target: y = sin(3·x₁)·x₂ on x uniform in
 * [−1, 1]². Loss: mean squared error over the whole data set (full-batch GD).
 */
import type { Tensor } from '../core/tensor.js';
import { tidy, memory } from '../core/memory.js';
import { valueAndGrad } from '../autodiff/backward.js';
import { noGrad } from '../autodiff/tape.js';
import { add, mul, sin, square, sub, tanh } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { mean } from '../ops/stats.js';
import { slice } from '../ops/slice.js';
import { zeros } from '../ops/creation.js';
import { normal, randomKey, splitKey, uniform } from '../ops/random.js';

export interface DemoOptions {
  /** gradient steps (default 1000) */
  steps?: number;
  /** seed of the PRNG key for data and initialisation (default 0) */
  seed?: number;
  /** learning rate (default 0.15) */
  lr?: number;
  /** hidden units (default 32) */
  hidden?: number;
  /** data points (default 256) */
  points?: number;
  /** print the loss every this many steps (default: steps / 10) */
  every?: number;
}

export interface DemoResult {
  /** the loss at every printed step, and at the end */
  history: { step: number; loss: number }[];
  initialLoss: number;
  finalLoss: number;
  seconds: number;
  /** tensors alive after the run, once the model and data were disposed (0 when nothing leaked) */
  leakedTensors: number;
}

type Params = [W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor];

/** ŷ = tanh(x·W1 + b1)·W2 + b2  (x: (n, 2) → ŷ: (n, 1)) */
function mlp(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor): Tensor {
  const h = tanh(add(matmul(x, W1), b1)); // (n, hidden)
  return add(matmul(h, W2), b2); // (n, 1)
}

function checkOptions(o: DemoOptions): Required<DemoOptions> {
  const steps = o.steps ?? 1000;
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`demo: ${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', steps);
  const r = { steps, seed: o.seed ?? 0, lr: o.lr ?? 0.15, hidden: o.hidden ?? 32, points: o.points ?? 256, every: o.every ?? Math.max(1, Math.round(steps / 10)) };
  if (!Number.isSafeInteger(r.seed) || r.seed < 0) throw new Error(`demo: seed must be a non-negative integer, got ${r.seed}`);
  if (!(r.lr > 0) || !Number.isFinite(r.lr)) throw new Error(`demo: lr must be a positive number, got ${r.lr}`);
  positiveInt('hidden', r.hidden);
  positiveInt('points', r.points);
  positiveInt('every', r.every);
  return r;
}

/** Run the demo, printing progress through `log`. */
export function runDemo(options: DemoOptions = {}, log: (line: string) => void = console.log): DemoResult {
  const o = checkOptions(options);
  const before = memory().liveTensors;
  const [kData, kW1, kW2] = splitKey(randomKey(o.seed), 3);

  // data: x uniform in [−1, 1]², y = sin(3·x₁)·x₂
  const { x, y } = tidy(() => {
    const x = uniform(kData!, [o.points, 2], { lo: -1, hi: 1 }); // (n, 2)
    const x1 = slice(x, [null, { start: 0, stop: 1 }]); // (n, 1)
    const x2 = slice(x, [null, { start: 1, stop: 2 }]);
    return { x, y: mul(sin(mul(x1, 3)), x2) }; // (n, 1)
  });
  let params: Params = [
    normal(kW1!, [2, o.hidden], { std: Math.sqrt(2 / (2 + o.hidden)) }),
    zeros([o.hidden]),
    normal(kW2!, [o.hidden, 1], { std: Math.sqrt(2 / (o.hidden + 1)) }),
    zeros([1]),
  ];

  const lossAndGrads = valueAndGrad((W1, b1, W2, b2) => mean(square(sub(mlp(x, W1!, b1!, W2!, b2!), y))));

  log(`nabla demo: fitting y = sin(3·x1)·x2 with an MLP 2→${o.hidden}→1 (tanh) on ${o.points} points, plain gradient descent, lr ${o.lr}, seed ${o.seed}`);
  const history: DemoResult['history'] = [];
  const t0 = performance.now();
  let loss = NaN;
  for (let step = 0; step <= o.steps; step++) {
    const last = step === o.steps;
    params = tidy(() => {
      const [value, grads] = lossAndGrads(...params);
      loss = value.item();
      if (step % o.every === 0 || last) {
        history.push({ step, loss });
        log(`step ${String(step).padStart(6)}  loss ${loss.toFixed(6)}`);
      }
      if (last) return params;
      // θ ← θ − lr·∇θ, outside the tape; the old parameters were returned by the previous step, so free them here
      const next = noGrad(() => params.map((p, i) => sub(p, mul(grads[i]!, o.lr)))) as Params;
      for (const p of params) p.dispose();
      return next;
    });
    if (!Number.isFinite(loss)) throw new Error(`demo: the loss diverged (${loss}) at step ${step}; try a smaller --lr`);
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const t of [...params, x, y]) t.dispose();
  const leakedTensors = memory().liveTensors - before;
  const initialLoss = history[0]!.loss;
  log(`final loss ${loss.toFixed(6)} (from ${initialLoss.toFixed(6)}) after ${o.steps} steps in ${seconds.toFixed(2)} s; tensors leaked: ${leakedTensors}`);
  return { history, initialLoss, finalLoss: loss, seconds, leakedTensors };
}
