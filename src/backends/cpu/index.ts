/**
 * The CPU backend. Storage lives on the shared WebAssembly heap; every op runs
 * its float64 reference kernel unless a native kernel is registered for it
 * (the fast WASM kernels register themselves here).
 */
import type { Backend, Kernel, OutMeta, Storage, TypedArray, View } from '../backend.js';
import { BYTES, type DType } from '../../core/dtype.js';
import { heap, type Heap } from '../../core/heap.js';
import { sizeOf } from '../../core/shape.js';
import { registry } from '../../core/memory.js';
import { gatherF64, storeF64, isContiguous, forEachIndex } from './strided.js';
import { decodeF16, decodeBf16 } from '../../core/float16.js';
import type { OpDef } from '../../ops/registry.js';

export interface CpuStorage extends Storage {
  /** byte offset in the heap */
  readonly ptr: number;
}

function rawView(h: Heap, dtype: DType, ptr: number, size: number): TypedArray {
  const buf = h.buffer;
  switch (dtype) {
    case 'f64':
      return new Float64Array(buf, ptr, size);
    case 'f32':
      return new Float32Array(buf, ptr, size);
    case 'f16':
    case 'bf16':
      return new Uint16Array(buf, ptr, size);
    case 'i32':
      return new Int32Array(buf, ptr, size);
    case 'bool':
      return new Uint8Array(buf, ptr, size);
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly heap: Heap;
  /** native kernels by op name */
  readonly kernels = new Map<string, Kernel>();

  constructor(h: Heap = heap()) {
    this.heap = h;
    registry.backends.add(this);
  }

  alloc(dtype: DType, size: number): CpuStorage {
    const byteLength = size * BYTES[dtype];
    const ptr = this.heap.alloc(byteLength);
    return { backend: this, dtype, size, byteLength, refs: 0, ptr };
  }

  free(s: Storage): void {
    this.heap.free((s as CpuStorage).ptr);
  }

  /** The raw typed array over a storage (valid until the heap grows; do not keep it). */
  raw(s: Storage): TypedArray {
    return rawView(this.heap, s.dtype, (s as CpuStorage).ptr, s.size);
  }

  write(s: Storage, values: ArrayLike<number>, at = 0): void {
    if (at + values.length > s.size) throw new Error(`write: ${values.length} values at ${at} overflow a storage of ${s.size}`);
    storeF64(this.raw(s), s.dtype, values, at);
  }

  fill(s: Storage, value: number): void {
    if (s.size === 0) return;
    const one = new Float64Array([value]);
    const raw = this.raw(s);
    storeF64(raw, s.dtype, one, 0);
    (raw as Float64Array).fill(raw[0]!);
  }

  readF64Sync(v: View): Float64Array {
    return gatherF64(this.raw(v.storage), v.dtype, v);
  }

  readSync(v: View): TypedArray {
    const n = sizeOf(v.shape);
    const raw = this.raw(v.storage);
    if (v.dtype === 'f16' || v.dtype === 'bf16') {
      const bits = new Uint16Array(n);
      const r = raw as Uint16Array;
      forEachIndex(v.shape, v.strides, v.offset, (k, i) => (bits[k] = r[i]!));
      const out = new Float32Array(n);
      if (v.dtype === 'f16') decodeF16(bits, out);
      else decodeBf16(bits, out);
      return out;
    }
    const Ctor = raw.constructor as new (n: number) => TypedArray;
    const out = new Ctor(n);
    if (isContiguous(v.shape, v.strides)) out.set(raw.subarray(v.offset, v.offset + n) as never);
    else forEachIndex(v.shape, v.strides, v.offset, (k, i) => (out[k] = raw[i]!));
    return out;
  }

  async read(v: View): Promise<TypedArray> {
    return this.readSync(v);
  }

  run(op: OpDef, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] {
    const native = this.kernels.get(op.name);
    if (native) {
      const r = native(inputs, attrs, outs);
      if (r) return r;
    }
    if (!op.ref) throw new Error(`${op.name}: no reference kernel`);
    const xs = inputs.map((v) => this.readF64Sync(v));
    const ys = op.ref(xs, inputs, attrs, outs);
    return ys.map((y, i) => {
      const m = outs[i]!;
      const n = sizeOf(m.shape);
      if (y.length !== n) throw new Error(`${op.name}: reference kernel returned ${y.length} values for output ${i} of ${n}`);
      const s = this.alloc(m.dtype, n);
      storeF64(this.raw(s), m.dtype, y);
      return s;
    });
  }

  memory(): { liveBytes: number; peakBytes: number } {
    return { liveBytes: this.heap.liveBytes, peakBytes: this.heap.peakBytes };
  }

  resetPeak(): void {
    this.heap.peakBytes = this.heap.liveBytes;
  }
}

let cpuBackend: CpuBackend | undefined;
export function cpu(): CpuBackend {
  return (cpuBackend ??= new CpuBackend());
}
