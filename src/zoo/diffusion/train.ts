/**
 * A small training loop for the diffusion and flow models: AdamW (Loshchilov
 * & Hutter, arXiv 1711.05101) on a module's trainable parameters, a cosine
 * learning-rate decay after a short warmup, optional global-norm clipping
 * and an exponential moving average of the weights (the weights diffusion
 * models are sampled with, Ho et al. 2006.11239 App. B). Each step's
 * randomness comes from foldIn(key, step), so a run is a function of its
 * key and can be resumed at any step.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { gradients } from '../../autodiff/backward.js';
import { foldIn } from '../../ops/random.js';
import { adamw } from '../../optim/adam.js';
import { warmupCosine, type Schedule } from '../../optim/schedules.js';
import { ema as makeEma } from '../../optim/ema.js';
import { disposeOptimizerState } from '../../optim/optimizer.js';
import { trainableParameters, type Module } from '../../nn/module.js';

export interface FitOptions {
  steps: number;
  key: Key;
  /** peak learning rate (default 1e-3) or a schedule */
  lr?: number | Schedule;
  /** warmup steps of the default cosine schedule (default 5% of steps) */
  warmup?: number;
  /** AdamW's decoupled weight decay (default 0) */
  weightDecay?: number;
  /** clip the global gradient norm (default none) */
  clipNorm?: number;
  /** keep an EMA of the weights with this decay and load it into the model at the end (default none) */
  emaDecay?: number;
  /** called after each step */
  onStep?: (step: number, loss: number) => void;
}

export interface FitResult {
  /** the loss of every step */
  losses: number[];
}

/** Minimise loss(stepKey, step) over the module's trainable parameters. */
export function fit(model: Module, loss: (key: Key, step: number) => Tensor, opts: FitOptions): FitResult {
  const { steps, key } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`fit: steps must be a positive integer, got ${steps}`);
  const params = trainableParameters(model);
  const names = Object.keys(params);
  if (names.length === 0) throw new Error('fit: the model has no trainable parameters');
  const peak = typeof opts.lr === 'number' || opts.lr === undefined ? (opts.lr ?? 1e-3) : undefined;
  const lr = peak !== undefined ? warmupCosine({ peak, warmup: opts.warmup ?? Math.floor(steps / 20), total: steps, final: peak / 10 }) : (opts.lr as Schedule);
  const opt = adamw({ lr, weightDecay: opts.weightDecay ?? 0, clipNorm: opts.clipNorm });
  let state = opt.init(params);
  const avg = opts.emaDecay !== undefined ? makeEma({ decay: opts.emaDecay }) : null;
  let emaState = avg?.init(params) ?? null;
  const losses: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const value = tidy(() => {
        const l = loss(foldIn(key, step), step);
        if (l.size !== 1) throw new Error(`fit: the loss must be a scalar, got [${l.shape.join(', ')}]`);
        const gs = gradients([l], names.map((n) => params[n]!));
        const grads: Record<string, Tensor | null> = {};
        names.forEach((n, i) => (grads[n] = gs[i] ?? null));
        state = opt.update(grads, state, params).state;
        return l.item();
      });
      if (!Number.isFinite(value)) throw new Error(`fit: the loss is ${value} at step ${step}`);
      if (avg && emaState) emaState = avg.update(emaState, params);
      losses.push(value);
      opts.onStep?.(step, value);
    }
    if (avg && emaState) avg.copyTo(emaState, params);
  } finally {
    disposeOptimizerState(state);
    if (emaState) for (const t of Object.values(emaState.shadow)) t.dispose();
  }
  return { losses };
}
