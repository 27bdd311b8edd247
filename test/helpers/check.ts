/**
 * The op checker (after JAX's check_grads and tinygrad's helper_test_op).
 * For an op under test it checks, on fresh seeded random inputs:
 *  1. float64 values against an independent reference, when the case gives one;
 *  2. every lower dtype against the float64 result, with tolerances from one table;
 *  3. the same values from non-contiguous (strided) inputs;
 *  4. reverse-mode gradients against central finite differences in float64;
 *  5. forward-mode (jvp) against finite differences and against the VJP (⟨c, J v⟩ = ⟨Jᵀc, v⟩);
 *  6. optionally second order: the gradient of ⟨grad, w⟩ against finite differences of the gradient.
 */
import { expect } from 'vitest';
import * as nb from '../../src/index.js';
import { Tensor } from '../../src/core/tensor.js';
import type { DType } from '../../src/core/dtype.js';
import { sizeOf } from '../../src/core/shape.js';
import { mulberry32, randn } from './rng.js';

/** Relative-error tolerances by dtype: ‖a−b‖/‖b‖ (SPEC: 1e-5 in f32, 1e-10 in f64). */
export const TOL: Record<DType, number> = { f64: 1e-10, f32: 1e-5, f16: 2e-3, bf16: 1.6e-2, i32: 0, bool: 0 };
/** Finite-difference agreement (float64, central differences, ε = 1e-6). */
export const FD_TOL = 1e-6;

export interface InputSpec {
  shape: number[];
  /** values drawn uniformly from [lo, hi] (default [-2, 2]) */
  range?: [number, number];
  /** or a custom generator of the float64 values */
  gen?: (rng: () => number, n: number) => number[];
  dtype?: DType; // e.g. 'i32' index inputs, 'bool' masks (never differentiated, never cast)
  /** exclude from gradient checks (e.g. a matrix that must stay symmetric is handled by the op itself) */
  noGrad?: boolean;
}

