/**
 * Reductions over any set of axes, with keepdim.
 */
import { Tensor } from '../core/tensor.js';
import { defineOp } from './registry.js';
import { apply } from './apply.js';
import { contiguousStrides, normAxes, sizeOf, type Shape } from '../core/shape.js';
import { arithmeticDType } from './broadcast.js';
import { broadcastTo, reshape } from './views.js';

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
  if (!(x instanceof Tensor)) throw new Error('sum: x must be a Tensor');
  x.assertAlive('sum');
  return apply(sumOp, [x], { axes: normAxes('sum', axes, x.ndim), keepdim })[0]!;
}
