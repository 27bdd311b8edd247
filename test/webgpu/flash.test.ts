/**
 * FlashAttention's WGSL forward and backward equal naive attention (their
 * twin, attentionRef, run in float64 on the CPU): outputs and the gradients
 * of q, k and v, with grouped-query heads, causal masking with nq < nk,
 * head dims that are not multiples of 16 and lengths that are not multiples
 * of the tiles. Skipped, with the reason, without an adapter.
 */
import { afterAll, describe, it } from 'vitest';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';
import { expectFlashEqualsNaive } from './flashCheck.js';

const { gpu, reason } = await gpuForTests();
// these cases hold the v3 kernels (one query row per invocation) to attentionRef; flash4.test.ts does the same for v4, the default
process.env.NABLA_FLASH_KERNEL = 'v3';

const configs = [
  { b: 2, h: 4, hkv: 2, nq: 70, nk: 70, d: 8, dv: 12, causal: true },
  { b: 1, h: 2, hkv: 2, nq: 5, nk: 83, d: 20, dv: 7, causal: false },
  { b: 1, h: 3, hkv: 1, nq: 33, nk: 90, d: 16, dv: 16, causal: true },
];

describe.skipIf(!gpu)(gpu ? 'flashAttention on webgpu' : `flashAttention on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const c of configs) {
    it(`equals naive attention, values and gradients: ${JSON.stringify(c)}`, async () => {
      await expectFlashEqualsNaive(g, c, c.nq * 31 + c.nk);
    });
  }
});