export interface OpCase {
  /** the OPS name this case covers (several cases may cover one op) */
  op: string;
  /** a label for the test title */
  label?: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor | Tensor[];
  /** independent float64 reference: takes the inputs as flat arrays, returns flat outputs */
  ref?: (...xs: Float64Array[]) => ArrayLike<number> | ArrayLike<number>[];
  /** dtypes to compare against f64 (default ['f32']) */
  dtypes?: DType[];
  /** skip gradient checks (non-differentiable op) */
  noGrad?: boolean;
  /** check second-order derivatives too */
  secondOrder?: boolean;
  /** scale of a case-specific tolerance multiplier for lower dtypes (ill-conditioned ops) */
  tolScale?: number;
  /** finite-difference tolerance override */
  fdTol?: number;
  seed?: number;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      expect(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: ${a} vs ${e}`).toBe(true);
    }
  }
  const fa = Array.from(actual).map((v, i) => (Number.isFinite(expected[i]!) ? v : 0));
  const fe = Array.from(expected).map((v) => (Number.isFinite(v) ? v : 0));
  const err = relErr(fa, fe);
  expect(err, `${what}: relative error ${err.toExponential(2)} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** A tensor whose values sit at every other element of a larger storage (strides doubled): not contiguous. */
export function strided(values: ArrayLike<number>, shape: number[], dtype: DType): Tensor {
  const backend = nb.cpu();
  const n = sizeOf(shape);
  const s = backend.alloc(dtype, 2 * n + 1);
  const spread = new Float64Array(2 * n + 1);
  for (let i = 0; i < n; i++) spread[1 + 2 * i] = values[i]!;
  backend.write(s, spread);
  const st: number[] = [];
  let acc = 2;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return new Tensor({ storage: s, shape, dtype, strides: st, offset: 1 });
}

function genValues(spec: InputSpec, rng: () => number): number[] {
  const n = sizeOf(spec.shape);
  if (spec.gen) return spec.gen(rng, n);
  const [lo, hi] = spec.range ?? [-2, 2];
  if (spec.dtype === 'bool') return Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
  if (spec.dtype === 'i32') return Array.from({ length: n }, () => Math.floor(lo + (hi - lo) * rng()));
  return Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

function outs(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** Σ_k ⟨c_k, f_k(xs)⟩ in float64: the scalar whose gradient the checks compare. */
function contract(fn: OpCase['fn'], xs: Tensor[], cs: Tensor[]): Tensor {
  const ys = outs(fn(...xs));
  let acc: Tensor | null = null;
  ys.forEach((y, k) => {
    if (!nb.OPS || y.dtype === 'bool' || y.dtype === 'i32') return;
    const term = nb.sum(nb.mul(y, cs[k]!));
    acc = acc ? nb.add(acc, term) : term;
  });
  return acc ?? nb.scalar(0, { dtype: 'f64' });
}

export function checkOp(c: OpCase): void {
  const rng = mulberry32(c.seed ?? 1234);
  const vals = c.inputs.map((s) => genValues(s, rng));
  const dt = (s: InputSpec, d: DType): DType => s.dtype ?? d;
  const build = (d: DType): Tensor[] => c.inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: dt(s, d) }));

  nb.tidy(() => {
    // 1. float64 values (and the independent reference)
    const x64 = build('f64');
    const y64 = outs(c.fn(...x64)).map((y) => y.toF64());
    if (c.ref) {
      const r = c.ref(...x64.map((x) => x.toF64()));
      const refs = (Array.isArray(r) && typeof r[0] !== 'number' ? r : [r]) as ArrayLike<number>[];
      refs.forEach((e, k) => expectClose(y64[k]!, e, TOL.f64, `${c.op} f64 vs reference, output ${k}`));
    }
    // 2. lower dtypes against f64 (inputs rounded first, so only the op's own error is measured)
    for (const d of c.dtypes ?? ['f32']) {
      const xd = build(d);
      const xr = xd.map((x, i) => (c.inputs[i]!.dtype ? x : nb.astype(x, 'f64')));
      const yr = outs(c.fn(...xr)).map((y) => y.toF64());
      const yd = outs(c.fn(...xd));
      yd.forEach((y, k) => {
        if (c.inputs.some((s) => !s.dtype) && y.dtype !== 'bool' && y.dtype !== 'i32') expect(y.dtype, `${c.op}: output dtype for ${d} inputs`).toBe(d);
        expectClose(y.toF64(), yr[k]!, Math.max(TOL[d] * (c.tolScale ?? 1), TOL.f64), `${c.op} ${d} vs f64, output ${k}`);
      });
    }
    // 3. non-contiguous inputs give the same values
    const xs = c.inputs.map((s, i) => strided(vals[i]!, s.shape, dt(s, 'f64')));
    outs(c.fn(...xs)).forEach((y, k) => expectClose(y.toF64(), y64[k]!, TOL.f64, `${c.op} strided inputs, output ${k}`));
  });

  if (c.noGrad) return;
  nb.tidy(() => checkDerivatives(c, vals, rng));
}

function checkDerivatives(c: OpCase, vals: number[][], rng: () => number): void {
  const eps = 1e-6;
  const tol = c.fdTol ?? FD_TOL;
  const diff = c.inputs.map((s) => !s.dtype && !s.noGrad);
  const mk = (v: ArrayLike<number>, i: number): Tensor => nb.tensor(Array.from(v), c.inputs[i]!.shape, { dtype: c.inputs[i]!.dtype ?? 'f64' });
  const x0 = vals.map((v, i) => mk(v, i));
  const y0 = outs(c.fn(...x0));
  const cts = y0.map((y) => nb.tensor(Array.from({ length: y.size }, () => randn(rng)), y.shape, { dtype: 'f64' }));
  const L = (xs: Tensor[]): number => contract(c.fn, xs, cts).item();

  // 4. reverse mode vs central differences
  const argnums = diff.map((d, i) => (d ? i : -1)).filter((i) => i >= 0);
  if (argnums.length === 0) return;
  const g = nb.grad((...xs: Tensor[]) => contract(c.fn, xs, cts), { argnums })(...x0) as Tensor[];
  argnums.forEach((i, k) => {
    const gi = g[k]!.toF64();
    const n = vals[i]!.length;
    const probe = n <= 24 ? Array.from({ length: n }, (_, j) => j) : Array.from({ length: 24 }, () => Math.floor(rng() * n));
    const fd: number[] = [];
    const an: number[] = [];
    for (const j of probe) {
      const p = vals.map((v) => v.slice());
      const m = vals.map((v) => v.slice());
      p[i]![j]! += eps;
      m[i]![j]! -= eps;
      fd.push((L(p.map(mk)) - L(m.map(mk))) / (2 * eps));
      an.push(gi[j]!);
    }
    expectClose(an, fd, tol, `${c.op} d/d(input ${i}) vs finite differences`);
  });

  // 5. forward mode: jvp vs finite differences and vs the VJP
  const tangents = x0.map((x, i) => nb.tensor(Array.from({ length: x.size }, () => (diff[i] ? randn(rng) : 0)), x.shape, { dtype: 'f64' }));
  const dfn = (...xs: Tensor[]): Tensor[] => {
    const full = x0.slice();
    argnums.forEach((i, k) => (full[i] = xs[k]!));
    return outs(c.fn(...full)).filter((y) => y.dtype !== 'bool' && y.dtype !== 'i32');
  };
  const [, tout] = nb.jvp(dfn, argnums.map((i) => x0[i]!), argnums.map((i) => tangents[i]!));
  const step = (s: number): Tensor[] => x0.map((x, i) => (diff[i] ? mk(vals[i]!.map((v, j) => v + s * tangents[i]!.toF64()[j]!), i) : x));
  const yp = dfn(...argnums.map((i) => step(eps)[i]!));
  const ym = dfn(...argnums.map((i) => step(-eps)[i]!));
  (tout as Tensor[]).forEach((t, k) => {
    const fd = yp[k]!.toF64().map((v, j) => (v - ym[k]!.toF64()[j]!) / (2 * eps));
    expectClose(t.toF64(), fd, tol, `${c.op} jvp output ${k} vs finite differences`);
  });
  // ⟨c, J v⟩ = Σ_i ⟨g_i, v_i⟩
  let lhs = 0;
  const ctsF = y0.filter((y) => y.dtype !== 'bool' && y.dtype !== 'i32').map((_, k) => cts[k]!.toF64());
  (tout as Tensor[]).forEach((t, k) => t.toF64().forEach((v, j) => (lhs += v * ctsF[k]![j]!)));
  let rhs = 0;
  argnums.forEach((i, k) => g[k]!.toF64().forEach((v, j) => (rhs += v * tangents[i]!.toF64()[j]!)));
  expect(Math.abs(lhs - rhs), `${c.op}: ⟨c, Jv⟩ = ${lhs} but ⟨Jᵀc, v⟩ = ${rhs}`).toBeLessThanOrEqual(Math.max(1e-9, (c.fdTol ?? 0) * 1e-3) * (1 + Math.abs(rhs)));

  // 6. second order: d/dx ⟨∇L(x), w⟩ vs finite differences of ∇L
  if (c.secondOrder) {
    const ws = argnums.map((i) => nb.tensor(Array.from({ length: x0[i]!.size }, () => randn(rng)), x0[i]!.shape, { dtype: 'f64' }));
    const gradL = (...xs: Tensor[]): Tensor[] => {
      const full = x0.slice();
      argnums.forEach((i, k) => (full[i] = xs[k]!));
      return nb.grad((...ys: Tensor[]) => {
        const f2 = full.slice();
        argnums.forEach((i, k) => (f2[i] = ys[k]!));
        return contract(c.fn, f2, cts);
      }, { argnums: argnums.map((_, k) => k) })(...argnums.map((i) => full[i]!)) as Tensor[];
    };
    const hv = nb.grad((...xs: Tensor[]) => {
      const gs = gradL(...xs);
      let acc = nb.sum(nb.mul(gs[0]!, ws[0]!));
      for (let k = 1; k < gs.length; k++) acc = nb.add(acc, nb.sum(nb.mul(gs[k]!, ws[k]!)));
      return acc;
    }, { argnums: argnums.map((_, k) => k) })(...argnums.map((i) => x0[i]!)) as Tensor[];
    argnums.forEach((i, k) => {
      const n = vals[i]!.length;
      const probe = n <= 12 ? Array.from({ length: n }, (_, j) => j) : Array.from({ length: 12 }, () => Math.floor(rng() * n));
      const an: number[] = [];
      const fd: number[] = [];
      const dot = (gs: Tensor[]): number => gs.reduce((s, gk, q) => s + gk.toF64().reduce((a, v, j) => a + v * ws[q]!.toF64()[j]!, 0), 0);
      for (const j of probe) {
        const p = argnums.map((a) => x0[a]!.toF64().slice());
        const m = argnums.map((a) => x0[a]!.toF64().slice());
        p[k]![j]! += eps;
        m[k]![j]! -= eps;
        fd.push((dot(gradL(...p.map((v, q) => mk(v, argnums[q]!)))) - dot(gradL(...m.map((v, q) => mk(v, argnums[q]!))))) / (2 * eps));
        an.push(hv[k]!.toF64()[j]!);
      }
      expectClose(an, fd, Math.max(tol, 1e-5), `${c.op} second derivative (input ${i}) vs finite differences`);
    });
  }
}
