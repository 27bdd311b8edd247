/**
 * `trainStepAsync`: the step of `step.ts` (micro-batches, autocast, dynamic
 * loss scaling, skip on overflow, optimiser update) for backends that read
 * asynchronously, WebGPU above all (a browser cannot block on a readback).
 *
 * What changes: nothing is read while the step is being recorded. The loss of
 * each micro-batch stays on the device; the scaler unscales the gradients on
 * the device and reduces "all finite" to one boolean
 * (`LossScaler.unscaleOnDevice`); then the losses and that flag come back
 * together, awaited once, and only then is the skip decided and the optimiser
 * run (or not). The result, step for step, is that of `trainStep` on the CPU
 * (the same schedule, the same skipped steps); on the CPU this function gives
 * the same numbers as `trainStep` itself.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { tidy } from '../core/memory.js';
import { gradients } from '../autodiff/backward.js';
import { noGrad } from '../autodiff/tape.js';
import { astype, mul } from '../ops/elementwise.js';
import { gradAccumulator } from '../optim/accumulate.js';
import type { Grads, OptimizerState, UpdateInfo } from '../optim/optimizer.js';
import { autocast } from './autocast.js';
import { gradNames, owned, type TrainStepOptions, type TrainStepResult } from './step.js';

/** Run one training step, awaiting the one readback it needs (see the file comment). */
export async function trainStepAsync(o: TrainStepOptions): Promise<TrainStepResult> {
  const n = o.microBatches ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`trainStepAsync: microBatches must be a positive integer, got ${n}`);
  if (typeof o.loss !== 'function') throw new Error('trainStepAsync: loss must be a function (micro) => scalar Tensor');
  if (o.scaler && !o.scaleState) throw new Error('trainStepAsync: a scaler needs its state in scaleState (from scaler.init())');
  const precision = o.precision ?? 'f32';
  const names = gradNames(o.params, 'trainStepAsync');
  const list = names.map((nm) => o.params[nm]!);
  const scale = o.scaler ? o.scaleState!.scale : 1;

  const losses: Tensor[] = []; // each micro-batch's loss (f32, no autodiff history), read together at the end
  let flag: Tensor | null = null;
  const acc = n > 1 ? gradAccumulator() : null;
  let single: (Tensor | null)[] | null = null;
  try {
    for (let k = 0; k < n; k++) {
      const [gs, l] = tidy(() => {
        const loss = autocast(precision, () => o.loss(k));
        if (!(loss instanceof Tensor) || loss.size !== 1 || !isFloat(loss.dtype)) {
          throw new Error(`trainStepAsync: loss(${k}) must return a scalar floating Tensor, got ${loss instanceof Tensor ? loss.describe() : typeof loss}`);
        }
        if (!loss.requiresGrad) throw new Error(`trainStepAsync: loss(${k}) does not depend on any parameter that requires grad`);
        // scale in float32: a float16 loss times 2^16 would overflow
        const l32 = loss.dtype === 'f32' ? loss : astype(loss, 'f32');
        const value = noGrad(() => mul(l32, 1)); // a copy without the graph, kept past the tidy
        return [gradients([scale === 1 ? l32 : mul(l32, scale)], list), value] as const;
      });
      losses.push(l);
      if (acc) {
        tidy(() => acc.add(Object.fromEntries(names.map((nm, i) => [nm, gs[i]]))));
        gs.forEach((g) => g?.dispose());
      } else single = o.scaler ? gs.map(owned) : gs;
    }
    const grads: Grads = acc ? acc.result() : Object.fromEntries(names.map((nm, i) => [nm, single![i]]));
    // a non-finite loss gives non-finite scaled gradients, so the flag covers it too
    if (o.scaler) flag = o.scaler.unscaleOnDevice(grads, o.scaleState!);
    const [flagValues, ...lossValues] = await Promise.all([flag?.data(), ...losses.map((l) => l.data())]);
    // summed in float64 on the host, as trainStep does
    const loss = lossValues.reduce((a, v) => a + Number(v[0]), 0) / n;
    const finite = flagValues ? flagValues[0] !== 0 : Number.isFinite(loss);
    let res: { optState: OptimizerState; info?: UpdateInfo } = { optState: o.optState };
    if (finite) {
      const r = o.optimizer.update(grads, o.optState, o.params);
      res = { optState: r.state, info: r.info };
    }
    if (o.scaler) return { loss, ...res, scaleState: o.scaler.update(o.scaleState!, finite), skipped: !finite };
    return { loss, ...res, skipped: !finite };
  } finally {
    losses.forEach((l) => l.dispose());
    flag?.dispose();
    acc?.dispose();
    single?.forEach((g) => g?.dispose());
  }
}
