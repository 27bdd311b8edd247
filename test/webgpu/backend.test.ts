/**
 * The WebGPU backend's machinery: the pool's size classes, batched
 * submission, the CPU fallback (ordered, correct, named once), large grids,
 * backend selection and moves, clear errors for synchronous reads. Device
 * tests skip, with the reason, when no adapter exists.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as nb from '../../src/index.js';
import { sizeClass } from '../../src/backends/webgpu/pool.js';
import { getDefaultBackend } from '../../src/ops/creation.js';
import { releaseWebGpu, toBackend, useBackend } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';
import { mulberry32 } from '../helpers/rng.js';

describe('pool size classes', () => {
  it('cover the request, waste under a fifth, and are few', () => {
    const classes = new Set<number>();
    for (let bytes = 1; bytes < 1 << 22; bytes = Math.ceil(bytes * 1.07) + 3) {
      const c = sizeClass(bytes);
      expect(c).toBeGreaterThanOrEqual(bytes);
      if (bytes > 256) expect(c / bytes).toBeLessThan(1.25 + 1e-9);
      expect(c % 4).toBe(0);
      classes.add(c);
    }
    expect(classes.size).toBeLessThan(80);
    expect(sizeClass(1000)).toBe(sizeClass(1020)); // nearby sizes share a class, so buffers are reused
  });
});

const { gpu, reason } = await gpuForTests();

describe.skipIf(!gpu)(gpu ? 'webgpu backend' : `webgpu backend (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  it('submits many kernels per batch, reusing bind groups', async () => {
    await g.sync();
    const s0 = g.stream.submits;
    const spy = vi.spyOn(g.device, 'createBindGroup');
    try {
      const one = nb.ones([64], { backend: g });
      nb.tidy(() => {
        let t = nb.ones([64], { backend: g });
        for (let i = 0; i < 200; i++) {
          const n = nb.add(t, one);
          t.dispose();
          t = n;
        }
        return undefined;
      });
      one.dispose();
      await g.sync();
      expect(g.stream.submits - s0).toBeLessThanOrEqual(3);
      // the pool hands the same few buffers back, so the same few bind groups serve 200 dispatches
      expect(spy.mock.calls.length).toBeLessThan(20);
    } finally {
      spy.mockRestore();
    }
  });

  it('runs an op without a kernel on the CPU, in order, and names it once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    g.notices = true;
    g.fallbacks.clear();
    try {
      // every op has a WGSL kernel for f32; f64 (which WGSL lacks) still takes the fallback
      const x = nb.tensor([3, 1, 2, 6, 4, 5], [2, 3], { backend: g });
      const e = nb.exp(x); // GPU
      const [c, ci] = nb.cummax(nb.astype(e, 'f64'), 1); // CPU fallback reading a GPU result
      e.dispose(); // freed before the fallback has run: its buffer must not be overwritten first
      const d = nb.mul(nb.astype(c, 'f32'), 2); // GPU kernel after the fallback
      const junk = nb.full([2, 3], 7, { backend: g }); // may reuse e's buffer
      const [c2, ci2] = nb.cummax(nb.astype(x, 'f64'), 0);
      const got = await d.data();
      const want = [3, 3, 3, 6, 6, 6].map((v) => 2 * Math.exp(v));
      got.forEach((v, i) => expect(v / want[i]!).toBeCloseTo(1, 6));
      expect(Array.from(await c2.data())).toEqual([3, 1, 2, 6, 4, 5]);
      expect(Array.from(await ci.data())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(Array.from(await ci2.data())).toEqual([0, 0, 0, 1, 1, 1]);
      expect(warn.mock.calls.filter((a) => String(a[0]).includes("'cummax'")).length).toBe(1);
      expect([...g.fallbacks.get('cummax')!]).toEqual(['f64->f64,i32']);
      for (const t of [x, c, ci, d, junk, c2, ci2]) t.dispose();
    } finally {
      g.notices = false;
      g.fallbacks.clear(); // the casts to and from f64 fell back too; later tests count their own
      warn.mockRestore();
    }
  });

  it('a failing CPU fallback surfaces at the next read, naming the op', async () => {
    const x = nb.zeros([2, 3], { backend: g });
    const idx = nb.zeros([2, 2], { backend: g, dtype: 'f64' }); // singular: the reference throws
    const src = nb.ones([2, 1], { backend: g, dtype: 'f64' });
    const y = nb.solve(idx, src); // no WGSL kernel reads f64
    await expect(y.data()).rejects.toThrow(/CPU fallback for 'solve' failed/);
    // the stream carries on afterwards
    const z = nb.add(x, 1);
    expect(Array.from(await z.data())).toEqual([1, 1, 1, 1, 1, 1]);
    for (const t of [x, idx, src, y, z]) t.dispose();
  });

  it('handles grids beyond one dispatch dimension (65,535 workgroups)', async () => {
    const n = 65_535 * 64 + 4099;
    const a = nb.arange(0, n, 1, { dtype: 'f32', backend: g });
    const b = nb.add(nb.mul(a, 2), 1);
    const s = nb.sum(nb.reshape(b, [n]), 0);
    const v = await b.data();
    expect(v[0]).toBe(1);
    expect(v[n - 1]).toBe(2 * (n - 1) + 1);
    expect(v[4_196_000]).toBe(2 * 4_196_000 + 1); // in the second row of workgroups
    expect((await s.data())[0]! / (n * n)).toBeCloseTo(1, 4);
    for (const t of [a, b, s]) t.dispose();
  });

  it('selects backends and moves tensors', async () => {
    const prev = getDefaultBackend();
    try {
      expect(await useBackend('auto')).toBe(g);
      const t = nb.tensor([1.5, -2, 3]);
      expect(t.backend).toBe('webgpu');
      const c = await toBackend(t, nb.cpu());
      expect(Array.from(c.toF64())).toEqual([1.5, -2, 3]);
      const back = await toBackend(c, g);
      expect(Array.from(await back.data())).toEqual([1.5, -2, 3]);
      expect(await useBackend('cpu')).toBe(nb.cpu());
      for (const x of [t, c, back]) x.dispose();
    } finally {
      await useBackend(prev);
    }
  });

  it('rounds to f16 and bf16 like the CPU (nearest even, overflow to ±inf, NaN kept)', async () => {
    const rng = mulberry32(5);
    const vals = [0, -0, 65504, 65519, 65520, -70000, 1e-3, 3.0517578125e-5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN, Infinity, -Infinity];
    for (let i = 0; i < 500; i++) vals.push((rng() - 0.5) * 2 ** Math.floor(rng() * 30 - 12));
    for (const d of ['f16', 'bf16'] as const) {
      const x = nb.tensor(vals, { backend: g });
      const y = nb.astype(x, d);
      const want = nb.astype(nb.tensor(vals, { backend: nb.cpu() }), d).dataSync();
      const got = await y.data();
      expect(Array.from(got).map(String), d).toEqual(Array.from(want).map(String));
      x.dispose();
      y.dispose();
    }
    expect(g.fallbacks.has('astype')).toBe(false);
  });

  it('lists the webgpu backend in the op table, with its adapter', () => {
    const t = nb.backendOps().find((x) => x.backend === 'webgpu');
    expect(t).toBeDefined();
    expect(t!.rows.find((r) => r.op === 'matmul')!.paths.f32).toBe('native');
    expect(t!.rows.find((r) => r.op === 'qr')!.paths.f32).toBe('native');
    expect(t!.rows.find((r) => r.op === 'qr')!.paths.f64).toBe('reference');
    expect(t!.notes.join('\n')).toMatch(/adapter: .*swiftshader|adapter: /i);
  });

  it('says how to read a GPU tensor when code reads it synchronously', async () => {
    const t = nb.tensor([1, 2], { backend: g });
    const one = nb.tensor([1], { backend: g });
    expect(() => t.toF64()).toThrow(/reads asynchronously: use await t.data\(\)/);
    expect(() => one.item()).toThrow(/reads asynchronously/);
    one.dispose();
    expect(() => t.dataSync()).toThrow(/use await t.data\(\)/);
    t.dispose();
  });


  // last: it ends this file's device
  it('reports a lost device clearly', async () => {
    const t = nb.tensor([1, 2], { backend: g });
    await g.sync();
    g.device.destroy();
    for (let i = 0; i < 50 && !g.ctx.lost; i++) await new Promise((r) => setTimeout(r, 20));
    expect(() => nb.exp(t)).toThrow(/device was destroyed/);
  });
});
