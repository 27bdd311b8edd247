/**
 * SPEC §0, the foundations on a quadratic: forward mode agrees with reverse
 * mode on a nonlinear function, Hessian-vector products of
 * f(x) = ½xᵀAx + bᵀx + c equal A·v (grad of grad, and jvp of grad), and
 * minimising f with A symmetric positive definite (n = 20, float64):
 * gradient descent converges to x* = −A⁻¹b and conjugate gradients reach it
 * in at most n steps (Hestenes & Stiefel 1952; Nocedal & Wright, "Numerical
 * Optimization", Alg. 5.2), both written with nabla ops and gradients.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { mulberry32, randn } from '../helpers/rng.js';
import { expectClose } from '../helpers/check.js';

const f64 = { dtype: 'f64' as const };
const n = 20;
const rng = mulberry32(77);
const randVec = (len: number): Tensor => nb.tensor(Array.from({ length: len }, () => randn(rng)), [len], f64);

/** A random SPD matrix M·Mᵀ/n + I/2 (condition number around 10), kept alive for the whole file. */
const A = nb.keep(
  nb.tidy(() => {
    const M = nb.tensor(Array.from({ length: n * n }, () => randn(rng)), [n, n], f64);
    return nb.add(nb.div(nb.matmul(M, nb.transpose(M)), n), nb.mul(nb.eye(n, n, f64), 0.5));
  }),
);
const b = nb.keep(randVec(n));
const c = 1.5;

/** f(x) = ½xᵀAx + bᵀx + c */
const f = (x: Tensor): Tensor => nb.add(nb.add(nb.mul(nb.dot(x, nb.matmul(A, x)), 0.5), nb.dot(b, x)), c);
const gradF = nb.grad(f) as (x: Tensor) => Tensor;
const dotF = (u: Tensor, v: Tensor): number => nb.tidy(() => nb.dot(u, v).item());

describe('forward and reverse mode agree', () => {
  it('jvp(f, x, v) = ∇f(x)·v = (f(x+εv) − f(x−εv))/2ε on a nonlinear f', () => {
    nb.tidy(() => {
      // a nonlinear scalar function of a vector, through matmul, tanh, exp and log-det
      const g = (x: Tensor): Tensor => {
        const h = nb.tanh(nb.matmul(A, x));
        const S = nb.add(nb.outer(h, h), nb.eye(n, n, f64));
        return nb.add(nb.sum(nb.exp(nb.mul(x, h))), nb.slogdet(S).logabsdet);
      };
      const x = randVec(n);
      const v = randVec(n);
      const [, t] = nb.jvp(g, [x], [v]);
      const viaGrad = dotF(nb.grad(g)(x) as Tensor, v);
      expect(Math.abs(t.item() - viaGrad)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(viaGrad)));
      const eps = 1e-6;
      const fd = (g(nb.add(x, nb.mul(v, eps))).item() - g(nb.sub(x, nb.mul(v, eps))).item()) / (2 * eps);
      expect(Math.abs(t.item() - fd)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(fd)));
    });
  });
});

describe('Hessian-vector products of ½xᵀAx + bᵀx + c', () => {
  it('∇f(x) = Ax + b, and H·v = A·v by grad of grad and by jvp of grad (v = x gives Ax)', () => {
    nb.tidy(() => {
      const x = randVec(n);
      expectClose(gradF(x).toF64(), nb.add(nb.matmul(A, x), b).toF64(), 1e-12, '∇f = Ax + b');
      for (const v of [randVec(n), x]) {
        const Av = nb.matmul(A, v).toF64();
        const reverseOverReverse = nb.grad((y: Tensor) => nb.dot(gradF(y), v))(x) as Tensor;
        expectClose(reverseOverReverse.toF64(), Av, 1e-12, 'grad of ⟨∇f, v⟩ = Av');
        const [, forwardOverReverse] = nb.jvp(gradF, [x], [v]);
        expectClose(forwardOverReverse.toF64(), Av, 1e-12, 'jvp of ∇f along v = Av');
      }
    });
  });
});

describe('minimising the quadratic (n = 20, float64)', () => {
  const xStar = nb.keep(nb.neg(nb.solve(A, b))); // x* = −A⁻¹b

  it('conjugate gradients reaches x* = −A⁻¹b within n steps to 1e-10', () => {
    nb.tidy(() => {
      let x = nb.zeros([n], f64);
      let r = nb.neg(gradF(x)); // residual −∇f(x) = −(Ax + b)
      let p = r;
      let rr = dotF(r, r);
      let steps = 0;
      const r0 = Math.sqrt(rr);
      while (steps < n && Math.sqrt(rr) > 1e-14 * r0) {
        const Ap = nb.matmul(A, p);
        const alpha = rr / dotF(p, Ap);
        x = nb.add(x, nb.mul(p, alpha));
        r = nb.neg(gradF(x)); // recomputed from the gradient rather than updated, so it cannot drift
        const rrNext = dotF(r, r);
        p = nb.add(r, nb.mul(p, rrNext / rr));
        rr = rrNext;
        steps++;
      }
      expect(steps).toBeLessThanOrEqual(n);
      expectClose(x.toF64(), xStar.toF64(), 1e-10, 'CG iterate vs −solve(A, b)');
      expect(f(x).item()).toBeLessThanOrEqual(f(nb.add(x, nb.mul(randVec(n), 1e-3))).item());
    });
  });

  it('gradient descent with step 1/λmax decreases f monotonically and converges to x*', () => {
    nb.tidy(() => {
      const lam = nb.eigh(A).values.toF64();
      const eta = 1 / lam[n - 1]!;
      let x = nb.zeros([n], f64);
      let prev = f(x).item();
      for (let it = 0; it < 400; it++) {
        const next = nb.tidy(() => nb.sub(x, nb.mul(gradF(x), eta)));
        x.dispose();
        x = next;
        if (it % 20 === 0) {
          const fx = f(x).item();
          expect(fx).toBeLessThanOrEqual(prev + 1e-13 * Math.abs(prev)); // monotone up to rounding once converged
          prev = fx;
        }
      }
      // contraction (1 − λmin/λmax) per step: the error must be far below its start
      const bound = Math.pow(1 - lam[0]! / lam[n - 1]!, 400) * Math.sqrt(dotF(xStar, xStar));
      const err = Math.sqrt(dotF(nb.sub(x, xStar), nb.sub(x, xStar)));
      expect(err).toBeLessThanOrEqual(bound * (1 + 1e-6) + 1e-12);
      expect(err).toBeLessThan(1e-8);
    });
  });
});
