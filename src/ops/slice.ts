/**
 * Basic slicing as a view, with Python's semantics: per leading axis an index
 * (which drops the axis), a whole axis (null), or {start, stop, step} with
 * negative indices counting from the end and negative steps walking backwards.
 * The view only changes the offset and multiplies strides by the steps.
 *
 * Its adjoint, `sliceGrad`, writes a cotangent into zeros at the sliced
 * positions; slice and sliceGrad are each other's transposes, so gradients of
 * any order stay exact. `diagonal` (a view whose new axis strides by the sum of
 * two axes' strides) and its adjoint `diagonalGrad` follow the same pattern.
 */
import type { Tensor } from '../core/tensor.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { contiguousStrides, normAxis, shapeStr, shapesEqual, sizeOf } from '../core/shape.js';
import { assertTensor, identity, squeeze } from './views.js';

/** One axis of a slice: an index (drops the axis), null/undefined (the whole axis), or a range. */
export type SliceSpec = number | null | undefined | { start?: number | null; stop?: number | null; step?: number | null };

/** A normalised slice of every axis: element i of axis d is input element start[d] + i·step[d]. */
export interface SliceAttrs {
  start: number[];
  step: number[];
  size: number[];
}

export const sliceOp: OpDef<SliceAttrs> = defineOp<SliceAttrs>({
  name: 'slice',
  infer: ([x], a) => [{ shape: a.size.slice(), dtype: x!.dtype }],
  view: (x, a) => {
    let offset = x.offset;
    // an empty slice reads nothing; keep its offset where it was so it never points outside the storage
    if (sizeOf(a.size) > 0) a.start.forEach((s, d) => (offset += s * x.strides[d]!));
    return { shape: a.size.slice(), strides: x.strides.map((st, d) => st * a.step[d]!), offset };
  },
  vjp: (ctx, [g]) => [sliceGrad(g!, ctx.inputs[0]!.shape, ctx.attrs)],
  jvp: (ctx, [t]) => [apply(sliceOp, [t!], ctx.attrs)[0]!],
  saveInputs: true,
});

/** Visit a strided sub-grid of a contiguous array of `shape`: f(k, flat) for the k-th selected element in row-major order. */
function forEachSliced(shape: readonly number[], a: SliceAttrs, f: (k: number, flat: number) => void): void {
  const n = sizeOf(a.size);
  if (n === 0) return;
  const cs = contiguousStrides(shape);
  const nd = shape.length;
  const ctr = new Array<number>(nd).fill(0);
  let flat = 0;
  for (let d = 0; d < nd; d++) flat += a.start[d]! * cs[d]!;
  for (let k = 0; k < n; k++) {
    f(k, flat);
    for (let d = nd - 1; d >= 0; d--) {
      ctr[d]!++;
      flat += a.step[d]! * cs[d]!;
      if (ctr[d]! < a.size[d]!) break;
      flat -= a.step[d]! * cs[d]! * a.size[d]!;
      ctr[d] = 0;
    }
  }
}

/** The adjoint of slice: zeros of the input's shape with g written at the sliced positions. */
export const sliceGradOp: OpDef<SliceAttrs & { shape: number[] }> = defineOp<SliceAttrs & { shape: number[] }>({
  name: 'sliceGrad',
  infer: ([g], a) => {
    if (!shapesEqual(g!.shape, a.size)) throw new Error(`sliceGrad: g is ${shapeStr(g!.shape)} but the slice is ${shapeStr(a.size)}`);
    return [{ shape: a.shape.slice(), dtype: g!.dtype }];
  },
  ref: ([g], _ins, a) => {
    const out = new Float64Array(sizeOf(a.shape));
    forEachSliced(a.shape, a, (k, flat) => (out[flat] = g![k]!));
    return [out];
  },
  vjp: (ctx, [g]) => [apply(sliceOp, [g!], { start: ctx.attrs.start, step: ctx.attrs.step, size: ctx.attrs.size })[0]!],
  jvp: (ctx, [t]) => [apply(sliceGradOp, [t!], ctx.attrs)[0]!],
  saveInputs: false,
});

