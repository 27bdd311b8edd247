/**
 * Linear systems and determinants at the tensor level, batched over leading
 * axes (which broadcast between A and B), differentiable in both modes. The
 * float64 reference kernels are those of `src/linalg` (LU with partial
 * pivoting, substitution); the gradient rules are written in tensor ops so
 * they can be differentiated again. The decompositions live in
 * `decompositions.ts` (Cholesky, QR, eigh) and `svd.ts`.
 *
 * Rules (Giles 2008, "An extended collection of matrix derivative results
 * for forward and reverse mode AD"):
 *   X = A⁻¹B:      B̄ = A⁻ᵀX̄,  Ā = −B̄Xᵀ;       dX = A⁻¹(dB − dA·X)
 *   log|det A|:    Ā = ḡ·A⁻ᵀ;                     d = tr(A⁻¹dA)
 */
import { Tensor } from '../core/tensor.js';
import { broadcastShapes, shapeStr, sizeOf } from '../core/shape.js';
import { toFloat, promote } from '../core/dtype.js';
import { tidy } from '../core/memory.js';
import { defineOp, type Meta, type OpDef } from './registry.js';
import type { OutMeta } from '../backends/backend.js';
import { apply } from './apply.js';
import { batchIndex, matDims, perMatrix, rethrow } from './batched.js';
import { assertMatrix, assertSquare, eyeOf, mT, trace } from './matrixHelpers.js';
import { matmulT } from './matmul.js';
import { exp, mul, neg, sub } from './elementwise.js';
import { reshape, sumTo, unsqueeze } from './views.js';
import { tril, triu } from './join.js';
import * as K from '../linalg/index.js';

// ---- solve and triangularSolve: one primitive shape --------------------------------

export interface SolveAttrs {
  /** solve op(A)·X = B with op(A) = Aᵀ */
  transpose: boolean;
  /** triangularSolve only: which triangle of A is read, and whether its diagonal is taken as 1 */
  lower?: boolean;
  unit?: boolean;
}

/** Shapes of op(A)·X = B with A [..., n, n] and B [..., n, m]; batches broadcast. */
function inferSolve(op: string, a: Meta, b: Meta): OutMeta[] {
  if (a.shape.length < 2 || a.shape[a.shape.length - 1] !== a.shape[a.shape.length - 2]) throw new Error(`${op}: A must be a (batch of) square matrices [..., n, n], got ${shapeStr(a.shape)}`);
  const n = a.shape[a.shape.length - 1]!;
  if (b.shape.length < 2 || b.shape[b.shape.length - 2] !== n) throw new Error(`${op}: A is ${shapeStr(a.shape)}, so B must be [..., ${n}, m] (or a vector [..., ${n}]), got ${shapeStr(b.shape)}`);
  const batch = broadcastShapes(op, [a.shape.slice(0, -2), b.shape.slice(0, -2)], ['batch axes of A', 'batch axes of B']);
  return [{ shape: [...batch, n, b.shape[b.shape.length - 1]!], dtype: toFloat(promote(a.dtype, b.dtype)) }];
}

/** Run `kernel(A_q, n, B_q, m)` for every element q of the broadcast batch. */
function solveRef(op: string, [a, b]: readonly Float64Array[], ins: readonly Meta[], out: OutMeta, kernel: (a: Float64Array, n: number, b: Float64Array, m: number) => Float64Array): Float64Array[] {
  const [n, m] = matDims(out.shape);
  const batch = out.shape.slice(0, -2);
  const ia = batchIndex(batch, ins[0]!.shape.slice(0, -2));
  const ib = batchIndex(batch, ins[1]!.shape.slice(0, -2));
  const x = new Float64Array(sizeOf(out.shape));
  for (let q = 0; q < ia.length; q++) {
    const aq = a!.subarray(ia[q]! * n * n, (ia[q]! + 1) * n * n);
    const bq = b!.subarray(ib[q]! * n * m, (ib[q]! + 1) * n * m);
    try {
      x.set(kernel(aq, n, bq, m), q * n * m);
    } catch (e) {
      throw rethrow(op, e, out.shape, q, ia.length);
    }
  }
  return [x];
}

