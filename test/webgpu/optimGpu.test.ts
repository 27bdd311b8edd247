/**
 * Optimisers and in-place helpers on WebGPU without host reads: a few steps of
 * SGD with (Nesterov) momentum, Lion, clipNorm and weight decay, an EMA of the
 * weights and gradient accumulation match the same run on the CPU; the
 * functions that must return numbers (globalNorm, clipGradNorm) and the loss
 * scaler's unscale throw errors that name them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';
import { mulberry32 } from '../helpers/rng.js';
import type { Backend } from '../../src/backends/backend.js';

const { gpu, reason } = await gpuForTests();

const cpu = (): Backend => nb.zeros([1]).storage.backend;

function randn(n: number, r: () => number): number[] {
  return Array.from({ length: n }, () => r() * 2 - 1);
}

interface Run {
  params: Record<string, number[]>;
  ema: Record<string, number[]>;
  losses: number[];
}

/** Train a tiny linear regression for `steps` steps on `backend`; returns final params, EMA and the losses. */
async function train(backend: Backend, make: () => nb.Optimizer<unknown>, steps: number): Promise<Run> {
  const r = mulberry32(3);
  const x = nb.tensor(randn(16 * 8, r), [16, 8], { dtype: 'f32', backend });
  const y = nb.tensor(randn(16 * 4, r), [16, 4], { dtype: 'f32', backend });
  const params: Record<string, nb.Tensor> = {
    w: nb.tensor(randn(8 * 4, r), [8, 4], { dtype: 'f32', backend }),
    b: nb.tensor(randn(4, r), [4], { dtype: 'f32', backend }),
  };
  const opt = make();
  let state = opt.init(params);
  const avg = nb.optim.ema({ decay: 0.8 });
  let es = avg.init(params);
  const vg = nb.valueAndGrad((w: nb.Tensor, b: nb.Tensor) => nb.sum(nb.square(nb.sub(nb.add(nb.matmul(x, w), b), y))));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const [loss, [gw, gb]] = vg(params.w!, params.b!);
    losses.push(Number((await loss.data())[0]));
    // accumulate two half-gradients into a buffer, as gradient accumulation does
    const acc = nb.zeros([8, 4], { dtype: 'f32', backend });
    nb.optim.addInto(acc, gw!, 0.5);
    nb.optim.addInto(acc, gw!, 0.5);
    nb.optim.scaleInPlace(acc, 2);
    nb.optim.addInto(acc, gw!, -1); // acc = gw again
    state = opt.update({ w: acc, b: gb! }, state, params).state;
    es = avg.update(es, params);
    for (const t of [loss, gw!, gb!, acc]) t.dispose();
  }
  const out: Run = { params: {}, ema: {}, losses };
  for (const [k, t] of Object.entries(params)) out.params[k] = Array.from(await t.data());
  for (const [k, t] of Object.entries(es.shadow)) out.ema[k] = Array.from(await t.data());
  for (const t of [x, y, ...Object.values(params), ...Object.values(es.shadow)]) t.dispose();
  nb.optim.disposeOptimizerState(state);
  return out;
}

function close(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol * (1 + Math.abs(b[i]!)));
}

describe.skipIf(!gpu)(gpu ? 'optimisers on webgpu' : `optimisers on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  const optimisers: [string, () => nb.Optimizer<unknown>][] = [
    ['sgd + momentum + weight decay', () => nb.sgd({ lr: 0.01, momentum: 0.9, weightDecay: 0.01 }) as nb.Optimizer<unknown>],
    ['sgd + nesterov + clipNorm', () => nb.sgd({ lr: 0.01, momentum: 0.9, nesterov: true, clipNorm: 1 }) as nb.Optimizer<unknown>],
    ['lion + clipNorm', () => nb.lion({ lr: 0.01, weightDecay: 0.1, clipNorm: 0.5 }) as nb.Optimizer<unknown>],
    ['adamw + clipNorm (fused kernel)', () => nb.adamw({ lr: 0.01, clipNorm: 0.5 }) as nb.Optimizer<unknown>],
  ];
  for (const [name, make] of optimisers) {
    it(`${name} matches the CPU run`, async () => {
      const want = await train(cpu(), make, 6);
      const got = await train(g, make, 6);
      close(got.losses, want.losses, 1e-4);
      for (const k of ['w', 'b']) {
        close(got.params[k]!, want.params[k]!, 1e-4);
        close(got.ema[k]!, want.ema[k]!, 1e-4);
      }
      // the run moved: the loss went down
      expect(got.losses[5]!).toBeLessThan(got.losses[0]!);
    });
  }

  it('globalNormTensor and fillInPlace and copyInto work on the device', async () => {
    const a = nb.tensor([3, 0, 0, 4], [4], { dtype: 'f32', backend: g });
    const b = nb.tensor([12], [1], { dtype: 'f32', backend: g });
    const n2 = nb.optim.globalNormTensor([a, b]);
    const ninf = nb.optim.globalNormTensor([a, b], Infinity);
    expect(Array.from(await n2.data())[0]).toBeCloseTo(13, 5);
    expect(Array.from(await ninf.data())[0]).toBe(12);
    nb.optim.fillInPlace(a, 2);
    expect(Array.from(await a.data())).toEqual([2, 2, 2, 2]);
    const c = nb.tensor([1, 2, 3, 4], [4], { dtype: 'f32', backend: g });
    nb.optim.copyInto(a, c);
    expect(Array.from(await a.data())).toEqual([1, 2, 3, 4]);
    const host = nb.tensor([5, 6, 7, 8], [4], { dtype: 'f32', backend: cpu() });
    nb.optim.copyInto(a, host); // CPU → GPU, as loading a checkpoint does
    expect(Array.from(await a.data())).toEqual([5, 6, 7, 8]);
    host.dispose();
    for (const t of [a, b, c, n2, ninf]) t.dispose();
  });

  it('trainLoop awaits a GPU loss; trainStep names itself when it cannot read one', async () => {
    const w = nb.tensor([1, -2, 3], [3], { dtype: 'f32', backend: g });
    const opt = nb.sgd({ lr: 0.1, momentum: 0.5 });
    let st = opt.init({ w });
    const vg = nb.valueAndGrad((p: nb.Tensor) => nb.sum(nb.square(p)));
    const res = await nb.trainLoop({
      steps: 3,
      step: () => {
        const [loss, [gw]] = vg(w);
        st = opt.update({ w: gw! }, st, { w }).state;
        return loss;
      },
    });
    // w ← w − 0.1·2w with momentum 0.5: losses 14, 14·0.8², then with momentum
    expect(res.losses[0]).toBeCloseTo(14, 4);
    expect(res.losses[1]).toBeCloseTo(14 * 0.64, 4);
    expect(res.losses[2]!).toBeLessThan(res.losses[1]!);
    w.requiresGrad_();
    expect(() => nb.trainStep({ params: { w }, optimizer: opt, optState: st, loss: () => nb.sum(nb.square(w)) })).toThrow(/trainStep: .*webgpu/);
    nb.optim.disposeOptimizerState(st);
    w.dispose();
  });

  it('functions that return numbers throw, naming themselves', () => {
    const a = nb.ones([3], { dtype: 'f32', backend: g });
    expect(() => nb.globalNorm([a])).toThrow(/globalNorm: .*webgpu.*globalNormTensor/);
    expect(() => nb.clipGradNorm([a], 1)).toThrow(/clipGradNorm: .*webgpu/);
    expect(() => nb.optim.updateInPlace(a, () => {})).toThrow(/updateInPlace: .*webgpu.*CPU/);
    a.dispose();
  });
});
