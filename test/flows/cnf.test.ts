/**
 * Continuous normalising flows (FFJORD, arXiv 1810.01367): the exact NLL of a
 * Gaussian pushed through a linear field matches its closed form; the exact
 * divergence is the trace of the autodiff Jacobian; Hutchinson's estimator is
 * unbiased (Gaussian and Rademacher probes, with their known variances), also
 * through a whole solve; sampling inverts scoring.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { CNF, ODENet, exactDivergence, hutchinsonDivergence, hutchinsonProbe } from '../../src/zoo/flows/index.js';
import { f64, jacobian, k, relErr } from './helpers.js';

/** f(z, t) = A·z, a linear field: z(1) = e^A z(0). */
class LinearField extends nn.Module {
  A: Tensor;
  constructor(a: number[][]) {
    super();
    this.A = nn.param(nb.tensor(a, f64));
  }
  forward(z: Tensor): Tensor {
    return nb.matmulT(z, this.A, false, true);
  }
}

/** e^{sA} by a long Taylor series (2×2, small norm: plenty). */
function expm(a: number[][], s: number): number[][] {
  const n = a.length;
  let R: number[][] = a.map((r, i) => r.map((_, j) => (i === j ? 1 : 0)));
  let T: number[][] = R.map((r) => r.slice());
  for (let m = 1; m < 40; m++) {
    T = T.map((r, i) => r.map((_, j) => r.reduce((acc, _v, l) => acc + T[i]![l]! * a[l]![j]! * s, 0) / m));
    R = R.map((r, i) => r.map((v, j) => v + T[i]![j]!));
  }
  return R.slice(0, n);
}

describe('CNF log-likelihood', () => {
  it('a Gaussian through a linear field: log p(x) = log N(e^{−A}x; 0, I) − tr A (dopri5, 1e-8)', () => {
    const A = [
      [0.3, -0.5],
      [0.2, -0.1],
    ];
    const cnf = new CNF(2, new LinearField(A), { method: 'dopri5', rtol: 1e-9, atol: 1e-9 });
    nb.tidy(() => {
      const x = nb.normal(k(1), [5, 2], f64);
      const lp = cnf.logProb(x).toF64();
      const M = expm(A, -1);
      const xv = x.toF64();
      const want = [0, 1, 2, 3, 4].map((i) => {
        const z0 = M[0]![0]! * xv[2 * i]! + M[0]![1]! * xv[2 * i + 1]!;
        const z1 = M[1]![0]! * xv[2 * i]! + M[1]![1]! * xv[2 * i + 1]!;
        return -0.5 * (z0 * z0 + z1 * z1) - Math.log(2 * Math.PI) - (A[0]![0]! + A[1]![1]!);
      });
      expect(relErr(lp, want)).toBeLessThan(1e-8);
      // the closed form again, as the covariance e^A e^Aᵀ of the data
      const E = expm(A, 1);
      const S = nb.matmul(nb.tensor(E, f64), nb.transpose(nb.tensor(E, f64)));
      const { logabsdet } = nb.slogdet(S);
      const quad = nb.sum(nb.mul(x, nb.transpose(nb.solve(S, nb.transpose(x)))), 1);
      const wantCov = nb.sub(nb.mul(quad, -0.5), Math.log(2 * Math.PI) + 0.5 * logabsdet.item());
      expect(relErr(lp, wantCov)).toBeLessThan(1e-8);
    });
    nn.dispose(cnf);
  });

  it('scoring inverts sampling, and log p(x) = log N(z₀) − log|det ∂x/∂z₀| of the solved map (nonlinear field)', () => {
    const cnf = new CNF(2, new ODENet(2, [8], { key: k(2), dtype: 'f64' }), { method: 'dopri5', rtol: 1e-10, atol: 1e-10 });
    nb.tidy(() => {
      const z0 = nb.mul(nb.normal(k(3), [1, 2], f64), 1.5);
      const x = cnf.transform(z0);
      expect(relErr(x, z0)).toBeGreaterThan(0.05);
      const enc = cnf.encode(x);
      expect(relErr(enc.z0, z0)).toBeLessThan(1e-7);
      // the Jacobian of the base → data map, by forward mode through the solver's steps
      const { J } = jacobian((z) => cnf.transform(z), z0);
      const logDetJ = Math.log(Math.abs(J[0]! * J[3]! - J[1]! * J[2]!));
      const zv = z0.toF64();
      const want = -0.5 * (zv[0]! ** 2 + zv[1]! ** 2) - Math.log(2 * Math.PI) - logDetJ;
      expect(Math.abs(enc.logProb.item() - want)).toBeLessThan(1e-6);
    });
    nn.dispose(cnf);
  });
});

