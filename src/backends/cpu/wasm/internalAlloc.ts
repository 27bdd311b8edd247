/**
 * Heap blocks for the kernels' own use (packing scratch, the thread pool's
 * control block, module bytes), left out of the heap's live/peak byte counts.
 *
 * Why: `memory()` reports what tensors hold, and tests assert that a step
 * returns `liveBytes` to its baseline; a cache created by the first matmul
 * would read as a leak. The heap has no notion of internal blocks, so this
 * adjusts its public counters around alloc and free.
 */
import { ALIGN, type Heap } from '../../../core/heap.js';

const rounded = (bytes: number): number => Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
const sizes = new WeakMap<Heap, Map<number, number>>();

export function allocInternal(h: Heap, bytes: number): number {
  const peak = h.peakBytes;
  const ptr = h.alloc(bytes);
  const size = rounded(bytes);
  h.liveBytes -= size;
  h.peakBytes = Math.max(peak, h.liveBytes);
  let m = sizes.get(h);
  if (!m) sizes.set(h, (m = new Map()));
  m.set(ptr, size);
  return ptr;
}

export function freeInternal(h: Heap, ptr: number): void {
  const size = sizes.get(h)?.get(ptr);
  if (size === undefined) throw new Error(`freeInternal: ${ptr} is not an internal block`);
  sizes.get(h)!.delete(ptr);
  h.liveBytes += size;
  h.free(ptr);
}
