import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { odeint, odeintTensor, uniformGrid, dopri5, type OdeFunc } from '../../src/zoo/ode/index.js';

const f64 = { dtype: 'f64' as const };

/** Harmonic oscillator (x, v)' = (v, −x): exact solution a rotation. */
const oscillator: OdeFunc = (_t, [x, v]) => [nb.mul(v!, 1), nb.neg(x!)];
function oscillatorExact(x0: number, v0: number, t: number): [number, number] {
  return [x0 * Math.cos(t) + v0 * Math.sin(t), -x0 * Math.sin(t) + v0 * Math.cos(t)];
}

/** Non-autonomous scalar: y' = −2t·y, y = y0·exp(−t²). */
const gaussianDecay = (t: number, y: Tensor): Tensor => nb.mul(y, -2 * t);

/** least-squares slope of log(err) against log(steps) */
function slope(steps: number[], errs: number[]): number {
  const xs = steps.map(Math.log);
  const ys = errs.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function oscillatorError(method: 'euler' | 'heun' | 'rk4', steps: number): number {
  return nb.tidy(() => {
    const x0 = nb.tensor([1, 0.5], f64);
    const v0 = nb.tensor([0, -0.3], f64);
    const sol = odeint(oscillator, [x0, v0], 0, 2, { method, steps });
    const xs = sol.y[0]!.toF64();
    const vs = sol.y[1]!.toF64();
    let e = 0;
    for (let i = 0; i < 2; i++) {
      const [xe, ve] = oscillatorExact(i === 0 ? 1 : 0.5, i === 0 ? 0 : -0.3, 2);
      e = Math.max(e, Math.abs(xs[i]! - xe), Math.abs(vs[i]! - ve));
    }
    expect(sol.nfe).toBe(steps * { euler: 1, heun: 2, rk4: 4 }[method]);
    return e;
  });
}

describe('fixed-step methods', () => {
  it.each([
    ['euler', 1],
    ['heun', 2],
    ['rk4', 4],
  ] as const)('%s converges with order %d (fitted slope of the global error)', (method, order) => {
    const steps = [20, 40, 80, 160];
    const errs = steps.map((n) => oscillatorError(method, n));
    const p = -slope(steps, errs);
    expect(p).toBeGreaterThan(order - 0.15);
    expect(p).toBeLessThan(order + 0.3);
  });

  it('runs backwards on a non-uniform grid and returns to the start', () => {
    nb.tidy(() => {
      const y0 = nb.tensor([1, -2, 3], f64);
      // steps growing like (i/30)^1.5
      const grid = Array.from({ length: 31 }, (_, i) => 1.5 * (i / 30) ** 1.5);
      const fwd = odeintTensor(gaussianDecay, y0, 0, 1.5, { method: 'rk4', grid });
      const exact = Math.exp(-(1.5 ** 2));
      fwd.y.toF64().forEach((v, i) => expect(v / ([1, -2, 3][i]! * exact)).toBeCloseTo(1, 3));
      const back = odeintTensor(gaussianDecay, fwd.y, 1.5, 0, { method: 'rk4', steps: 200 });
      back.y.toF64().forEach((v, i) => expect(v / [1, -2, 3][i]!).toBeCloseTo(1, 4));
    });
  });

  it('records the trajectory when asked, with t0 first', () => {
    nb.tidy(() => {
      const y0 = nb.tensor([2], f64);
      const sol = odeintTensor(gaussianDecay, y0, 0, 1, { method: 'euler', steps: 4, trajectory: true });
      expect(sol.ts).toEqual(uniformGrid(0, 1, 4));
      expect(sol.ys!.length).toBe(5);
      expect(sol.ys![0]!.item()).toBe(2);
      expect(sol.ys![4]!.item()).toBe(sol.y.item());
      // Euler by hand: y_{k+1} = y_k (1 − 2 t_k h)
      let y = 2;
      for (let k = 0; k < 4; k++) y *= 1 - 2 * (k / 4) * 0.25;
      expect(sol.y.item()).toBeCloseTo(y, 12);
    });
  });

  it('rejects bad grids and shapes with clear errors', () => {
    nb.tidy(() => {
      const y0 = nb.tensor([1], f64);
      expect(() => odeint(oscillator, [y0], 0, 1, { method: 'rk4' })).toThrow(/needs steps or grid/);
      expect(() => odeint(oscillator, [y0], 0, 1, { method: 'rk4', grid: [0, 0.5] })).toThrow(/must run from t0 = 0 to t1 = 1/);
      expect(() => odeint((_t, y) => [nb.concat([y[0]!, y[0]!])], [y0], 0, 1, { method: 'euler', steps: 1 })).toThrow(/derivative 0 is \[2\] but state 0 is \[1\]/);
      expect(() => odeint(oscillator, [y0], 0, 1, { method: 'rk3' as 'rk4', steps: 2 })).toThrow(/unknown method 'rk3'/);
    });
  });
});

describe('dopri5 (adaptive RK45)', () => {
  it('meets its tolerance, and tighter tolerances cost more evaluations for less error', () => {
    const run = (tol: number): { err: number; nfe: number; steps: number; rejected: number } =>
      nb.tidy(() => {
        const sol = odeint(oscillator, [nb.tensor([1], f64), nb.tensor([0], f64)], 0, 10, { rtol: tol, atol: tol });
        const [xe, ve] = oscillatorExact(1, 0, 10);
        const err = Math.max(Math.abs(sol.y[0]!.item() - xe), Math.abs(sol.y[1]!.item() - ve));
        // FSAL accounting: one evaluation to start, one for the initial step, six per step tried
        expect(sol.nfe).toBe(2 + 6 * (sol.steps + sol.rejected));
        expect(sol.ts[sol.ts.length - 1]).toBe(10);
        return { err, nfe: sol.nfe, steps: sol.steps, rejected: sol.rejected };
      });
    const loose = run(1e-4);
    const tight = run(1e-9);
    expect(loose.err).toBeLessThan(1e-2);
    expect(tight.err).toBeLessThan(1e-7);
    expect(tight.err).toBeLessThan(loose.err / 100);
    expect(tight.nfe).toBeGreaterThan(loose.nfe);
  });

  it('integrates backwards and handles a multi-tensor state', () => {
    nb.tidy(() => {
      // y' = −2ty together with ℓ' = y (so ℓ(t) = ∫ y): state [y, ℓ]
      const f: OdeFunc = (t, [y]) => [nb.mul(y!, -2 * t), nb.mul(y!, 1)];
      const sol = odeint(f, [nb.tensor([1], f64), nb.tensor([0], f64)], 2, 0, { rtol: 1e-9, atol: 1e-12 });
      const y2 = 1; // y(2) = 1 ⇒ y(t) = exp(4 − t²)
      expect(sol.y[0]!.item()).toBeCloseTo(y2 * Math.exp(4), 4);
      // ℓ(0) = −∫₀² exp(4 − t²) dt = −e⁴·(√π/2)·erf(2)
      const erf2 = 0.9953222650189527;
      expect(sol.y[1]!.item() / (-Math.exp(4) * (Math.sqrt(Math.PI) / 2) * erf2)).toBeCloseTo(1, 6);
    });
  });

  it('rejects steps on a sharp transient and still lands exactly on t1', () => {
    nb.tidy(() => {
      // stiff-ish: y' = −50(y − cos t), started far from the slow manifold
      const f: OdeFunc = (t, [y]) => [nb.mul(nb.sub(y!, Math.cos(t)), -50)];
      const sol = dopri5(f, [nb.tensor([5], f64)], 0, 1, { rtol: 1e-6, atol: 1e-9, h0: 0.5 });
      expect(sol.rejected).toBeGreaterThan(0);
      expect(sol.ts[sol.ts.length - 1]).toBe(1);
      // particular solution (2500 cos t + 50 sin t)/2501 plus a decayed transient
      const yp = (2500 * Math.cos(1) + 50 * Math.sin(1)) / 2501;
      expect(sol.y[0]!.item()).toBeCloseTo(yp + (5 - 2500 / 2501) * Math.exp(-50), 6);
    });
  });

  it('reports non-finite derivatives and runaway step counts', () => {
    nb.tidy(() => {
      const y0 = nb.tensor([1], f64);
      expect(() => dopri5((_t, [y]) => [nb.div(y!, 0)], [y0], 0, 1, { h0: 0.1 })).toThrow(/non-finite/);
      expect(() => dopri5(oscillator, [y0, y0], 0, 100, { rtol: 1e-12, atol: 1e-12, maxSteps: 5 })).toThrow(/gave up after 5 steps/);
      expect(() => dopri5(oscillator, [y0, y0], 0, 1, { rtol: -1 })).toThrow(/rtol must be a positive/);
    });
  });

  it('leaks no tensors and leaves y0 alive', () => {
    const x0 = nb.tensor([1, 2], f64);
    const v0 = nb.tensor([0, 1], f64);
    const before = nb.memory().liveTensors;
    for (const method of ['euler', 'heun', 'rk4', 'dopri5'] as const) {
      const sol = odeint(oscillator, [x0, v0], 0, 1, { method, steps: 5, trajectory: method === 'rk4' });
      sol.y.forEach((t) => t.dispose());
      sol.ys?.forEach((s) => s.forEach((t) => t.dispose()));
    }
    expect(nb.memory().liveTensors).toBe(before);
    expect(x0.toF64()).toEqual(new Float64Array([1, 2]));
    x0.dispose();
    v0.dispose();
  });
});
