/**
 * Every matmul tiling (32/4 as on SwiftShader, 64/4, and 128/8 as on real
 * GPUs) against the float64 product on the CPU, on shapes that are not
 * multiples of the tile, with transposes and a broadcast batch: the GPU
 * tilings are chosen by the adapter, so this forces each one here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu, toBackend } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

describe.skipIf(!gpu)(gpu ? 'webgpu matmul tilings' : `webgpu matmul tilings (skipped: ${reason})`, () => {
  afterAll(async () => {
    delete process.env.NABLA_WEBGPU_MATMUL;
    await releaseWebGpu();
  });

  it.each(['32/4', '64/4', '128/8'])('%s: op(A)·op(B) equals the float64 product', async (tiling) => {
    process.env.NABLA_WEBGPU_MATMUL = tiling;
    const [M, K, N] = [131, 45, 137];
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a64 = nb.normal(nb.randomKey(1), tA ? [2, K, M] : [2, M, K], { dtype: 'f64' });
      const b64 = nb.normal(nb.randomKey(2), tB ? [N, K] : [K, N], { dtype: 'f64' });
      const want = nb.matmulT(a64, b64, tA, tB);
      const a = await toBackend(nb.astype(a64, 'f32'), gpu!);
      const b = await toBackend(nb.astype(b64, 'f32'), gpu!);
      const got = nb.matmulT(a, b, tA, tB);
      expect(got.shape).toEqual([2, M, N]);
      const g = await got.data();
      const w = want.dataSync();
      let err = 0;
      for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(g[i]! - w[i]!));
      expect(err, `transA ${tA}, transB ${tB}`).toBeLessThan(1e-4 * Math.sqrt(K) * 4);
      for (const t of [a64, b64, want, a, b, got]) t.dispose();
    }
  }, 60_000);
});
