/**
 * The fused backward kernels of GELU and SiLU and the one-pass Adam/AdamW
 * update:
 * - geluGrad, geluErfGrad, siluGrad (g·f′(x)) against their float64
 *   reference kernels on fresh random float32 inputs of odd sizes, in three
 *   layouts, with NaN and ±0 mixed in: within 8 float32 ulps of the reference
 *   per element (the ulp floored at that of 0.5: f′ is a sum of terms of
 *   order one that cancel near its zeros), and within 1e-6 in relative norm;
 * - the gradient of gelu/silu through `grad` takes the fused op and equals
 *   the tensor-op derivative (the recorded form, as grad of grad uses);
 * - the Adam update kernel against the JavaScript loop of src/optim/adam.ts
 *   on the same float32 values: bit for bit, for AdamW, Adam with L2 decay,
 *   AMSGrad and global-norm scaling, odd lengths, one and two threads; and
 *   the optimiser takes the native path for float32 CPU parameters.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/core/tensor.js';
import { setThreads, threadCount } from '../../src/backends/cpu/threads/index.js';
import { adamKernelStats } from '../../src/backends/cpu/wasm/kernels/adam.js';
import { adamRule, adamwRule, type AdamHyper } from '../../src/optim/adam.js';
import { adamw } from '../../src/optim/index.js';
import { writable } from '../../src/optim/inplace.js';
import { be, freshSeed, laidOut, maxUlps, mulberry32, onReference, relNorm, sameValues, type Layout } from './kernelHelpers.js';

const seed = freshSeed();
const rng = mulberry32(seed);
const values = (n: number, lo: number, hi: number): number[] => Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rng()));
const LAYOUTS: Layout[] = ['contiguous', 'strided', 'transposed'];
const shape2 = (n: number): number[] => (n % 7 === 0 ? [7, n / 7] : n % 3 === 0 ? [3, n / 3] : [n, 1]);

describe('activation backward kernels', () => {
  const CASES: [string, (x: Tensor, g: Tensor) => Tensor][] = [
    ['geluGrad', (x, g) => nb.geluGrad(x, g, 'tanh')],
    ['geluErfGrad', (x, g) => nb.geluGrad(x, g)],
    ['siluGrad', (x, g) => nb.siluGrad(x, g)],
  ];
  for (const [op, f] of CASES) {
    for (const n of [1, 7, 33, 257, 4099]) {
      it(`${op}, ${n} elements, every layout`, () => {
        for (const layout of LAYOUTS) {
          nb.tidy(() => {
            const xv = values(n, -9, 9);
            for (let i = 3; i < n; i += 11) xv[i] = [Number.NaN, 0, -0, 1e-30, -60][i % 5]!;
            const x = laidOut(xv, shape2(n), 'f32', layout);
            const g = laidOut(values(n, -2, 2), shape2(n), 'f32', layout);
            const fast = f(x, g).toF64();
            const ref = onReference(() => f(x, g).toF64(), [op]);
            // ulps of g·f′(x), floored at the ulp of 0.5 (f′ is a sum of terms of order 1 that cancel near its zeros)
            const { ulps, at } = maxUlps(fast, ref, 0.5);
            expect(ulps, `${op} ${layout} at ${at}: ${fast[at]} vs ${ref[at]} (x = ${xv[at]}, seed ${seed})`).toBeLessThanOrEqual(8);
            if (n >= 33) expect(relNorm(fast, ref)).toBeLessThan(1e-6);
          });
        }
      });
    }
  }

  it('grad of gelu and silu uses the fused ops and equals the differentiable derivative', () => {
    nb.tidy(() => {
      const x = nb.tensor(values(300, -5, 5), [12, 25], { dtype: 'f32' });
      for (const act of [(t: Tensor) => nb.gelu(t), (t: Tensor) => nb.gelu(t, 'tanh'), (t: Tensor) => nb.silu(t)]) {
        const loss = (t: Tensor): Tensor => nb.sum(nb.mul(act(t), nb.sin(t)));
        const counted = new Map<string, number>();
        for (const op of ['geluGrad', 'geluErfGrad', 'siluGrad']) {
          const k = be.kernels.get(op)!;
          be.kernels.set(op, Object.assign((...a: Parameters<typeof k>) => (counted.set(op, (counted.get(op) ?? 0) + 1), k(...a)), k));
        }
        let fused: Float64Array;
        try {
          fused = (nb.grad(loss)(x) as Tensor).toF64();
        } finally {
          for (const op of ['geluGrad', 'geluErfGrad', 'siluGrad']) be.kernels.set(op, (be.kernels.get(op) as unknown as { dtypes: unknown } & object) as never);
        }
        expect([...counted.values()].reduce((a, b) => a + b, 0)).toBe(1);
        // the recorded backward (createGraph, as grad of grad runs it) builds the tensor-op derivative
        const recorded = nb.tidy(() => {
          const xl = x.detach();
          xl.requiresGrad = true;
          return nb.gradients([loss(xl)], [xl], undefined, { createGraph: true })[0]!.toF64();
        });
        expect(relNorm(fused, recorded)).toBeLessThan(2e-6);
        // and grad of grad still works through the activation
        const gg = nb.grad((t: Tensor) => nb.sum(nb.grad(loss)(t) as Tensor))(x) as Tensor;
        expect(gg.shape).toEqual([12, 25]);
      }
    });
  });
});

describe('Adam update kernel', () => {
  const before = threadCount();
  afterAll(() => setThreads(before));

  /** Run rule.apply on heap tensors (native) and on plain Float32Array copies (the loop); compare every buffer. */
  function compare(rule: typeof adamRule, h: AdamHyper, n: number, gScale: number, steps: number): void {
    nb.tidy(() => {
      const slots = h.amsgrad ? 3 : 2;
      const p = nb.tensor(values(n, -2, 2), [n], { dtype: 'f32' });
      const st = Array.from({ length: slots }, () => nb.zeros([n], { dtype: 'f32' }));
      const plainP = Float32Array.from(p.toF64());
      const plainS = st.map(() => new Float32Array(n));
      for (let count = 1; count <= steps; count++) {
        const gv = values(n, -3, 3);
        if (n > 10) gv[5] = 0;
        const g = nb.tensor(gv, [n], { dtype: 'f32' });
        const calls = adamKernelStats.calls;
        const pw = writable(p);
        const sw = st.map((s) => writable(s));
        rule.apply({ p: pw.data, g: be.raw(g.storage) as Float32Array, gScale, slots: sw.map((w) => w.data), h, lr: 0.01, count });
        expect(adamKernelStats.calls, 'the kernel ran').toBe(calls + 1);
        rule.apply({ p: plainP, g: Float32Array.from(gv), gScale, slots: plainS, h, lr: 0.01, count });
      }
      expect(sameValues(p.toF64(), plainP), `p (n = ${n}, seed ${seed})`).toBe(-1);
      st.forEach((s, i) => expect(sameValues(s.toF64(), plainS[i]!), `slot ${i}`).toBe(-1));
    });
  }

  const base: AdamHyper = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05, amsgrad: false };
  for (const n of [1, 7, 33, 257]) {
    it(`AdamW, Adam with L2 decay, AMSGrad, clipping scale: bit for bit with the loop (n = ${n})`, () => {
      compare(adamwRule, base, n, 1, 4);
      compare(adamRule, base, n, 1, 3);
      compare(adamwRule, { ...base, amsgrad: true, weightDecay: 0 }, n, 1, 4);
      compare(adamwRule, { ...base, betas: [0.5, 0.75], eps: 1e-3 }, n, 0.37, 3);
    });
  }

  it('split over two threads: still bit for bit', () => {
    setThreads(2);
    compare(adamwRule, { ...base, amsgrad: true }, 200_003, 1, 2);
    setThreads(1);
    compare(adamwRule, { ...base, amsgrad: true }, 70_001, 1, 2);
  });

  it('adamw() takes the native path for float32 parameters and matches a float64 run', () => {
    const n = 513;
    const p0 = values(n, -1, 1);
    const grads = [values(n, -1, 1), values(n, -1, 1), values(n, -1, 1)];
    const run = (dtype: 'f32' | 'f64'): Float64Array => {
      const opt = adamw({ lr: 0.01 });
      const params = { w: nb.tensor(p0, [n], { dtype }) };
      let state = opt.init(params);
      for (const gv of grads) {
        const g = nb.tensor(gv, [n], { dtype });
        state = opt.update({ w: g }, state, params).state;
        g.dispose();
      }
      const out = params.w.toF64();
      params.w.dispose();
      return out;
    };
    const calls = adamKernelStats.calls;
    const f32 = run('f32');
    expect(adamKernelStats.calls).toBe(calls + 3);
    expect(relNorm(f32, run('f64'))).toBeLessThan(1e-6);
    expect(adamKernelStats.calls).toBe(calls + 3);
  });
});
