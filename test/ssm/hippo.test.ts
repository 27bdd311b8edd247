/**
 * HiPPO: the LegS, LegT and LagT matrices equal their closed forms; their
 * ODEs hold exactly for the true projection coefficients of polynomial
 * signals (computed by quadrature, differentiated by finite differences);
 * zero-order hold is exact for a held input and Euler / bilinear converge at
 * orders 1 and 2; the online memory of a sum of sines reconstructs it with an
 * error that falls monotonically as N grows (numbers in docs/ssm.md).
 */
import { describe, expect, it } from 'vitest';
import { hippo, discretize, hippoBasis, legendre, type HippoMeasure } from '../../src/zoo/ssm/hippo.js';
import { HippoMemory } from '../../src/zoo/ssm/hippoMemory.js';
import { expm, matvec, solveN, axpby, eye } from '../../src/zoo/ssm/matrixF64.js';
import { relErr } from './helpers.js';

const s = Math.sqrt;

describe('HiPPO matrices', () => {
  it('LegS equals the closed form A_nk = √(2n+1)√(2k+1) (n > k), n+1 (n = k), 0 (n < k); B_n = √(2n+1)', () => {
    const { A, B } = hippo('legs', 4);
    const want = [
      [1, 0, 0, 0],
      [s(3), 2, 0, 0],
      [s(5), s(15), 3, 0],
      [s(7), s(21), s(35), 4],
    ].flat();
    expect(relErr(A, want)).toBeLessThan(1e-15);
    expect(relErr(B, [1, s(3), s(5), s(7)])).toBeLessThan(1e-15);
  });

  it('LegT (window θ) and LagT (timescale θ) equal their closed forms', () => {
    const lt = hippo('legt', 3, 2);
    const want = [
      [1, -s(3), s(5)],
      [s(3), 3, -s(15)],
      [s(5), s(15), 5],
    ].flat().map((v) => v / 2);
    expect(relErr(lt.A, want)).toBeLessThan(1e-15);
    expect(relErr(lt.B, [1 / 2, s(3) / 2, s(5) / 2])).toBeLessThan(1e-15);
    const lg = hippo('lagt', 3, 0.5);
    expect([...lg.A]).toEqual([2, 0, 0, 2, 2, 0, 2, 2, 2]);
    expect([...lg.B]).toEqual([2, 2, 2]);
  });
});

/** Gauss–Legendre nodes and weights on [−1, 1] (Newton on P_n). */
function gaussLegendre(n: number): [number[], number[]] {
  const xs: number[] = [];
  const ws: number[] = [];
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let it = 0; it < 100; it++) {
      const p = legendre(n + 1, x);
      const dp = (n * (x * p[n]! - p[n - 1]!)) / (x * x - 1);
      const dx = p[n]! / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const p = legendre(n + 1, x);
    const dp = (n * (x * p[n]! - p[n - 1]!)) / (x * x - 1);
    xs.push(x);
    ws.push(2 / ((1 - x * x) * dp * dp));
  }
  return [xs, ws];
}

describe('HiPPO dynamics are exact for polynomial signals', () => {
  const [gx, gw] = gaussLegendre(40);
  const f = (x: number): number => 0.3 - 1.2 * x + 0.7 * x * x - 0.25 * x ** 3;
  /** the true coefficients c_n(t) = ∫ f g_n dμ⁽ᵗ⁾ (f = 0 before time 0) */
  const coefficients = (measure: HippoMeasure, N: number, t: number, theta: number): Float64Array => {
    const [lo, hi] = measure === 'legs' ? [0, t] : measure === 'legt' ? [t - theta, t] : [0, t];
    const c = new Float64Array(N);
    gx.forEach((z, i) => {
      const x = lo + ((z + 1) / 2) * (hi - lo);
      const density = measure === 'lagt' ? Math.exp(-(t - x) / theta) / theta : 1 / (hi - lo);
      const w = ((hi - lo) / 2) * gw[i]! * density * f(x);
      hippoBasis(measure, N, t, x, theta).forEach((g, n) => (c[n] += w * g));
    });
    return c;
  };
  it.each([
    ['legs', 1],
    ['legt', 0.7],
    ['lagt', 0.4],
  ] as const)('%s: dc/dt from finite differences equals the ODE', (measure, theta) => {
    const N = 6;
    const t = 2.3;
    const h = 1e-4;
    const { A, B } = hippo(measure, N, theta);
    const c = coefficients(measure, N, t, theta);
    const fd = coefficients(measure, N, t + h, theta).map((v, n) => (v - coefficients(measure, N, t - h, theta)[n]!) / (2 * h));
    const Ac = matvec(A, c, N);
    const scale = measure === 'legs' ? 1 / t : 1;
    const ode = Ac.map((v, n) => scale * (-v + B[n]! * f(t)));
    expect(relErr(fd, ode)).toBeLessThan(1e-7);
  });
});

