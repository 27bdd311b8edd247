/**
 * Training on WebGPU: the fused Adam/AdamW kernel equals the optimiser's host
 * loop (its naive twin) step for step, and a small language model trained on
 * the GPU follows the CPU run's loss curve over its first steps (same seed,
 * same batches, same optimiser), and so does a flow-matching model. Skipped, with the reason, without an adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { getDefaultBackend, setDefaultBackend } from '../../src/ops/creation.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { LanguageModel, batchAt, lmLoss } from '../../src/zoo/lm/index.js';
import { TimeMlp, flowMatchingLoss } from '../../src/zoo/diffusion/index.js';
import { foldIn, key as makeKey } from '../../src/core/random.js';
import type { Backend } from '../../src/backends/backend.js';
import { expectClose } from '../helpers/check.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

function onBackend<R>(b: Backend, f: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(b);
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

describe.skipIf(!gpu)(gpu ? 'training on webgpu' : `training on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const [kind, extra] of [
    ['adamw', { weightDecay: 0.1 }],
    ['adam', { weightDecay: 0.05 }],
    ['adamw', { amsgrad: true }],
  ] as const) {
    it(`fused ${kind} ${JSON.stringify(extra)} equals the host loop over 5 steps`, async () => {
      const make = (): nb.Optimizer<unknown> => (kind === 'adam' ? nb.adam({ lr: 0.05, ...extra }) : nb.adamw({ lr: 0.05, ...extra })) as nb.Optimizer<unknown>;
      const n = 300;
      const init = Array.from({ length: n }, (_, i) => Math.sin(0.37 * i));
      const pc = { w: nb.tensor(init, [20, 15], { backend: nb.cpu() }) };
      const pg = { w: nb.tensor(init, [20, 15], { backend: g }) };
      const oc = make();
      const og = make();
      let sc = oc.init(pc);
      let sg = onBackend(g, () => og.init(pg));
      for (let step = 0; step < 5; step++) {
        const gv = Array.from({ length: n }, (_, i) => Math.cos(1.3 * i + step) * (1 + step));
        const gc = nb.tensor(gv, [20, 15], { backend: nb.cpu() });
        const gg = nb.tensor(gv, [20, 15], { backend: g });
        sc = oc.update({ w: gc }, sc, pc).state;
        sg = og.update({ w: gg }, sg, pg).state;
        gc.dispose();
        gg.dispose();
      }
      expect(g.fallbacks.size, `fell back: ${[...g.fallbacks.keys()]}`).toBe(0);
      expectClose(await g.readF64(pg.w), pc.w.toF64(), 1e-5, `${kind} parameters`);
      for (const [slot, t] of Object.entries(sg.params.w!.slots)) expectClose(await g.readF64(t), sc.params.w!.slots[slot]!.toF64(), 1e-5, `${kind} ${slot}`);
    });
  }

  it('a small language model follows the CPU loss curve for its first steps', async () => {
    const config = { vocabSize: 24, dModel: 16, layers: 1, mixer: 'softmax', mixerOptions: { heads: 2 } };
    const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + ((i * i) % 5)) % 24);
    const run = async (b: Backend): Promise<number[]> => {
      const model = onBackend(b, () => new LanguageModel(config, 11));
      const params = nb.nn.namedParameters(model);
      const opt = nb.adamw({ lr: 1e-2 });
      let state = onBackend(b, () => opt.init(params));
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const lossT = onBackend(b, () =>
          nb.tidy(() => {
            const { x, y } = batchAt(tokens, step, 4, 12, 5);
            const loss = lmLoss(model, x, y);
            const names = Object.keys(params);
            const grads = nb.gradients([loss], names.map((k) => params[k]!));
            state = opt.update(Object.fromEntries(names.map((k, i) => [k, grads[i]!])), state, params).state;
            return loss;
          }),
        );
        losses.push(lossT.storage.backend === g ? (await g.readF64(lossT))[0]! : lossT.item());
        lossT.dispose();
      }
      return losses;
    };
    const cpuLosses = await run(nb.cpu());
    g.fallbacks.clear();
    const gpuLosses = await run(g);
    expectClose(gpuLosses, cpuLosses, 2e-4, 'loss curve webgpu vs cpu');
    expect(cpuLosses[3]!).toBeLessThan(cpuLosses[0]!);
    // the run stays on the device: only ops with no WGSL kernel may have fallen back
    expect([...g.fallbacks.keys()].filter((k) => ['matmul', 'add', 'mul', 'exp', 'sum', 'max', 'gather', 'indexSelect'].includes(k))).toEqual([]);
    // most of its time is compiling ~100 pipelines on SwiftShader, which a loaded two-core host slows several-fold
  }, 180_000);

  it('a flow-matching model follows the CPU loss curve for its first steps', async () => {
    const data = Array.from({ length: 64 * 2 }, (_, i) => Math.sin(1.7 * i) * (i % 2 ? 0.5 : 1.5));
    const run = async (b: Backend): Promise<number[]> => {
      const net = onBackend(b, () => new TimeMlp(2, { key: makeKey(3), hidden: [32, 32], embedDim: 16 }));
      const params = nb.nn.namedParameters(net);
      const opt = nb.adamw({ lr: 3e-3 });
      let state = onBackend(b, () => opt.init(params));
      const x0 = nb.tensor(data, [64, 2], { backend: b });
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const lossT = onBackend(b, () =>
          nb.tidy(() => {
            const loss = flowMatchingLoss((x, c) => net.forward(x, c), x0, { key: foldIn(makeKey(9), step) });
            const names = Object.keys(params);
            const grads = nb.gradients([loss], names.map((k) => params[k]!));
            state = opt.update(Object.fromEntries(names.map((k, i) => [k, grads[i]!])), state, params).state;
            return loss;
          }),
        );
        losses.push(lossT.storage.backend === g ? (await g.readF64(lossT))[0]! : lossT.item());
        lossT.dispose();
      }
      x0.dispose();
      return losses;
    };
    const cpuLosses = await run(nb.cpu());
    const gpuLosses = await run(g);
    expectClose(gpuLosses, cpuLosses, 2e-4, 'flow-matching loss curve webgpu vs cpu');
  });
});
