/**
 * A minimal maximum-likelihood training loop for density models (discrete
 * flows and continuous normalising flows alike): fresh data every step from a
 * seeded sampler, Adam on −mean log p(x) (Kingma & Ba, arXiv 1412.6980), and
 * an evaluation helper. The toy experiments of docs/flows.md and the tests
 * use it; anything fancier belongs to `train/`.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { foldIn, splitKey } from '../../ops/random.js';
import { backward } from '../../autodiff/backward.js';
import { noGrad } from '../../autodiff/tape.js';
import { Module, namedGrads, trainableParameters, zeroGrad } from '../../nn/module.js';
import { adam } from '../../optim/adam.js';
import { disposeOptimizerState } from '../../optim/optimizer.js';
import type { Schedule } from '../../optim/schedules.js';

export interface DensityModel extends Module {
  /** −mean log p(x) in nats (the loss); `key` for stochastic estimators (Hutchinson) */
  nll(x: Tensor, key?: Key): Tensor;
}

export interface FitOptions {
  key: Key;
  steps: number;
  batch: number;
  lr?: number | Schedule;
  /** global-norm gradient clipping (default none) */
  clipNorm?: number;
  /** called with (step, loss) after each step */
  onStep?: (step: number, loss: number) => void;
  /** run before the first step with a batch (data-dependent initialisation, e.g. Flow.initialize) */
  init?: (x: Tensor) => void;
}

/** Train by maximum likelihood on fresh samples `sample(key, n)`; returns the loss of every step. */
export function fitDensity(model: DensityModel, sample: (key: Key, n: number) => Tensor, opts: FitOptions): number[] {
  const params = trainableParameters(model);
  const opt = adam({ lr: opts.lr ?? 1e-3, ...(opts.clipNorm ? { clipNorm: opts.clipNorm } : {}) });
  let state = opt.init(params);
  const losses: number[] = [];
  const [kInit, kSteps] = splitKey(opts.key);
  if (opts.init) {
    const x0 = sample(kInit!, opts.batch);
    opts.init(x0);
    x0.dispose();
  }
  for (let step = 0; step < opts.steps; step++) {
    const ks = foldIn(kSteps!, step);
    tidy(() => {
      const x = sample(foldIn(ks, 0), opts.batch);
      const loss = model.nll(x, foldIn(ks, 1));
      losses.push(loss.item());
      backward(loss);
    });
    const grads = namedGrads(model);
    state = opt.update(
      Object.fromEntries(Object.keys(params).map((n) => [n, grads[n]])),
      state,
      params,
    ).state;
    zeroGrad(model);
    opts.onStep?.(step, losses[step]!);
  }
  disposeOptimizerState(state);
  return losses;
}

/** Mean NLL (nats) of a model over `batches` fresh batches, without gradients. */
export function evalNll(model: DensityModel, sample: (key: Key, n: number) => Tensor, key: Key, n: number, batches = 1): number {
  let s = 0;
  for (let i = 0; i < batches; i++) s += noGrad(() => tidy(() => model.nll(sample(foldIn(key, 2 * i), n), foldIn(key, 2 * i + 1)).item()));
  return s / batches;
}
