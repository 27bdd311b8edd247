/**
 * The WGSL linear-algebra kernels for systems (kernels/linalg.ts, lu.ts):
 * every op-suite case of triangularSolve, cholesky, solve and slogdet on the
 * GPU (values against float64, strided inputs, gradients), none of them on
 * the CPU fallback afterwards, and larger matrices than the suite's (more
 * rows than a workgroup has invocations, pivoting, broadcast batches,
 * singular input). The decompositions: kernels2.decomp.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { allCases } from '../ops/cases/index.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32 } from '../helpers/rng.js';
import { checkOpOnGpu } from './gpuCheck.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();
const OPS = ['triangularSolve', 'cholesky', 'solve', 'slogdet'];
const cases = allCases.filter((c) => OPS.includes(c.op));
const title = (c: (typeof cases)[number]): string => `${c.op}${c.label ? ` (${c.label})` : ''}`;

const rand = (n: number, seed: number, lo = -2, hi = 2): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
};

describe.skipIf(!gpu)(gpu ? 'WGSL linear-algebra kernels' : `WGSL linear-algebra kernels (skipped: ${reason})`, () => {
  const g = gpu!;
  const cpu = nb.cpu();
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const c of cases) it(`op suite: ${title(c)}`, async () => checkOpOnGpu(c, g));

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

  it('none of these ops fell back to the CPU', () => {
    expect(OPS.filter((op) => g.fallbacks.has(op))).toEqual([]);
  });
});
