/**
 * Views and shape ops. Views share storage and move no data: reshape (of a
 * contiguous tensor), permute/transpose, slice with steps, expand/broadcast,
 * squeeze/unsqueeze, flip (negative strides). Ops that must move data
 * (concat, pad, gather, ...) are primitives with reference kernels.
 */
import { Tensor } from '../core/tensor.js';
import { defineOp } from './registry.js';
import { apply } from './apply.js';
import { assertShape, broadcastShapes, contiguousStrides, shapeStr, shapesEqual, sizeOf } from '../core/shape.js';
import { sum } from './reduce.js';
import { isContiguous } from '../backends/cpu/strided.js';

/** Identity as a view: a new handle and tape node (used to start jvp/grad at a fresh point). */
export const identityOp = defineOp<undefined>({
  name: 'identity',
  infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
  view: (x) => ({ shape: x.shape.slice(), strides: x.strides.slice(), offset: x.offset }),
  vjp: (_ctx, [g]) => [g],
  jvp: (_ctx, [t]) => [t],
  saveInputs: false,
});

export function identity(x: Tensor): Tensor {
  return apply(identityOp, [x], undefined)[0]!;
}

/** A contiguous copy (always copies). */
export const copyOp = defineOp<undefined>({
  name: 'copy',
  infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
  ref: ([x]) => [x!.slice()],
  vjp: (_ctx, [g]) => [g],
  jvp: (_ctx, [t]) => [t],
  saveInputs: false,
});

export function copy(x: Tensor): Tensor {
  return apply(copyOp, [x], undefined)[0]!;
}

/** The tensor itself if already contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  x.assertAlive('contiguous');
  if (isContiguous(x.shape, x.strides)) return identity(x);
  return copy(x);
}

/** Reshape of a contiguous tensor as a view. */
export const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  infer: ([x], a) => {
    if (sizeOf(a.shape) !== sizeOf(x!.shape)) {
      throw new Error(`reshape: cannot reshape ${shapeStr(x!.shape)} (${sizeOf(x!.shape)} elements) to ${shapeStr(a.shape)} (${sizeOf(a.shape)} elements)`);
    }
    return [{ shape: a.shape, dtype: x!.dtype }];
  },
  view: (x, a) => ({ shape: a.shape.slice(), strides: contiguousStrides(a.shape), offset: x.offset }),
  vjp: (ctx, [g]) => [reshape(g!, ctx.inputs[0]!.shape)],
  jvp: (ctx, [t]) => [reshape(t!, ctx.attrs.shape)],
});

/** Reshape; one dimension may be -1 (inferred). A view when the input is contiguous, else a copy first. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.assertAlive('reshape');
  if (!Array.isArray(shape)) throw new Error(`reshape: shape must be an array, got ${String(shape)}`);
  const sh = shape.slice();
  const neg = sh.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`reshape: only one dimension can be -1, got ${shapeStr(sh)}`);
  if (neg === 1) {
    const known = sizeOf(sh.filter((d) => d !== -1));
    const n = sizeOf(x.shape);
    if (known === 0 || n % known !== 0) throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} (${n} elements) to ${shapeStr(sh)}`);
    sh[sh.indexOf(-1)] = n / known;
  }
  assertShape('reshape', 'shape', sh);
  if (shapesEqual(sh, x.shape) && isContiguous(x.shape, x.strides)) return identity(x);
  const src = isContiguous(x.shape, x.strides) ? x : copy(x);
  const r = apply(reshapeOp, [src], { shape: sh })[0]!;
  if (src !== x) src.dispose();
  return r;
}

/** Broadcast to a larger shape as a view (stride 0 on broadcast axes). */
export const expandOp = defineOp<{ shape: number[] }>({
  name: 'expand',
  infer: ([x], a) => {
    const b = broadcastShapes('broadcastTo', [x!.shape, a.shape], ['x', 'shape']);
    if (!shapesEqual(b, a.shape)) throw new Error(`broadcastTo: x is ${shapeStr(x!.shape)}, which does not broadcast to ${shapeStr(a.shape)}`);
    return [{ shape: a.shape, dtype: x!.dtype }];
  },
  view: (x, a) => {
    const off = a.shape.length - x.shape.length;
    const strides = a.shape.map((d, i) => {
      const j = i - off;
      if (j < 0) return 0;
      return x.shape[j] === 1 && d !== 1 ? 0 : x.strides[j]!;
    });
    return { shape: a.shape.slice(), strides, offset: x.offset };
  },
  vjp: (ctx, [g]) => [sumTo(g!, ctx.inputs[0]!.shape)],
  jvp: (ctx, [t]) => [broadcastTo(t!, ctx.attrs.shape)],
  saveInputs: true,
});

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  x.assertAlive('broadcastTo');
  const sh = assertShape('broadcastTo', 'shape', shape);
  if (shapesEqual(sh, x.shape)) return identity(x);
  return apply(expandOp, [x], { shape: sh })[0]!;
}

/** Sum a broadcast result back down to `shape` (the adjoint of broadcastTo). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot reduce ${shapeStr(g.shape)} to the larger shape ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  const s = sum(g, axes, true);
  return reshape(s, shape);
}
