/**
 * One optimiser step with the training systems around it, as a plain
 * function of explicit state (nothing hidden between calls):
 *
 *   for each micro-batch k:                     (gradient accumulation)
 *     loss_k = autocast(precision, () => loss(k))    (mixed precision)
 *     g_k    = ∂(S · float32(loss_k)) / ∂params     (S: the loss scale, 1 without a scaler)
 *   g = (1/n) Σ g_k                             (float32 buffers)
 *   with a scaler: g ← g / S; if any entry of g is inf/NaN, skip the
 *   update and back the scale off, else update (Micikevicius et al. 2017,
 *   arXiv 1710.03740, section 3.2; schedule in `lossScale.ts`)
 *   optimiser.update(g)                         (in place; clipping there)
 *
 * Parameters that do not require grad (frozen) get no gradient and are left
 * alone. A non-finite loss never reaches the weights: without a scaler the
 * step is skipped too, so the last good weights can still be saved.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { tidy } from '../core/memory.js';
import { gradients } from '../autodiff/backward.js';
import { astype, mul } from '../ops/elementwise.js';
import { copy } from '../ops/views.js';
import { isContiguous } from '../backends/cpu/strided.js';
import { gradAccumulator } from '../optim/accumulate.js';
import { onHost } from '../optim/inplace.js';
import type { Grads, Optimizer, OptimizerState, Params, UpdateInfo } from '../optim/optimizer.js';
import type { LossScaler, LossScaleState } from './lossScale.js';
import { autocast, type Precision } from './autocast.js';

export interface TrainStepOptions {
  /** the float32 master weights, by name (updated in place) */
  params: Params;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any>;
  optState: OptimizerState;
  /** the scalar loss of micro-batch `micro` (0 ≤ micro < microBatches); runs inside the autocast scope */
  loss: (micro: number) => Tensor;
  /** micro-batches whose mean gradient makes one step (default 1) */
  microBatches?: number;
  /** compute precision of the forward pass (default 'f32': no autocast) */
  precision?: Precision;
  /** dynamic loss scaling (needed for 'f16'); pass its state in `scaleState` */
  scaler?: LossScaler;
  scaleState?: LossScaleState;
}

export interface TrainStepResult {
  /** mean loss over the micro-batches (unscaled; NaN/inf when the forward pass overflowed) */
  loss: number;
  /** the optimiser state to pass next time */
  optState: OptimizerState;
  /** the loss-scale state to pass next time (with a scaler) */
  scaleState?: LossScaleState;
  /** the update was not applied (non-finite gradients or loss) */
  skipped: boolean;
  /** the optimiser's report, when the update was applied */
  info?: UpdateInfo;
}

/**
 * The scaler unscales gradients in place, so each must be a tensor of its own:
 * a gradient that is a broadcast view or shares storage with another tensor
 * (the VJP of a sum can hand back a view of its cotangent) is copied first.
 */
export function owned(g: Tensor | null): Tensor | null {
  if (!g || (g.storage.refs === 1 && isContiguous(g.shape, g.strides))) return g;
  const c = copy(g);
  g.dispose();
  return c;
}

export function gradNames(params: Params, op = 'trainStep'): string[] {
  if (!params || typeof params !== 'object') throw new Error(`${op}: params must be a record of name → Tensor`);
  const names: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    if (!(p instanceof Tensor)) throw new Error(`${op}: parameter '${name}' is not a Tensor`);
    p.assertAlive(op, `parameter '${name}'`);
    if (p.node) throw new Error(`${op}: parameter '${name}' ${p.describe()} was computed by '${p.node.op.name}'; parameters must be leaf tensors`);
    if (p.requiresGrad) names.push(name);
  }
  if (names.length === 0) throw new Error(`${op}: no parameter requires grad (mark the trainable ones with requiresGrad_())`);
  return names;
}

/** Run one training step; see the file comment for what happens in which order. */
export function trainStep(o: TrainStepOptions): TrainStepResult {
  const n = o.microBatches ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`trainStep: microBatches must be a positive integer, got ${n}`);
  if (typeof o.loss !== 'function') throw new Error('trainStep: loss must be a function (micro) => scalar Tensor');
  if (o.scaler && !o.scaleState) throw new Error('trainStep: a scaler needs its state in scaleState (from scaler.init())');
  const precision = o.precision ?? 'f32';
  const names = gradNames(o.params);
  const list = names.map((nm) => o.params[nm]!);
  const scale = o.scaler ? o.scaleState!.scale : 1;

  let lossSum = 0;
  const acc = n > 1 ? gradAccumulator() : null;
  let single: (Tensor | null)[] | null = null;
  try {
    for (let k = 0; k < n; k++) {
      const gs = tidy(() => {
        const loss = autocast(precision, () => o.loss(k));
        if (!(loss instanceof Tensor) || loss.size !== 1 || !isFloat(loss.dtype)) {
          throw new Error(`trainStep: loss(${k}) must return a scalar floating Tensor, got ${loss instanceof Tensor ? loss.describe() : typeof loss}`);
        }
        if (!onHost(loss)) {
          throw new Error(`trainStep: reads the loss as a number, which the ${loss.storage.backend.name} backend cannot do synchronously; use await trainStepAsync(...) there (the same step, reading the loss and the overflow flag with await)`);
        }
        lossSum += loss.item();
        if (!loss.requiresGrad) throw new Error(`trainStep: loss(${k}) does not depend on any parameter that requires grad`);
        // scale in float32: a float16 loss times 2^16 would overflow
        const l32 = loss.dtype === 'f16' || loss.dtype === 'bf16' ? astype(loss, 'f32') : loss;
        return gradients([scale === 1 ? l32 : mul(l32, scale)], list);
      });
      if (acc) {
        tidy(() => acc.add(Object.fromEntries(names.map((nm, i) => [nm, gs[i]]))));
        gs.forEach((g) => g?.dispose());
      } else single = o.scaler ? gs.map(owned) : gs;
    }
    const grads: Grads = acc ? acc.result() : Object.fromEntries(names.map((nm, i) => [nm, single![i]]));
    const loss = lossSum / n;
    let res: { optState: OptimizerState; info?: UpdateInfo } = { optState: o.optState };
    const update = (): void => {
      const r = o.optimizer.update(grads, o.optState, o.params);
      res = { optState: r.state, info: r.info };
    };
    if (o.scaler) {
      // a non-finite loss gives non-finite scaled gradients, so the scaler skips it too
      const r = o.scaler.step(o.scaleState!, grads, update);
      return { loss, ...res, scaleState: r.state, skipped: r.skipped };
    }
    if (!Number.isFinite(loss)) return { loss, optState: o.optState, skipped: true };
    update();
    return { loss, ...res, skipped: false };
  } finally {
    acc?.dispose();
    single?.forEach((g) => g?.dispose());
  }
}
