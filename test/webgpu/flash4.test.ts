/**
 * FlashAttention v4 (kernels/flash4.ts) equals naive attention (attentionRef,
 * float64 on the CPU) in values and in the gradients of q, k and v: causal
 * and not, head dims 32, 64, 128 and odd ones (scalar loads, padded chunks),
 * lengths that are not multiples of the tiles (1, 17, 100, 257), B·H > 1 with
 * grouped-query heads; row reductions by subgroup shuffles (SwiftShader's
 * subgroups have 4 lanes: the 4-lane key groups reduce by shuffles alone, the
 * 8-lane ones by shuffles then workgroup memory) and without subgroups, and
 * with small tiles forced. One case runs the old v3 kernels, one v4's forward
 * with v3's backward.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { setFlash4Overrides, flash4Plan, warmFlash4, type Flash4Overrides } from '../../src/backends/webgpu/kernels/flash4.js';
import { gpuForTests } from './device.js';
import { expectFlashEqualsNaive } from './flashCheck.js';

const { gpu, reason } = await gpuForTests();

interface Case {
  b: number;
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
  causal: boolean;
  over?: Flash4Overrides;
  kernel?: 'v3' | 'v4+v3';
}

/**
 * Each new head-dim pair compiles four shaders, which SwiftShader takes
 * seconds to do: the default set covers d = 64 (the benchmarked dims), an
 * odd pair, both tile layouts and both reduction paths; NABLA_TEST_FLASH_ALL=1
 * adds d = 32, 128, dv > d, forced small tiles and d = 64 without subgroups.
 */
const cases: Case[] = [
  { b: 2, h: 2, hkv: 2, nq: 100, nk: 100, d: 64, dv: 64, causal: true },
  { b: 1, h: 2, hkv: 1, nq: 17, nk: 257, d: 64, dv: 64, causal: false },
  { b: 1, h: 2, hkv: 2, nq: 1, nk: 17, d: 64, dv: 64, causal: true },
  // d = 7: scalar loads, padded chunks; the forward's 8-lane key groups reduce by 4-lane shuffles,
  // then workgroup memory; XOR-swizzled tiles (d = 64 uses padded rows but for its dQ pass)
  { b: 2, h: 4, hkv: 2, nq: 23, nk: 29, d: 7, dv: 5, causal: true, over: { pad: false } },
  { b: 1, h: 2, hkv: 1, nq: 1, nk: 1, d: 7, dv: 5, causal: false, over: { pad: false, subgroups: false } },
  { b: 1, h: 2, hkv: 1, nq: 30, nk: 30, d: 16, dv: 16, causal: true, kernel: 'v3' },
  // the forward with lane pairs (each summing half the score chunks, owning half the output columns)
  { b: 1, h: 2, hkv: 1, nq: 40, nk: 45, d: 16, dv: 16, causal: true, over: { pair: true, maxKeys: 8 } },
  // v4's forward with v3's backward (what 'auto' runs for long sequences)
  { b: 1, h: 2, hkv: 1, nq: 17, nk: 100, d: 64, dv: 64, causal: true, kernel: 'v4+v3' },
];
const more: Case[] = [
  { b: 1, h: 2, hkv: 2, nq: 100, nk: 100, d: 64, dv: 64, causal: true, over: { subgroups: false } },
  { b: 2, h: 2, hkv: 1, nq: 40, nk: 257, d: 32, dv: 32, causal: true },
  { b: 1, h: 2, hkv: 2, nq: 33, nk: 33, d: 32, dv: 32, causal: false, over: { subgroups: false } },
  { b: 1, h: 2, hkv: 2, nq: 37, nk: 37, d: 128, dv: 128, causal: true },
  { b: 1, h: 3, hkv: 3, nq: 1, nk: 1, d: 12, dv: 20, causal: true },
  { b: 1, h: 2, hkv: 2, nq: 50, nk: 50, d: 64, dv: 64, causal: true, over: { maxRows: 16, maxKeys: 8 } },
  { b: 2, h: 4, hkv: 2, nq: 23, nk: 29, d: 7, dv: 5, causal: true },
  { b: 1, h: 2, hkv: 2, nq: 70, nk: 100, d: 64, dv: 32, causal: false, over: { pair: true, maxKeys: 8 } },
];
if (process.env.NABLA_TEST_FLASH_ALL === '1') cases.push(...more);

describe.skipIf(!gpu)(gpu ? 'flashAttention v4 on webgpu' : `flashAttention v4 on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterEach(() => {
    setFlash4Overrides({});
    delete process.env.NABLA_FLASH_KERNEL;
  });
  afterAll(async () => {
    await releaseWebGpu();
  });

  it('plans tiles within the device limits for the head dims it serves', () => {
    for (const d of [5, 7, 32, 64, 128]) {
      const p = flash4Plan(g, d, d)!;
      expect(p, `d ${d}`).toBeDefined();
      for (const t of [p.fwd, p.dq, p.dkv]) expect((t.rows * t.keys) / 16).toBeLessThanOrEqual(g.ctx.limits.maxWorkgroupSize);
    }
  });

  for (const c of cases) {
    it(`equals naive attention, values and gradients: ${JSON.stringify(c)}`, async () => {
      setFlash4Overrides(c.over ?? {});
      // v4 runs only when a tiling fits (else the v3 kernels would answer silently); its shaders are
      // compiled first, one per turn of the event loop, so no single block starves vitest's worker
      if (!c.kernel) expect(await warmFlash4(g, c.d, c.dv)).toBe(true);
      if (c.over?.pair) expect(flash4Plan(g, c.d, c.dv)!.fwd.pair).toBe(true);
      if (c.kernel) process.env.NABLA_FLASH_KERNEL = c.kernel;
      await expectFlashEqualsNaive(g, c, c.nq * 131 + c.nk * 7 + c.d);
    }, 300_000);
  }
});
