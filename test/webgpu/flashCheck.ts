/**
 * The check both FlashAttention kernel tests run: on the GPU, the output and
 * the q, k, v gradients (of Σ out·ct for a random cotangent ct) equal naive
 * attention computed in float64 on the CPU, and no op fell back to the CPU.
 */
import { expect } from 'vitest';
import * as nb from '../../src/index.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { attentionRef, flashAttention } from '../../src/zoo/attention/index.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32, randn } from '../helpers/rng.js';

export interface FlashCase {
  b: number;
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
  causal: boolean;
}

export async function expectFlashEqualsNaive(g: WebGpuBackend, c: FlashCase, seed: number): Promise<void> {
  const rng = mulberry32(seed);
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
}