describe('discretisations', () => {
  // ċ = −Ac + B·1 from c(0) = 0: c(T) = A⁻¹(I − e^{−AT})B
  const N = 6;
  const { A, B } = hippo('legt', N, 1);
  const T = 1;
  const exact = solveN(A, matvec(axpby(1, eye(N), -1, expm(axpby(-T, A, 0, A), N)), B, N), N, 1);
  const run = (method: 'forward' | 'backward' | 'bilinear' | 'zoh', steps: number): number => {
    const d = discretize(A, B, N, T / steps, method);
    let c = new Float64Array(N);
    for (let k = 0; k < steps; k++) c = matvec(d.Ad, c, N).map((v, n) => v + d.Bd[n]!);
    return relErr(c, exact);
  };
  it('zero-order hold is exact for a held input', () => {
    expect(run('zoh', 50)).toBeLessThan(1e-12);
  });
  it('forward and backward Euler converge at order 1, bilinear at order 2', () => {
    for (const m of ['forward', 'backward'] as const) {
      const r = run(m, 400) / run(m, 800);
      expect(r, m).toBeGreaterThan(1.8);
      expect(r, m).toBeLessThan(2.2);
    }
    const r = run('bilinear', 400) / run('bilinear', 800);
    expect(r).toBeGreaterThan(3.6);
    expect(r).toBeLessThan(4.4);
  });
  it('expm matches closed forms (a rotation, a diagonal)', () => {
    const th = 2.5;
    expect(relErr(expm(Float64Array.from([0, -th, th, 0]), 2), [Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)])).toBeLessThan(1e-14);
    expect(relErr(expm(Float64Array.from([3, 0, 0, -7]), 2), [Math.exp(3), 0, 0, Math.exp(-7)])).toBeLessThan(1e-14);
  });
});

describe('HiPPO online memory of a sum of sines', () => {
  const f = (x: number): number => Math.sin(2 * Math.PI * 1.3 * x) + 0.5 * Math.sin(2 * Math.PI * 3.1 * x + 1) + 0.3 * Math.cos(2 * Math.PI * 5.7 * x);
  const L = 2000;
  const dt = 1 / L;
  const xs = Array.from({ length: L }, (_, k) => (k + 0.5) * dt);
  const samples = xs.map(f);
  /** relative error over what the measure covers (weighted by it for LagT) */
  const error = (measure: HippoMeasure, N: number, theta: number): number => {
    const m = new HippoMemory(measure, N, { dt, theta, method: 'bilinear' }).updateAll(samples);
    const pts = xs.filter((x) => measure === 'legs' || x >= 1 - (measure === 'legt' ? theta : 5 * theta));
    const r = m.reconstruct(pts);
    let num = 0;
    let den = 0;
    pts.forEach((x, i) => {
      const w = measure === 'lagt' ? Math.exp(-(1 - x) / theta) : 1;
      num += w * (r[i]! - f(x)) ** 2;
      den += w * f(x) ** 2;
    });
    return Math.sqrt(num / den);
  };
  const decreasing = (es: number[]): boolean => es.every((e, i) => i === 0 || e < es[i - 1]!);
  it('LegS (the whole history): error falls monotonically with N, to below 1e-4 at N = 32', () => {
    const es = [2, 4, 8, 16, 24, 32].map((N) => error('legs', N, 1));
    expect(decreasing(es), es.map((e) => e.toExponential(2)).join(' ')).toBe(true);
    expect(es[es.length - 1]).toBeLessThan(1e-4);
  });
  it('LegT (the last θ = 0.5) and LagT (timescale 0.1): error falls monotonically with N', () => {
    const et = [2, 4, 8, 12, 16].map((N) => error('legt', N, 0.5));
    expect(decreasing(et), et.map((e) => e.toExponential(2)).join(' ')).toBe(true);
    expect(et[et.length - 1]).toBeLessThan(1e-3);
    const el = [4, 8, 16, 32, 48].map((N) => error('lagt', N, 0.1));
    expect(decreasing(el), el.map((e) => e.toExponential(2)).join(' ')).toBe(true);
  });
  it('LegS with zero-order hold or Euler remembers as bilinear does at small N', () => {
    const base = new HippoMemory('legs', 8, { dt, method: 'bilinear' }).updateAll(samples).c;
    for (const method of ['zoh', 'forward', 'backward'] as const) {
      const c = new HippoMemory('legs', 8, { dt, method }).updateAll(samples.slice(0, 400)).c;
      const b = new HippoMemory('legs', 8, { dt, method: 'bilinear' }).updateAll(samples.slice(0, 400)).c;
      expect(relErr(c, b), method).toBeLessThan(5e-3);
    }
    expect(base.length).toBe(8);
  });
});
