/**
 * The kernel profiler (GPU timestamps per dispatch, summed by kernel): every
 * dispatch of the profiled function is counted under its kernel's label, the
 * times are non-negative and finite, a profile spanning several batches
 * (more than one submit) loses nothing, and results are unchanged by it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { profileWebGpu, releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();
const timestamps = gpu?.device.features.has('timestamp-query') ?? false;

describe.skipIf(!gpu || !timestamps)(`webgpu kernel profile${!gpu ? ` (skipped: ${reason})` : !timestamps ? ' (skipped: the adapter has no timestamp-query)' : ''}`, () => {
  afterAll(() => releaseWebGpu());

  it('counts every dispatch under its kernel and leaves the results unchanged', async () => {
    const x = nb.tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'f32', backend: gpu! });
    const before = gpu!.stream.totalDispatches;
    let out: nb.Tensor | null = null;
    const kernels = await profileWebGpu(() => {
      // 300 small ops: more than one batch (256 dispatches), so several submits resolve timestamps
      let y = x;
      for (let i = 0; i < 300; i++) {
        const next = nb.add(y, 1);
        if (y !== x) y.dispose();
        y = next;
      }
      out = nb.exp(nb.mul(y, 0));
      y.dispose();
    });
    const dispatched = gpu!.stream.totalDispatches - before;
    expect(kernels.reduce((a, k) => a + k.count, 0)).toBe(dispatched);
    expect(dispatched).toBeGreaterThanOrEqual(302);
    for (const k of kernels) {
      expect(k.label.length).toBeGreaterThan(0);
      expect(Number.isFinite(k.ms) && k.ms >= 0).toBe(true);
    }
    // the add kernel ran 300 times under one label
    expect(kernels.some((k) => k.count >= 300)).toBe(true);
    expect(Array.from(await out!.data())).toEqual([1, 1, 1, 1, 1, 1]);
    out!.dispose();
    x.dispose();
    // a second profile starts from zero
    const again = await profileWebGpu(() => nb.add(nb.ones([4], { backend: gpu! }), 1).dispose());
    expect(again.reduce((a, k) => a + k.count, 0)).toBeLessThanOrEqual(3);
  });

  it('names the missing profile', async () => {
    await expect(gpu!.stream.stopProfile()).rejects.toThrow(/no profile is running/);
  });
});
