/** Copying strided views of any dtype to and from contiguous float64. */
import type { TypedArray, View } from '../backend.js';
import { sizeOf } from '../../core/shape.js';
import { decodeF16, decodeBf16, encodeF16, encodeBf16 } from '../../core/float16.js';
import type { DType } from '../../core/dtype.js';

/** Iterate a strided view in row-major order calling `f(k, flatIndex)`; written as an odometer so it is allocation-free. */
export function forEachIndex(shape: readonly number[], strides: readonly number[], offset: number, f: (k: number, idx: number) => void): void {
  const nd = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  if (nd === 0) {
    f(0, offset);
    return;
  }
  const last = nd - 1;
  const lastLen = shape[last]!;
  const lastStride = strides[last]!;
  const ctr = new Array<number>(nd).fill(0);
  let base = offset;
  let k = 0;
  while (k < n) {
    let idx = base;
    for (let j = 0; j < lastLen; j++) {
      f(k++, idx);
      idx += lastStride;
    }
    // advance the odometer over the leading axes
    let ax = last - 1;
    while (ax >= 0) {
      ctr[ax]!++;
      base += strides[ax]!;
      if (ctr[ax]! < shape[ax]!) break;
      base -= strides[ax]! * shape[ax]!;
      ctr[ax] = 0;
      ax--;
    }
    if (ax < 0) break;
  }
}

export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}

/** Gather a strided window of `src` (raw typed array of `dtype`) into contiguous float64. */
export function gatherF64(src: TypedArray, dtype: DType, v: Pick<View, 'shape' | 'strides' | 'offset'>): Float64Array {
  const n = sizeOf(v.shape);
  const out = new Float64Array(n);
  if (dtype === 'f16' || dtype === 'bf16') {
    const raw = new Uint16Array(n);
    const s = src as Uint16Array;
    if (isContiguous(v.shape, v.strides)) raw.set(s.subarray(v.offset, v.offset + n));
    else forEachIndex(v.shape, v.strides, v.offset, (k, i) => (raw[k] = s[i]!));
    if (dtype === 'f16') decodeF16(raw, out);
    else decodeBf16(raw, out);
    return out;
  }
  if (isContiguous(v.shape, v.strides)) {
    const sub = src.subarray(v.offset, v.offset + n);
    for (let i = 0; i < n; i++) out[i] = sub[i]!;
    return out;
  }
  forEachIndex(v.shape, v.strides, v.offset, (k, i) => (out[k] = src[i]!));
  return out;
}

/** Store float64 values into a raw typed array of `dtype` at `at`, rounding as the dtype requires. */
export function storeF64(dst: TypedArray, dtype: DType, values: ArrayLike<number>, at = 0): void {
  const n = values.length;
  switch (dtype) {
    case 'f64':
    case 'f32':
      (dst as Float64Array | Float32Array).set(values, at);
      return;
    case 'f16':
      encodeF16(values, (dst as Uint16Array).subarray(at, at + n));
      return;
    case 'bf16':
      encodeBf16(values, (dst as Uint16Array).subarray(at, at + n));
      return;
    case 'i32': {
      const d = dst as Int32Array;
      for (let i = 0; i < n; i++) d[at + i] = Math.trunc(values[i]!);
      return;
    }
    case 'bool': {
      const d = dst as Uint8Array;
      for (let i = 0; i < n; i++) d[at + i] = values[i] ? 1 : 0;
      return;
    }
  }
}