/** Scatter g (the shape of a slice of a tensor of `shape`) into zeros of `shape`: the VJP of slice. */
export function sliceGrad(g: Tensor, shape: readonly number[], attrs: SliceAttrs): Tensor {
  assertTensor('sliceGrad', 'g', g);
  checkSliceAttrs('sliceGrad', shape, attrs);
  return apply(sliceGradOp, [g], { start: attrs.start.slice(), step: attrs.step.slice(), size: attrs.size.slice(), shape: shape.slice() })[0]!;
}

function checkSliceAttrs(op: string, shape: readonly number[], a: SliceAttrs): void {
  const nd = shape.length;
  if (a.start.length !== nd || a.step.length !== nd || a.size.length !== nd) throw new Error(`${op}: slice attributes must have one entry per axis of ${shapeStr(shape)}`);
  for (let d = 0; d < nd; d++) {
    if (a.size[d] === 0) continue;
    const last = a.start[d]! + (a.size[d]! - 1) * a.step[d]!;
    if (a.start[d]! < 0 || a.start[d]! >= shape[d]! || last < 0 || last >= shape[d]!) {
      throw new Error(`${op}: the slice of axis ${d} (start ${a.start[d]}, step ${a.step[d]}, size ${a.size[d]}) leaves 0..${shape[d]! - 1}`);
    }
  }
}

function checkInt(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`slice: ${what} must be an integer, got ${String(v)}`);
  return v;
}

/**
 * Resolve one range of an axis of length n the way Python's slice.indices does:
 * negative bounds count from the end, then bounds clamp to the axis.
 */
export function resolveRange(n: number, startIn?: number, stopIn?: number, stepIn?: number): { start: number; step: number; size: number } {
  const step = stepIn ?? 1;
  if (step === 0) throw new Error('slice: step must not be 0');
  const clamp = (v: number): number => {
    if (v < 0) v += n;
    if (v < 0) return step < 0 ? -1 : 0;
    if (v >= n) return step < 0 ? n - 1 : n;
    return v;
  };
  const start = startIn === undefined ? (step < 0 ? n - 1 : 0) : clamp(startIn);
  const stop = stopIn === undefined ? (step < 0 ? -1 : n) : clamp(stopIn);
  const size = step > 0 ? (start < stop ? Math.floor((stop - start - 1) / step) + 1 : 0) : stop < start ? Math.floor((start - stop - 1) / -step) + 1 : 0;
  // an empty slice has no first element; start 0 keeps the attributes valid for any axis
  return { start: size === 0 ? 0 : start, step, size };
}

/**
 * Slice x: one spec per leading axis (axes past the specs are taken whole).
 * `slice(x, [0, null, {start: -3, step: -1}])` is x[0, :, -3::-1] in Python.
 */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  assertTensor('slice', 'x', x);
  if (!Array.isArray(specs)) throw new Error(`slice: specs must be an array with one entry per leading axis, got ${String(specs)}`);
  if (specs.length > x.ndim) throw new Error(`slice: ${specs.length} specs for x ${shapeStr(x.shape)} of rank ${x.ndim}`);
  const a: SliceAttrs = { start: [], step: [], size: [] };
  const drop: number[] = [];
  x.shape.forEach((n, d) => {
    const s = specs[d];
    if (typeof s === 'number') {
      if (!Number.isInteger(s) || s < -n || s >= n) throw new Error(`slice: index ${s} in specs[${d}] is out of range for axis ${d} of x ${shapeStr(x.shape)} (allowed ${-n}..${n - 1})`);
      a.start.push(s < 0 ? s + n : s);
      a.step.push(1);
      a.size.push(1);
      drop.push(d);
    } else if (s === null || s === undefined) {
      a.start.push(0);
      a.step.push(1);
      a.size.push(n);
    } else if (typeof s === 'object') {
      const r = resolveRange(n, checkInt(s.start, `specs[${d}].start`), checkInt(s.stop, `specs[${d}].stop`), checkInt(s.step, `specs[${d}].step`));
      a.start.push(r.start);
      a.step.push(r.step);
      a.size.push(r.size);
    } else throw new Error(`slice: specs[${d}] must be an integer, null or {start, stop, step}, got ${typeof s}`);
  });
  const whole = a.size.every((n, d) => n === x.shape[d] && a.start[d] === 0 && a.step[d] === 1);
  const y = whole ? identity(x) : apply(sliceOp, [x], a)[0]!;
  if (drop.length === 0) return y;
  const r = squeeze(y, drop);
  y.dispose();
  return r;
}

