/**
 * Indexing with integer tensors, with PyTorch's semantics:
 *   gather(x, axis, index)[…i…]        = x[…index[…i…]…]       (index replaces the position on `axis`)
 *   scatter(x, axis, index, src)        writes src into a copy of x at those positions (last write wins)
 *   scatterAdd(x, axis, index, src)     adds src there instead (duplicates accumulate)
 *   indexSelect(x, axis, index)         picks whole slices x[…, index[j], …] along `axis` (index 1-D)
 *   indexAdd(x, axis, index, src)       adds whole slices of src into x at index[j]
 * gather and scatterAdd are each other's adjoints, as are indexSelect and
 * indexAdd, so gradients of every order close over this family.
 *
 * Indices are i32 in [0, n) for an axis of size n. They are checked before the
 * kernel runs, and an error names the op, the argument, the bad value, where it
 * sits and the allowed range.
 */
import type { Tensor } from '../core/tensor.js';
import { contiguousStrides, shapeStr, sizeOf, type Shape } from '../core/shape.js';
import { defineOp, type Meta, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { assertTensor, reshape } from './views.js';
import { arange, full, zerosLike } from './creation.js';
import { eq, where } from './elementwise.js';

export interface AxisAttrs {
  axis: number;
}

function position(shape: Shape, k: number): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(k % shape[d]!);
    k = Math.floor(k / shape[d]!);
  }
  return `[${idx.join(',')}]`;
}

/** Check every index is an integer in [0, n); the error names op, argument, value, position and range. */
export function checkIndices(op: string, arg: string, index: Float64Array, shape: Shape, n: number, axis: number): void {
  for (let k = 0; k < index.length; k++) {
    const v = index[k]!;
    if (!(v >= 0 && v < n)) {
      throw new Error(`${op}: ${arg} holds ${v} at ${position(shape, k)}, out of range for axis ${axis} of size ${n} (allowed 0..${n - 1})`);
    }
  }
}

function checkIndexArg(op: string, index: Meta): void {
  if (index.dtype !== 'i32') throw new Error(`${op}: index must be i32, got ${index.dtype} ${shapeStr(index.shape)}`);
}

/** torch.gather's shape rule: index has x's rank and is no larger than x on every axis but `axis`. */
function checkGatherShapes(op: string, x: Meta, index: Meta, axis: number): void {
  checkIndexArg(op, index);
  const bad = index.shape.length !== x.shape.length || index.shape.some((d, k) => k !== axis && d > x.shape[k]!);
  if (bad) throw new Error(`${op}: index is ${shapeStr(index.shape)} but x is ${shapeStr(x.shape)}; index needs x's rank and at most x's size on every axis but ${axis}`);
}

/**
 * Visit the positions of `index` in row-major order: f(k, base) where base is the flat
 * offset in a contiguous x of the same position with the `axis` coordinate set to 0.
 */
function forEachIndexPos(ishape: Shape, xshape: Shape, axis: number, f: (k: number, base: number) => void): void {
  const n = sizeOf(ishape);
  const xs = contiguousStrides(xshape);
  const nd = ishape.length;
  const ctr = new Array<number>(nd).fill(0);
  let base = 0;
  for (let k = 0; k < n; k++) {
    f(k, base);
    for (let d = nd - 1; d >= 0; d--) {
      ctr[d]!++;
      if (d !== axis) base += xs[d]!;
      if (ctr[d]! < ishape[d]!) break;
      if (d !== axis) base -= xs[d]! * ishape[d]!;
      ctr[d] = 0;
    }
  }
}

// ---- gather, scatter, scatterAdd ---------------------------------------------------

export const gatherOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'gather',
  infer: ([x, index], a) => {
    checkGatherShapes('gather', x!, index!, a.axis);
    return [{ shape: index!.shape, dtype: x!.dtype }];
  },
  ref: ([x, index], [xm, im], a) => {
    checkIndices('gather', 'index', index!, im!.shape, xm!.shape[a.axis]!, a.axis);
    const st = contiguousStrides(xm!.shape)[a.axis]!;
    const y = new Float64Array(index!.length);
    forEachIndexPos(im!.shape, xm!.shape, a.axis, (k, base) => (y[k] = x![base + index![k]! * st]!));
    return [y];
  },
  vjp: (ctx, [g]) => {
    const [x, index] = ctx.inputs as [Tensor, Tensor];
    return [apply(scatterAddOp, [zerosLike(x, { dtype: g!.dtype }), index, g!], ctx.attrs)[0]!, null];
  },
  jvp: (ctx, [t]) => [t ? apply(gatherOp, [t, ctx.inputs[1]!], ctx.attrs)[0]! : null],
});

