/**
 * Matrix decompositions at the tensor level: Cholesky, QR, symmetric
 * eigendecomposition, SVD and randomized SVD, batched over leading axes. The
 * float64 kernels come from `src/linalg`; each derivative rule is written in
 * tensor ops (so it is differentiable again), the forward rule beside the
 * reverse one.
 *
 * Cholesky and eigh read the symmetric part ½(A + Aᵀ) of their input (as
 * JAX's `symmetrize_input`), so their gradients are symmetric and agree with
 * finite differences on any input.
 */
import type { Tensor } from '../core/tensor.js';
import { shapeStr } from '../core/shape.js';
import { toFloat } from '../core/dtype.js';
import { defineOp, type Meta, type OpDef } from './registry.js';
import type { OutMeta } from '../backends/backend.js';
import { apply } from './apply.js';
import { matDims, perMatrix, symmetricPart } from './batched.js';
import { matmulT } from './matmul.js';
import { add, mul, neg, sub } from './elementwise.js';
import { zerosLike } from './creation.js';
import { slice } from './slice.js';
import { concat, tril } from './join.js';
import { assertMatrix, assertSquare, copyLowerToUpper, diagEmbed, diagPart, inverseGaps, lowerHalfDiag, mT, sym } from './matrixHelpers.js';
import { triangularSolve } from './linalg.js';
import * as K from '../linalg/index.js';

/** Square-input shape rule shared by cholesky and eigh. */
function squareMeta(op: string, a: Meta): OutMeta {
  if (a.shape.length < 2 || a.shape[a.shape.length - 1] !== a.shape[a.shape.length - 2]) throw new Error(`${op}: A must be a (batch of) square matrices [..., n, n], got ${shapeStr(a.shape)}`);
  return { shape: a.shape, dtype: toFloat(a.dtype) };
}

// ---- Cholesky ---------------------------------------------------------------------

/**
 * L lower triangular with A = L·Lᵀ. Derivatives after Murray (2016),
 * "Differentiation of the Cholesky decomposition" (arXiv 1602.07527), with
 * Φ(X) the lower triangle of X with its diagonal halved:
 *   forward  dL = L·Φ(L⁻¹·dA·L⁻ᵀ)
 *   reverse  Ā = sym(L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹)
 */
export const choleskyOp: OpDef<undefined> = defineOp<undefined>({
  name: 'cholesky',
  infer: ([a]) => [squareMeta('cholesky', a!)],
  ref: ([a], [m]) => {
    const n = matDims(m!.shape)[0];
    return perMatrix('cholesky', a!, m!.shape, [n * n], (x) => [K.cholesky(symmetricPart(x, n), n)]);
  },
  vjp: (ctx, [g]) => {
    const L = ctx.outputs[0]!;
    const P = lowerHalfDiag(matmulT(L, g!, true, false)); // Φ(Lᵀ·L̄)
    const Y = triangularSolve(L, P, { lower: true, transpose: true }); // L⁻ᵀ·P
    const S = triangularSolve(L, Y, { lower: true, left: false }); // (L⁻ᵀ·P)·L⁻¹
    return [sym(S)];
  },
  jvp: (ctx, [t]) => {
    const L = ctx.outputs[0]!;
    const Z = triangularSolve(L, sym(t!), { lower: true }); // L⁻¹·dA
    const C = triangularSolve(L, Z, { lower: true, transpose: true, left: false }); // L⁻¹·dA·L⁻ᵀ
    return [matmulT(L, lowerHalfDiag(C))];
  },
  saveOutputs: true,
  saveInputs: false,
});

/** The lower Cholesky factor L (A = L·Lᵀ) of symmetric positive definite matrices (batched); reads ½(A + Aᵀ). */
export function cholesky(A: Tensor): Tensor {
  assertSquare('cholesky', 'A', A);
  return apply(choleskyOp, [A], undefined)[0]!;
}

