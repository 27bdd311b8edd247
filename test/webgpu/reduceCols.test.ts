/**
 * Column reductions on WebGPU (kernels/reduceCols.ts): sums, products,
 * extrema and logical reductions over outer axes with a contiguous inner
 * kept axis — one pass and chunked two-pass, several kept and reduced axes,
 * strided views — against float64 results of the same data on the CPU, and
 * the planning rule itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { profileWebGpu, releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { columnChunks, isColumnReduce } from '../../src/backends/webgpu/kernels/reduceCols.js';
import { gpuForTests } from './device.js';
import { mulberry32 } from '../helpers/rng.js';
import type { Backend } from '../../src/backends/backend.js';

describe('column reduction plan', () => {
  it('takes contiguous inner kept axes of at least 32 outputs, and chunks long columns', () => {
    // [nOut, R, keptShape, keptStrides, redShape, redStrides, offset]
    expect(isColumnReduce({ ints: [768, 2048, 768, 1, 2048, 768, 0], nk: 1, nr: 1, nOut: 768, R: 2048 })).toBe(true);
    expect(isColumnReduce({ ints: [768, 2048, 768, 2048, 2048, 1, 0], nk: 1, nr: 1, nOut: 768, R: 2048 })).toBe(false);
    expect(isColumnReduce({ ints: [8, 2048, 8, 1, 2048, 8, 0], nk: 1, nr: 1, nOut: 8, R: 2048 })).toBe(false);
    expect(columnChunks(768, 2048)).toBeGreaterThan(1);
    expect(columnChunks(768, 20)).toBe(1);
    expect(Math.ceil(2048 / columnChunks(768, 2048))).toBeGreaterThanOrEqual(16);
  });
});

const { gpu, reason } = await gpuForTests();

function values(n: number, seed: number, kind: 'real' | 'positive' | 'bits'): number[] {
  const r = mulberry32(seed);
  // f32-representable, so the float64 reference sees the same inputs
  return Array.from({ length: n }, () => Math.fround(kind === 'real' ? r() * 2 - 1 : kind === 'positive' ? 0.9 + 0.2 * r() : r() < 0.97 ? 1 : 0));
}

describe.skipIf(!gpu)(gpu ? 'webgpu column reductions' : `webgpu column reductions (skipped: ${reason})`, () => {
  afterAll(() => releaseWebGpu());

  const cases: { shape: number[]; axes: number[]; transpose?: boolean }[] = [
    { shape: [5, 40], axes: [0] }, // one pass
    { shape: [300, 33], axes: [0] }, // chunked, nOut not a multiple of 64
    { shape: [1000, 200], axes: [0] }, // chunked, several column blocks
    { shape: [6, 50, 70], axes: [0, 1] }, // two reduced axes (a bias gradient over batch and time)
    { shape: [40, 3, 36], axes: [0] }, // two kept axes
    { shape: [64, 48], axes: [1], transpose: true }, // a transposed view: the kept axis is contiguous in memory
  ];

  for (const c of cases) {
    for (const op of ['sum', 'max', 'min', 'prod', 'all', 'any'] as const) {
      it(`${op} over axes [${c.axes}] of [${c.shape}]${c.transpose ? ' (transposed view)' : ''}`, async () => {
        const n = c.shape.reduce((a, b) => a * b, 1);
        const kind = op === 'prod' ? 'positive' : op === 'all' || op === 'any' ? 'bits' : 'real';
        const vals = values(n, 7 + n, kind);
        const dtype = op === 'all' || op === 'any' ? 'bool' : 'f32';
        const make = (backend: Backend, dt: 'f64' | 'f32' | 'bool'): nb.Tensor => {
          const t = nb.tensor(vals, c.shape, { dtype: dt, backend });
          return c.transpose ? nb.transpose(t) : t;
        };
        const run = (x: nb.Tensor): nb.Tensor => (op === 'all' ? nb.all(x, c.axes) : op === 'any' ? nb.any(x, c.axes) : nb[op](x, c.axes));
        const want = Array.from(await run(make(nb.cpu(), dtype === 'bool' ? 'bool' : 'f64')).data());
        const got = Array.from(await run(make(gpu!, dtype)).data());
        expect(got.length).toBe(want.length);
        const tol = op === 'sum' ? 2e-5 * Math.sqrt(n) : op === 'prod' ? 1e-4 : 0;
        got.forEach((g, i) => expect(Math.abs(Number(g) - Number(want[i]))).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(Number(want[i])))));
      });
    }
  }

  it('is deterministic across runs', async () => {
    const x = nb.tensor(values(2048 * 96, 3, 'real'), [2048, 96], { dtype: 'f32', backend: gpu! });
    const a = Array.from(await nb.sum(x, [0]).data());
    let out: nb.Tensor | null = null;
    // the column kernel is the one that ran: two passes (chunks, then partials), nothing else
    const kernels = await profileWebGpu(() => void (out = nb.sum(x, [0])));
    expect(kernels.map((k) => `${k.label.split(':')[0]}×${k.count}`)).toEqual(['reduceCols×2']);
    const b = Array.from(await out!.data());
    expect(b).toEqual(a);
  });
});