/**
 * Split x along `axis` into views: `sizesOrSections` is either the number of
 * equal sections (it must divide the axis) or the list of section sizes (they
 * must add up to the axis).
 */
export function split(x: Tensor, sizesOrSections: number | readonly number[], axis = 0): Tensor[] {
  assertTensor('split', 'x', x);
  const ax = normAxisOf('split', axis, x);
  const n = x.shape[ax]!;
  let sizes: number[];
  if (typeof sizesOrSections === 'number') {
    const k = sizesOrSections;
    if (!Number.isInteger(k) || k <= 0) throw new Error(`split: sections must be a positive integer, got ${k}`);
    if (n % k !== 0) throw new Error(`split: ${k} sections do not divide axis ${ax} of x ${shapeStr(x.shape)} (size ${n}); pass a list of sizes instead`);
    sizes = new Array<number>(k).fill(n / k);
  } else if (Array.isArray(sizesOrSections)) {
    sizes = sizesOrSections.slice();
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`split: sizes must be non-negative integers, got [${sizes.join(',')}]`);
    const total = sizes.reduce((p, q) => p + q, 0);
    if (total !== n) throw new Error(`split: sizes [${sizes.join(',')}] add up to ${total}, but axis ${ax} of x ${shapeStr(x.shape)} has size ${n}`);
  } else throw new Error(`split: sizesOrSections must be a number or an array of sizes, got ${String(sizesOrSections)}`);
  let at = 0;
  return sizes.map((s) => {
    const specs: SliceSpec[] = new Array<SliceSpec>(ax).fill(null);
    specs.push({ start: at, stop: at + s });
    at += s;
    return slice(x, specs);
  });
}

function normAxisOf(op: string, axis: number, x: Tensor): number {
  if (!Number.isInteger(axis) || axis < -x.ndim || axis >= x.ndim) throw new Error(`${op}: axis ${axis} is out of range for x ${shapeStr(x.shape)} of rank ${x.ndim}`);
  return axis < 0 ? axis + x.ndim : axis;
}

// ---- diagonal -----------------------------------------------------------------------

/** Diagonal `offset` of the (axis1, axis2) planes: element i is x[…, i, …, i + offset, …] (offset < 0: below). */
export interface DiagonalAttrs {
  offset: number;
  axis1: number;
  axis2: number;
}

function diagonalLength(n1: number, n2: number, k: number): number {
  return Math.max(0, k >= 0 ? Math.min(n1, n2 - k) : Math.min(n1 + k, n2));
}

function diagonalShape(shape: readonly number[], a: DiagonalAttrs): number[] {
  const rest = shape.filter((_, d) => d !== a.axis1 && d !== a.axis2);
  return [...rest, diagonalLength(shape[a.axis1]!, shape[a.axis2]!, a.offset)];
}

export const diagonalOp: OpDef<DiagonalAttrs> = defineOp<DiagonalAttrs>({
  name: 'diagonal',
  infer: ([x], a) => [{ shape: diagonalShape(x!.shape, a), dtype: x!.dtype }],
  // the two axes collapse into one whose stride is the sum of theirs
  view: (x, a) => {
    const shape = diagonalShape(x.shape, a);
    const s1 = x.strides[a.axis1]!;
    const s2 = x.strides[a.axis2]!;
    const strides = [...x.strides.filter((_, d) => d !== a.axis1 && d !== a.axis2), s1 + s2];
    const start = a.offset >= 0 ? a.offset * s2 : -a.offset * s1;
    return { shape, strides, offset: x.offset + (shape[shape.length - 1]! > 0 ? start : 0) };
  },
  vjp: (ctx, [g]) => [apply(diagonalGradOp, [g!], { ...ctx.attrs, shape: ctx.inputs[0]!.shape.slice() })[0]!],
  jvp: (ctx, [t]) => [apply(diagonalOp, [t!], ctx.attrs)[0]!],
  saveInputs: true,
});

