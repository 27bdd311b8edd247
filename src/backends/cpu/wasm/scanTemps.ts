/**
 * Float32 temporaries of one native kernel call (the scan and RNN kernels):
 * heap storages freed together at the end, and contiguous copies of strided
 * input views (a contiguous view is used in place).
 */
import type { Storage, View } from '../../backend.js';
import type { CpuBackend, CpuStorage } from '../index.js';
import { isContiguous } from '../strided.js';

export class Temps {
  private list: Storage[] = [];
  constructor(private be: CpuBackend) {}

  alloc(n: number): CpuStorage {
    const s = this.be.alloc('f32', Math.max(1, n));
    this.list.push(s);
    return s;
  }

  /** byte pointer to a contiguous float32 copy of v (v itself when already contiguous) */
  contiguous(v: View): number {
    if (isContiguous(v.shape, v.strides)) return (v.storage as CpuStorage).ptr + 4 * v.offset;
    const vals = this.be.readF64Sync(v);
    const s = this.alloc(vals.length);
    this.be.write(s, vals);
    return s.ptr;
  }

  free(): void {
    for (const s of this.list) this.be.free(s);
    this.list = [];
  }
}

/** A Float32Array over `n` floats of the heap at byte `ptr` (re-create after anything that may grow the heap). */
export const f32At = (be: CpuBackend, ptr: number, n: number): Float32Array => new Float32Array(be.heap.buffer, ptr, n);
