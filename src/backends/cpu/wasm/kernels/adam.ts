/**
 * The fused Adam/AdamW update on float32 buffers of the CPU heap (the kernel
 * of adam.kernel.ts), for src/optim/adam.ts: when the parameter, its
 * gradient and its moment buffers are all float32 views of the heap, one
 * WebAssembly pass (split over the thread pool for large tensors: elements
 * are independent, so the split never changes a bit) replaces the
 * JavaScript loop, with the same results bit for bit.
 */
import { heap } from '../../../../core/heap.js';
import { module, runCalls, simdAvailable } from './run.js';
import { buildAdam } from './adam.kernel.js';

/** The update's constants, as the JavaScript loop uses them. */
export interface AdamConstants {
  gScale: number;
  /** Adam's L2 coefficient λ (0: none) */
  l2: number;
  /** AdamW's decoupled factor 1 − ηλ (1: none) */
  decay: number;
  b1: number;
  b2: number;
  /** η/(1 − β₁ᵗ) */
  stepSize: number;
  /** √(1 − β₂ᵗ) */
  bc2Sqrt: number;
  eps: number;
}

/** Elements per task when the update is split over threads (a fixed size: the split depends on n alone). */
const CHUNK = 1 << 16;

/** Native updates run so far (read by the tests to see the optimiser take this path). */
export const adamKernelStats = { calls: 0 };

const onHeap = (a: ArrayLike<number> | null): a is Float32Array => a instanceof Float32Array && a.buffer === heap().buffer;

/**
 * Run the update natively if every buffer is a float32 view of the heap and
 * WebAssembly SIMD is available; returns false (nothing done) otherwise.
 */
export function adamUpdateF32(p: ArrayLike<number>, g: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, vmax: ArrayLike<number> | null, c: AdamConstants): boolean {
  if (!onHeap(p) || !onHeap(g) || !onHeap(m) || !onHeap(v) || (vmax !== null && !onHeap(vmax)) || !simdAvailable()) return false;
  const n = p.length;
  if (g.length !== n || m.length !== n || v.length !== n || (vmax && vmax.length !== n)) return false;
  if (n === 0) return true;
  const km = module('adam', (o) => buildAdam(o));
  const calls: number[][] = [];
  for (let s = 0; s < n; s += CHUNK) {
    const len = Math.min(CHUNK, n - s);
    const at = (a: Float32Array): number => a.byteOffset + 4 * s;
    calls.push([at(p), at(g), at(m), at(v), vmax ? at(vmax) : 0, len, c.gScale, c.l2, c.decay, c.b1, 1 - c.b1, c.b2, 1 - c.b2, c.stepSize, c.bc2Sqrt, c.eps, c.l2 !== 0 ? 1 : 0, vmax ? 1 : 0]);
  }
  runCalls(km, 'adam', calls, 4 * n);
  adamKernelStats.calls++;
  return true;
}
