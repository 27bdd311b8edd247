/**
 * The WebAssembly reduction, softmax and normalisation kernels against the
 * float64 reference kernels (run by switching the native kernels off), on
 * fresh random float32 inputs of odd sizes (1, 7, 33, 257, and a long row)
 * in contiguous, strided and transposed layouts:
 * - sum, max, min over every axis set the kernel sees as one box (and the
 *   ones it declines: the reference runs, same values);
 * - softmax and log-softmax over the last axis, with NaN and ±∞ rows, and
 *   their one-pass backward;
 * - layer norm and RMS norm forward, with and without affine parameters, and
 *   their one-pass backward (∂x, ∂w, ∂b).
 * Tolerance: 5e-6 relative norm (float32 results of float64 arithmetic, one
 * or two roundings; max/min bit-exact). Threads: a split over two threads
 * gives the same bits as one thread, the ∂w/∂b partial sums included.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/core/tensor.js';
import { setThreads, threadCount } from '../../src/backends/cpu/threads/index.js';
import { reduceBox } from '../../src/backends/cpu/wasm/kernels/rows.js';
import { be, freshSeed, laidOut, mulberry32, onReference, relNorm, sameValues, type Layout } from './kernelHelpers.js';

const seed = freshSeed();
const rng = mulberry32(seed);
const LAYOUTS: Layout[] = ['contiguous', 'strided', 'transposed'];
const TOL = 5e-6; // the softmax backward's dp − Σ cancellation reached 2.04e-6 at D = 7 on one random draw

const values = (n: number, lo = -3, hi = 3): number[] => Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rng()));
const randT = (shape: number[], layout: Layout, lo = -3, hi = 3): Tensor => laidOut(values(shape.reduce((a, b) => a * b, 1), lo, hi), shape, 'f32', layout);

/** Counts native (non-declined) calls of the row kernels while `fn` runs. */
function nativeCalls<T>(ops: string[], fn: () => T): { out: T; calls: number } {
  const saved = ops.map((op) => [op, be.kernels.get(op)!] as const);
  let calls = 0;
  for (const [op, k] of saved) be.kernels.set(op, Object.assign((...a: Parameters<typeof k>) => {
    const r = k(...a);
    if (r) calls++;
    return r;
  }, k));
  try {
    return { out: fn(), calls };
  } finally {
    for (const [op, k] of saved) be.kernels.set(op, k);
  }
}

/** The kernel's values vs the reference's, by relative norm (or bit for bit when `exact`). */
function agree(what: string, f: () => Tensor | Tensor[], exact = false): void {
  nb.tidy(() => {
    const wrap = (): Float64Array[] => [f()].flat().map((t) => t.toF64());
    const fast = wrap();
    const ref = onReference(wrap);
    fast.forEach((a, i) => {
      if (exact) expect(sameValues(a, ref[i]!), `${what} output ${i} (seed ${seed})`).toBe(-1);
      else expect(relNorm(a, ref[i]!), `${what} output ${i} (seed ${seed})`).toBeLessThan(TOL);
    });
  });
}

