/**
 * Dynamic loss scaling without synchronous reads: `trainStepAsync` on WebGPU
 * follows `trainStep` on the CPU step for step through a loop whose third
 * step overflows the scaled gradients (a huge input): the same steps are
 * skipped, the scale backs off and grows on the same steps, and the losses
 * and weights agree to float32 tolerance. On the CPU, `trainStepAsync` gives
 * exactly `trainStep`'s numbers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import type { Backend } from '../../src/backends/backend.js';
import type { TrainStepResult } from '../../src/train/step.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32 } from '../helpers/rng.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

const STEPS = 7;
const OVERFLOW_AT = 2;
const rng = mulberry32(42);
const W0 = Array.from({ length: 12 }, () => rng() - 0.5);
const batches = Array.from({ length: STEPS * 2 }, (_, s) => ({
  // micro-batch 0 of step OVERFLOW_AT holds an input so large that loss × 2^16 has an inf gradient (the loss itself stays finite)
  x: Array.from({ length: 32 }, (_, i) => (s === 2 * OVERFLOW_AT && i === 5 ? 1e18 : rng() * 2 - 1)),
  y: Array.from({ length: 24 }, () => rng() * 2 - 1),
}));

type Step = (o: nb.train.TrainStepOptions) => TrainStepResult | Promise<TrainStepResult>;

/** Run the loop on backend `b` with `step`; returns per-step results and weights. */
async function run(b: Backend, step: Step, read: (t: nb.Tensor) => Promise<Float64Array>, microBatches: number): Promise<{ res: TrainStepResult[]; w: Float64Array[] }> {
  const params = { w: nb.tensor(W0, [4, 3], { backend: b }).requiresGrad_(), c: nb.zeros([3], { backend: b }).requiresGrad_() };
  const opt = nb.adam({ lr: 0.05 });
  const scaler = nb.dynamicLossScale({ growthInterval: 2 });
  let optState = opt.init(params);
  let scaleState = scaler.init();
  const res: TrainStepResult[] = [];
  const w: Float64Array[] = [];
  for (let s = 0; s < STEPS; s++) {
    const r = await step({
      params,
      optimizer: opt,
      optState,
      scaler,
      scaleState,
      microBatches,
      loss: (k) => {
        const d = batches[s * 2 + (microBatches === 1 ? 0 : k)]!;
        const x = nb.tensor(d.x, [8, 4], { backend: b });
        const y = nb.tensor(d.y, [8, 3], { backend: b });
        return nb.mean(nb.square(nb.sub(nb.add(nb.matmul(x, params.w), params.c), y)));
      },
    });
    optState = r.optState;
    scaleState = r.scaleState!;
    res.push(r);
    w.push(await read(params.w));
  }
  return { res, w };
}

const summary = (r: TrainStepResult[]): unknown[] => r.map((x) => ({ skipped: x.skipped, scale: x.scaleState }));

describe('trainStepAsync on the CPU', () => {
  it('gives exactly trainStep\'s losses, skips, scales and weights (one micro-batch and two)', async () => {
    const cpu = nb.cpu();
    for (const micro of [1, 2]) {
      const a = await run(cpu, nb.trainStep, async (t) => t.toF64(), micro);
      const b = await run(cpu, nb.trainStepAsync, async (t) => t.toF64(), micro);
      expect(summary(b.res)).toEqual(summary(a.res));
      expect(a.res[OVERFLOW_AT]!.skipped).toBe(true);
      expect(a.res.filter((r) => r.skipped)).toHaveLength(1);
      b.res.forEach((r, s) => expect(r.loss).toBeCloseTo(a.res[s]!.loss, 12));
      b.w.forEach((w, s) => expect(Array.from(w)).toEqual(Array.from(a.w[s]!)));
    }
  });
});

describe.skipIf(!gpu)(gpu ? 'trainStepAsync on webgpu' : `trainStepAsync on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  it('a dynamic loss-scaling loop with an overflow matches trainStep on the CPU step for step', async () => {
    for (const micro of [1, 2]) {
      const cpu = await run(nb.cpu(), nb.trainStep, async (t) => t.toF64(), micro);
      const dev = await run(g, nb.trainStepAsync, (t) => g.readF64(t), micro);
      expect(summary(dev.res)).toEqual(summary(cpu.res));
      expect(dev.res[OVERFLOW_AT]!.skipped).toBe(true);
      expect(Number.isFinite(dev.res[OVERFLOW_AT]!.loss)).toBe(true);
      expect(dev.res.map((r) => Math.log2(r.scaleState!.scale))).toEqual([16, 17, 16, 16, 17, 17, 18]); // doubles every two clean steps, halves on the overflow
      dev.res.forEach((r, s) => expectClose([r.loss], [cpu.res[s]!.loss], 1e-5, `loss at step ${s}`));
      dev.w.forEach((w, s) => expectClose(w, cpu.w[s]!, 1e-5, `weights after step ${s}`));
      expect(Array.from(dev.w[OVERFLOW_AT]!)).toEqual(Array.from(dev.w[OVERFLOW_AT - 1]!)); // the skipped step left them alone
    }
  });

  it('stepAsync unscales GPU gradients in place and skips on inf and NaN', async () => {
    const ls = nb.dynamicLossScale();
    const s = ls.init();
    const a = nb.tensor([65536, -131072, 32768], [3], { backend: g });
    const r = await ls.stepAsync(s, { a, none: null }, () => undefined);
    expect(r).toEqual({ state: { scale: 65536, goodSteps: 1, skipped: 0 }, skipped: false });
    expect(Array.from(await g.readF64(a))).toEqual([1, -2, 0.5]);
    for (const bad of [Infinity, NaN]) {
      let applied = false;
      const q = await ls.stepAsync(s, [nb.tensor([1, bad], [2], { backend: g }), nb.tensor([3], [1], { backend: g })], () => {
        applied = true;
      });
      expect(applied).toBe(false);
      expect(q).toEqual({ state: { scale: 32768, goodSteps: 0, skipped: 1 }, skipped: true });
    }
  });

  it('the synchronous trainStep on WebGPU says to use trainStepAsync', async () => {
    await expect(run(g, nb.trainStep, (t) => g.readF64(t), 1)).rejects.toThrow(/trainStepAsync/);
  });
});
