/**
 * Fixed-step explicit Runge–Kutta methods on a given time grid:
 * - Euler's method (order 1): y₁ = y₀ + h·f(t₀, y₀);
 * - Heun's method, the explicit trapezoidal rule (order 2):
 *   k₁ = f(t₀, y₀), k₂ = f(t₀ + h, y₀ + h·k₁), y₁ = y₀ + h/2·(k₁ + k₂);
 * - the classical fourth-order Runge–Kutta method (order 4):
 *   k₁ = f(t₀, y₀), k₂ = f(t₀ + h/2, y₀ + h/2·k₁), k₃ = f(t₀ + h/2, y₀ + h/2·k₂),
 *   k₄ = f(t₀ + h, y₀ + h·k₃), y₁ = y₀ + h/6·(k₁ + 2k₂ + 2k₃ + k₄).
 * (Hairer, Nørsett & Wanner, "Solving Ordinary Differential Equations I",
 * §II.1, Tables 1.1–1.2.) Grids may run backwards in time (h < 0) and need
 * not be uniform (diffusion samplers use σ-schedules such as Karras's ρ-grid).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { axpy, disposeAll, evalRhs, type OdeFunc } from './state.js';

export type FixedMethod = 'euler' | 'heun' | 'rk4';

/** Function evaluations per step of each fixed method. */
export const STAGES: Readonly<Record<FixedMethod, number>> = { euler: 1, heun: 2, rk4: 4 };

/** One Euler step from (t, y) by h. */
export function eulerStep(f: OdeFunc, t: number, y: readonly Tensor[], h: number): Tensor[] {
  return tidy(() => axpy(y, [h], [evalRhs(f, t, y, 'eulerStep')]));
}

/** One Heun (explicit trapezoidal) step from (t, y) by h. */
export function heunStep(f: OdeFunc, t: number, y: readonly Tensor[], h: number): Tensor[] {
  return tidy(() => {
    const k1 = evalRhs(f, t, y, 'heunStep');
    const k2 = evalRhs(f, t + h, axpy(y, [h], [k1]), 'heunStep');
    return axpy(y, [h / 2, h / 2], [k1, k2]);
  });
}

/** One classical RK4 step from (t, y) by h. */
export function rk4Step(f: OdeFunc, t: number, y: readonly Tensor[], h: number): Tensor[] {
  return tidy(() => {
    const k1 = evalRhs(f, t, y, 'rk4Step');
    const k2 = evalRhs(f, t + h / 2, axpy(y, [h / 2], [k1]), 'rk4Step');
    const k3 = evalRhs(f, t + h / 2, axpy(y, [h / 2], [k2]), 'rk4Step');
    const k4 = evalRhs(f, t + h, axpy(y, [h], [k3]), 'rk4Step');
    return axpy(y, [h / 6, h / 3, h / 3, h / 6], [k1, k2, k3, k4]);
  });
}

const STEPPERS: Readonly<Record<FixedMethod, typeof eulerStep>> = { euler: eulerStep, heun: heunStep, rk4: rk4Step };

/** A uniform grid of `steps` steps from t0 to t1 (steps + 1 points, both ends exact). */
export function uniformGrid(t0: number, t1: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`uniformGrid: steps must be a positive integer, got ${steps}`);
  return Array.from({ length: steps + 1 }, (_, i) => (i === steps ? t1 : t0 + ((t1 - t0) * i) / steps));
}

export interface OdeSolution {
  /** the state at the final time (owned by the caller) */
  y: Tensor[];
  /** evaluations of f */
  nfe: number;
  /** accepted steps */
  steps: number;
  /** rejected steps (adaptive methods) */
  rejected: number;
  /** the times of the accepted steps, starting with t0 */
  ts: number[];
  /** the state at each time of `ts` (only with `trajectory: true`; element 0 is a copy of y0) */
  ys?: Tensor[][];
}

export interface FixedOptions {
  /** called after each step with the new time and state (do not keep or dispose the tensors) */
  callback?: (t: number, y: readonly Tensor[]) => void;
  /** keep the state at every grid point in `ys` */
  trajectory?: boolean;
}

/** Integrate over a grid t₀, t₁, …, t_N with a fixed-step method; y0 is not modified or freed. */
export function integrateFixed(f: OdeFunc, y0: readonly Tensor[], grid: readonly number[], method: FixedMethod, opts: FixedOptions = {}): OdeSolution {
  const step = STEPPERS[method];
  if (!step) throw new Error(`integrateFixed: unknown method '${String(method)}' (euler, heun, rk4)`);
  if (grid.length < 2) throw new Error(`integrateFixed: the grid needs at least 2 times, got ${grid.length}`);
  grid.forEach((t, i) => {
    if (!Number.isFinite(t)) throw new Error(`integrateFixed: grid[${i}] is ${t}; times must be finite`);
  });
  const ys: Tensor[][] | undefined = opts.trajectory ? [axpy(y0, [], [])] : undefined;
  let y: Tensor[] = y0.slice();
  let owned = false;
  for (let i = 0; i + 1 < grid.length; i++) {
    const next = step(f, grid[i]!, y, grid[i + 1]! - grid[i]!);
    if (owned && !ys) disposeAll(y);
    y = next;
    owned = true;
    ys?.push(y);
    opts.callback?.(grid[i + 1]!, y);
  }
  // with a trajectory, the last entry is the result itself: hand back a copy so both can be disposed
  const out = ys ? axpy(y, [], []) : y;
  const sol: OdeSolution = { y: out, nfe: (grid.length - 1) * STAGES[method], steps: grid.length - 1, rejected: 0, ts: grid.slice() };
  if (ys) sol.ys = ys;
  return sol;
}
