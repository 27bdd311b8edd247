/**
 * Views and shape ops. Views share storage and move no data: reshape (of a
 * contiguous tensor), permute/transpose, slice with steps, expand/broadcast,
 * squeeze/unsqueeze, flip (negative strides). Ops that must move data
 * (concat, pad, gather, ...) are primitives with reference kernels.
 */
import { Tensor } from '../core/tensor.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { assertShape, broadcastShapes, contiguousStrides, normAxes, normAxis, shapeStr, shapesEqual, sizeOf } from '../core/shape.js';
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

// ---- permute, transpose ----------------------------------------------------------

/** The inverse permutation: inv[p[i]] = i. */
export function inversePermutation(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** Reorder axes as a view: output axis i is input axis axes[i] (shape and strides move together). */
export const permuteOp: OpDef<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'permute',
  infer: ([x], a) => {
    if (a.axes.length !== x!.shape.length) throw new Error(`permute: axes [${a.axes.join(',')}] do not match x ${shapeStr(x!.shape)}`);
    return [{ shape: a.axes.map((p) => x!.shape[p]!), dtype: x!.dtype }];
  },
  view: (x, a) => ({ shape: a.axes.map((p) => x.shape[p]!), strides: a.axes.map((p) => x.strides[p]!), offset: x.offset }),
  vjp: (ctx, [g]) => [permute(g!, inversePermutation(ctx.attrs.axes))],
  jvp: (ctx, [t]) => [permute(t!, ctx.attrs.axes)],
  saveInputs: false,
});

/** Permute the axes of x (a view); `axes` lists every axis once, negative axes count from the end. */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  assertTensor('permute', 'x', x);
  if (!Array.isArray(axes)) throw new Error(`permute: axes must be an array of axes, got ${String(axes)}`);
  if (axes.length !== x.ndim) throw new Error(`permute: axes [${axes.join(',')}] has ${axes.length} entries but x is ${shapeStr(x.shape)} (rank ${x.ndim})`);
  const p = axes.map((a) => normAxis('permute', a, x.ndim, 'axes entry'));
  if (new Set(p).size !== p.length) throw new Error(`permute: axes [${axes.join(',')}] repeat an axis (x is ${shapeStr(x.shape)})`);
  if (p.every((a, i) => a === i)) return identity(x);
  return apply(permuteOp, [x], { axes: p })[0]!;
}

/** Swap axes a and b (default: the last two, the matrix transpose of a batch). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  assertTensor('transpose', 'x', x);
  const i = normAxis('transpose', a, x.ndim, 'a');
  const j = normAxis('transpose', b, x.ndim, 'b');
  const p = Array.from({ length: x.ndim }, (_, k) => k);
  p[i] = j;
  p[j] = i;
  return permute(x, p);
}

// ---- squeeze, unsqueeze ------------------------------------------------------------

/** Drop the listed size-1 axes (sorted, in input coordinates). */
export const squeezeOp: OpDef<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'squeeze',
  infer: ([x], a) => {
    for (const ax of a.axes) if (x!.shape[ax] !== 1) throw new Error(`squeeze: axis ${ax} of x ${shapeStr(x!.shape)} has size ${x!.shape[ax]}, not 1`);
    return [{ shape: x!.shape.filter((_, i) => !a.axes.includes(i)), dtype: x!.dtype }];
  },
  view: (x, a) => ({
    shape: x.shape.filter((_, i) => !a.axes.includes(i)),
    strides: x.strides.filter((_, i) => !a.axes.includes(i)),
    offset: x.offset,
  }),
  vjp: (ctx, [g]) => [apply(unsqueezeOp, [g!], { axes: ctx.attrs.axes })[0]!],
  jvp: (ctx, [t]) => [apply(squeezeOp, [t!], ctx.attrs)[0]!],
  saveInputs: false,
});

