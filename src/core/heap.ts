/**
 * The CPU heap: one growable `WebAssembly.Memory` (shared when the platform
 * allows, so worker threads and WASM kernels work in place) and a
 * first-fit allocator over it with coalescing free blocks.
 *
 * Why one memory: WASM kernels can only address their own linear memory, so
 * tensors that live anywhere else would be copied in and out of every kernel.
 *
 * Limit: a 32-bit WebAssembly memory addresses at most 4 GiB (65,536 pages of
 * 64 KiB); an allocation that would pass it throws a clear error.
 */
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB
export const ALIGN = 64; // one cache line; also satisfies every typed array's alignment

export const HEAP_LIMIT_BYTES = MAX_PAGES * PAGE;

function canShare(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; process?: unknown };
  // Browsers only allow shared memory on cross-origin isolated pages; Node always does.
  return g.process !== undefined || g.crossOriginIsolated === true;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Free blocks sorted by offset, never adjacent (adjacent ones are merged). */
  private freeOff: number[] = [];
  private freeLen: number[] = [];
  private top = ALIGN; // offset 0 is never handed out, so 0 can mean "none"
  private sizes = new Map<number, number>();
  liveBytes = 0;
  peakBytes = 0;

  constructor(initialPages = 16) {
    this.shared = canShare();
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: this.shared } as WebAssembly.MemoryDescriptor);
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocate `bytes` (rounded up to 64); returns the byte offset. */
  alloc(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`heap.alloc: bytes must be a non-negative number, got ${bytes}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let off = this.takeFree(size);
    if (off < 0) {
      off = this.top;
      const end = off + size;
      if (end > HEAP_LIMIT_BYTES) {
        throw new Error(
          `heap: cannot allocate ${bytes} bytes: the 4 GiB limit of a 32-bit WebAssembly heap would be exceeded ` +
            `(${this.liveBytes} bytes live, ${this.top} bytes reserved). Free tensors with dispose() or scopes, or use smaller batches.`,
        );
      }
      if (end > this.capacity) this.grow(end);
      this.top = end;
    }
    this.sizes.set(off, size);
    this.liveBytes += size;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return off;
  }

  free(off: number): void {
    const size = this.sizes.get(off);
    if (size === undefined) throw new Error(`heap.free: offset ${off} is not an allocated block`);
    this.sizes.delete(off);
    this.liveBytes -= size;
    this.insertFree(off, size);
  }

  private grow(end: number): void {
    const cur = this.capacity;
    // Grow geometrically (x1.5) to keep the number of grow calls logarithmic.
    const want = Math.max(end, Math.min(HEAP_LIMIT_BYTES, Math.floor(cur * 1.5)));
    const pages = Math.ceil((want - cur) / PAGE);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new Error(
        `heap: the runtime refused to grow the WebAssembly heap from ${cur} to ${cur + pages * PAGE} bytes ` +
          `(${this.liveBytes} bytes live); free tensors or use smaller batches`,
        { cause: e },
      );
    }
  }

  /** First fit over free blocks; splits the block. Returns -1 when none fits. */
  private takeFree(size: number): number {
    const offs = this.freeOff;
    const lens = this.freeLen;
    for (let i = 0; i < offs.length; i++) {
      const len = lens[i]!;
      if (len < size) continue;
      const off = offs[i]!;
      if (len === size) {
        offs.splice(i, 1);
        lens.splice(i, 1);
      } else {
        offs[i] = off + size;
        lens[i] = len - size;
      }
      return off;
    }
    return -1;
  }

  private insertFree(off: number, size: number): void {
    const offs = this.freeOff;
    const lens = this.freeLen;
    // binary search for the insertion point
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (offs[mid]! < off) lo = mid + 1;
      else hi = mid;
    }
    const mergePrev = lo > 0 && offs[lo - 1]! + lens[lo - 1]! === off;
    const mergeNext = lo < offs.length && off + size === offs[lo]!;
    if (mergePrev && mergeNext) {
      lens[lo - 1] = lens[lo - 1]! + size + lens[lo]!;
      offs.splice(lo, 1);
      lens.splice(lo, 1);
    } else if (mergePrev) {
      lens[lo - 1] = lens[lo - 1]! + size;
    } else if (mergeNext) {
      offs[lo] = off;
      lens[lo] = size + lens[lo]!;
    } else {
      offs.splice(lo, 0, off);
      lens.splice(lo, 0, size);
    }
    // Give the tail back to the bump pointer so the free list stays short.
    const last = offs.length - 1;
    if (last >= 0 && offs[last]! + lens[last]! === this.top) {
      this.top = offs[last]!;
      offs.pop();
      lens.pop();
    }
  }

  /** Number of blocks on the free list (fragmentation indicator). */
  get freeBlocks(): number {
    return this.freeOff.length;
  }
}

let defaultHeap: Heap | undefined;
export function heap(): Heap {
  return (defaultHeap ??= new Heap());
}
