/**
 * Statistics composed from the reduction primitives: mean, variance, std,
 * logsumexp, vector norms. Being composites they inherit their gradients
 * (first and higher order) from sum, max and the elementwise ops.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat, toFloat } from '../core/dtype.js';
import { normAxes, type Shape } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { abs, add, astype, div, eq, exp, isfinite, log, sqrt, square, sub, where } from './elementwise.js';
import { max, reducedShape, sum } from './reduce.js';
import { reshape } from './views.js';

type Axes = number | readonly number[] | undefined;

function checkX(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, 'x');
}

/** x in the float dtype statistics compute in (integers and bools → f32). */
function asFloat(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : astype(x, toFloat(x.dtype));
}

/** Number of elements in each reduced group. */
function groupSize(shape: Shape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * shape[a]!, 1);
}

/** Arithmetic mean over `axes` (all when omitted); integer inputs give f32. NaN for an empty group. */
export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  checkX('mean', x);
  const ax = normAxes('mean', axes, x.ndim);
  return tidy(() => div(sum(asFloat(x), ax, keepdim), groupSize(x.shape, ax)));
}

export interface VarianceOptions {
  /** divide by n − correction: 1 (the default, PyTorch's unbiased estimate) or 0 (the population variance) */
  correction?: number;
  keepdim?: boolean;
}

/**
 * Variance over `axes` (all when omitted): Σ(x − mean)² / (n − correction), computed in two
 * passes (centre first) so it does not cancel catastrophically like E[x²] − E[x]². `var` is a
 * reserved word in JavaScript, hence the name; the tensor method is `x.var()`.
 */
export function variance(x: Tensor, axes?: Axes, opts: VarianceOptions = {}): Tensor {
  checkX('variance', x);
  const ax = normAxes('variance', axes, x.ndim);
  const correction = opts.correction ?? 1;
  if (typeof correction !== 'number' || !Number.isFinite(correction) || correction < 0) {
    throw new Error(`variance: correction must be a non-negative number, got ${String(correction)}`);
  }
  return tidy(() => {
    const xf = asFloat(x);
    const centred = sub(xf, mean(xf, ax, true));
    return div(sum(square(centred), ax, opts.keepdim ?? false), Math.max(0, groupSize(x.shape, ax) - correction));
  });
}

/** Standard deviation: √variance (same options). */
export function std(x: Tensor, axes?: Axes, opts: VarianceOptions = {}): Tensor {
  checkX('std', x);
  return tidy(() => sqrt(variance(x, axes, opts)));
}

/**
 * log Σ exp(x) over `axes`, stable for any magnitude: with m the group maximum,
 * logsumexp(x) = m + log Σ exp(x − m), so no exp overflows. m is detached (treated
 * as a constant): the expression does not depend on m, so the gradient is the same
 * softmax either way and the max's tie-splitting rule never enters it. A group that is
 * all −∞ gives −∞ (m is replaced by 0 where it is not finite).
 */
export function logsumexp(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  checkX('logsumexp', x);
  const ax = normAxes('logsumexp', axes, x.ndim);
  return tidy(() => {
    const xf = asFloat(x);
    const m0 = max(xf.detach(), ax, true);
    const m = where(isfinite(m0), m0, 0);
    const r = add(log(sum(exp(sub(xf, m)), ax, true)), m);
    return keepdim ? r : reshape(r, reducedShape(x.shape, ax, false));
  });
}

/**
 * Vector norm over `axes` (all when omitted): p = 2 (Euclidean), 1 (sum of |x|) or
 * Infinity (max |x|). The 2-norm's gradient at x = 0 is 0 (the subgradient PyTorch
 * picks), not the 0/0 that √(Σx²) would give: the square root only sees a safe value.
 */
export function norm(x: Tensor, p: 1 | 2 | number = 2, axes?: Axes, keepdim = false): Tensor {
  checkX('norm', x);
  if (p !== 1 && p !== 2 && p !== Infinity) throw new Error(`norm: p must be 1, 2 or Infinity, got ${p}`);
  const ax = normAxes('norm', axes, x.ndim);
  return tidy(() => {
    const xf = asFloat(x);
    if (p === 1) return sum(abs(xf), ax, keepdim);
    if (p === Infinity) return max(abs(xf), ax, keepdim);
    const ss = sum(square(xf), ax, keepdim);
    const zero = eq(ss, 0);
    return where(zero, 0, sqrt(where(zero, 1, ss)));
  });
}