describe('reductions', () => {
  const SHAPES: [number[], number[][]][] = [
    [[1], [[0]]],
    [[7, 33], [[0], [1], [0, 1]]],
    [[3, 5, 257], [[0], [1], [2], [0, 1], [1, 2], [0, 2]]],
    [[2, 70001], [[1], [0, 1]]],
  ];
  for (const [shape, axesList] of SHAPES) {
    for (const layout of LAYOUTS) {
      it(`sum, max, min of [${shape}] (${layout})`, () => {
        const x = randT(shape, layout);
        for (const axes of axesList) {
          agree(`sum [${shape}] over ${axes}`, () => nb.sum(x, axes));
          agree(`max [${shape}] over ${axes}`, () => nb.max(x, axes), true);
          agree(`min [${shape}] over ${axes}`, () => nb.min(x, axes, true), true);
        }
        x.dispose();
      });
    }
  }

  it('the box finder merges adjacent axes and refuses scattered ones', () => {
    expect(reduceBox([3, 5, 7], [35, 7, 1], [1])).toEqual({ A: 3, sA: 35, R: 5, sR: 7, B: 7, sB: 1 });
    expect(reduceBox([3, 5, 7], [35, 7, 1], [1, 2])).toEqual({ A: 3, sA: 35, R: 35, sR: 1, B: 1, sB: 0 });
    expect(reduceBox([3, 5, 7], [35, 7, 1], [0, 2])).toBeUndefined();
  });

  it('runs natively on a box and declines what is not one (same values either way)', () => {
    const x = randT([4, 6, 5], 'contiguous');
    expect(nativeCalls(['sum'], () => nb.sum(x, [1]).dispose()).calls).toBe(1);
    expect(nativeCalls(['sum'], () => nb.sum(x, [0, 2]).dispose()).calls).toBe(0);
    agree('sum over scattered axes', () => nb.sum(x, [0, 2]));
    x.dispose();
  });
});

describe('softmax, log-softmax (last axis)', () => {
  for (const D of [1, 7, 33, 257]) {
    for (const layout of LAYOUTS) {
      it(`rows of ${D} (${layout})`, () => {
        const x = randT([5, D], layout, -20, 20);
        const g = randT([5, D], layout);
        const { calls } = nativeCalls(['softmaxLast', 'logSoftmaxLast', 'softmaxLastGrad'], () => {
          agree(`softmax D=${D}`, () => nb.softmaxLast(x));
          agree(`logSoftmax D=${D}`, () => nb.logSoftmaxLast(x));
          agree(`softmax backward D=${D}`, () => nb.softmaxLastGrad(nb.softmaxLast(x), g));
          agree(`logSoftmax backward D=${D}`, () => nb.softmaxLastGrad(nb.logSoftmaxLast(x), g, true));
          // and through grad: the VJP takes the fused backward
          agree(`grad through softmax D=${D}`, () => nb.grad((t: Tensor) => nb.sum(nb.mul(nb.softmaxLast(t), g)))(x) as Tensor);
        });
        expect(calls).toBe(2 + 2 * 2 + 2);
        g.dispose();
        x.dispose();
      });
    }
  }

  it('rows with NaN, +∞ and all −∞ give what the reference gives', () => {
    const rows = [[1, Number.NaN, 2], [1, Infinity, 2], [-Infinity, -Infinity, -Infinity], [3, -Infinity, 1]];
    const x = nb.tensor(rows.flat(), [4, 3], { dtype: 'f32' });
    agree('softmax specials', () => nb.softmaxLast(x));
    agree('logSoftmax specials', () => nb.logSoftmaxLast(x));
    const y = nb.softmaxLast(x).toF64();
    expect(Number.isNaN(y[0]!)).toBe(true);
    const last = Array.from(y.subarray(9));
    [1 / (1 + Math.exp(-2)), 0, 1 / (1 + Math.exp(2))].forEach((v, i) => expect(last[i]).toBeCloseTo(v, 6));
    x.dispose();
  });
});

