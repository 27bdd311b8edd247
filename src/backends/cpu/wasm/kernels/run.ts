/**
 * Running kernel calls: on the calling thread, or split over the thread pool
 * when the work is large enough to pay for waking it (a job costs ~10-50 µs
 * of wake-up; an add streams ~1 GB/s-10 GB/s, so below ~64K elements the
 * calling thread alone is faster). Also the layout helpers every kernel
 * family shares: broadcast strides of a view, axis collapsing, pointers.
 */
import type { View } from '../../../backend.js';
import type { CpuStorage } from '../../index.js';
import { heap } from '../../../../core/heap.js';
import { threadCount, threadPool } from '../../threads/index.js';
import { detectFeatures } from '../features.js';
import { kernelModule, poolIds, type KernelModule } from '../kernels.js';

/** Elements (times a kernel's relative cost) from which a kernel is split over threads. */
export const THREAD_MIN_WORK = 1 << 16;

/** Whether the fast kernels can run here (WebAssembly SIMD). */
export function simdAvailable(): boolean {
  return detectFeatures().simd;
}

/** A kernel module, compiled once per process, with the fused (relaxed) multiply-add where supported. */
export function module(name: string, build: (o: { fused: boolean; shared: boolean }) => Uint8Array<ArrayBuffer>): KernelModule {
  const fused = detectFeatures().relaxed;
  return kernelModule(`${name}.${fused ? 'relaxed' : 'simd'}`, (shared) => build({ fused, shared }));
}

/**
 * Run calls of export `fn` of `km` (each an argument list after the scratch
 * pointer), on the pool when `work` reaches THREAD_MIN_WORK and a pool exists.
 * `scratchBytes` of per-thread scratch are provided to every call.
 */
export function runCalls(km: KernelModule, fn: string, calls: readonly (readonly number[])[], work: number, scratchBytes = 0, callerScratch = 0): void {
  const pool = calls.length > 1 && work >= THREAD_MIN_WORK && threadCount() > 1 ? threadPool() : undefined;
  if (!pool) {
    const f = km.fns[fn];
    if (!f) throw new Error(`kernel ${km.name}.${fn} does not exist`);
    for (const a of calls) f(callerScratch, ...a);
    return;
  }
  if (scratchBytes > 0) pool.ensureScratch(scratchBytes);
  const id = poolIds(pool, km)[fn]!;
  pool.run(calls.map((args) => ({ fn: id, args })));
}

/** Threads a split should aim at (0 or 1: do not split). */
export function threadsFor(work: number): number {
  return work >= THREAD_MIN_WORK ? threadCount() : 1;
}

/** Byte address of a view's first element. */
export function viewPtr(v: View, bytes: number): number {
  return (v.storage as CpuStorage).ptr + v.offset * bytes;
}

/** Byte address of a storage. */
export function storagePtr(s: { ptr?: number } | object): number {
  return (s as CpuStorage).ptr;
}

/** Strides (elements) that read view `v` broadcast to `out` (right-aligned, 0 on broadcast axes). */
export function broadcastStrides(v: View, out: readonly number[]): number[] {
  const res = new Array<number>(out.length).fill(0);
  const off = out.length - v.shape.length;
  for (let i = 0; i < v.shape.length; i++) res[off + i] = v.shape[i] === 1 ? 0 : v.strides[i]!;
  return res;
}

/**
 * Merge axes that every operand walks as one (stride_i = stride_{i+1}·n_{i+1})
 * and drop axes of size 1. `strides[j]` are operand j's strides; a
 * contiguous output always merges. At least one axis is returned.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = shape.length - 1; i >= 0; i--) {
    const n = shape[i]!;
    if (n === 1) continue;
    if (outShape.length > 0 && strides.every((s, j) => s[i] === outStrides[j]![0]! * outShape[0]!)) {
      outShape[0]! *= n; // the group keeps its innermost stride
      continue;
    }
    outShape.unshift(n);
    strides.forEach((s, j) => outStrides[j]!.unshift(s[i]!));
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** Every index of `shape` (row-major), as a callback; for the few leading axes kernels do not loop over. */
export function forEachIndex(shape: readonly number[], f: (idx: readonly number[]) => void): void {
  const idx = new Array<number>(shape.length).fill(0);
  if (shape.some((n) => n === 0)) return;
  for (;;) {
    f(idx);
    let ax = shape.length - 1;
    while (ax >= 0 && ++idx[ax]! === shape[ax]!) idx[ax--] = 0;
    if (ax < 0) return;
  }
}

/** Whether the heap is shared (worker threads can see tensors). */
export function heapShared(): boolean {
  return heap().shared;
}
