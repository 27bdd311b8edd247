/**
 * Adaptive Runge–Kutta 5(4) of Dormand and Prince (J. R. Dormand, P. J.
 * Prince, "A family of embedded Runge–Kutta formulae", J. Comp. Appl. Math.
 * 6, 1980), the "RK45" of the score-SDE likelihoods (Song et al., arXiv
 * 2011.13456) and of FFJORD (arXiv 1810.01367). Seven stages; the last is
 * evaluated at the new point, so it is the first stage of the next step
 * (FSAL): an accepted step costs six new evaluations. The fifth-order
 * solution is propagated (local extrapolation) and the difference to the
 * embedded fourth-order one estimates the error.
 *
 * Step-size control (Hairer, Nørsett & Wanner I, §II.4): err is the weighted
 * RMS norm with scale atol + rtol·max(|y₀|, |y₁|); a step is accepted when
 * err ≤ 1, and the next step is h·min(facMax, max(facMin, safety·err^(−1/5))).
 * The first step comes from Hairer's heuristic (algorithm of §II.4, p. 169),
 * one extra evaluation, unless `h0` is given.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { mul } from '../../ops/elementwise.js';
import { axpy, disposeAll, errorNorm, evalRhs, rmsNorm, type OdeFunc } from './state.js';
import type { OdeSolution } from './fixed.js';

// Butcher tableau (Dormand & Prince 1980, Table 2, "RK5(4)7M")
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
/** fifth-order weights (= the last row of A: FSAL) */
const B5 = A[6]!.concat([0]);
/** fourth-order embedded weights */
const B4 = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40];
/** B5 − B4: the error estimator's weights */
const E = B5.map((b, i) => b - B4[i]!);

export interface Dopri5Step {
  /** the fifth-order solution at t + h */
  y: Tensor[];
  /** the error estimate y₅ − y₄ */
  err: Tensor[];
  /** f(t + h, y): the first stage of the next step */
  kLast: Tensor[];
}

/** One Dormand–Prince step from (t, y) by h, given k1 = f(t, y). Six evaluations. */
export function dopri5Step(f: OdeFunc, t: number, y: readonly Tensor[], h: number, k1: readonly Tensor[]): Dopri5Step {
  return tidy(() => {
    const ks: (readonly Tensor[])[] = [k1];
    for (let s = 1; s < 7; s++) {
      const ys = axpy(
        y,
        A[s]!.map((a) => h * a),
        ks,
      );
      ks.push(evalRhs(f, t + C[s]! * h, ys, 'dopri5'));
    }
    const y5 = axpy(
      y,
      B5.map((b) => h * b),
      ks,
    );
    const err = axpy(
      y.map((yi) => mul(yi, 0)),
      E.map((e) => h * e),
      ks,
    );
    return { y: y5, err, kLast: ks[6]!.slice() };
  });
}

export interface Dopri5Options {
  /** relative tolerance (default 1e-5) */
  rtol?: number;
  /** absolute tolerance (default 1e-5) */
  atol?: number;
  /** first step size (default: Hairer's heuristic) */
  h0?: number;
  /** largest |h| (default |t1 − t0|) */
  hMax?: number;
  /** give up after this many steps, accepted or rejected (default 10000) */
  maxSteps?: number;
  /** safety factor and bounds on the step-size ratio (defaults 0.9, 0.2, 10) */
  safety?: number;
  facMin?: number;
  facMax?: number;
  /** called after each accepted step (do not keep or dispose the tensors) */
  callback?: (t: number, y: readonly Tensor[]) => void;
  /** keep the state after every accepted step in `ys` */
  trajectory?: boolean;
}

function positive(name: string, v: number): number {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new Error(`dopri5: ${name} must be a positive finite number, got ${v}`);
  return v;
}