// ---- QR ---------------------------------------------------------------------------

/** Columns start..stop of the last axis (a view). */
function cols(x: Tensor, start: number, stop: number): Tensor {
  return slice(x, [...new Array<null>(x.ndim - 1).fill(null), { start, stop }]);
}

/**
 * Reverse rule for A = Q·R with m ≥ n (R square, invertible), after Walter &
 * Lehmann (2018) and Liao et al. (2019, arXiv 1903.09650, eq. 11):
 *   M = R·R̄ᵀ − Q̄ᵀ·Q,   Ā = (Q̄ + Q·copyltu(M))·R⁻ᵀ
 * with copyltu(M) the symmetric matrix taking M's lower triangle.
 */
function qrBackwardTall(Q: Tensor, R: Tensor, gq: Tensor | null, gr: Tensor | null): Tensor {
  let M = gr ? matmulT(R, gr, false, true) : null;
  if (gq) {
    const qq = matmulT(gq, Q, true, false);
    M = M ? sub(M, qq) : neg(qq);
  }
  let B = matmulT(Q, copyLowerToUpper(M!));
  if (gq) B = add(gq, B);
  return triangularSolve(R, B, { lower: false, transpose: true, left: false }); // B·R⁻ᵀ
}

/**
 * Forward rule for m ≥ n: with W = dA·R⁻¹ and C = Qᵀ·W, Qᵀ·dQ is
 * antisymmetric and dR·R⁻¹ upper triangular, so their sum C splits as
 *   Ω = tril(C, −1) − tril(C, −1)ᵀ,  dR = (C − Ω)·R,  dQ = Q·Ω + W − Q·C.
 */
function qrForwardTall(Q: Tensor, R: Tensor, dA: Tensor): [Tensor, Tensor] {
  const W = triangularSolve(R, dA, { lower: false, left: false }); // dA·R⁻¹
  const C = matmulT(Q, W, true, false);
  const low = tril(C, -1);
  const omega = sub(low, mT(low));
  const dR = matmulT(sub(C, omega), R);
  const dQ = add(matmulT(Q, omega), sub(W, matmulT(Q, C)));
  return [dQ, dR];
}

/** Reduced QR: Q [..., m, k] with orthonormal columns, R [..., k, n] upper triangular with diag(R) ≥ 0, k = min(m, n). */
export const qrOp: OpDef<undefined> = defineOp<undefined>({
  name: 'qr',
  infer: ([a]) => {
    if (a!.shape.length < 2) throw new Error(`qr: A must be a (batch of) matrices [..., m, n], got ${shapeStr(a!.shape)}`);
    const [m, n] = matDims(a!.shape);
    const k = Math.min(m, n);
    const batch = a!.shape.slice(0, -2);
    const dtype = toFloat(a!.dtype);
    return [
      { shape: [...batch, m, k], dtype },
      { shape: [...batch, k, n], dtype },
    ];
  },
  ref: ([a], [meta]) => {
    const [m, n] = matDims(meta!.shape);
    const k = Math.min(m, n);
    return perMatrix('qr', a!, meta!.shape, [m * k, k * n], (x) => {
      const r = K.qr(x, m, n, 'reduced');
      return [r.q, r.r];
    });
  },
  // wide A = [X | Y] (m < n): Q·U = X is a square QR and V = Qᵀ·Y, so
  // X̄ = tall rule with Q̄ + Y·V̄ᵀ and Ū, Ȳ = Q·V̄ (Liao et al. 2019, §3.2)
  vjp: (ctx, [gq, gr]) => {
    const [A] = ctx.inputs as [Tensor];
    const [Q, R] = ctx.outputs as [Tensor, Tensor];
    const [m, n] = matDims(A.shape);
    if (m >= n) return [qrBackwardTall(Q, R, gq, gr)];
    const Y = cols(A, m, n);
    const gv = gr ? cols(gr, m, n) : null;
    const gq2 = gv ? (gq ? add(gq, matmulT(Y, gv, false, true)) : matmulT(Y, gv, false, true)) : gq;
    const gx = qrBackwardTall(Q, cols(R, 0, m), gq2, gr ? cols(gr, 0, m) : null);
    const gy = gv ? matmulT(Q, gv) : zerosLike(Y);
    return [concat([gx, gy], -1)];
  },
  jvp: (ctx, [t]) => {
    const [A] = ctx.inputs as [Tensor];
    const [Q, R] = ctx.outputs as [Tensor, Tensor];
    const [m, n] = matDims(A.shape);
    if (m >= n) return qrForwardTall(Q, R, t!);
    const [dQ, dU] = qrForwardTall(Q, cols(R, 0, m), cols(t!, 0, m));
    const dV = add(matmulT(dQ, cols(A, m, n), true, false), matmulT(Q, cols(t!, m, n), true, false));
    return [dQ, concat([dU, dV], -1)];
  },
  saveOutputs: true,
});

