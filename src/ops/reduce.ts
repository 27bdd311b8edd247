/**
 * Reductions over any set of axes, with keepdim: the primitives sum, max,
 * min, prod, argmax, argmin, all, any. The composites built from them (mean,
 * variance, std, logsumexp, norm) live in `stats.ts`.
 */
import { Tensor } from '../core/tensor.js';
import { defineOp, type Meta } from './registry.js';
import { apply } from './apply.js';
import { contiguousStrides, normAxes, normAxis, shapeStr, sizeOf, type Shape } from '../core/shape.js';
import { arithmeticDType } from './broadcast.js';
import { broadcastTo, reshape } from './views.js';
import { astype, div, eq, mul } from './elementwise.js';
import { exclusiveProd } from './cumulative.js';

export interface ReduceAttrs {
  axes: number[];
  keepdim: boolean;
}

export function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (axes.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]!);
  }
  return out;
}

/**
 * Fold every reduced group with `step(acc, x)` from `init`: for each output position the
 * inputs along the reduced axes are visited in row-major order.
 */
export function reduceRef(x: Float64Array, shape: Shape, axes: readonly number[], init: number, step: (acc: number, v: number) => number): Float64Array {
  const outShape = reducedShape(shape, axes, true);
  const n = sizeOf(outShape);
  const out = new Float64Array(n).fill(init);
  const st = contiguousStrides(outShape);
  const nd = shape.length;
  const ctr = new Array<number>(nd).fill(0);
  let o = 0;
  for (let k = 0; k < x.length; k++) {
    out[o] = step(out[o]!, x[k]!);
    for (let ax = nd - 1; ax >= 0; ax--) {
      ctr[ax]!++;
      if (!axes.includes(ax)) o += st[ax]!;
      if (ctr[ax]! < shape[ax]!) break;
      if (!axes.includes(ax)) o -= st[ax]! * shape[ax]!;
      ctr[ax] = 0;
    }
  }
  return out;
}

/** Reshape a reduced gradient back to keepdim form and broadcast it over the input shape. */
export function expandReduced(g: Tensor, inShape: Shape, axes: readonly number[]): Tensor {
  const kd = reshape(g, reducedShape(inShape, axes, true));
  return broadcastTo(kd, inShape);
}

function checkX(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, 'x');
}

