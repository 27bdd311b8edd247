/**
 * Small tensor-level matrix helpers for the gradient rules of the linear
 * algebra ops (internal; not re-exported publicly). Everything here is built
 * from differentiable primitives, so rules written with it can be
 * differentiated again.
 */
import { Tensor } from '../core/tensor.js';
import { shapeStr } from '../core/shape.js';
import { isFloat } from '../core/dtype.js';
import { eye } from './creation.js';
import { add, mul, reciprocal, sub } from './elementwise.js';
import { sum } from './reduce.js';
import { transpose, unsqueeze } from './views.js';
import { tril } from './join.js';

/** The matrix transpose of a batch (a view). */
export const mT = (x: Tensor): Tensor => transpose(x, -2, -1);

/** ½(X + Xᵀ). */
export const sym = (x: Tensor): Tensor => mul(add(x, mT(x)), 0.5);

/** The n×n identity in x's dtype and backend. */
export function eyeOf(n: number, like: Tensor): Tensor {
  return eye(n, n, { dtype: isFloat(like.dtype) ? like.dtype : 'f32', backend: like.storage.backend });
}

/** The diagonal of the last two (square) axes: [..., n, n] → [..., n]. */
export function diagPart(x: Tensor): Tensor {
  const n = x.shape[x.ndim - 1]!;
  return sum(mul(x, eyeOf(n, x)), -1);
}

/** The trace of the last two (square) axes: [..., n, n] → [...]. */
export function trace(x: Tensor): Tensor {
  return sum(mul(x, eyeOf(x.shape[x.ndim - 1]!, x)), [-2, -1]);
}

/** A batch of diagonal matrices from a batch of vectors: [..., n] → [..., n, n]. */
export function diagEmbed(v: Tensor): Tensor {
  const n = v.shape[v.ndim - 1]!;
  return mul(unsqueeze(v, -1), eyeOf(n, v));
}

/** X·diag(v): scale column j of X by v[j]. */
export const scaleCols = (x: Tensor, v: Tensor): Tensor => mul(x, unsqueeze(v, -2));
/** diag(v)·X: scale row i of X by v[i]. */
export const scaleRows = (x: Tensor, v: Tensor): Tensor => mul(x, unsqueeze(v, -1));

/** The lower triangle with the diagonal halved: Φ of Murray (2016), the projection in the Cholesky derivative. */
export function lowerHalfDiag(x: Tensor): Tensor {
  return sub(tril(x), mul(mul(x, eyeOf(x.shape[x.ndim - 1]!, x)), 0.5));
}

/** Copy the lower triangle onto the upper one: tril(X) + tril(X, −1)ᵀ (symmetric). */
export function copyLowerToUpper(x: Tensor): Tensor {
  return add(tril(x), mT(tril(x, -1)));
}

/**
 * F_ij = 1/(d_j − d_i) off the diagonal, 0 on it, for d [..., n]: the
 * coefficient matrix of eigenvector (and singular vector) derivatives. The
 * diagonal is shifted by 1 before dividing so that no inf or NaN appears even
 * in higher derivatives; equal values off the diagonal give inf (the
 * derivative does not exist there).
 */
export function inverseGaps(d: Tensor): Tensor {
  const n = d.shape[d.ndim - 1]!;
  const I = eyeOf(n, d);
  const gaps = sub(unsqueeze(d, -2), unsqueeze(d, -1)); // [i, j] = d_j − d_i
  return mul(reciprocal(add(gaps, I)), sub(1, I));
}

/** A (batch of) matrices [..., m, n]; returns [m, n]. */
export function assertMatrix(op: string, arg: string, x: unknown): [number, number] {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, arg);
  if (x.ndim < 2) throw new Error(`${op}: ${arg} must be a (batch of) matrices [..., m, n], got ${shapeStr(x.shape)}`);
  return [x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!];
}

/** Square-matrix check shared by the public functions; returns n. */
export function assertSquare(op: string, arg: string, x: Tensor): number {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, arg);
  if (x.ndim < 2) throw new Error(`${op}: ${arg} must be a (batch of) square matrices [..., n, n], got ${shapeStr(x.shape)}`);
  const n = x.shape[x.ndim - 1]!;
  if (x.shape[x.ndim - 2] !== n) throw new Error(`${op}: ${arg} must be square in its last two axes, got ${shapeStr(x.shape)}`);
  return n;
}