/** Insert size-1 axes at the listed positions (sorted, in output coordinates). */
export const unsqueezeOp: OpDef<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'unsqueeze',
  infer: ([x], a) => [{ shape: insertOnes(x!.shape, a.axes), dtype: x!.dtype }],
  view: (x, a) => {
    const shape: number[] = [];
    const strides: number[] = [];
    let j = 0;
    for (let i = 0; i < x.shape.length + a.axes.length; i++) {
      if (a.axes.includes(i)) {
        // any stride is valid on a size-1 axis; use the contiguous one so layouts stay recognisable
        shape.push(1);
        strides.push(j < x.shape.length ? x.strides[j]! * x.shape[j]! : 1);
      } else {
        shape.push(x.shape[j]!);
        strides.push(x.strides[j++]!);
      }
    }
    return { shape, strides, offset: x.offset };
  },
  vjp: (ctx, [g]) => [apply(squeezeOp, [g!], { axes: ctx.attrs.axes })[0]!],
  jvp: (ctx, [t]) => [apply(unsqueezeOp, [t!], ctx.attrs)[0]!],
  saveInputs: false,
});

function insertOnes(shape: readonly number[], axes: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < shape.length + axes.length; i++) out.push(axes.includes(i) ? 1 : shape[j++]!);
  return out;
}

/** Remove size-1 axes: the listed ones (each must have size 1), or all of them when `axes` is omitted. */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  assertTensor('squeeze', 'x', x);
  let ax: number[];
  if (axes === undefined) ax = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  else {
    ax = normAxes('squeeze', axes, x.ndim);
    if (x.ndim === 0 && ax.length > 0) throw new Error(`squeeze: x is a scalar ([]); it has no axis ${String(axes)}`);
    for (const a of ax) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of x ${shapeStr(x.shape)} has size ${x.shape[a]}, not 1`);
  }
  if (ax.length === 0) return identity(x);
  return apply(squeezeOp, [x], { axes: ax })[0]!;
}

/** Insert size-1 axes; `axis` (or each of several) is a position in the result, so -1 appends. */
export function unsqueeze(x: Tensor, axis: number | readonly number[]): Tensor {
  assertTensor('unsqueeze', 'x', x);
  const list = typeof axis === 'number' ? [axis] : axis;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`unsqueeze: axis must be an integer or a non-empty array of integers, got ${String(axis)}`);
  const ax = normAxes('unsqueeze', list, x.ndim + list.length);
  return apply(unsqueezeOp, [x], { axes: ax })[0]!;
}

// ---- flip ---------------------------------------------------------------------------

/** Reverse the listed axes as a view: negative strides, offset moved to the last element. */
export const flipOp: OpDef<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'flip',
  infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
  view: (x, a) => {
    const strides = x.strides.slice();
    let offset = x.offset;
    for (const ax of a.axes) {
      offset += Math.max(x.shape[ax]! - 1, 0) * strides[ax]!;
      strides[ax] = -strides[ax]!;
    }
    return { shape: x.shape.slice(), strides, offset };
  },
  vjp: (ctx, [g]) => [apply(flipOp, [g!], ctx.attrs)[0]!],
  jvp: (ctx, [t]) => [apply(flipOp, [t!], ctx.attrs)[0]!],
  saveInputs: false,
});

/** Reverse the order of elements along `axes` (all axes when omitted). */
export function flip(x: Tensor, axes?: number | readonly number[]): Tensor {
  assertTensor('flip', 'x', x);
  // a scalar has nothing to reverse (normAxes accepts axis 0 of a scalar, as reductions do)
  const ax = normAxes('flip', axes, x.ndim).filter((a) => a < x.ndim);
  if (ax.length === 0) return identity(x);
  return apply(flipOp, [x], { axes: ax })[0]!;
}

/** Check that an argument is a live Tensor; the error names the op and the argument. */
export function assertTensor(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x}`);
  x.assertAlive(op, arg);
}