describe('divergence', () => {
  const net = new ODENet(3, [6], { key: k(4), dtype: 'f64' });
  const f = (x: Tensor): Tensor => net.forward(x, 0.3);

  it('the exact divergence is the trace of the autodiff Jacobian, and f(x) comes with it', () => {
    nb.tidy(() => {
      const x = nb.normal(k(5), [3, 3], f64);
      const [fx, div] = exactDivergence(f, x);
      expect(relErr(fx, f(x))).toBe(0);
      const d = div.toF64();
      for (let i = 0; i < 3; i++) {
        const { J } = jacobian(f, nb.slice(x, [{ start: i, stop: i + 1 }]));
        expect(Math.abs(d[i]! - (J[0]! + J[4]! + J[8]!))).toBeLessThan(1e-12);
      }
    });
  });

  it.each(['gaussian', 'rademacher'] as const)("Hutchinson with %s probes is unbiased, with the variance of its theory", (probe) => {
    nb.tidy(() => {
      const x = nb.normal(k(6), [1, 3], f64);
      const { J } = jacobian(f, x);
      const tr = J[0]! + J[4]! + J[8]!;
      // Var = 2‖sym J‖²_F (Gaussian), 2(‖sym J‖²_F − Σ Jᵢᵢ²) (Rademacher)
      let symF = 0;
      let diag = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) symF += ((J[i * 3 + j]! + J[j * 3 + i]!) / 2) ** 2;
      for (let i = 0; i < 3; i++) diag += J[i * 4]! ** 2;
      const variance = probe === 'gaussian' ? 2 * symF : 2 * (symF - diag);
      const N = 4000;
      const xs = nb.broadcastTo(x, [N, 3]);
      const eps = hutchinsonProbe(k(7), [N, 3], probe, 'f64');
      if (probe === 'rademacher') expect(eps.toF64().every((v) => v === 1 || v === -1)).toBe(true);
      const est = hutchinsonDivergence(f, xs, eps)[1].toF64();
      const mean = est.reduce((a, b) => a + b, 0) / N;
      const sampleVar = est.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
      // the mean is within 4 standard errors of the exact trace; the sample variance within 15% of the theory
      expect(Math.abs(mean - tr)).toBeLessThan(4 * Math.sqrt(variance / N));
      expect(Math.abs(sampleVar / variance - 1)).toBeLessThan(0.15);
    });
  });

  it('through a whole solve: the mean of Hutchinson log-likelihoods over probes is the exact-trace one', () => {
    const field = new ODENet(2, [8], { key: k(8), dtype: 'f64' });
    const exact = new CNF(2, field, { method: 'rk4', steps: 4 });
    const hutch = new CNF(2, field, { method: 'rk4', steps: 4, trace: 'hutchinson', probe: 'rademacher' });
    nb.tidy(() => {
      const x = nb.normal(k(9), [1, 2], f64);
      const want = exact.logProb(x).item();
      const N = 2000;
      const est = hutch.logProb(nb.broadcastTo(x, [N, 2]), k(10)).toF64();
      const mean = est.reduce((a, b) => a + b, 0) / N;
      const sd = Math.sqrt(est.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1));
      expect(sd).toBeGreaterThan(0);
      expect(Math.abs(mean - want)).toBeLessThan(4 * (sd / Math.sqrt(N)));
      expect(() => hutch.logProb(x)).toThrow(/needs a key for the probe/);
    });
    nn.dispose(exact);
  });
});
