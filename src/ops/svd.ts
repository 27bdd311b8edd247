/**
 * Singular value decomposition at the tensor level (batched): the exact SVD
 * with its derivative rules, singular values alone, and the randomized
 * truncated SVD (Halko, Martinsson & Tropp 2011) driven by nabla's PRNG keys.
 *
 * Derivatives follow Townsend (2016), "Differentiating the Singular Value
 * Decomposition", for the reduced factors A = U·diag(s)·Vᵀ with distinct,
 * non-zero singular values. With F_ij = 1/(s_j² − s_i²) off the diagonal and
 * dP = Uᵀ·dA·V:
 *   forward  ds = diag(dP)
 *            dU = U·(F ∘ (dP·S + S·dPᵀ)) + (I − UUᵀ)·dA·V·S⁻¹
 *            dV = V·(F ∘ (S·dP + dPᵀ·S)) + (I − VVᵀ)·dAᵀ·U·S⁻¹
 *   reverse  Ā = U·[diag(s̄) + (J + Jᵀ)·S + S·(K + Kᵀ)]·Vᵀ
 *              + (I − UUᵀ)·Ū·S⁻¹·Vᵀ + U·S⁻¹·V̄ᵀ·(I − VVᵀ),
 *            J = F ∘ (Uᵀ·Ū), K = F ∘ (Vᵀ·V̄).
 * The sign of each singular pair is fixed by the kernel (largest entry of the
 * column of U positive), which is locally constant, so these are the true
 * derivatives of the returned factors.
 */
import type { Tensor } from '../core/tensor.js';
import { toFloat } from '../core/dtype.js';
import { shapeStr, sizeOf } from '../core/shape.js';
import { normal as normalF64, split as splitKey, type Key } from '../core/random.js';
import { tidy } from '../core/memory.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { matDims, perMatrix } from './batched.js';
import { matmulT } from './matmul.js';
import { add, mul, reciprocal, square, sub } from './elementwise.js';
import { slice } from './slice.js';
import { assertMatrix, diagEmbed, diagPart, inverseGaps, mT, scaleCols, scaleRows } from './matrixHelpers.js';
import * as K from '../linalg/index.js';

export interface SvdAttrs {
  full: boolean;
}

function svdShapes(shape: readonly number[], full: boolean): { u: number[]; s: number[]; vt: number[] } {
  const [m, n] = matDims(shape);
  const k = Math.min(m, n);
  const batch = shape.slice(0, -2);
  return { u: [...batch, m, full ? m : k], s: [...batch, k], vt: [...batch, full ? n : k, n] };
}

const plus = (a: Tensor | null, b: Tensor): Tensor => (a ? add(a, b) : b);

/** The leading k columns of U and rows of Vᵀ (a full SVD narrowed to the reduced one). */
function reduced(U: Tensor, Vt: Tensor, k: number): [Tensor, Tensor] {
  const lead = new Array<null>(U.ndim - 2).fill(null);
  const u = U.shape[U.ndim - 1] === k ? U : slice(U, [...lead, null, { stop: k }]);
  const vt = Vt.shape[Vt.ndim - 2] === k ? Vt : slice(Vt, [...lead, { stop: k }]);
  return [u, vt];
}

function fullGuard(what: string, A: Tensor, full: boolean): void {
  const [m, n] = matDims(A.shape);
  if (full && m !== n) throw new Error(`svd: ${what} through U or Vᵀ of a full SVD of ${shapeStr(A.shape)} (m ≠ n) is not defined: the extra columns are not unique; use full: false`);
}

export const svdOp: OpDef<SvdAttrs> = defineOp<SvdAttrs>({
  name: 'svd',
  infer: ([a], attrs) => {
    if (a!.shape.length < 2) throw new Error(`svd: A must be a (batch of) matrices [..., m, n], got ${shapeStr(a!.shape)}`);
    const sh = svdShapes(a!.shape, attrs.full);
    const dtype = toFloat(a!.dtype);
    return [
      { shape: sh.u, dtype },
      { shape: sh.s, dtype },
      { shape: sh.vt, dtype },
    ];
  },
  ref: ([a], [meta], attrs) => {
    const [m, n] = matDims(meta!.shape);
    const k = Math.min(m, n);
    const sizes = attrs.full ? [m * m, k, n * n] : [m * k, k, k * n];
    return perMatrix('svd', a!, meta!.shape, sizes, (x) => {
      const r = K.svd(x, m, n, { full: attrs.full });
      return [r.u, r.s, r.vt];
    });
  },
  vjp: (ctx, [gu, gs, gvt]) => {
    const A = ctx.inputs[0]!;
    const [m, n] = matDims(A.shape);
    const k = Math.min(m, n);
    if (gu || gvt) fullGuard('the gradient', A, ctx.attrs.full);
    const [U, Vt] = reduced(ctx.outputs[0]!, ctx.outputs[2]!, k);
    const s = ctx.outputs[1]!;
    const F = inverseGaps(square(s));
    let inner: Tensor | null = gs ? diagEmbed(gs) : null;
    let extra: Tensor | null = null;
    if (gu) {
      const utg = matmulT(U, gu, true, false); // Uᵀ·Ū
      const J = mul(F, utg);
      inner = plus(inner, scaleCols(add(J, mT(J)), s));
      if (m > k) extra = matmulT(scaleCols(sub(gu, matmulT(U, utg)), reciprocal(s)), Vt);
    }
    if (gvt) {
      const vtg = matmulT(Vt, gvt, false, true); // Vᵀ·V̄ = Vᵀ·(V̄ᵀ)ᵀ
      const Kv = mul(F, vtg);
      inner = plus(inner, scaleRows(add(Kv, mT(Kv)), s));
      if (n > k) extra = plus(extra, matmulT(U, scaleRows(sub(gvt, matmulT(mT(vtg), Vt)), reciprocal(s))));
    }
    let ga = inner ? matmulT(matmulT(U, inner), Vt) : null;
    if (extra) ga = plus(ga, extra);
    return [ga];
  },
  jvp: (ctx, [t]) => {
    const A = ctx.inputs[0]!;
    const [m, n] = matDims(A.shape);
    const k = Math.min(m, n);
    fullGuard('the forward derivative', A, ctx.attrs.full);
    const [U, s, Vt] = ctx.outputs as [Tensor, Tensor, Tensor];
    const F = inverseGaps(square(s));
    const utdA = matmulT(U, t!, true, false); // Uᵀ·dA
    const dP = matmulT(utdA, Vt, false, true); // Uᵀ·dA·V
    const dPt = mT(dP);
    let dU = matmulT(U, mul(F, add(scaleCols(dP, s), scaleRows(dPt, s))));
    if (m > k) dU = add(dU, scaleCols(sub(matmulT(t!, Vt, false, true), matmulT(U, dP)), reciprocal(s)));
    let dVt = matmulT(mul(F, add(scaleRows(dP, s), scaleCols(dPt, s))), Vt, true, false);
    if (n > k) dVt = add(dVt, scaleRows(sub(utdA, matmulT(dP, Vt)), reciprocal(s)));
    return [dU, diagPart(dP), dVt];
  },
  saveOutputs: true,
});

