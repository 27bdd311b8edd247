/**
 * The WGSL kernels for the ops that used to fall back to the CPU: scatter
 * and the deterministic scatterAdd/indexAdd, cummax/cummin, maxPool1d and
 * the FFTs. Every op-suite case of these ops runs on the GPU (values against
 * float64, strided inputs, gradients), and afterwards none of them may appear
 * among the backend's fallbacks (the linear-algebra kernels: kernels2.linalg.test.ts). Further cases reach the layouts the suite's
 * small shapes do not: long 1-D scatters, many-pass FFTs, other lengths.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { allCases } from '../ops/cases/index.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32 } from '../helpers/rng.js';
import { checkOpOnGpu } from './gpuCheck.js';
import { gpuForTests } from './device.js';
import { webgpuKernels } from '../../scripts/op-coverage.js';

const { gpu, reason } = await gpuForTests();
const OPS = ['scatter', 'scatterAdd', 'indexAdd', 'cummax', 'cummin', 'maxPool1d', 'fft', 'rfft', 'irfft'];
const cases = allCases.filter((c) => OPS.includes(c.op));
const title = (c: (typeof cases)[number]): string => `${c.op}${c.label ? ` (${c.label})` : ''}`;

const rand = (n: number, seed: number, lo = -2, hi = 2): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
};

describe.skipIf(!gpu)(gpu ? 'WGSL kernels for scatter, running extrema, pooling and FFT' : `WGSL kernels (skipped: ${reason})`, () => {
  const g = gpu!;
  const cpu = nb.cpu();
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const c of cases) it(`op suite: ${title(c)}`, async () => checkOpOnGpu(c, g));

  it('deterministic scatterAdd: one long 1-D line (per-output layout), the same bits on every run, equal to the CPU', async () => {
    const n = 3000;
    const idx = Array.from({ length: n }, (_, k) => (k * 7919) % 37);
    const src = rand(n, 3);
    const run = async (): Promise<Float64Array> =>
      nb.scope(async () => {
        const y = nb.scatterAdd(nb.zeros([37], { backend: g }), 0, nb.tensor(idx, [n], { dtype: 'i32', backend: g }), nb.tensor(src, [n], { backend: g }));
        return g.readF64(y);
      });
    const a = await run();
    const b = await run();
    expect(Array.from(b)).toEqual(Array.from(a));
    const ref = nb.scatterAdd(nb.zeros([37], { backend: cpu, dtype: 'f64' }), 0, nb.tensor(idx, [n], { dtype: 'i32', backend: cpu }), nb.tensor(src.map(Math.fround), [n], { backend: cpu, dtype: 'f64' })).toF64();
    expectClose(a, ref, 1e-5, 'scatterAdd 1-D vs f64');
    // exactly the float32 sums taken in index order, x first
    const seq = new Float64Array(37);
    idx.forEach((t, k) => (seq[t] = Math.fround(seq[t]! + Math.fround(src[k]!))));
    expect(Array.from(a)).toEqual(Array.from(seq));
  });

  it('deterministic indexAdd with many lines (per-line layout), i32 too', async () => {
    const idx = [2, 0, 2, 2, 1, 0];
    const src = rand(6 * 1100, 5);
    const y = nb.indexAdd(nb.ones([3, 1100], { backend: g }), 0, nb.tensor(idx, [6], { dtype: 'i32', backend: g }), nb.tensor(src, [6, 1100], { backend: g }));
    const ref = nb.indexAdd(nb.ones([3, 1100], { backend: cpu, dtype: 'f64' }), 0, nb.tensor(idx, [6], { dtype: 'i32', backend: cpu }), nb.tensor(src.map(Math.fround), [6, 1100], { backend: cpu, dtype: 'f64' })).toF64();
    expectClose(await g.readF64(y), ref, 1e-6, 'indexAdd f32');
    const yi = nb.indexAdd(nb.zeros([3, 4], { backend: g, dtype: 'i32' }), 0, nb.tensor(idx, [6], { dtype: 'i32', backend: g }), nb.tensor(Array.from({ length: 24 }, (_, k) => k), [6, 4], { backend: g, dtype: 'i32' }));
    const ri = nb.indexAdd(nb.zeros([3, 4], { backend: cpu, dtype: 'i32' }), 0, nb.tensor(idx, [6], { dtype: 'i32', backend: cpu }), nb.tensor(Array.from({ length: 24 }, (_, k) => k), [6, 4], { backend: cpu, dtype: 'i32' }));
    expect(Array.from(await g.readF64(yi))).toEqual(Array.from(ri.toF64()));
  });

  it('scatter on a long line keeps the last write; bool and i32 too', async () => {
    const n = 2000;
    const idx = Array.from({ length: n }, (_, k) => (k * 13) % 300);
    const src = rand(n, 7);
    const y = nb.scatter(nb.zeros([400], { backend: g }), 0, nb.tensor(idx, [n], { dtype: 'i32', backend: g }), nb.tensor(src, [n], { backend: g }));
    const ref = nb.scatter(nb.zeros([400], { backend: cpu }), 0, nb.tensor(idx, [n], { dtype: 'i32', backend: cpu }), nb.tensor(src, [n], { backend: cpu })).toF64();
    expect(Array.from(await g.readF64(y))).toEqual(Array.from(ref));
    const b = nb.scatter(nb.zeros([2, 5], { backend: g, dtype: 'bool' }), 1, nb.tensor([4, 0, 4, 1], [2, 2], { dtype: 'i32', backend: g }), nb.ones([2, 2], { backend: g, dtype: 'bool' }));
    expect(Array.from(await g.readF64(b))).toEqual([1, 0, 0, 0, 1, 0, 1, 0, 0, 1]);
  });

  it('cummax/cummin: NaN sticks with its first index, ties take the later index, f16 storage', async () => {
    const x = [1, 3, 3, NaN, 5, 2, -1, -1, 0, NaN];
    for (const d of ['f32', 'f16'] as const) {
      for (const f of [nb.cummax, nb.cummin]) {
        const [v, i] = f(nb.tensor(x, [2, 5], { backend: g, dtype: d }), 1);
        const [rv, ri] = f(nb.tensor(x, [2, 5], { backend: cpu, dtype: d }), 1);
        expectClose(await g.readF64(v), rv.toF64(), 0, `${f.name} ${d} values`);
        expect(Array.from(await g.readF64(i))).toEqual(Array.from(ri.toF64()));
      }
    }
  });

  it('maxPool1d: −∞ windows, NaN, padding and strided rows match the CPU', async () => {
    const x = [-Infinity, -Infinity, 2, 2, NaN, 1, 0, 7, 7, -3, 4, 4];
    const [v, i] = nb.maxPool1dWithIndices(nb.transpose(nb.tensor(x, [6, 2], { backend: g })), 3, { stride: 1, padding: 1 });
    const [rv, ri] = nb.maxPool1dWithIndices(nb.transpose(nb.tensor(x, [6, 2], { backend: cpu })), 3, { stride: 1, padding: 1 });
    expectClose(await g.readF64(v), rv.toF64(), 0, 'maxPool1d values');
    expect(Array.from(await g.readF64(i))).toEqual(Array.from(ri.toF64()));
  });

  it('FFT: ten Stockham passes (n = 1024), Bluestein (n = 100, 1000), rfft/irfft of 512 on a strided axis, against float64', async () => {
    for (const [shape, axis] of [
      [[3, 1024], -1],
      [[100, 2], 0],
      [[2, 1000], -1],
    ] as const) {
      const re = rand(shape[0] * shape[1], 11);
      const im = rand(shape[0] * shape[1], 12);
      for (const inverse of [false, true]) {
        const f = inverse ? nb.ifft : nb.fft;
        const [gr, gi] = f(nb.tensor(re, [...shape], { backend: g }), nb.tensor(im, [...shape], { backend: g }), { axis, norm: 'ortho' });
        const [cr, ci] = f(nb.tensor(re.map(Math.fround), [...shape], { backend: cpu, dtype: 'f64' }), nb.tensor(im.map(Math.fround), [...shape], { backend: cpu, dtype: 'f64' }), { axis, norm: 'ortho' });
        expectClose(await g.readF64(gr), cr.toF64(), 2e-6, `fft ${JSON.stringify(shape)} re`);
        expectClose(await g.readF64(gi), ci.toF64(), 2e-6, `fft ${JSON.stringify(shape)} im`);
      }
    }
    for (const n of [512, 301]) {
      const x = rand(2 * n, 13);
      const xg = nb.transpose(nb.tensor(x, [n, 2], { backend: g }));
      const xc = nb.transpose(nb.tensor(x.map(Math.fround), [n, 2], { backend: cpu, dtype: 'f64' }));
      const [sr, si] = nb.rfft(xg);
      const [tr, ti] = nb.rfft(xc);
      expectClose(await g.readF64(sr), tr.toF64(), 2e-6, `rfft ${n} re`);
      expectClose(await g.readF64(si), ti.toF64(), 2e-6, `rfft ${n} im`);
      expectClose(await g.readF64(nb.irfft(sr, si, { n })), nb.irfft(tr, ti, { n }).toF64(), 2e-6, `irfft ${n}`);
    }
  });

  it('none of these ops fell back to the CPU', () => {
    expect(OPS.filter((op) => g.fallbacks.has(op))).toEqual([]);
  });

  it("docs/ops.md's webgpu column (kernels collected without a device) names exactly the live backend's kernels", () => {
    expect([...webgpuKernels()].sort()).toEqual([...g.kernels.keys()].sort());
  });
});