/** The solve primitive: X = op(A)⁻¹B by LU with partial pivoting. */
export const solveOp: OpDef<SolveAttrs> = defineOp<SolveAttrs>({
  name: 'solve',
  infer: ([a, b]) => inferSolve('solve', a!, b!),
  ref: (xs, ins, attrs, [out]) => solveRef('solve', xs, ins, out!, (a, n, b, m) => K.solve(attrs.transpose ? K.transposeF64(a, n, n) : a, n, b, m)),
  vjp: (ctx, [g]) => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const x = ctx.outputs[0]!;
    const t = ctx.attrs.transpose;
    const gb = solveT(a, g!, !t);
    const ga = neg(t ? matmulT(x, gb, false, true) : matmulT(gb, x, false, true));
    return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
  },
  jvp: (ctx, [ta, tb]) => {
    const [a] = ctx.inputs as [Tensor, Tensor];
    const x = ctx.outputs[0]!;
    const t = ctx.attrs.transpose;
    const ax = ta ? matmulT(ta, x, t, false) : null; // op(dA)·X
    const rhs = tb && ax ? sub(tb, ax) : (tb ?? neg(ax!));
    return [solveT(a, rhs, t)];
  },
  saveOutputs: true,
});

function solveT(a: Tensor, b: Tensor, transpose: boolean): Tensor {
  return apply(solveOp, [a, b], { transpose })[0]!;
}

/** Keep the triangle of T that a triangular solve reads (strictly, for a unit diagonal). */
function triangle(x: Tensor, attrs: SolveAttrs): Tensor {
  const k = attrs.unit ? 1 : 0;
  return attrs.lower ? tril(x, -k) : triu(x, k);
}

/** The triangular-solve primitive: X = op(T)⁻¹B reading one triangle of T (G&VL Algs. 3.1.1-3.1.2). */
export const triangularSolveOp: OpDef<SolveAttrs> = defineOp<SolveAttrs>({
  name: 'triangularSolve',
  infer: ([a, b]) => inferSolve('triangularSolve', a!, b!),
  ref: (xs, ins, attrs, [out]) => solveRef('triangularSolve', xs, ins, out!, (a, n, b, m) => K.triangularSolve(a, n, b, m, { lower: attrs.lower!, unit: attrs.unit ?? false, transpose: attrs.transpose })),
  vjp: (ctx, [g]) => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const x = ctx.outputs[0]!;
    const gb = triSolveT(a, g!, { ...ctx.attrs, transpose: !ctx.attrs.transpose });
    const ga = neg(ctx.attrs.transpose ? matmulT(x, gb, false, true) : matmulT(gb, x, false, true));
    return [sumTo(triangle(ga, ctx.attrs), a.shape), sumTo(gb, b.shape)];
  },
  jvp: (ctx, [ta, tb]) => {
    const [a] = ctx.inputs as [Tensor, Tensor];
    const x = ctx.outputs[0]!;
    const ax = ta ? matmulT(triangle(ta, ctx.attrs), x, ctx.attrs.transpose, false) : null;
    const rhs = tb && ax ? sub(tb, ax) : (tb ?? neg(ax!));
    return [triSolveT(a, rhs, ctx.attrs)];
  },
  saveOutputs: true,
});

function triSolveT(a: Tensor, b: Tensor, attrs: SolveAttrs): Tensor {
  return apply(triangularSolveOp, [a, b], attrs)[0]!;
}

/**
 * Right-hand sides: B is a batch of vectors when it is 1-D, or when it has
 * one axis less than A and matches A's shape without its last axis (PyTorch's
 * rule); otherwise a batch of matrices [..., n, m].
 */
function withMatrixRhs(op: string, a: Tensor, b: Tensor, f: (b2: Tensor) => Tensor): Tensor {
  const n = assertSquare(op, 'A', a);
  if (!(b instanceof Tensor)) throw new Error(`${op}: B must be a Tensor, got ${b === null ? 'null' : typeof b}`);
  b.assertAlive(op, 'B');
  if (b.ndim === 0) throw new Error(`${op}: B must be a vector [..., n] or matrices [..., n, m], got a 0-d tensor []`);
  const isVector = b.ndim === 1 || (b.ndim === a.ndim - 1 && b.shape.every((d, i) => d === a.shape[i]));
  if (!isVector) return f(b);
  if (b.shape[b.ndim - 1] !== n) throw new Error(`${op}: A is ${shapeStr(a.shape)} but the vector B is ${shapeStr(b.shape)} (needs length ${n})`);
  return tidy(() => {
    const x = f(unsqueeze(b, -1));
    return reshape(x, x.shape.slice(0, -1));
  });
}