/** The adjoint of diagonal: zeros of the input's shape with g written on the diagonal. */
export const diagonalGradOp: OpDef<DiagonalAttrs & { shape: number[] }> = defineOp<DiagonalAttrs & { shape: number[] }>({
  name: 'diagonalGrad',
  infer: ([g], a) => {
    const want = diagonalShape(a.shape, a);
    if (!shapesEqual(g!.shape, want)) throw new Error(`diagonalGrad: g is ${shapeStr(g!.shape)} but the diagonal of ${shapeStr(a.shape)} is ${shapeStr(want)}`);
    return [{ shape: a.shape.slice(), dtype: g!.dtype }];
  },
  ref: ([g], [gm], a) => {
    const out = new Float64Array(sizeOf(a.shape));
    const cs = contiguousStrides(a.shape);
    const rest = cs.filter((_, d) => d !== a.axis1 && d !== a.axis2);
    const gs = gm!.shape;
    const L = gs[gs.length - 1]!;
    const start = a.offset >= 0 ? a.offset * cs[a.axis2]! : -a.offset * cs[a.axis1]!;
    const step = cs[a.axis1]! + cs[a.axis2]!;
    for (let k = 0; k < g!.length; k++) {
      // g's position k = (outer multi-index over the remaining axes, i along the diagonal)
      let q = Math.floor(k / Math.max(L, 1));
      let base = 0;
      for (let d = rest.length - 1; d >= 0; d--) {
        base += (q % gs[d]!) * rest[d]!;
        q = Math.floor(q / gs[d]!);
      }
      out[base + start + (k % L) * step] = g![k]!;
    }
    return [out];
  },
  vjp: (ctx, [g]) => [apply(diagonalOp, [g!], { offset: ctx.attrs.offset, axis1: ctx.attrs.axis1, axis2: ctx.attrs.axis2 })[0]!],
  jvp: (ctx, [t]) => [apply(diagonalGradOp, [t!], ctx.attrs)[0]!],
  saveInputs: false,
});

function diagonalAttrs(op: string, rank: number, offset: number, axis1: number, axis2: number): DiagonalAttrs {
  if (rank < 2) throw new Error(`${op}: needs at least 2 axes, got rank ${rank}`);
  if (!Number.isInteger(offset)) throw new Error(`${op}: offset must be an integer, got ${offset}`);
  const a1 = normAxis(op, axis1, rank, 'axis1');
  const a2 = normAxis(op, axis2, rank, 'axis2');
  if (a1 === a2) throw new Error(`${op}: axis1 and axis2 are both axis ${a1}; they must differ`);
  return { offset, axis1: a1, axis2: a2 };
}

/**
 * The diagonal of every (axis1, axis2) plane, as a view placed last (like NumPy and
 * torch.diagonal): default the main diagonal of the last two axes; offset > 0 above it.
 */
export function diagonal(x: Tensor, offset = 0, axis1 = -2, axis2 = -1): Tensor {
  assertTensor('diagonal', 'x', x);
  return apply(diagonalOp, [x], diagonalAttrs('diagonal', x.ndim, offset, axis1, axis2))[0]!;
}

/** Zeros of `shape` with g on the diagonal that `diagonal(·, offset, axis1, axis2)` reads: the VJP of diagonal. */
export function diagonalGrad(g: Tensor, shape: readonly number[], offset = 0, axis1 = -2, axis2 = -1): Tensor {
  assertTensor('diagonalGrad', 'g', g);
  const a = diagonalAttrs('diagonalGrad', shape.length, offset, axis1, axis2);
  return apply(diagonalGradOp, [g], { ...a, shape: shape.slice() })[0]!;
}
