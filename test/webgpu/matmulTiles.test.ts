/**
 * Every matmul tiling (32/4 as on SwiftShader, 64/4, and 128/8 as on real
 * GPUs) against the float64 product on the CPU, on shapes that are not
 * multiples of the tile, with transposes and a broadcast batch: the GPU
 * tilings are chosen by the adapter, so this forces each one here. Split K
 * (slices of K summed by a column reduction) is forced the same way.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { profileWebGpu, releaseWebGpu, toBackend } from '../../src/backends/webgpu/index.js';
import { kSplit } from '../../src/backends/webgpu/kernels/matmul.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

describe.skipIf(!gpu)(gpu ? 'webgpu matmul tilings' : `webgpu matmul tilings (skipped: ${reason})`, () => {
  afterAll(async () => {
    delete process.env.NABLA_WEBGPU_MATMUL;
    delete process.env.NABLA_WEBGPU_SPLITK;
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

  it.each(['64/4', '128/8'])('split K (%s): few tiles over a long K equal the float64 product, as slices then their sum', async (tiling) => {
    process.env.NABLA_WEBGPU_MATMUL = tiling;
    process.env.NABLA_WEBGPU_SPLITK = 'force';
    try {
      // a weight-gradient shape: few C tiles, long K (not a multiple of the slice or the slab)
      const [M, K, N] = [70, 1100, 40];
      expect(kSplit(gpu!, M, N, K, 1)).toBeGreaterThan(1);
      for (const [tA, tB] of [[true, false], [false, true]] as const) {
        const a64 = nb.normal(nb.randomKey(3), tA ? [K, M] : [M, K], { dtype: 'f64' });
        const b64 = nb.normal(nb.randomKey(4), tB ? [N, K] : [K, N], { dtype: 'f64' });
        const want = nb.matmulT(a64, b64, tA, tB);
        const a = await toBackend(nb.astype(a64, 'f32'), gpu!);
        const b = await toBackend(nb.astype(b64, 'f32'), gpu!);
        let got: nb.Tensor | null = null;
        const kernels = await profileWebGpu(() => void (got = nb.matmulT(a, b, tA, tB)));
        // the partial products, then the sum over the slices
        expect(kernels.some((k) => k.label.startsWith('matmul:'))).toBe(true);
        expect(kernels.some((k) => k.label.startsWith('reduce'))).toBe(true);
        const g = await got!.data();
        const w = want.dataSync();
        let err = 0;
        for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(g[i]! - w[i]!));
        expect(err, `transA ${tA}, transB ${tB}`).toBeLessThan(1e-4 * Math.sqrt(K) * 4);
        for (const t of [a64, b64, want, a, b, got!]) t.dispose();
      }
      // a batched product splits per batch element, and K = 0 still gives zeros
      const a = await toBackend(nb.normal(nb.randomKey(5), [3, 20, 600]), gpu!);
      const b = await toBackend(nb.normal(nb.randomKey(6), [3, 600, 10]), gpu!);
      const want = nb.matmul(await toBackend(a, nb.cpu()), await toBackend(b, nb.cpu())).dataSync();
      const got = await nb.matmul(a, b).data();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3);
      const z = await nb.matmul(nb.zeros([40, 0], { backend: gpu! }), nb.zeros([0, 40], { backend: gpu! })).data();
      expect(Array.from(z).every((v) => v === 0)).toBe(true);
    } finally {
      delete process.env.NABLA_WEBGPU_SPLITK;
    }
  }, 60_000);

  it('splits only products with few tiles and a long K, and never on SwiftShader by default', () => {
    expect(kSplit(gpu!, 768, 768, 2048, 1)).toBe(1); // SwiftShader: off unless forced
    process.env.NABLA_WEBGPU_SPLITK = 'force';
    try {
      expect(kSplit(gpu!, 768, 768, 2048, 1)).toBe(8); // 36 tiles of 128²: 8 slices of 256 give 288 workgroups
      expect(kSplit(gpu!, 768, 3072, 2048, 1)).toBe(2); // 144 tiles of 128²
      expect(kSplit(gpu!, 70, 40, 1100, 1)).toBe(4); // too few even for 64² tiles: as many slices as K allows
      expect(kSplit(gpu!, 2048, 2048, 2048, 1)).toBe(1); // 1024 tiles: fills the GPU
      expect(kSplit(gpu!, 768, 768, 256, 1)).toBe(1); // K too short to slice
    } finally {
      delete process.env.NABLA_WEBGPU_SPLITK;
    }
  });
});