/** X with A·X = B; A [..., n, n], B [..., n, m] or a vector [..., n]; batch axes broadcast. */
export function solve(A: Tensor, B: Tensor): Tensor {
  return withMatrixRhs('solve', A, B, (b) => solveT(A, b, false));
}

export interface TriangularSolveOptions {
  /** read the lower (true) or the upper (false) triangle of A; the other is ignored */
  lower: boolean;
  /** take A's diagonal as all ones (it is not read) */
  unit?: boolean;
  /** solve Aᵀ·X = B */
  transpose?: boolean;
  /** false: solve X·A = B instead (B is [..., m, n]) */
  left?: boolean;
}

/** X with op(A)·X = B (or X·op(A) = B for left: false), A triangular; like torch.linalg.solve_triangular. */
export function triangularSolve(A: Tensor, B: Tensor, opts: TriangularSolveOptions): Tensor {
  if (opts === null || typeof opts !== 'object' || typeof opts.lower !== 'boolean') throw new Error('triangularSolve: opts.lower must be a boolean (which triangle of A to read)');
  const attrs: SolveAttrs = { lower: opts.lower, unit: opts.unit ?? false, transpose: opts.transpose ?? false };
  if (opts.left === false) {
    // X·op(A) = B  ⇔  op(A)ᵀ·Xᵀ = Bᵀ
    const n = assertSquare('triangularSolve', 'A', A);
    const [, bn] = assertMatrix('triangularSolve', 'B (with left: false)', B);
    if (bn !== n) throw new Error(`triangularSolve: A is ${shapeStr(A.shape)}, so with left: false B must be [..., m, ${n}], got ${shapeStr(B.shape)}`);
    return tidy(() => mT(triSolveT(A, mT(B), { ...attrs, transpose: !attrs.transpose })));
  }
  return withMatrixRhs('triangularSolve', A, B, (b) => triSolveT(A, b, attrs));
}

/** A⁻¹ (batched), as solve(A, I): singular matrices raise an error. */
export function inv(A: Tensor): Tensor {
  const n = assertSquare('inv', 'A', A);
  return tidy(() => solveT(A, eyeOf(n, A), false));
}

// ---- determinants ----------------------------------------------------------------

/** sign(det A) and log|det A| from one LU factorization per matrix. */
export const slogdetOp: OpDef<undefined> = defineOp<undefined>({
  name: 'slogdet',
  infer: ([a]) => {
    if (a!.shape.length < 2 || a!.shape[a!.shape.length - 1] !== a!.shape[a!.shape.length - 2]) throw new Error(`slogdet: A must be a (batch of) square matrices [..., n, n], got ${shapeStr(a!.shape)}`);
    const m = { shape: a!.shape.slice(0, -2), dtype: toFloat(a!.dtype) };
    return [m, m];
  },
  ref: ([a], [m]) =>
    perMatrix('slogdet', a!, m!.shape, [1, 1], (x) => {
      const r = K.slogdet(x, matDims(m!.shape)[0]);
      return [[r.sign], [r.logabsdet]];
    }),
  // only log|det| carries a derivative; the sign is locally constant
  vjp: (ctx, [, g]) => {
    if (!g) return [null];
    const a = ctx.inputs[0]!;
    const invT = solveT(a, eyeOf(a.shape[a.ndim - 1]!, a), true);
    return [mul(unsqueeze(g, [-2, -1]), invT)];
  },
  jvp: (ctx, [t]) => [null, trace(solveT(ctx.inputs[0]!, t!, false))],
});

/** {sign, logabsdet} of det A (batched): sign ∈ {−1, 0, 1}, logabsdet = −inf for singular A. */
export function slogdet(A: Tensor): { sign: Tensor; logabsdet: Tensor } {
  assertSquare('slogdet', 'A', A);
  const [sign, logabsdet] = apply(slogdetOp, [A], undefined) as [Tensor, Tensor];
  return { sign, logabsdet };
}

/**
 * det A (batched) as sign·exp(log|det A|), which never overflows inside the
 * computation and inherits slogdet's gradient det(A)·A⁻ᵀ (undefined at
 * singular A, where this returns 0 and the gradient is not finite).
 */
export function det(A: Tensor): Tensor {
  assertSquare('det', 'A', A);
  return tidy(() => {
    const { sign, logabsdet } = slogdet(A);
    return mul(sign, exp(logabsdet));
  });
}
