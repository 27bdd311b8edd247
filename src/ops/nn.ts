/**
 * Softmax, log-softmax and the common losses, composed from primitives (so
 * they inherit gradients of every order). Max-pooling is in `pool.ts`.
 *
 * Numerical stability: softmax and log-softmax subtract the (detached) maximum
 * of each group before exponentiating, so logits of any magnitude work; the
 * logistic loss uses softplus, never log(sigmoid(x)).
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { normAxis, shapeStr, shapesEqual } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { add, astype, div, exp, isfinite, mul, ne, neg, softplus, square, sub, where } from './elementwise.js';
import { max, sum } from './reduce.js';
import { logsumexp } from './stats.js';
import { reshape } from './views.js';
import { gather } from './indexing.js';
import { logSoftmaxLast, softmaxLast } from './fused.js';
import type { TensorLike } from './broadcast.js';

function checkFloat(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, name);
  if (!isFloat(x.dtype)) throw new Error(`${op}: ${name} must be a floating tensor, got ${x.describe()}`);
}

/** softmax(x)_i = exp(x_i − m) / Σ_j exp(x_j − m) along `axis`, m the detached maximum (the result does not depend on m). */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkFloat('softmax', 'x', x);
  const ax = normAxis('softmax', axis, x.ndim);
  if (ax === x.ndim - 1) return softmaxLast(x); // one fused op (one kernel) for the common case
  return tidy(() => {
    const m0 = max(x.detach(), ax, true);
    const e = exp(sub(x, where(isfinite(m0), m0, 0)));
    return div(e, sum(e, ax, true));
  });
}

/** log softmax(x) = x − logsumexp(x) along `axis`, stable for any magnitude. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkFloat('logSoftmax', 'x', x);
  const ax = normAxis('logSoftmax', axis, x.ndim);
  if (ax === x.ndim - 1) return logSoftmaxLast(x);
  return tidy(() => sub(x, logsumexp(x, ax, true)));
}

// ---- losses -------------------------------------------------------------------

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? sum(loss) : div(sum(loss), loss.size);
}

export interface NllLossOptions {
  /** the class axis of the input (default −1; PyTorch's (N, C, d…) layout is axis 1) */
  axis?: number;
  reduction?: Reduction;
  /** targets equal to this are skipped and excluded from the mean (default −100, as in PyTorch) */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** mix the target with the uniform distribution: (1 − ε)·target + ε/C (Szegedy et al. 2016, arXiv 1512.00567) */
  labelSmoothing?: number;
}

/** The input's shape with the class axis removed, and its i32 class-index target checked against it. */
function checkIndexTarget(op: string, input: Tensor, target: Tensor, axis: number, ignoreIndex: number): void {
  const want = input.shape.filter((_, i) => i !== axis);
  if (!shapesEqual(target.shape, want)) {
    throw new Error(`${op}: target is ${shapeStr(target.shape)} but the input ${shapeStr(input.shape)} without its class axis ${axis} is ${shapeStr(want)}`);
  }
  // an asynchronous backend (WebGPU) cannot read the indices here; its gather clamps instead
  if (!target.storage.backend.readSync) return;
  const C = input.shape[axis]!;
  const v = target.toF64();
  for (let i = 0; i < v.length; i++) {
    const t = v[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= C)) {
      throw new Error(`${op}: target has class index ${t} at flat position ${i}, but there are ${C} classes (valid: 0..${C - 1}, or ignoreIndex ${ignoreIndex})`);
    }
  }
}

/** Per-position −logp[target] (0 where ignored) and the bool mask of positions that count. */
function pickNll(logp: Tensor, target: Tensor, axis: number, ignoreIndex: number): { nll: Tensor; valid: Tensor } {
  const kd = logp.shape.map((d, i) => (i === axis ? 1 : d));
  const valid = ne(target, ignoreIndex);
  const safe = where(valid, target, 0); // ignored positions read class 0, then get masked out
  const picked = reshape(gather(logp, axis, reshape(safe, kd)), target.shape);
  return { nll: where(valid, neg(picked), 0), valid };
}

function options(op: string, input: Tensor, o: CrossEntropyOptions): { axis: number; reduction: Reduction; ignoreIndex: number; eps: number } {
  if (input.ndim === 0) throw new Error(`${op}: input must have a class axis, got a 0-d tensor`);
  const axis = normAxis(op, o.axis ?? -1, input.ndim);
  const ignoreIndex = o.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new Error(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const eps = o.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) throw new Error(`${op}: labelSmoothing must be in [0, 1], got ${String(eps)}`);
  return { axis, reduction: checkReduction(op, o.reduction ?? 'mean'), ignoreIndex, eps };
}

/**
 * Negative log-likelihood of log-probabilities `logp` at i32 class indices `target`
 * (shape: logp's without the class axis). Matches PyTorch's F.nll_loss: 'mean'
 * divides by the number of targets that are not `ignoreIndex`.
 */
