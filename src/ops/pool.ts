/**
 * 1-D max pooling over the last axis, in O(L) per row for any kernel width:
 * the kernel is Lemire's monotonic-deque sliding-window maximum
 * (`core/slidingMax.ts`), which also gives each window's argmax.
 *
 * The pooling op returns the values and the argmax positions (i32, indices
 * into the unpadded input, first maximum on ties). Its VJP scatter-adds the
 * cotangent to the argmax positions and its JVP gathers the tangent there
 * (`scatterAdd` and `gather` from indexing.ts, each the other's transpose, so
 * gradients of every order stay exact). Overlapping windows (stride < kernel)
 * that share a maximum each send it their cotangent, and the sums add up.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr } from '../core/shape.js';
import { slidingWindowMax } from '../core/slidingMax.js';
import { defineOp, type Meta } from './registry.js';
import { apply } from './apply.js';
import { gather, scatterAdd } from './indexing.js';
import { zerosLike } from './creation.js';

export interface PoolAttrs {
  kernel: number;
  stride: number;
  padding: number;
}

function poolLength(op: string, x: Meta, a: PoolAttrs): number {
  if (x.shape.length === 0) throw new Error(`${op}: x must have at least one axis, got a 0-d tensor`);
  const L = x.shape[x.shape.length - 1]!;
  const padded = L + 2 * a.padding;
  if (a.kernel > padded) {
    throw new Error(`${op}: kernel ${a.kernel} is larger than the input: the last axis of x ${shapeStr(x.shape)} has length ${L}${a.padding ? ` (${padded} with padding ${a.padding} on each side)` : ''}`);
  }
  return Math.floor((padded - a.kernel) / a.stride) + 1;
}

export const maxPool1dOp = defineOp<PoolAttrs>({
  name: 'maxPool1d',
  infer: ([x], a) => {
    const n = poolLength('maxPool1d', x!, a);
    const shape = [...x!.shape.slice(0, -1), n];
    return [
      { shape, dtype: x!.dtype },
      { shape, dtype: 'i32' },
    ];
  },
  ref: ([x], [m], a, [o]) => {
    const L = m!.shape[m!.shape.length - 1]!;
    const n = o!.shape[o!.shape.length - 1]!;
    const rows = L === 0 ? 0 : x!.length / L;
    const values = new Float64Array(rows * n);
    const index = new Float64Array(rows * n);
    const padded = new Float64Array(L + 2 * a.padding).fill(-Infinity);
    for (let r = 0; r < rows; r++) {
      padded.set(x!.subarray(r * L, (r + 1) * L), a.padding);
      const w = slidingWindowMax(padded, a.kernel, a.stride);
      values.set(w.values, r * n);
      // a window whose real elements are all −∞ ties with the padding: point at its first real element
      for (let j = 0; j < n; j++) index[r * n + j] = Math.max(w.argmax[j]!, a.padding) - a.padding;
    }
    return [values, index];
  },
  vjp: (ctx, [g]) => {
    const x = ctx.inputs[0]!;
    return [g ? scatterAdd(zerosLike(x, { dtype: g.dtype }), -1, ctx.outputs[1]!, g) : null];
  },
  jvp: (ctx, [t]) => [gather(t!, -1, ctx.outputs[1]!), null],
  saveInputs: true,
  saveOutputs: true,
});

function checkTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, name);
}

function checkPositiveInt(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

export interface MaxPool1dOptions {
  /** step between windows (default: the kernel width, non-overlapping windows) */
  stride?: number;
  /** −∞ entries added at each end of the last axis (at most kernel/2, as in PyTorch) */
  padding?: number;
}

/** Max-pool the last axis with windows of width `kernel`; returns the maxima and their (i32) positions in x. */
export function maxPool1dWithIndices(x: Tensor, kernel: number, opts: MaxPool1dOptions = {}): [Tensor, Tensor] {
  checkTensor('maxPool1d', 'x', x);
  if (!isFloat(x.dtype)) throw new Error(`maxPool1d: x must be a floating tensor, got ${x.describe()}`);
  const stride = opts.stride ?? kernel;
  const padding = opts.padding ?? 0;
  checkPositiveInt('maxPool1d', 'kernel', kernel, 1);
  checkPositiveInt('maxPool1d', 'stride', stride, 1);
  checkPositiveInt('maxPool1d', 'padding', padding, 0);
  if (2 * padding > kernel) throw new Error(`maxPool1d: padding ${padding} must be at most half the kernel ${kernel}, so no window is padding only`);
  const [v, i] = apply(maxPool1dOp, [x], { kernel, stride, padding });
  return [v!, i!];
}

/**
 * 1-D max pooling over the last axis (PyTorch's F.max_pool1d on (…, L)): windows of width
 * `kernel` every `stride` (default kernel), −∞ padding at both ends; output length
 * ⌊(L + 2·padding − kernel)/stride⌋ + 1. O(L) per row for any kernel width. The gradient
 * goes to the first maximum of each window.
 */
export function maxPool1d(x: Tensor, kernel: number, opts: MaxPool1dOptions = {}): Tensor {
  const [v, i] = maxPool1dWithIndices(x, kernel, opts);
  i.dispose();
  return v;
}
