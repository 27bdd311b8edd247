/**
 * Training and evaluation of one configuration of the quality benchmarks:
 * AdamW (Loshchilov & Hutter, arXiv 1711.05101) with linear warmup and cosine
 * decay, fresh batches from the task's stream every step (the papers'
 * "infinite data" regime), then accuracy on held-out batches drawn from
 * another seed.
 *
 * Only the scored positions reach the output head: MQAR scores D of N
 * positions and induction heads one, so gathering those rows of the last
 * hidden state before the (b·n, d) × (d, V) product saves most of the cost
 * at V = 8192 without changing the loss.
 */
import type { Tensor } from '../core/tensor.js';
import { tidy } from '../core/memory.js';
import { tensor } from '../ops/creation.js';
import { crossEntropy } from '../ops/nn.js';
import { argmax } from '../ops/reduce.js';
import { mean } from '../ops/stats.js';
import { square, sub } from '../ops/elementwise.js';
import { indexSelect } from '../ops/indexing.js';
import { reshape } from '../ops/views.js';
import { randomKey } from '../ops/random.js';
import { backward } from '../autodiff/backward.js';
import { noGrad } from '../autodiff/tape.js';
import { adamw } from '../optim/adam.js';
import { warmupCosine } from '../optim/schedules.js';
import { dispose, evalMode, namedGrads, train, trainableParameters, zeroGrad } from '../nn/module.js';
import { IGNORE, drawBatch, taskRng, type Batch, type Task } from '../zoo/tasks/task.js';
import { SeqModel, type Positions } from './model.js';
import type { MixerSpec } from '../zoo/mixer.js';

export interface TrainConfig {
  mixer: MixerSpec;
  dModel: number;
  layers?: number;
  positions?: Positions;
  mlpRatio?: number;
  steps: number;
  batch: number;
  lr: number;
  /** decoupled weight decay (default 0.1, Zoology's) */
  weightDecay?: number;
  /** warmup steps (default 10% of steps) */
  warmup?: number;
  /** global-norm clipping (default 1) */
  clipNorm?: number;
  seed: number;
  /** called every `every` steps with the training loss */
  onStep?: (step: number, loss: number) => void;
}

export interface EvalResult {
  /** accuracy over scored positions (token tasks), or 1 − MSE/baseline clipped at 0 (regression) */
  accuracy: number;
  /** mean loss over the evaluation batches (cross-entropy, or MSE) */
  loss: number;
  /** examples evaluated */
  examples: number;
}

/** The input tensor of a batch. */
function inputsOf(b: Batch): Tensor {
  return b.kind === 'tokens' ? tensor(b.inputs, [b.b, b.n], { dtype: 'i32' }) : tensor(b.inputs, [b.b, b.n, b.inputDim], { dtype: 'f32' });
}

/** Flat indices (into b·n) of the scored positions and their targets. */
function scored(b: Batch & { kind: 'tokens' }): { idx: Int32Array; tgt: Int32Array } {
  const idx: number[] = [];
  const tgt: number[] = [];
  for (let i = 0; i < b.targets.length; i++) if (b.targets[i] !== IGNORE) {
    idx.push(i);
    tgt.push(b.targets[i]!);
  }
  return { idx: Int32Array.from(idx), tgt: Int32Array.from(tgt) };
}

/**
 * The loss of a batch and, for token tasks, the predictions at scored
 * positions (to count accuracy without a second pass).
 */
export function batchLoss(model: SeqModel, b: Batch): { loss: Tensor; correct: number; count: number } {
  return tidy(() => {
    const x = inputsOf(b);
    if (b.kind === 'regression') {
      const y = reshape(model.forwardLast(x), [b.b]);
      const loss = mean(square(sub(y, tensor(b.targets, [b.b], { dtype: 'f32' }))));
      return { loss, correct: 0, count: b.b };
    }
    const { idx, tgt } = scored(b);
    const h = model.hidden(x); // (b, n, d)
    const rows = indexSelect(reshape(h, [b.b * b.n, model.config.dModel]), 0, tensor(idx, [idx.length], { dtype: 'i32' }));
    const logits = model.head.forward(rows); // (m, classes)
    const target = tensor(tgt, [tgt.length], { dtype: 'i32' });
    const loss = crossEntropy(logits, target);
    const pred = argmax(logits, -1).toF64();
    let correct = 0;
    for (let i = 0; i < tgt.length; i++) if (pred[i] === tgt[i]) correct++;
    return { loss, correct, count: tgt.length };
  });
}

