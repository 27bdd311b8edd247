/**
 * The WGSL kernels for the ops that used to fall back to the CPU: scatter
 * and the deterministic scatterAdd/indexAdd, cummax/cummin, maxPool1d and
 * the FFTs. Every op-suite case of these ops runs on the GPU (values against
 * float64, strided inputs, gradients), and afterwards none of them may appear
 * among the backend's fallbacks. Further cases reach the layouts the suite's
 * small shapes do not: long 1-D scatters, many-pass FFTs, other lengths.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { allCases } from '../ops/cases/index.js';
import { TOL, expectClose } from '../helpers/check.js';
import { mulberry32 } from '../helpers/rng.js';
import { checkOpOnGpu } from './gpuCheck.js';
import { gpuForTests } from './device.js';
import { webgpuKernels } from '../../scripts/op-coverage.js';

const { gpu, reason } = await gpuForTests();
const OPS = ['scatter', 'scatterAdd', 'indexAdd', 'cummax', 'cummin', 'maxPool1d', 'fft', 'rfft', 'irfft', 'triangularSolve', 'cholesky', 'solve', 'slogdet', 'qr'];
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

  it('FFT: ten Stockham passes (n = 1024), a direct DFT (n = 100), rfft/irfft of 512 on a strided axis, against float64', async () => {
    for (const [shape, axis] of [
      [[3, 1024], -1],
      [[100, 2], 0],
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
    const x = rand(2 * 512, 13);
    const xg = nb.transpose(nb.tensor(x, [512, 2], { backend: g }));
    const xc = nb.transpose(nb.tensor(x.map(Math.fround), [512, 2], { backend: cpu, dtype: 'f64' }));
    const [sr, si] = nb.rfft(xg);
    const [tr, ti] = nb.rfft(xc);
    expectClose(await g.readF64(sr), tr.toF64(), 2e-6, 'rfft 512 re');
    expectClose(await g.readF64(si), ti.toF64(), 2e-6, 'rfft 512 im');
    expectClose(await g.readF64(nb.irfft(sr, si, { n: 512 })), nb.irfft(tr, ti, { n: 512 }).toF64(), 2e-6, 'irfft 512');
  });

  it('cholesky of a batch of 70×70 SPD matrices and triangular solves with broadcast batches, against float64; NaN where not positive definite', async () => {
    const n = 70;
    const m = nb.tensor(rand(2 * n * n, 21, -1, 1), [2, n, n], { backend: cpu, dtype: 'f64' });
    const spd = nb.add(nb.matmul(m, nb.transpose(m)), nb.mul(nb.eye(n, n, { backend: cpu, dtype: 'f64' }), n)); // well conditioned
    const vals = Array.from(spd.toF64()).map(Math.fround);
    const Lg = nb.cholesky(nb.tensor(vals, [2, n, n], { backend: g }));
    const Lc = nb.cholesky(nb.tensor(vals, [2, n, n], { backend: cpu, dtype: 'f64' }));
    expectClose(await g.readF64(Lg), Lc.toF64(), 1e-5, 'cholesky 70×70');
    const rhs = rand(3 * n * 4, 22);
    for (const opts of [{ lower: true }, { lower: true, transpose: true }, { lower: false, unit: true }]) {
      const A = nb.tensor(vals, [2, 1, n, n], { backend: g });
      const Ac = nb.tensor(vals, [2, 1, n, n], { backend: cpu, dtype: 'f64' });
      const xg = nb.triangularSolve(A, nb.tensor(rhs, [3, n, 4], { backend: g }), opts);
      const xc = nb.triangularSolve(Ac, nb.tensor(rhs.map(Math.fround), [3, n, 4], { backend: cpu, dtype: 'f64' }), opts);
      expect(xg.shape).toEqual([2, 3, n, 4]);
      expectClose(await g.readF64(xg), xc.toF64(), opts.unit ? 1e-3 : 1e-5, `triangularSolve ${JSON.stringify(opts)}`);
    }
    const bad = await g.readF64(nb.cholesky(nb.tensor([1, 2, 2, 1], [2, 2], { backend: g })));
    expect(bad[0]).toBe(1);
    expect(Number.isNaN(bad[3]!)).toBe(true);
  });

  it('solve and slogdet of 70×70 matrices that need pivoting, broadcast batches; singular matrices as on the CPU', async () => {
    const n = 70;
    const vals = rand(2 * n * n, 31, -1, 1).map(Math.fround);
    const rhs = rand(3 * n * 2, 32).map(Math.fround);
    const Ag = nb.tensor(vals, [2, 1, n, n], { backend: g });
    const Ac = nb.tensor(vals, [2, 1, n, n], { backend: cpu, dtype: 'f64' });
    const xg = nb.solve(Ag, nb.tensor(rhs, [3, n, 2], { backend: g }));
    const xc = nb.solve(Ac, nb.tensor(rhs, [3, n, 2], { backend: cpu, dtype: 'f64' }));
    expect(xg.shape).toEqual([2, 3, n, 2]);
    expectClose(await g.readF64(xg), xc.toF64(), 2e-4, 'solve 70×70'); // random matrices: condition numbers in the hundreds
    const dg = nb.slogdet(Ag);
    const dc = nb.slogdet(Ac);
    expect(Array.from(await g.readF64(dg.sign))).toEqual(Array.from(dc.sign.toF64()));
    expectClose(await g.readF64(dg.logabsdet), dc.logabsdet.toF64(), 1e-5, 'slogdet 70×70');
    const sing = nb.slogdet(nb.tensor([1, 2, 2, 4, 0, 1, 1, 0], [2, 2, 2], { backend: g }));
    expect(Array.from(await g.readF64(sing.sign))).toEqual([0, -1]);
    expect(Array.from(await g.readF64(sing.logabsdet))).toEqual([-Infinity, 0]);
  });

  it('qr of a batch of 100×70 matrices (strided) and a 20×90 wide one equals the CPU factorization', async () => {
    for (const [m, n] of [
      [100, 70],
      [20, 90],
    ] as const) {
      const vals = rand(2 * m * n, 41 + m).map(Math.fround);
      // a transposed view: the kernel reads through strides
      const Ag = nb.transpose(nb.tensor(vals, [2, n, m], { backend: g }));
      const Ac = nb.transpose(nb.tensor(vals, [2, n, m], { backend: cpu, dtype: 'f64' }));
      const { q: qg, r: rg } = nb.qr(Ag);
      const { q: qc, r: rc } = nb.qr(Ac);
      expectClose(await g.readF64(qg), qc.toF64(), 1e-4, `qr ${m}×${n}: Q`);
      expectClose(await g.readF64(rg), rc.toF64(), 1e-5, `qr ${m}×${n}: R`);
    }
  });

  it('none of these ops fell back to the CPU', () => {
    expect(OPS.filter((op) => g.fallbacks.has(op))).toEqual([]);
    expect(TOL.f32).toBeGreaterThan(0);
  });

  it("docs/ops.md's webgpu column (kernels collected without a device) names exactly the live backend's kernels", () => {
    expect([...webgpuKernels()].sort()).toEqual([...g.kernels.keys()].sort());
  });
});