function makeScatter(name: 'scatter' | 'scatterAdd') {
  return {
    infer: ([x, index, src]: readonly Meta[], a: AxisAttrs) => {
      checkGatherShapes(name, x!, index!, a.axis);
      if (src!.shape.length !== index!.shape.length || src!.shape.some((d, k) => d !== index!.shape[k])) {
        throw new Error(`${name}: src is ${shapeStr(src!.shape)} but index is ${shapeStr(index!.shape)}; they must match`);
      }
      if (src!.dtype !== x!.dtype) throw new Error(`${name}: src is ${src!.dtype} but x is ${x!.dtype}; they must match`);
      return [{ shape: x!.shape, dtype: x!.dtype }];
    },
    ref: ([x, index, src]: readonly Float64Array[], [xm, im]: readonly Meta[], a: AxisAttrs) => {
      checkIndices(name, 'index', index!, im!.shape, xm!.shape[a.axis]!, a.axis);
      const st = contiguousStrides(xm!.shape)[a.axis]!;
      const y = x!.slice();
      if (name === 'scatter') forEachIndexPos(im!.shape, xm!.shape, a.axis, (k, base) => (y[base + index![k]! * st] = src![k]!));
      else forEachIndexPos(im!.shape, xm!.shape, a.axis, (k, base) => (y[base + index![k]! * st]! += src![k]!));
      return [y];
    },
  };
}

export const scatterAddOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'scatterAdd',
  ...makeScatter('scatterAdd'),
  vjp: (ctx, [g]) => [g, null, apply(gatherOp, [g!, ctx.inputs[1]!], ctx.attrs)[0]!],
  jvp: (ctx, [tx, , ts]) => {
    if (!ts) return [tx];
    return [apply(scatterAddOp, [tx ?? zerosLike(ctx.inputs[0]!), ctx.inputs[1]!, ts], ctx.attrs)[0]!];
  },
});

export const scatterOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'scatter',
  ...makeScatter('scatter'),
  // x's entries that were overwritten get no gradient; of several writes to one place only the last reaches the output
  vjp: (ctx, [g]) => {
    const [x, index, src] = ctx.inputs as [Tensor, Tensor, Tensor];
    const { written, winner } = scatterMasks(x, index, src, ctx.attrs.axis);
    return [where(written, 0, g!), null, where(winner, apply(gatherOp, [g!, index], ctx.attrs)[0]!, 0)];
  },
  jvp: (ctx, [tx, , ts]) => {
    const [x, index, src] = ctx.inputs as [Tensor, Tensor, Tensor];
    return [apply(scatterOp, [tx ?? zerosLike(x), index, ts ?? zerosLike(src)], ctx.attrs)[0]!];
  },
});

/**
 * For scatter's VJP: `written` marks x's entries that some index overwrote; `winner` marks the src
 * entries whose write survived (the last in row-major order). Each src position scatters its own
 * ordinal; reading back which ordinal landed tells the winners apart.
 */
function scatterMasks(x: Tensor, index: Tensor, src: Tensor, axis: number): { written: Tensor; winner: Tensor } {
  const be = { backend: x.storage.backend };
  const ids = reshape(arange(0, src.size, 1, { dtype: 'i32', ...be }), src.shape);
  const landed = apply(scatterOp, [full(x.shape, -1, { dtype: 'i32', ...be }), index, ids], { axis })[0]!;
  const winner = eq(apply(gatherOp, [landed, index], { axis })[0]!, ids);
  const written = apply(scatterOp, [full(x.shape, 0, { dtype: 'bool', ...be }), index, full(src.shape, 1, { dtype: 'bool', ...be })], { axis })[0]!;
  return { written, winner };
}

function axisOf(op: string, axis: unknown, x: Tensor): number {
  const r = x.ndim;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new Error(`${op}: axis ${String(axis)} is out of range for x ${shapeStr(x.shape)} of rank ${r} (allowed ${-r}..${r - 1})`);
  }
  return axis < 0 ? axis + r : axis;
}

/** out[…i…] = x[… index[…i…] …], the index replacing the coordinate on `axis` (torch.gather); out has index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('gather', 'x', x);
  assertTensor('gather', 'index', index);
  return apply(gatherOp, [x, index], { axis: axisOf('gather', axis, x) })[0]!;
}

/**
 * A copy of x with src written at the gathered positions (torch.scatter). When several
 * index entries name the same place, the last one in row-major order wins, and only it
 * receives a gradient; overwritten entries of x receive none.
 */
export function scatter(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('scatter', 'x', x);
  assertTensor('scatter', 'index', index);
  assertTensor('scatter', 'src', src);
  return apply(scatterOp, [x, index, src], { axis: axisOf('scatter', axis, x) })[0]!;
}

/** x plus src added at the gathered positions; duplicates accumulate (torch.scatter_add). */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('scatterAdd', 'x', x);
  assertTensor('scatterAdd', 'index', index);
  assertTensor('scatterAdd', 'src', src);
  return apply(scatterAddOp, [x, index, src], { axis: axisOf('scatterAdd', axis, x) })[0]!;
}