/**
 * A = U·diag(s)·Vᵀ (batched), singular values descending. Reduced factors by
 * default (U [..., m, k], Vᵀ [..., k, n], k = min(m, n)); `full: true` gives
 * square U and Vᵀ. Gradients need distinct, non-zero singular values (and,
 * through U or Vᵀ, the reduced factors when m ≠ n).
 */
export function svd(A: Tensor, opts: { full?: boolean } = {}): { u: Tensor; s: Tensor; vt: Tensor } {
  assertMatrix('svd', 'A', A);
  const full = opts.full ?? false;
  if (typeof full !== 'boolean') throw new Error(`svd: opts.full must be a boolean, got ${String(full)}`);
  const [u, s, vt] = apply(svdOp, [A], { full }) as [Tensor, Tensor, Tensor];
  return { u, s, vt };
}

/** Singular values, descending (batched); the gradient is U·diag(s̄)·Vᵀ. */
export function svdvals(A: Tensor): Tensor {
  assertMatrix('svdvals', 'A', A);
  return tidy(() => svd(A).s);
}

// ---- randomized SVD ----------------------------------------------------------------

export interface RandomizedSvdAttrs {
  k: number;
  oversample: number;
  powerIters: number;
  key: Key;
}

/** Top-k SVD by randomized subspace iteration; Ω for batch element b is drawn from the b-th split of the key. */
export const randomizedSvdOp: OpDef<RandomizedSvdAttrs> = defineOp<RandomizedSvdAttrs>({
  name: 'randomizedSvd',
  infer: ([a], { k }) => {
    const [m, n] = matDims(a!.shape);
    const batch = a!.shape.slice(0, -2);
    const dtype = toFloat(a!.dtype);
    return [
      { shape: [...batch, m, k], dtype },
      { shape: [...batch, k], dtype },
      { shape: [...batch, k, n], dtype },
    ];
  },
  ref: ([a], [meta], { k, oversample, powerIters, key }) => {
    const [m, n] = matDims(meta!.shape);
    const count = sizeOf(meta!.shape.slice(0, -2));
    const keys = count === 1 ? [key] : splitKey(key, count);
    const l = Math.min(k + oversample, m, n);
    return perMatrix('randomizedSvd', a!, meta!.shape, [m * k, k, k * n], (x, b) => {
      const omega = normalF64(keys[b]!, n * l);
      let i = 0;
      const r = K.randomizedSvd(x, m, n, k, { oversample, powerIters, rng: () => omega[i++]! });
      return [r.u, r.s, r.vt];
    });
  },
  vjp: 'none',
  jvp: 'none',
});

export interface RandomizedSvdOptions {
  /** PRNG key for the Gaussian test matrix (required: the result depends on it) */
  key: Key;
  /** extra sampled directions beyond k (default 10) */
  oversample?: number;
  /** subspace (power) iterations; more sharpens slowly decaying spectra (default 2) */
  powerIters?: number;
}

/**
 * The k leading singular triplets of A (batched) by randomized subspace
 * iteration (Halko, Martinsson & Tropp 2011, Algs. 4.4 and 5.1): u [..., m, k],
 * s [..., k], vt [..., k, n]. Not differentiable (use svd for gradients).
 */
export function randomizedSvd(A: Tensor, k: number, opts: RandomizedSvdOptions): { u: Tensor; s: Tensor; vt: Tensor } {
  const [m, n] = assertMatrix('randomizedSvd', 'A', A);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(m, n)) throw new Error(`randomizedSvd: k must be an integer in 1..${Math.min(m, n)} for A ${shapeStr(A.shape)}, got ${k}`);
  if (opts === null || typeof opts !== 'object' || !Array.isArray(opts.key) || opts.key.length !== 2) throw new Error('randomizedSvd: opts.key must be a PRNG key (from randomKey(seed))');
  const oversample = opts.oversample ?? 10;
  const powerIters = opts.powerIters ?? 2;
  for (const [nm, v] of [['oversample', oversample], ['powerIters', powerIters]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`randomizedSvd: opts.${nm} must be a non-negative integer, got ${v}`);
  }
  const [u, s, vt] = apply(randomizedSvdOp, [A], { k, oversample, powerIters, key: opts.key }) as [Tensor, Tensor, Tensor];
  return { u, s, vt };
}
