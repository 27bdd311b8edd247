/**
 * The WGSL decompositions (kernels/qr.ts, eigh.ts, svd.ts, rsvd.ts): every
 * op-suite case of qr, eigh, svd and randomizedSvd on the GPU (values
 * against float64, strided inputs, gradients), none of them on the CPU
 * fallback afterwards, and larger matrices than the suite's (strided views,
 * wide and tall, odd sizes, a zero singular value, batches).
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

describe.skipIf(!gpu)(gpu ? 'WGSL decompositions' : `WGSL decompositions (skipped: ${reason})`, () => {
  const g = gpu!;
  const cpu = nb.cpu();
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const c of cases) it(`op suite: ${title(c)}`, async () => checkOpOnGpu(c, g));

  it('qr of a batch of 90×70 matrices (strided) and a 20×90 wide one equals the CPU factorization', async () => {
    for (const [m, n] of [
      [90, 70],
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

  it('eigh of random symmetric 7×7 and 33×33 batches (odd n pads the round-robin) equals the CPU', async () => {
    for (const n of [7, 33]) {
      const vals = rand(2 * n * n, 51 + n).map(Math.fround);
      const Ag = nb.tensor(vals, [2, n, n], { backend: g });
      const Ac = nb.tensor(vals, [2, n, n], { backend: cpu, dtype: 'f64' });
      const eg = nb.eigh(Ag);
      const ec = nb.eigh(Ac);
      expectClose(await g.readF64(eg.values), ec.values.toF64(), 1e-5, `eigh ${n}: values`);
      expectClose(await g.readF64(eg.vectors), ec.vectors.toF64(), 2e-4, `eigh ${n}: vectors`);
    }
  });

  it('svd of a tall 60×21 batch (strided), a wide 15×40 matrix, and one with a zero singular value, against the CPU', async () => {
    for (const [m, n] of [
      [60, 21],
      [15, 40],
    ] as const) {
      const vals = rand(2 * m * n, 61 + m).map(Math.fround);
      const Ag = nb.transpose(nb.tensor(vals, [2, n, m], { backend: g }));
      const Ac = nb.transpose(nb.tensor(vals, [2, n, m], { backend: cpu, dtype: 'f64' }));
      const sg = nb.svd(Ag);
      const sc = nb.svd(Ac);
      expectClose(await g.readF64(sg.s), sc.s.toF64(), 1e-5, `svd ${m}×${n}: s`);
      expectClose(await g.readF64(sg.u), sc.u.toF64(), 2e-4, `svd ${m}×${n}: U`);
      expectClose(await g.readF64(sg.vt), sc.vt.toF64(), 2e-4, `svd ${m}×${n}: Vᵀ`);
    }
    // column 1 is zero: σ = 0, and U's last column is completed to an orthonormal set
    const z = [1, 0, 2, 3, 0, 1, 0, 0, 4, 2, 0, 1];
    const sz = nb.svd(nb.tensor(z, [4, 3], { backend: g }));
    const s = await g.readF64(sz.s);
    expectClose(s, nb.svd(nb.tensor(z, [4, 3], { backend: cpu, dtype: 'f64' })).s.toF64(), 1e-6, 'svd of a rank-2 matrix: s');
    expect(s[2]).toBe(0);
    const utu = await g.readF64(nb.matmul(nb.transpose(sz.u), sz.u));
    expectClose(utu, nb.eye(3, 3, { backend: cpu, dtype: 'f64' }).toF64(), 1e-6, 'UᵀU = I');
  });

  it('randomizedSvd of a batch of rank-5 60×40 matrices: the CPU sketch (same key), the same triplets', async () => {
    const [m, n, r] = [60, 40, 5];
    const L = nb.tensor(rand(2 * m * r, 71), [2, m, r], { backend: cpu, dtype: 'f64' });
    const R = nb.tensor(rand(2 * r * n, 72), [2, r, n], { backend: cpu, dtype: 'f64' });
    const vals = Array.from(nb.matmul(L, R).toF64()).map(Math.fround);
    const key = nb.randomKey(7);
    const opts = { key, oversample: 3, powerIters: 1 };
    const rg = nb.randomizedSvd(nb.tensor(vals, [2, m, n], { backend: g }), 4, opts);
    const rc = nb.randomizedSvd(nb.tensor(vals, [2, m, n], { backend: cpu, dtype: 'f64' }), 4, opts);
    expectClose(await g.readF64(rg.s), rc.s.toF64(), 1e-5, 'randomizedSvd s');
    expectClose(await g.readF64(rg.u), rc.u.toF64(), 1e-4, 'randomizedSvd U');
    expectClose(await g.readF64(rg.vt), rc.vt.toF64(), 1e-4, 'randomizedSvd Vᵀ');
  });

  it('none of these ops fell back to the CPU', () => {
    expect(OPS.filter((op) => g.fallbacks.has(op))).toEqual([]);
  });
});