/** Reductions with no identity element (max, min, argmax) refuse empty groups, as PyTorch does. */
function assertNonEmpty(op: string, x: Meta, axes: readonly number[]): void {
  for (const a of axes) {
    if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce over axis ${a} of size 0 (x is ${shapeStr(x.shape)}): the result has no identity`);
  }
}

// ---- sum ------------------------------------------------------------------------

export const sumOp = defineOp<ReduceAttrs>({
  name: 'sum',
  infer: ([x], a) => [{ shape: reducedShape(x!.shape, a.axes, a.keepdim), dtype: arithmeticDType(x!.dtype, x!.dtype) }],
  ref: ([x], [m], a) => [reduceRef(x!, m!.shape, a.axes, 0, (s, v) => s + v)],
  vjp: (ctx, [g]) => [expandReduced(g!, ctx.inputs[0]!.shape, ctx.attrs.axes)],
  jvp: (ctx, [t]) => [sum(t!, ctx.attrs.axes, ctx.attrs.keepdim)],
  saveInputs: true,
});

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('sum', x);
  return apply(sumOp, [x], { axes: normAxes('sum', axes, x.ndim), keepdim })[0]!;
}

// ---- max, min -------------------------------------------------------------------

/** NaN wins (it propagates, as in NumPy and PyTorch); otherwise keep the larger (smaller) value. */
const maxStep = (acc: number, v: number): number => (acc !== acc ? acc : v > acc || v !== v ? v : acc);
const minStep = (acc: number, v: number): number => (acc !== acc ? acc : v < acc || v !== v ? v : acc);

/**
 * Where x attains the reduced extremum y, 1/(number of ties in its group), else 0.
 * The derivative of max/min (PyTorch's amax/amin convention: the gradient is shared
 * equally among tied extrema). Built from eq, so its own derivative is zero, as it
 * should be for a piecewise-linear function.
 */
function tieWeights(x: Tensor, y: Tensor, axes: readonly number[]): Tensor {
  const hit = astype(eq(x, reshape(y, reducedShape(x.shape, axes, true))), x.dtype);
  return div(hit, sum(hit, axes, true));
}

function makeExtremum(name: 'max' | 'min', init: number, step: (a: number, v: number) => number) {
  return defineOp<ReduceAttrs>({
    name,
    infer: ([x], a) => {
      assertNonEmpty(name, x!, a.axes);
      return [{ shape: reducedShape(x!.shape, a.axes, a.keepdim), dtype: x!.dtype }];
    },
    ref: ([x], [m], a) => [reduceRef(x!, m!.shape, a.axes, init, step)],
    vjp: (ctx, [g]) => {
      const [x, y] = [ctx.inputs[0]!, ctx.outputs[0]!];
      return [mul(tieWeights(x, y, ctx.attrs.axes), expandReduced(g!, x.shape, ctx.attrs.axes))];
    },
    jvp: (ctx, [t]) => {
      const [x, y] = [ctx.inputs[0]!, ctx.outputs[0]!];
      return [sum(mul(t!, tieWeights(x, y, ctx.attrs.axes)), ctx.attrs.axes, ctx.attrs.keepdim)];
    },
    saveOutputs: true,
  });
}

export const maxOp = makeExtremum('max', -Infinity, maxStep);
export const minOp = makeExtremum('min', Infinity, minStep);

/** Largest value over `axes` (all when omitted); NaN propagates. Like PyTorch's amax: ties share the gradient equally. */
export function max(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('max', x);
  return apply(maxOp, [x], { axes: normAxes('max', axes, x.ndim), keepdim })[0]!;
}

/** Smallest value over `axes` (all when omitted); NaN propagates. Ties share the gradient equally (amin). */
export function min(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('min', x);
  return apply(minOp, [x], { axes: normAxes('min', axes, x.ndim), keepdim })[0]!;
}

// ---- prod -----------------------------------------------------------------------

export const prodOp = defineOp<ReduceAttrs>({
  name: 'prod',
  infer: ([x], a) => [{ shape: reducedShape(x!.shape, a.axes, a.keepdim), dtype: arithmeticDType(x!.dtype, x!.dtype) }],
  ref: ([x], [m], a) => [reduceRef(x!, m!.shape, a.axes, 1, (p, v) => p * v)],
  // ∂y/∂x_i = ∏_{j≠i} x_j, from exclusive products (no division, so exact at zeros and to every order)
  vjp: (ctx, [g]) => {
    const { axes } = ctx.attrs;
    const x = ctx.inputs[0]!;
    return [mul(exclusiveProd(x, axes), expandReduced(g!, x.shape, axes))];
  },
  jvp: (ctx, [t]) => [sum(mul(t!, exclusiveProd(ctx.inputs[0]!, ctx.attrs.axes)), ctx.attrs.axes, ctx.attrs.keepdim)],
});

/** Product over `axes` (all when omitted). Its gradient is exact when x contains zeros. */
export function prod(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('prod', x);
  return apply(prodOp, [x], { axes: normAxes('prod', axes, x.ndim), keepdim })[0]!;
}

// ---- argmax, argmin -------------------------------------------------------------

export interface ArgAttrs {
  /** one axis, or null to index the flattened tensor */
  axis: number | null;
  keepdim: boolean;
}

function argShape(shape: Shape, a: ArgAttrs): number[] {
  if (a.axis === null) return a.keepdim ? shape.map(() => 1) : [];
  return reducedShape(shape, [a.axis], a.keepdim);
}

/** Index of the first element `better` than all before it along the axis (NaN counts as the extreme, like NumPy). */
function argRef(x: Float64Array, shape: Shape, axis: number | null, better: (v: number, best: number) => boolean): Float64Array {
  const n = axis === null ? x.length : shape[axis]!;
  const inner = axis === null ? 1 : sizeOf(shape.slice(axis + 1));
  const outer = axis === null ? 1 : sizeOf(shape.slice(0, axis));
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = x[base]!;
      let at = 0;
      for (let t = 1; t < n && best === best; t++) {
        const v = x[base + t * inner]!;
        if (v !== v || better(v, best)) {
          best = v;
          at = t;
        }
      }
      out[o * inner + i] = at;
    }
  }
  return out;
}

function makeArg(name: 'argmax' | 'argmin', better: (v: number, best: number) => boolean) {
  return defineOp<ArgAttrs>({
    name,
    infer: ([x], a) => {
      if (x!.shape.includes(0) && (a.axis === null || x!.shape[a.axis] === 0)) {
        throw new Error(`${name}: x is ${shapeStr(x!.shape)}: cannot take the ${name} of an empty ${a.axis === null ? 'tensor' : `axis ${a.axis}`}`);
      }
      return [{ shape: argShape(x!.shape, a), dtype: 'i32' }];
    },
    ref: ([x], [m], a) => [argRef(x!, m!.shape, a.axis, better)],
    vjp: 'none',
    jvp: 'none',
  });
}

export const argmaxOp = makeArg('argmax', (v, best) => v > best);
export const argminOp = makeArg('argmin', (v, best) => v < best);

function argApply(op: typeof argmaxOp, x: Tensor, axis: number | null | undefined, keepdim: boolean): Tensor {
  checkX(op.name, x);
  const ax = axis === undefined || axis === null ? null : normAxis(op.name, axis, x.ndim);
  return apply(op, [x], { axis: ax, keepdim })[0]!;
}

/** Index (i32) of the largest value along `axis`, or in the flattened tensor when axis is omitted; the first one on ties. */
export function argmax(x: Tensor, axis?: number | null, keepdim = false): Tensor {
  return argApply(argmaxOp, x, axis, keepdim);
}

/** Index (i32) of the smallest value along `axis`, or in the flattened tensor when axis is omitted; the first one on ties. */
export function argmin(x: Tensor, axis?: number | null, keepdim = false): Tensor {
  return argApply(argminOp, x, axis, keepdim);
}

// ---- all, any -------------------------------------------------------------------

function makeLogical(name: 'all' | 'any') {
  const isAll = name === 'all';
  return defineOp<ReduceAttrs>({
    name,
    infer: ([x], a) => [{ shape: reducedShape(x!.shape, a.axes, a.keepdim), dtype: 'bool' }],
    ref: ([x], [m], a) => [reduceRef(x!, m!.shape, a.axes, isAll ? 1 : 0, isAll ? (acc, v) => (acc && v !== 0 ? 1 : 0) : (acc, v) => (acc || v !== 0 ? 1 : 0))],
    vjp: 'none',
    jvp: 'none',
  });
}

export const allOp = makeLogical('all');
export const anyOp = makeLogical('any');

/** Whether every element over `axes` is true (nonzero); true for an empty group. Returns bool. */
export function all(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('all', x);
  return apply(allOp, [x], { axes: normAxes('all', axes, x.ndim), keepdim })[0]!;
}

/** Whether some element over `axes` is true (nonzero); false for an empty group. Returns bool. */
export function any(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  checkX('any', x);
  return apply(anyOp, [x], { axes: normAxes('any', axes, x.ndim), keepdim })[0]!;
}