export function nllLoss(logp: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  checkFloat('nllLoss', 'logp', logp);
  if (!(target instanceof Tensor) || target.dtype !== 'i32') throw new Error(`nllLoss: target must be an i32 tensor of class indices, got ${target instanceof Tensor ? target.describe() : typeof target}`);
  const { axis, reduction, ignoreIndex } = options('nllLoss', logp, opts);
  checkIndexTarget('nllLoss', logp, target, axis, ignoreIndex);
  return tidy(() => {
    const { nll, valid } = pickNll(logp, target, axis, ignoreIndex);
    if (reduction !== 'mean') return reduce(nll, reduction);
    return div(sum(nll), sum(astype(valid, logp.dtype)));
  });
}

/**
 * Cross-entropy of unnormalised `logits` against a target, like PyTorch's F.cross_entropy:
 * - i32 class indices (logits' shape without the class axis): −log softmax(logits)[target],
 *   with label smoothing (1 − ε)·nll + ε·mean_c(−log p_c); 'mean' averages over the targets
 *   that are not `ignoreIndex`;
 * - float class probabilities (logits' shape): −Σ_c t_c·log p_c with t smoothed to
 *   (1 − ε)t + ε/C; 'mean' averages over the positions (every axis but the class axis).
 * The class axis defaults to −1; pass `axis: 1` for PyTorch's (N, C, d…) layout.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkFloat('crossEntropy', 'logits', logits);
  if (!(target instanceof Tensor)) throw new Error(`crossEntropy: target must be a Tensor, got ${target === null ? 'null' : typeof target}`);
  target.assertAlive('crossEntropy', 'target');
  const { axis, reduction, ignoreIndex, eps } = options('crossEntropy', logits, opts);
  const C = logits.shape[axis]!;
  if (target.dtype === 'i32') {
    checkIndexTarget('crossEntropy', logits, target, axis, ignoreIndex);
    return tidy(() => {
      const logp = logSoftmax(logits, axis);
      const picked = pickNll(logp, target, axis, ignoreIndex);
      const valid = picked.valid;
      let nll = picked.nll;
      if (eps > 0) {
        const smooth = div(neg(sum(logp, axis)), C);
        nll = add(mul(nll, 1 - eps), where(valid, mul(smooth, eps), 0));
      }
      if (reduction !== 'mean') return reduce(nll, reduction);
      return div(sum(nll), sum(astype(valid, logits.dtype)));
    });
  }
  if (!isFloat(target.dtype)) throw new Error(`crossEntropy: target must be i32 class indices or float probabilities, got ${target.describe()}`);
  if (!shapesEqual(target.shape, logits.shape)) {
    throw new Error(`crossEntropy: probability target is ${shapeStr(target.shape)} but logits are ${shapeStr(logits.shape)}; they must match`);
  }
  return tidy(() => {
    const t = eps > 0 ? add(mul(target, 1 - eps), eps / C) : target;
    const loss = neg(sum(mul(logSoftmax(logits, axis), t), axis));
    return reduce(loss, reduction);
  });
}

function checkSameShape(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  if (!shapesEqual(a.shape, b.shape)) throw new Error(`${op}: ${an} is ${shapeStr(a.shape)} but ${bn} is ${shapeStr(b.shape)}; they must match`);
}

/** Mean squared error (a − b)², reduced by mean (default), sum or none. Shapes must match (no silent broadcasting). */
export function mseLoss(a: Tensor, b: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkFloat('mseLoss', 'a', a);
  checkFloat('mseLoss', 'b', b);
  checkSameShape('mseLoss', a, b, 'a', 'b');
  const reduction = checkReduction('mseLoss', opts.reduction ?? 'mean');
  return tidy(() => reduce(square(sub(a, b)), reduction));
}

export interface BceOptions {
  reduction?: Reduction;
  /** weight of the positive term (PyTorch's pos_weight), broadcast against the logits */
  posWeight?: TensorLike;
}

/**
 * Binary cross-entropy on logits x with targets t in [0, 1], in the stable form
 *   ℓ = (1 − t)·x + w·softplus(−x),   w = 1 + (posWeight − 1)·t,
 * which equals −w·t·log σ(x) − (1 − t)·log(1 − σ(x)) but never takes the log of a
 * rounded-to-zero sigmoid: finite and exact-gradient (σ(x) − t for w = 1) at |x| ~ 1000.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  checkFloat('binaryCrossEntropyWithLogits', 'logits', logits);
  checkFloat('binaryCrossEntropyWithLogits', 'target', target);
  checkSameShape('binaryCrossEntropyWithLogits', logits, target, 'logits', 'target');
  const reduction = checkReduction('binaryCrossEntropyWithLogits', opts.reduction ?? 'mean');
  return tidy(() => {
    const sp = softplus(neg(logits));
    const pw = opts.posWeight;
    const pos = pw === undefined ? sp : mul(add(mul(target, typeof pw === 'number' ? pw - 1 : sub(pw, 1)), 1), sp);
    const loss = add(mul(sub(1, target), logits), pos);
    if (!shapesEqual(loss.shape, logits.shape)) {
      throw new Error(`binaryCrossEntropyWithLogits: posWeight must broadcast to the logits' shape ${shapeStr(logits.shape)}, but the loss came out ${shapeStr(loss.shape)}`);
    }
    return reduce(loss, reduction);
  });
}