describe('layer norm, RMS norm', () => {
  for (const D of [1, 7, 33, 257]) {
    for (const layout of LAYOUTS) {
      it(`forward and backward, rows of ${D} (${layout})`, () => {
        const x = randT([6, D], layout, 40, 46); // a mean far from zero
        const g = randT([6, D], layout);
        const w = randT([D], 'contiguous', 0.5, 1.5);
        const b = randT([D], 'strided');
        const ops = ['layerNormFused', 'rmsNormFused', 'layerNormGrad', 'rmsNormGrad'];
        const { calls } = nativeCalls(ops, () => {
          agree('layerNorm w, b', () => nb.layerNormFused(x, 1, w, b));
          agree('layerNorm plain', () => nb.layerNormFused(x, 1));
          agree('rmsNorm w', () => nb.rmsNormFused(x, 1, w));
          agree('layerNormGrad w, b', () => nb.layerNormGrad(x, 1, w, true, g));
          agree('layerNormGrad plain', () => nb.layerNormGrad(x, 1, null, false, g));
          agree('rmsNormGrad w', () => nb.rmsNormGrad(x, 1, w, g));
        });
        expect(calls).toBe(6);
        for (const t of [x, g, w, b]) t.dispose();
      });
    }
  }

  it('two trailing axes, and a gradient through nn.layerNorm equals the reference', () => {
    const x = randT([3, 4, 9], 'transposed');
    const w = randT([4, 9], 'contiguous', 0.5, 1.5);
    agree('layerNorm k=2', () => nb.layerNormFused(x, 2, w));
    const lossGrad = (): Tensor[] => nb.grad((xx: Tensor, ww: Tensor) => nb.sum(nb.square(nb.layerNormFused(xx, 2, ww))), { argnums: [0, 1] })(x, w) as Tensor[];
    agree('∂ through layerNormFused', lossGrad);
    x.dispose();
    w.dispose();
  });
});

describe('16-bit activations', () => {
  it('nn.layerNorm and nn.rmsNorm of bf16 x and weights compute on the float32 kernel and cast back', () => {
    nb.tidy(() => {
      const x = nb.astype(randT([4, 33], 'contiguous'), 'bf16');
      const w = nb.astype(randT([33], 'contiguous', 0.5, 1.5), 'bf16');
      const { calls } = nativeCalls(['layerNormFused', 'rmsNormFused'], () => {
        const y = nb.nn.layerNorm(x, 33, w, w);
        const r = nb.nn.rmsNorm(x, 33, w);
        expect([y.dtype, r.dtype]).toEqual(['bf16', 'bf16']);
        agree('bf16 layerNorm', () => nb.nn.layerNorm(x, 33, w, w));
        agree('bf16 rmsNorm', () => nb.nn.rmsNorm(x, 33, w));
      });
      expect(calls).toBe(4);
    });
  });
});

describe('threads', () => {
  const before = threadCount();
  afterAll(() => setThreads(before));

  it('two threads give the same bits as one (rows, columns, a long sum, norm backward partials)', () => {
    nb.tidy(() => {
      const m = nb.tensor(values(600 * 257), [600, 257], { dtype: 'f32' });
      const long = nb.tensor(values(300_000), [300_000], { dtype: 'f32' });
      const w = nb.tensor(values(257, 0.5, 1.5), [257], { dtype: 'f32' });
      const cases: [string, () => Tensor[]][] = [
        ['sum rows', () => [nb.sum(m, [1])]],
        ['sum columns', () => [nb.sum(m, [0])]],
        ['long sum', () => [nb.sum(long)]],
        ['max columns', () => [nb.max(m, [0])]],
        ['softmax', () => [nb.softmaxLast(m)]],
        ['layerNorm', () => [nb.layerNormFused(m, 1, w, w)]],
        ['layerNormGrad', () => nb.layerNormGrad(m, 1, w, true, m)],
      ];
      for (const [name, f] of cases) {
        setThreads(1);
        const one = f().map((t) => t.toF64());
        setThreads(2);
        const two = f().map((t) => t.toF64());
        one.forEach((o, i) => expect(sameValues(two[i]!, o), name).toBe(-1));
      }
    });
  });
});

describe('copy', () => {
  it('a strided float32 view made contiguous equals the reference bit for bit', () => {
    for (const layout of LAYOUTS) {
      const x = randT([3, 7, 33], layout);
      const { calls } = nativeCalls(['copy'], () => agree(`copy ${layout}`, () => nb.contiguous(nb.permute(x, [2, 0, 1])), true));
      expect(calls).toBe(1);
      x.dispose();
    }
  });
});
