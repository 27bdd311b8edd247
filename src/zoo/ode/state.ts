/**
 * The state an ODE solver carries: a list of tensors that move together (a
 * sample and its log-density for a continuous normalising flow, or just one
 * tensor). The helpers here are the few vector-space operations a Runge–Kutta
 * method needs, applied tensor by tensor, plus the mixed absolute/relative
 * error norm of Hairer, Nørsett & Wanner ("Solving Ordinary Differential
 * Equations I", §II.4, eq. 4.11) used for step-size control.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, mul } from '../../ops/elementwise.js';

/** The right-hand side dy/dt = f(t, y): returns one derivative per state tensor, same shapes. */
export type OdeFunc = (t: number, y: readonly Tensor[]) => Tensor[];

/** y + Σⱼ cⱼ·kⱼ, tensor by tensor (coefficients that are 0 are skipped). */
export function axpy(y: readonly Tensor[], coefs: readonly number[], ks: readonly (readonly Tensor[])[]): Tensor[] {
  return tidy(() =>
    y.map((yi, i) => {
      let acc = yi;
      coefs.forEach((c, j) => {
        if (c !== 0) acc = add(acc, mul(ks[j]![i]!, c));
      });
      // always a fresh tensor, so the caller may dispose the result independently of y
      return acc === yi ? mul(yi, 1) : acc;
    }),
  );
}

/** Call f and check that it returned one tensor per state tensor with matching shapes. */
export function evalRhs(f: OdeFunc, t: number, y: readonly Tensor[], solver: string): Tensor[] {
  const k = f(t, y);
  if (!Array.isArray(k) || k.length !== y.length) {
    throw new Error(`${solver}: the ODE function returned ${Array.isArray(k) ? `${k.length} tensors` : typeof k} for a state of ${y.length} tensors`);
  }
  k.forEach((ki, i) => {
    const yi = y[i]!;
    if (ki.shape.length !== yi.shape.length || ki.shape.some((d, a) => d !== yi.shape[a])) {
      throw new Error(`${solver}: derivative ${i} is [${ki.shape.join(',')}] but state ${i} is [${yi.shape.join(',')}]`);
    }
  });
  return k;
}

/**
 * The weighted RMS norm √(mean over all components of (eᵢ / (atol + rtol·max(|y₀ᵢ|, |y₁ᵢ|)))²),
 * over every tensor of the state at once. A value ≤ 1 means the step meets the tolerance.
 */
export function errorNorm(err: readonly Tensor[], y0: readonly Tensor[], y1: readonly Tensor[], rtol: number, atol: number): number {
  let sum = 0;
  let n = 0;
  err.forEach((e, i) => {
    const ev = e.toF64();
    const a = y0[i]!.toF64();
    const b = y1[i]!.toF64();
    for (let j = 0; j < ev.length; j++) {
      const scale = atol + rtol * Math.max(Math.abs(a[j]!), Math.abs(b[j]!));
      const r = ev[j]! / scale;
      sum += r * r;
    }
    n += ev.length;
  });
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** RMS norm of a state (for the initial step-size heuristic). */
export function rmsNorm(y: readonly Tensor[], scaleOf: (i: number, j: number) => number): number {
  let sum = 0;
  let n = 0;
  y.forEach((t, i) => {
    const v = t.toF64();
    for (let j = 0; j < v.length; j++) {
      const r = v[j]! / scaleOf(i, j);
      sum += r * r;
    }
    n += v.length;
  });
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

export function disposeAll(ts: readonly Tensor[] | null | undefined): void {
  if (ts) for (const t of ts) t.dispose();
}
