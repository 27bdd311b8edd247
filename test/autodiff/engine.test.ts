/**
 * The autodiff engine: .grad accumulation, zeroGrad, detach, noGrad,
 * gradients() at intermediate tensors, reusable pullbacks, higher order in
 * every combination of modes, custom rules, diamonds, and the VJP shape check.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const f64 = (v: number[], shape?: number[]): Tensor => (shape ? nb.tensor(v, shape, { dtype: 'f64' }) : nb.tensor(v, { dtype: 'f64' }));
const vals = (t: Tensor): number[] => Array.from(t.toF64());
function expectAll(actual: Tensor | number[], expected: number[], digits = 10): void {
  const a = Array.isArray(actual) ? actual : vals(actual);
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => expect(v, `element ${i}`).toBeCloseTo(expected[i]!, digits));
}

const X = [0.5, -1.25, 2];

describe('reverse mode: .grad', () => {
  it('backward accumulates into .grad over two calls; zeroGrad clears it', () => {
    nb.tidy(() => {
      const x = f64(X).requiresGrad_();
      nb.sum(nb.mul(x, x)).backward();
      expectAll(x.grad!, X.map((v) => 2 * v));
      nb.sum(nb.mul(x, x)).backward();
      expectAll(x.grad!, X.map((v) => 4 * v));
      nb.zeroGrad([x]);
      expect(x.grad).toBeNull();
      nb.sum(nb.pow(x, 3)).backward();
      expectAll(x.grad!, X.map((v) => 3 * v * v));
    });
  });

  it('detach stops gradients; noGrad records nothing', () => {
    nb.tidy(() => {
      const x = f64(X).requiresGrad_();
      nb.sum(nb.mul(x, x.detach())).backward(); // only one factor carries the gradient
      expectAll(x.grad!, X);
      expect(x.detach().requiresGrad).toBe(false);
      const y = nb.noGrad(() => nb.mul(x, 2));
      expect(y.requiresGrad).toBe(false);
      expect(y.node).toBeNull();
      expect(() => nb.sum(y).backward()).toThrow(/does not require grad/);
      expect(nb.isGradEnabled()).toBe(true);
    });
  });

  it('a diamond (x used along two paths) accumulates both contributions', () => {
    nb.tidy(() => {
      const x = f64(X).requiresGrad_();
      const a = nb.mul(x, 2);
      const b = nb.exp(x);
      nb.sum(nb.mul(a, b)).backward(); // d/dx 2x·eˣ = 2eˣ + 2x·eˣ
      expectAll(x.grad!, X.map((v) => 2 * Math.exp(v) * (1 + v)));
      const z = f64(X).requiresGrad_();
      const h = nb.tanh(z); // h feeds three uses
      nb.sum(nb.add(nb.mul(h, h), h)).backward();
      expectAll(z.grad!, X.map((v) => (2 * Math.tanh(v) + 1) * (1 - Math.tanh(v) ** 2)));
    });
  });

  it('gradients() returns gradients at intermediate tensors and leaves, without touching .grad', () => {
    nb.tidy(() => {
      const x = f64(X).requiresGrad_();
      const h = nb.exp(x);
      const y = nb.sum(nb.mul(h, h));
      const [gh, gx] = nb.gradients([y], [h, x]);
      expectAll(gh!, X.map((v) => 2 * Math.exp(v)));
      expectAll(gx!, X.map((v) => 2 * Math.exp(2 * v)));
      expect(x.grad).toBeNull();
      // an explicit cotangent for a non-scalar output
      const x2 = f64(X).requiresGrad_();
      const [g2] = nb.gradients([nb.mul(x2, x2)], [x2], [f64([1, 2, 3])]);
      expectAll(g2!, X.map((v, i) => 2 * v * (i + 1)));
    });
  });

  it('the vjp pullback can be called twice, and is linear in the cotangent', () => {
    nb.tidy(() => {
      const x = f64(X);
      const [y, pullback] = nb.vjp((t) => nb.mul(nb.sin(t), t), x);
      expectAll(y, X.map((v) => v * Math.sin(v)));
      const d = X.map((v) => Math.sin(v) + v * Math.cos(v));
      const [g1] = pullback(f64([1, 1, 1]));
      const [g2] = pullback(f64([2, 0, -1]));
      expectAll(g1!, d);
      expectAll(g2!, d.map((v, i) => v * [2, 0, -1][i]!));
      expect(() => pullback(f64([1, 2]))).toThrow(/^vjp: cotangent is \[2\] but the output is \[3\]$/);
    });
  });
});

describe('higher order', () => {
  const cube = (t: Tensor): Tensor => nb.sum(nb.pow(t, 3));

  it('grad of grad of x³ is 6x (and once more, 6)', () => {
    nb.tidy(() => {
      const x = f64(X);
      const g = nb.grad(cube) as (t: Tensor) => Tensor;
      expectAll(g(x), X.map((v) => 3 * v * v));
      const gg = nb.grad((t: Tensor) => nb.sum(g(t))) as (t: Tensor) => Tensor;
      expectAll(gg(x), X.map((v) => 6 * v));
      const ggg = nb.grad((t: Tensor) => nb.sum(gg(t))) as (t: Tensor) => Tensor;
      expectAll(ggg(x), [6, 6, 6]);
    });
  });

  it('jvp nested inside jvp gives the second derivative', () => {
    nb.tidy(() => {
      const x = f64(X);
      const ones = f64([1, 1, 1]);
      const elementwiseCube = (t: Tensor): Tensor => nb.pow(t, 3);
      const d1 = (t: Tensor): Tensor => nb.jvp(elementwiseCube, [t], [ones])[1];
      expectAll(d1(x), X.map((v) => 3 * v * v));
      const [, d2] = nb.jvp(d1, [x], [ones]);
      expectAll(d2, X.map((v) => 6 * v));
    });
  });

  it('Hessian-vector products of ½xᵀAx + bᵀx equal Av in all three mode combinations', () => {
    nb.tidy(() => {
      const A = [
        [4, 1, 0.5],
        [1, 3, -1],
        [0.5, -1, 2],
      ];
      const b = [0.3, -0.2, 1];
      const v = [1, -2, 0.5];
      const At = f64(A.flat(), [3, 3]);
      const bt = f64(b);
      // Ax without matmul: Σ_j A[i, j] x[j]
      const Ax = (x: Tensor): Tensor => nb.sum(nb.mul(At, nb.reshape(x, [1, 3])), 1);
      const f = (x: Tensor): Tensor => nb.add(nb.mul(nb.sum(nb.mul(x, Ax(x))), 0.5), nb.sum(nb.mul(bt, x)));
      const Av = A.map((row) => row.reduce((s, a, j) => s + a * v[j]!, 0));
      const x = f64(X);
      const vt = f64(v);
      const g = nb.grad(f) as (t: Tensor) => Tensor;
      expectAll(g(x), A.map((row, i) => row.reduce((s, a, j) => s + a * X[j]!, 0) + b[i]!));
      // forward over reverse: jvp of the gradient
      expectAll(nb.jvp(g, [x], [vt])[1], Av);
      // reverse over reverse: grad of ⟨∇f, v⟩
      expectAll((nb.grad((t: Tensor) => nb.sum(nb.mul(g(t), vt))) as (t: Tensor) => Tensor)(x), Av);
      // reverse over forward: grad of the directional derivative ∇f·v
      expectAll((nb.grad((t: Tensor) => nb.jvp(f, [t], [vt])[1]) as (t: Tensor) => Tensor)(x), Av);
      // tangents carried through the tape are freed with it
      const base = nb.memory();
      nb.tidy(() => {
        nb.jvp(g, [x], [vt]);
      });
      expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    });
  });
});

describe('custom rules', () => {
  it('customVjp: a straight-through estimator rounds forward and passes the cotangent through', () => {
    nb.tidy(() => {
      const ste = nb.customVjp(
        'straightThrough',
        (x) => ({ out: nb.round(x) }),
        (_saved, [g]) => [g!],
      ) as (x: Tensor) => Tensor;
      const x = f64([0.4, 1.6, -2.5, 3.5]);
      const [y, pullback] = nb.vjp(ste, x);
      expect(vals(y)).toEqual([0, 2, -2, 4]); // round half to even
      const ct = f64([0.3, -1.2, 2, 5]);
      expect(vals(pullback(ct)[0]!)).toEqual(vals(ct)); // the Jacobian is the identity
      const w = f64([1, 2, 3, 4]);
      expect(vals(nb.grad((t: Tensor) => nb.sum(nb.mul(ste(t), w)))(x) as Tensor)).toEqual([1, 2, 3, 4]);
      // the plain round has zero gradient: the custom rule is what made the difference
      expect(vals(nb.grad((t: Tensor) => nb.sum(nb.mul(nb.round(t), w)))(x) as Tensor)).toEqual([0, 0, 0, 0]);
    });
  });

  it('customVjp: saved tensors reach the backward, which can be differentiated again', () => {
    nb.tidy(() => {
      // y = x², backward written by hand from the saved input: 2·x·g
      const sq = nb.customVjp(
        'square2',
        (x) => ({ out: nb.mul(x, x), saved: [x] }),
        ([x], [g]) => [nb.mul(nb.mul(x!, 2), g!)],
      ) as (x: Tensor) => Tensor;
      const x = f64(X);
      const g = nb.grad((t: Tensor) => nb.sum(sq(t))) as (t: Tensor) => Tensor;
      expectAll(g(x), X.map((v) => 2 * v));
    });
  });

  it('customJvp: forward mode uses the given rule, reverse mode differentiates f', () => {
    nb.tidy(() => {
      let calls = 0;
      const sinc = nb.customJvp(
        (x) => nb.sin(x),
        ([x], [t]) => {
          calls++;
          return nb.mul(t!, nb.cos(x!));
        },
      );
      const x = f64(X);
      const t = f64([1, 2, -1]);
      const [y, dy] = nb.jvp(sinc, [x], [t]);
      expectAll(y, X.map(Math.sin));
      expectAll(dy, X.map((v, i) => Math.cos(v) * [1, 2, -1][i]!));
      expect(calls).toBe(1);
      // a deliberately different rule shows which derivative each mode uses
      const fake = nb.customJvp((x) => nb.sin(x), (_p, [tt]) => nb.mul(tt!, 7));
      expectAll(nb.jvp(fake, [x], [t])[1], [7, 14, -7]);
      expectAll(nb.grad((s: Tensor) => nb.sum(fake(s)))(x) as Tensor, X.map(Math.cos));
    });
  });

  it('a VJP that returns the wrong shape is reported with the op and both shapes', () => {
    nb.tidy(() => {
      const bad = nb.customVjp(
        'badShape',
        (x) => ({ out: nb.mul(x, 2) }),
        () => [f64([1, 2])],
      ) as (x: Tensor) => Tensor;
      const x = f64(X).requiresGrad_();
      expect(() => nb.sum(bad(x)).backward()).toThrow(/^backward: the VJP of 'badShape' returned a gradient of shape \[2\] for input 0 of shape \[3\]$/);
    });
  });
});

describe('nested grad with a captured tensor', () => {
  it('grad over x of (grad over w of f(x, w)) sees x captured by the inner function', () => {
    nb.tidy(() => {
      // f(x, w) = x·w²  →  ∂f/∂w = 2xw  →  ∂/∂x Σ 2xw = 2w
      const w0 = nb.tensor([1.5, -2], { dtype: 'f64' });
      const x0 = nb.tensor([3, 4], { dtype: 'f64' });
      const outer = nb.grad((x: nb.Tensor) => nb.sum(nb.grad((w: nb.Tensor) => nb.sum(nb.mul(x, nb.mul(w, w))))(w0) as nb.Tensor));
      expect((outer(x0) as nb.Tensor).toArray()).toEqual([3, -4]);
    });
  });
});