/** Hairer's starting step: h = min(100·h₀, (0.01/max(d₁, d₂))^(1/5)) with h₀ = 0.01·‖y₀‖/‖f₀‖. */
function initialStep(f: OdeFunc, t0: number, y0: readonly Tensor[], k1: readonly Tensor[], dir: number, rtol: number, atol: number, span: number): number {
  return tidy(() => {
    const y0v = y0.map((t) => t.toF64());
    const sc = (i: number, j: number): number => atol + rtol * Math.abs(y0v[i]![j]!);
    const d0 = rmsNorm(y0, sc);
    const d1 = rmsNorm(k1, sc);
    // the trial step stays inside the interval (f may not be defined beyond it)
    const h0 = Math.min(span, d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1);
    const y1 = axpy(y0, [dir * h0], [k1]);
    const k2 = evalRhs(f, t0 + dir * h0, y1, 'dopri5');
    const diff = axpy(k2, [-1], [k1]);
    const d2 = rmsNorm(diff, sc) / h0;
    const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
    const h = Math.min(100 * h0, h1, span);
    return Number.isFinite(h) && h > 0 ? h : span / 100;
  });
}

/** Integrate y' = f(t, y) from t0 to t1 (either direction) with adaptive steps; y0 is not modified or freed. */
export function dopri5(f: OdeFunc, y0: readonly Tensor[], t0: number, t1: number, opts: Dopri5Options = {}): OdeSolution {
  const rtol = positive('rtol', opts.rtol ?? 1e-5);
  const atol = positive('atol', opts.atol ?? 1e-5);
  const safety = opts.safety ?? 0.9;
  const facMin = opts.facMin ?? 0.2;
  const facMax = opts.facMax ?? 10;
  const maxSteps = opts.maxSteps ?? 10000;
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) throw new Error(`dopri5: t0 and t1 must be finite, got ${t0} and ${t1}`);
  const span = Math.abs(t1 - t0);
  const hMax = positive('hMax', opts.hMax ?? (span > 0 ? span : 1));
  const dir = t1 >= t0 ? 1 : -1;
  const ts = [t0];
  const ys: Tensor[][] | undefined = opts.trajectory ? [axpy(y0, [], [])] : undefined;
  if (span === 0) return { y: axpy(y0, [], []), nfe: 0, steps: 0, rejected: 0, ts, ...(ys ? { ys } : {}) };

  let nfe = 1;
  let k1 = tidy(() => evalRhs(f, t0, y0, 'dopri5'));
  let h: number;
  if (opts.h0 !== undefined) h = Math.abs(positive('h0', opts.h0));
  else {
    h = initialStep(f, t0, y0, k1, dir, rtol, atol, span);
    nfe += 1;
  }
  let t = t0;
  let y: Tensor[] = y0.slice();
  let owned = false;
  let steps = 0;
  let rejected = 0;
  try {
    while (dir * (t1 - t) > 0) {
      if (steps + rejected >= maxSteps) throw new Error(`dopri5: gave up after ${maxSteps} steps at t = ${t} (from ${t0} to ${t1}); loosen rtol/atol or raise maxSteps`);
      h = Math.min(h, hMax);
      // land exactly on t1, and do not leave a sliver of a last step
      const last = h >= Math.abs(t1 - t) * (1 - 1e-12);
      const hs = last ? t1 - t : dir * h;
      const st = dopri5Step(f, t, y, hs, k1);
      nfe += 6;
      const err = errorNorm(st.err, y, st.y, rtol, atol);
      disposeAll(st.err);
      // a step at the resolution limit of t is taken whatever its error, so the loop always ends
      const tiny = Math.abs(hs) <= 1e-14 * Math.max(1, Math.abs(t));
      if (Number.isFinite(err) && (err <= 1 || tiny)) {
        if (owned && !ys) disposeAll(y);
        disposeAll(k1);
        y = st.y;
        owned = true;
        k1 = st.kLast;
        t = last ? t1 : t + hs;
        steps++;
        ts.push(t);
        ys?.push(y);
        opts.callback?.(t, y);
        const fac = err === 0 ? facMax : Math.min(facMax, Math.max(facMin, safety * err ** -0.2));
        h = Math.abs(hs) * fac;
      } else {
        if (!Number.isFinite(err)) throw new Error(`dopri5: the error estimate is ${err} at t = ${t} (h = ${hs}); the ODE function returned non-finite values`);
        disposeAll(st.y);
        disposeAll(st.kLast);
        rejected++;
        h = Math.abs(hs) * Math.max(facMin, safety * err ** -0.2);
      }
    }
  } finally {
    disposeAll(k1);
  }
  const out = ys || !owned ? axpy(y, [], []) : y;
  const sol: OdeSolution = { y: out, nfe, steps, rejected, ts };
  if (ys) sol.ys = ys;
  return sol;
}
