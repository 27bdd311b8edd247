/**
 * ODE solvers over tensor states, shared by the diffusion samplers and
 * likelihoods (probability-flow ODE) and by continuous normalising flows.
 *
 *   const sol = odeint((t, [x, logp]) => [v(x, t), div(x, t)], [x0, zeros], 0, 1, { method: 'dopri5', rtol: 1e-5 });
 *   sol.y      // [x1, logp1]
 *   sol.nfe    // function evaluations
 *
 * The state is a list of tensors that move together; `f(t, y)` returns one
 * derivative per tensor. Fixed-step methods ('euler', 'heun', 'rk4') take
 * `steps` (a uniform grid) or an explicit `grid`; 'dopri5' adapts its steps
 * to `rtol`/`atol`. Time may run backwards (t1 < t0).
 */
import type { Tensor } from '../../core/tensor.js';
import { integrateFixed, uniformGrid, type FixedMethod, type OdeSolution } from './fixed.js';
import { dopri5, type Dopri5Options } from './dopri5.js';
import type { OdeFunc } from './state.js';

export { eulerStep, heunStep, rk4Step, integrateFixed, uniformGrid, STAGES, type FixedMethod, type FixedOptions, type OdeSolution } from './fixed.js';
export { dopri5, dopri5Step, type Dopri5Options, type Dopri5Step } from './dopri5.js';
export { axpy, errorNorm, type OdeFunc } from './state.js';

export type OdeMethod = FixedMethod | 'dopri5';

export interface OdeintOptions extends Dopri5Options {
  /** 'euler' | 'heun' | 'rk4' | 'dopri5' (default 'dopri5') */
  method?: OdeMethod;
  /** fixed-step methods: number of uniform steps from t0 to t1 */
  steps?: number;
  /** fixed-step methods: the time grid, from t0 to t1 (overrides steps) */
  grid?: readonly number[];
}

/** Solve y' = f(t, y), y(t0) = y0, up to t1. y0 is neither modified nor freed; the result's tensors belong to the caller. */
export function odeint(f: OdeFunc, y0: readonly Tensor[], t0: number, t1: number, opts: OdeintOptions = {}): OdeSolution {
  if (!Array.isArray(y0) || y0.length === 0) throw new Error('odeint: y0 must be a non-empty array of tensors');
  const method = opts.method ?? 'dopri5';
  if (method === 'dopri5') return dopri5(f, y0, t0, t1, opts);
  if (method !== 'euler' && method !== 'heun' && method !== 'rk4') throw new Error(`odeint: unknown method '${String(method)}' (euler, heun, rk4, dopri5)`);
  let grid = opts.grid;
  if (grid) {
    if (grid[0] !== t0 || grid[grid.length - 1] !== t1) throw new Error(`odeint: the grid must run from t0 = ${t0} to t1 = ${t1}, got ${grid[0]} … ${grid[grid.length - 1]}`);
  } else {
    if (opts.steps === undefined) throw new Error(`odeint: method '${method}' needs steps or grid`);
    grid = uniformGrid(t0, t1, opts.steps);
  }
  return integrateFixed(f, y0, grid, method, opts);
}

/** odeint for a single tensor state: f(t, y) → dy/dt. */
export function odeintTensor(f: (t: number, y: Tensor) => Tensor, y0: Tensor, t0: number, t1: number, opts: OdeintOptions = {}): Omit<OdeSolution, 'y' | 'ys'> & { y: Tensor; ys?: Tensor[] } {
  const sol = odeint((t, y) => [f(t, y[0]!)], [y0], t0, t1, opts);
  const out: Omit<OdeSolution, 'y' | 'ys'> & { y: Tensor; ys?: Tensor[] } = { y: sol.y[0]!, nfe: sol.nfe, steps: sol.steps, rejected: sol.rejected, ts: sol.ts };
  if (sol.ys) out.ys = sol.ys.map((s) => s[0]!);
  return out;
}
