/// <reference types="@webgpu/types" />
/**
 * A pooled allocator of GPU storage buffers. Creating a GPUBuffer is a
 * driver call with its own bookkeeping; a training step makes hundreds of
 * short-lived tensors of the same few sizes, so freed buffers are kept in
 * free lists by size class and handed out again (the caching allocator of
 * PyTorch's CUDA backend, simplified).
 *
 * Size classes: 2^k·{1.25, 1.5, 1.75, 2} bytes (at least 256 B), so a request
 * wastes under a fifth of its class. Reuse is safe without fences because every use
 * of a buffer is ordered on the one queue: a kernel that writes a reused
 * buffer is encoded after every kernel that read its previous contents (see
 * stream.ts for the one exception, `queue.writeBuffer`).
 */

const MIN_CLASS = 256;

/** The byte size of the class a request of `bytes` falls in: quarter steps between powers of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  const half = 2 ** (Math.ceil(Math.log2(bytes)) - 1); // half < bytes ≤ 2·half
  const step = half / 4;
  return Math.ceil(bytes / step) * step;
}

export interface PooledBuffer {
  readonly buffer: GPUBuffer;
  /** the class size (the buffer's real size) */
  readonly bytes: number;
  /** the stream batch that last encoded a use of it (see stream.ts) */
  lastBatch: number;
  /** identity for the stream's bind-group cache */
  readonly id: number;
}

let nextBufferId = 1;

export const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST

export class BufferPool {
  private readonly free = new Map<number, PooledBuffer[]>();
  /** bytes requested by live storages (what tensors hold) */
  liveBytes = 0;
  peakBytes = 0;
  /** bytes of GPU buffers in existence (live classes + cached free ones) */
  allocatedBytes = 0;
  cachedBytes = 0;
  /** how many buffers were created / handed out again (for tests of reuse) */
  created = 0;
  reused = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(requested: number): PooledBuffer {
    let bytes = sizeClass(requested);
    // near the device's maximum the class may round past it: such a buffer is made to measure
    if (bytes > this.maxBufferSize) bytes = Math.ceil(requested / 4) * 4;
    if (bytes > this.maxBufferSize) {
      throw new Error(`webgpu: a buffer of ${requested} bytes exceeds the device's maxBufferSize ${this.maxBufferSize}`);
    }
    this.liveBytes += requested;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    const list = this.free.get(bytes);
    const hit = list?.pop();
    if (hit) {
      this.cachedBytes -= bytes;
      this.reused++;
      return hit;
    }
    this.created++;
    this.allocatedBytes += bytes;
    return { buffer: this.device.createBuffer({ size: bytes, usage: STORAGE_USAGE }), bytes, lastBatch: 0, id: nextBufferId++ };
  }

  release(b: PooledBuffer, requested: number): void {
    this.liveBytes -= requested;
    this.cachedBytes += b.bytes;
    let list = this.free.get(b.bytes);
    if (!list) this.free.set(b.bytes, (list = []));
    list.push(b);
  }

  /** Destroy every cached free buffer (give the memory back to the driver). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.buffer.destroy();
    this.free.clear();
    this.allocatedBytes -= this.cachedBytes;
    this.cachedBytes = 0;
  }
}
