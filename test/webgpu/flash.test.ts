/**
 * FlashAttention's WGSL forward and backward equal naive attention (their
 * twin, attentionRef, run in float64 on the CPU): outputs and the gradients
 * of q, k and v, with grouped-query heads, causal masking with nq < nk,
 * head dims that are not multiples of 16 and lengths that are not multiples
 * of the tiles. Skipped, with the reason, without an adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { attentionRef, flashAttention } from '../../src/zoo/attention/index.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32, randn } from '../helpers/rng.js';
import { gpuForTests } from './device.js';

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
      const rng = mulberry32(c.nq * 31 + c.nk);
      const gen = (n: number): number[] => Array.from({ length: n }, () => randn(rng));
      const shapes = [
        [c.b, c.h, c.nq, c.d],
        [c.b, c.hkv, c.nk, c.d],
        [c.b, c.hkv, c.nk, c.dv],
      ];
      const vals = shapes.map((s) => gen(s.reduce((a, x) => a * x, 1)).map(Math.fround));
      const ct = gen(c.b * c.h * c.nq * c.dv);
      await nb.scope(async () => {
        const xs64 = shapes.map((s, i) => nb.tensor(vals[i]!, s, { dtype: 'f64', backend: nb.cpu() }));
        const ct64 = nb.tensor(ct, [c.b, c.h, c.nq, c.dv], { dtype: 'f64', backend: nb.cpu() });
        const f64 = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor): nb.Tensor => nb.sum(nb.mul(attentionRef(q, k, v, { causal: c.causal }), ct64));
        const ref = attentionRef(xs64[0]!, xs64[1]!, xs64[2]!, { causal: c.causal }).toF64();
        const refGrads = (nb.grad(f64, { argnums: [0, 1, 2] })(...xs64) as nb.Tensor[]).map((t) => t.toF64());

        const xs = shapes.map((s, i) => nb.tensor(vals[i]!, s, { backend: g }));
        const ctg = nb.tensor(ct, [c.b, c.h, c.nq, c.dv], { backend: g });
        g.fallbacks.clear();
        const out = flashAttention(xs[0]!, xs[1]!, xs[2]!, { causal: c.causal });
        const grads = nb.grad((q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => nb.sum(nb.mul(flashAttention(q, k, v, { causal: c.causal }), ctg)), { argnums: [0, 1, 2] })(...xs) as nb.Tensor[];
        expectClose(await g.readF64(out), ref, 1e-5, 'flash output');
        for (let i = 0; i < 3; i++) expectClose(await g.readF64(grads[i]!), refGrads[i]!, 1e-4, `flash d${'qkv'[i]}`);
        expect([...g.fallbacks.keys()]).toEqual([]);
      });
    });
  }
});
