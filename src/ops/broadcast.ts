/** Shared machinery for elementwise ops: broadcasting reference loops and scalar promotion. */
import { Tensor } from '../core/tensor.js';
import { promote, isFloat, type DType } from '../core/dtype.js';
import { broadcastShapes, contiguousStrides, shapesEqual, sizeOf, type Shape } from '../core/shape.js';
import { scalar } from './creation.js';

export type TensorLike = Tensor | number | boolean;

/** Strides (in a contiguous array of `shape`) that read it broadcast to `out` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const st = contiguousStrides(shape);
  const res = new Array<number>(out.length).fill(0);
  const off = out.length - shape.length;
  for (let i = 0; i < shape.length; i++) res[off + i] = shape[i] === 1 ? 0 : st[i]!;
  return res;
}

/** Apply `f` elementwise over broadcast inputs (contiguous float64 each in its own shape). */
export function mapBroadcast(xs: readonly Float64Array[], shapes: readonly Shape[], out: Shape, f: (...v: number[]) => number): Float64Array {
  const n = sizeOf(out);
  const y = new Float64Array(n);
  if (xs.length === 1) {
    const a = xs[0]!;
    for (let i = 0; i < n; i++) y[i] = f(a[i]!);
    return y;
  }
  if (xs.length === 2 && shapesEqual(shapes[0]!, out) && shapesEqual(shapes[1]!, out)) {
    const a = xs[0]!;
    const b = xs[1]!;
    for (let i = 0; i < n; i++) y[i] = f(a[i]!, b[i]!);
    return y;
  }
  const nd = out.length;
  const strides = shapes.map((s) => broadcastStrides(s, out));
  const idx = new Array<number>(xs.length).fill(0);
  const ctr = new Array<number>(nd).fill(0);
  const vals = new Array<number>(xs.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < xs.length; j++) vals[j] = xs[j]![idx[j]!]!;
    y[k] = f(...vals);
    for (let ax = nd - 1; ax >= 0; ax--) {
      ctr[ax]!++;
      for (let j = 0; j < xs.length; j++) idx[j]! += strides[j]![ax]!;
      if (ctr[ax]! < out[ax]!) break;
      for (let j = 0; j < xs.length; j++) idx[j]! -= strides[j]![ax]! * out[ax]!;
      ctr[ax] = 0;
    }
  }
  return y;
}

/** Convert JS scalars to 0-d tensors that take the tensor operand's dtype (weak typing, as in JAX). */
export function lift(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, weakScalar(op, b, a)];
  if (b instanceof Tensor) return [weakScalar(op, a, b), b];
  throw new Error(`${op}: at least one argument must be a Tensor, got ${typeof a} and ${typeof b}`);
}

export function weakScalar(op: string, v: TensorLike, like: Tensor): Tensor {
  if (typeof v === 'boolean') v = v ? 1 : 0;
  if (typeof v !== 'number') throw new Error(`${op}: expected a Tensor or a number, got ${v === null ? 'null' : typeof v}`);
  like.assertAlive(op);
  let dtype: DType = like.dtype;
  if (!isFloat(dtype) && !Number.isInteger(v)) dtype = 'f32';
  if (dtype === 'bool' && v !== 0 && v !== 1) dtype = 'i32';
  return scalar(v, { dtype, backend: like.storage.backend });
}

export function binaryShape(op: string, a: Shape, b: Shape): number[] {
  return broadcastShapes(op, [a, b], ['a', 'b']);
}

export function arithmeticDType(a: DType, b: DType): DType {
  const d = promote(a, b);
  return d === 'bool' ? 'i32' : d;
}
