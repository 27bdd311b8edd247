/**
 * The small interface every backend implements. An op is defined once in
 * `ops/`; a backend runs it either with a native kernel registered under the
 * op's name or, failing that, with the op's float64 reference kernel (it says
 * so once, by name).
 */
import type { DType } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { OpDef } from '../ops/registry.js';

export type TypedArray = Float64Array | Float32Array | Uint16Array | Int32Array | Uint8Array;

/** A block of device memory holding `size` elements of `dtype`. Shared by views; freed when `refs` reaches 0. */
export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  readonly size: number;
  readonly byteLength: number;
  refs: number;
}

/** What a kernel sees of a tensor: storage plus a strided window on it (element units). */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface OutMeta {
  shape: Shape;
  dtype: DType;
}

export interface Backend {
  readonly name: string;
  alloc(dtype: DType, size: number): Storage;
  /** Return the memory of a storage whose refs reached 0. */
  free(s: Storage): void;
  /** Write values (float64 semantics, rounded to the storage dtype) into a storage from element `at`. */
  write(s: Storage, values: ArrayLike<number>, at?: number): void;
  /** Set every element to one value (rounded to the storage dtype). */
  fill(s: Storage, value: number): void;
  /** Materialise a view as a contiguous float64 array (synchronous backends only). */
  readF64Sync(v: View): Float64Array;
  /** Read a view back as a contiguous typed array of its dtype (f16/bf16 decode to Float32Array). */
  read(v: View): Promise<TypedArray>;
  readSync?(v: View): TypedArray;
  /** Run an op; returns one storage per output, contiguous in the output shape. */
  run(op: OpDef, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[];
  /** Bytes live and at peak on this backend. */
  memory(): { liveBytes: number; peakBytes: number };
  resetPeak(): void;
}

/** A native kernel; returning undefined declines (e.g. an unsupported dtype) and the reference runs. */
export type Kernel = (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]) => Storage[] | undefined;