// ---- indexSelect, indexAdd ---------------------------------------------------------

/** Visit blocks: for outer o and index position j, f(o, j, xBase, yBase) with inner-run bases into x and the sliced tensor. */
function forEachBlock(xshape: Shape, axis: number, m: number, f: (xBase: number, yBase: number, j: number) => void): void {
  const outer = sizeOf(xshape.slice(0, axis));
  const inner = sizeOf(xshape.slice(axis + 1));
  const n = xshape[axis]!;
  for (let o = 0; o < outer; o++) for (let j = 0; j < m; j++) f(o * n * inner, (o * m + j) * inner, j);
}

function checkSelectShapes(op: string, x: Meta, index: Meta): void {
  checkIndexArg(op, index);
  if (index.shape.length !== 1) throw new Error(`${op}: index must be 1-D, got ${shapeStr(index.shape)}`);
  if (x.shape.length === 0) throw new Error(`${op}: x must have at least one axis, got a scalar ([])`);
}

function selectedShape(x: Shape, axis: number, m: number): number[] {
  const s = x.slice();
  s[axis] = m;
  return s;
}

export const indexSelectOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'indexSelect',
  infer: ([x, index], a) => {
    checkSelectShapes('indexSelect', x!, index!);
    return [{ shape: selectedShape(x!.shape, a.axis, index!.shape[0]!), dtype: x!.dtype }];
  },
  ref: ([x, index], [xm], a, [out]) => {
    const n = xm!.shape[a.axis]!;
    checkIndices('indexSelect', 'index', index!, [index!.length], n, a.axis);
    const inner = sizeOf(xm!.shape.slice(a.axis + 1));
    const y = new Float64Array(sizeOf(out!.shape));
    forEachBlock(xm!.shape, a.axis, index!.length, (xb, yb, j) => y.set(x!.subarray(xb + index![j]! * inner, xb + (index![j]! + 1) * inner), yb));
    return [y];
  },
  vjp: (ctx, [g]) => {
    const [x, index] = ctx.inputs as [Tensor, Tensor];
    return [apply(indexAddOp, [zerosLike(x, { dtype: g!.dtype }), index, g!], ctx.attrs)[0]!, null];
  },
  jvp: (ctx, [t]) => [t ? apply(indexSelectOp, [t, ctx.inputs[1]!], ctx.attrs)[0]! : null],
});

export const indexAddOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'indexAdd',
  infer: ([x, index, src], a) => {
    checkSelectShapes('indexAdd', x!, index!);
    const want = selectedShape(x!.shape, a.axis, index!.shape[0]!);
    if (src!.shape.length !== want.length || src!.shape.some((d, k) => d !== want[k])) {
      throw new Error(`indexAdd: src is ${shapeStr(src!.shape)} but x ${shapeStr(x!.shape)} with ${index!.shape[0]} indices on axis ${a.axis} needs ${shapeStr(want)}`);
    }
    if (src!.dtype !== x!.dtype) throw new Error(`indexAdd: src is ${src!.dtype} but x is ${x!.dtype}; they must match`);
    return [{ shape: x!.shape, dtype: x!.dtype }];
  },
  ref: ([x, index, src], [xm], a) => {
    checkIndices('indexAdd', 'index', index!, [index!.length], xm!.shape[a.axis]!, a.axis);
    const inner = sizeOf(xm!.shape.slice(a.axis + 1));
    const y = x!.slice();
    forEachBlock(xm!.shape, a.axis, index!.length, (xb, sb, j) => {
      const at = xb + index![j]! * inner;
      for (let i = 0; i < inner; i++) y[at + i]! += src![sb + i]!;
    });
    return [y];
  },
  vjp: (ctx, [g]) => [g, null, apply(indexSelectOp, [g!, ctx.inputs[1]!], ctx.attrs)[0]!],
  jvp: (ctx, [tx, , ts]) => {
    if (!ts) return [tx];
    return [apply(indexAddOp, [tx ?? zerosLike(ctx.inputs[0]!), ctx.inputs[1]!, ts], ctx.attrs)[0]!];
  },
});

/** Whole slices of x along `axis` picked by a 1-D i32 index (repeats allowed): out has index.size entries on `axis`. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('indexSelect', 'x', x);
  assertTensor('indexSelect', 'index', index);
  return apply(indexSelectOp, [x, index], { axis: axisOf('indexSelect', axis, x) })[0]!;
}

/** x with slice j of src added at position index[j] along `axis`; repeated indices accumulate (torch.index_add). */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('indexAdd', 'x', x);
  assertTensor('indexAdd', 'index', index);
  assertTensor('indexAdd', 'src', src);
  return apply(indexAddOp, [x, index, src], { axis: axisOf('indexAdd', axis, x) })[0]!;
}