/** Accuracy and loss on `batches` held-out batches of size `batch` drawn from `seed`. */
export function evaluate(model: SeqModel, task: Task, o: { seed: number; batches: number; batch: number }): EvalResult {
  const rng = taskRng(o.seed);
  const wasTraining = model.training;
  evalMode(model);
  let correct = 0;
  let count = 0;
  let lossSum = 0;
  let examples = 0;
  try {
    noGrad(() => {
      for (let i = 0; i < o.batches; i++) {
        const b = drawBatch(task, rng, o.batch);
        const r = batchLoss(model, b);
        lossSum += r.loss.item();
        r.loss.dispose();
        correct += r.correct;
        count += r.count;
        examples += b.b;
      }
    });
  } finally {
    train(model, wasTraining);
  }
  const loss = lossSum / o.batches;
  const accuracy = task.kind === 'tokens' ? correct / count : Math.max(0, 1 - loss / (task.baseline?.value ?? 1));
  return { accuracy, loss, examples };
}

/** Build the model of a configuration for a task. */
export function buildModel(task: Task, c: Pick<TrainConfig, 'mixer' | 'dModel' | 'layers' | 'positions' | 'mlpRatio' | 'seed'>, maxLen = task.seqLen): SeqModel {
  return new SeqModel({
    key: randomKey(c.seed),
    dModel: c.dModel,
    mixer: c.mixer,
    layers: c.layers,
    positions: c.positions,
    maxLen,
    mlpRatio: c.mlpRatio,
    ...(task.kind === 'tokens' ? { vocabSize: task.vocabSize } : { inputDim: task.inputDim, outputs: 1 }),
  });
}

/** A training run advanced one step at a time (so a caller can yield between steps). */
export interface Trainer {
  readonly model: SeqModel;
  readonly losses: number[];
  /** steps taken so far */
  readonly step: number;
  /** take one optimiser step */
  next(): void;
}

/** A fresh model and optimiser on the task's stream, before the first step. */
export function makeTrainer(task: Task, c: TrainConfig, maxLen?: number): Trainer {
  const model = buildModel(task, c, maxLen);
  const params = trainableParameters(model);
  const warmup = c.warmup ?? Math.max(1, Math.floor(c.steps / 10));
  const opt = adamw({ lr: warmupCosine({ peak: c.lr, warmup, total: c.steps, final: c.lr / 10 }), weightDecay: c.weightDecay ?? 0.1, clipNorm: c.clipNorm ?? 1 });
  let state = opt.init(params);
  const rng = taskRng(c.seed * 2 + 1); // training stream; evaluation uses other seeds
  const losses: number[] = [];
  let step = 0;
  train(model);
  return {
    model,
    losses,
    get step() {
      return step;
    },
    next() {
      const b = drawBatch(task, rng, c.batch);
      tidy(() => {
        const { loss } = batchLoss(model, b);
        losses.push(loss.item());
        backward(loss);
      });
      const grads = namedGrads(model);
      state = opt.update(Object.fromEntries(Object.keys(params).map((n) => [n, grads[n]])), state, params).state;
      zeroGrad(model);
      c.onStep?.(step, losses[step]!);
      step++;
    },
  };
}

/** Train a fresh model on the task's stream; returns the model and the loss per step. */
export function trainModel(task: Task, c: TrainConfig, maxLen?: number): { model: SeqModel; losses: number[] } {
  const t = makeTrainer(task, c, maxLen);
  try {
    while (t.step < c.steps) t.next();
  } catch (e) {
    dispose(t.model);
    throw e;
  }
  return { model: t.model, losses: t.losses };
}

/**
 * The same run, yielding to the event loop every `yieldEvery` steps so that
 * timers and worker messages (a test runner's heartbeat) are served.
 */
export async function trainModelAsync(task: Task, c: TrainConfig, o: { maxLen?: number; yieldEvery?: number } = {}): Promise<{ model: SeqModel; losses: number[] }> {
  const t = makeTrainer(task, c, o.maxLen);
  const every = o.yieldEvery ?? 10;
  try {
    while (t.step < c.steps) {
      t.next();
      if (t.step % every === 0) await new Promise<void>((r) => setImmediate(r));
    }
  } catch (e) {
    dispose(t.model);
    throw e;
  }
  return { model: t.model, losses: t.losses };
}