/**
 * Reduced QR decomposition A = Q·R (batched), by Householder reflections with
 * diag(R) ≥ 0. Differentiable in both modes where the leading min(m, n)
 * columns of A are linearly independent (R's leading square block invertible),
 * for tall, square and wide A.
 */
export function qr(A: Tensor): { q: Tensor; r: Tensor } {
  assertMatrix('qr', 'A', A);
  const [q, r] = apply(qrOp, [A], undefined) as [Tensor, Tensor];
  return { q, r };
}

// ---- symmetric eigendecomposition -------------------------------------------------

/**
 * A = V·diag(λ)·Vᵀ with λ ascending. With F_ij = 1/(λ_j − λ_i) off the diagonal:
 *   forward  P = Vᵀ·dA·V, dλ = diag(P), dV = V·(F ∘ P)
 *   reverse  Ā = sym(V·(diag(λ̄) + F ∘ (Vᵀ·V̄))·Vᵀ)
 * (Giles 2008, §3.1). Undefined where eigenvalues coincide (F is infinite).
 */
export const eighOp: OpDef<undefined> = defineOp<undefined>({
  name: 'eigh',
  infer: ([a]) => {
    const m = squareMeta('eigh', a!);
    return [{ shape: m.shape.slice(0, -1), dtype: m.dtype }, m];
  },
  ref: ([a], [m]) => {
    const n = matDims(m!.shape)[0];
    return perMatrix('eigh', a!, m!.shape, [n, n * n], (x) => {
      const r = K.eigh(symmetricPart(x, n), n);
      return [r.values, r.vectors];
    });
  },
  vjp: (ctx, [gl, gv]) => {
    const [lam, V] = ctx.outputs as [Tensor, Tensor];
    let inner: Tensor | null = gl ? diagEmbed(gl) : null;
    if (gv) {
      const fv = mul(inverseGaps(lam), matmulT(V, gv, true, false));
      inner = inner ? add(inner, fv) : fv;
    }
    if (!inner) return [null];
    return [sym(matmulT(matmulT(V, inner), V, false, true))];
  },
  jvp: (ctx, [t]) => {
    const [lam, V] = ctx.outputs as [Tensor, Tensor];
    const P = matmulT(matmulT(V, sym(t!), true, false), V);
    return [diagPart(P), matmulT(V, mul(inverseGaps(lam), P))];
  },
  saveOutputs: true,
  saveInputs: false,
});

/**
 * Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices
 * (batched); reads ½(A + Aᵀ). Each eigenvector's largest-magnitude component
 * is positive. Gradients need distinct eigenvalues.
 */
export function eigh(A: Tensor): { values: Tensor; vectors: Tensor } {
  assertSquare('eigh', 'A', A);
  const [values, vectors] = apply(eighOp, [A], undefined) as [Tensor, Tensor];
  return { values, vectors };
}

