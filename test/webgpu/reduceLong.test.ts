/**
 * Long reductions on WebGPU: few outputs over long reduced extents take the
 * two-pass path (chunks into partials, then the partials); checked against
 * float64 results on the same data, deterministic across runs, and the split
 * rule itself (one pass for short or many-output reductions).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { splitCount } from '../../src/backends/webgpu/kernels/reduce.js';
import { gpuForTests } from './device.js';
import { mulberry32 } from '../helpers/rng.js';

describe('splitCount', () => {
  it('splits only few outputs with long extents', () => {
    expect(splitCount(1, 1000)).toBe(1);
    expect(splitCount(5000, 1e6)).toBe(1);
    expect(splitCount(1, 1e6)).toBeGreaterThan(100);
    expect(splitCount(3, 200000)).toBeGreaterThan(50);
  });
});

const { gpu, reason } = await gpuForTests();

/** Values in [-1, 1) with a planted maximum at `peak` and minimum elsewhere. */
function data(n: number, seed: number, peak: number): Float32Array {
  const r = mulberry32(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  a[peak] = 5;
  a[(peak * 7 + 11) % n] = -5;
  return a;
}

/** Float64 sum, max, min, argmax, argmin of each row. */
function refs(a: Float32Array, rows: number): { sum: number[]; max: number[]; min: number[]; argmax: number[]; argmin: number[] } {
  const L = a.length / rows;
  const o = { sum: [] as number[], max: [] as number[], min: [] as number[], argmax: [] as number[], argmin: [] as number[] };
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let mx = -Infinity;
    let mn = Infinity;
    let ix = 0;
    let im = 0;
    for (let i = 0; i < L; i++) {
      const v = a[r * L + i]!;
      s += v;
      if (v > mx) [mx, ix] = [v, i];
      if (v < mn) [mn, im] = [v, i];
    }
    o.sum.push(s);
    o.max.push(mx);
    o.min.push(mn);
    o.argmax.push(ix);
    o.argmin.push(im);
  }
  return o;
}

describe.skipIf(!gpu)(gpu ? 'webgpu long reductions' : `webgpu long reductions (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  const got = async (t: nb.Tensor): Promise<number[]> => {
    const d = Array.from(await t.data(), Number);
    t.dispose();
    return d;
  };

  const cases: { name: string; shape: number[]; axis: number | null; peak: number }[] = [
    { name: 'full reduction of 1e6 elements', shape: [1_000_000], axis: null, peak: 777_777 },
    { name: '[3, 200000] over the last axis', shape: [3, 200_000], axis: 1, peak: 123_457 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const n = c.shape.reduce((p, q) => p * q, 1);
      const rows = c.axis === null ? 1 : c.shape[0]!;
      const L = n / rows;
      const a = data(n, 7, c.peak);
      const want = refs(a, rows);
      const x = nb.tensor(a, c.shape, { dtype: 'f32', backend: g });
      const ax = c.axis === null ? undefined : c.axis;
      const sum = await got(nb.sum(x, ax));
      const mean = await got(nb.mean(x, ax));
      for (let r = 0; r < rows; r++) {
        // a tree of f32 partials: error ~ sqrt(n)·ε·mean|x|, far below this bound
        expect(Math.abs(sum[r]! - want.sum[r]!)).toBeLessThan(2e-3);
        expect(Math.abs(mean[r]! - want.sum[r]! / L)).toBeLessThan(1e-8 + 2e-3 / L);
      }
      expect(await got(nb.max(x, ax))).toEqual(want.max.map((v) => Math.fround(v)));
      expect(await got(nb.min(x, ax))).toEqual(want.min.map((v) => Math.fround(v)));
      expect(await got(nb.argmax(x, c.axis))).toEqual(want.argmax);
      expect(await got(nb.argmin(x, c.axis))).toEqual(want.argmin);
      // deterministic: the same sum bit for bit
      expect(await got(nb.sum(x, ax))).toEqual(sum);
      x.dispose();
    });
  }

  it('strided views and several reduced axes take the split path correctly', async () => {
    const r = mulberry32(11);
    const a = Float32Array.from({ length: 8 * 64 * 1024 }, () => r() * 2 - 1);
    const x = nb.tensor(a, [8, 64, 1024], { dtype: 'f32', backend: g });
    // sum over axes 0 and 2 of a permuted view [1024, 64, 8]: 64 outputs, 8192 strided elements each
    const v = nb.permute(x, [2, 1, 0]);
    const want = new Float64Array(64);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 64; j++) for (let k = 0; k < 1024; k++) want[j] += a[(i * 64 + j) * 1024 + k]!;
    const s = await got(nb.sum(v, [0, 2]));
    for (let j = 0; j < 64; j++) expect(Math.abs(s[j]! - want[j]!)).toBeLessThan(1e-3);
    // argmax over the whole permuted view: the index is in the view's row-major order
    const flat = Array.from(await v.data());
    let best = 0;
    for (let i = 1; i < flat.length; i++) if (flat[i]! > flat[best]!) best = i;
    expect(await got(nb.argmax(v, null))).toEqual([best]);
    v.dispose();
    x.dispose();
  });

  it('integer and logical long reductions, and the first index on ties', async () => {
    const n = 300_000;
    const ints = new Int32Array(n).map((_, i) => (i % 7) - 3);
    const xi = nb.tensor(ints, [n], { dtype: 'i32', backend: g });
    let s = 0;
    for (const v of ints) s += v;
    expect(await got(nb.sum(xi))).toEqual([s]);
    // ties: the maximum 3 first occurs at index 6, the minimum -3 at 0
    expect(await got(nb.argmax(xi, null))).toEqual([6]);
    expect(await got(nb.argmin(xi, null))).toEqual([0]);
    const sc = (v: number): nb.Tensor => nb.scalar(v, { dtype: 'i32', backend: g });
    const bools = [nb.gt(xi, sc(-4)), nb.gt(xi, sc(-3)), nb.gt(xi, sc(2)), nb.gt(xi, sc(3))];
    const outs = [nb.all(bools[0]!), nb.all(bools[1]!), nb.any(bools[2]!), nb.any(bools[3]!)];
    const flags: number[] = [];
    for (const t of outs) flags.push(...(await got(t)));
    expect(flags).toEqual([1, 0, 1, 0]);
    for (const t of [xi, ...bools]) t.dispose();
  });
});
