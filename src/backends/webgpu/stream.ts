/// <reference types="@webgpu/types" />
/**
 * The command stream: every kernel, upload and readback of the backend goes
 * through here, in program order.
 *
 * Batching: dispatches are recorded into one command encoder (one compute
 * pass) and submitted together: when a batch reaches `MAX_DISPATCHES`, when
 * its parameter block is full, before a readback, and at the latest once the
 * current synchronous JS turn ends (a microtask). Each dispatch's small
 * parameter block (shapes, strides, scalars: "meta") is appended to one
 * host-side array and uploaded once per batch into a single storage buffer,
 * bound at a 256-byte-aligned offset per dispatch.
 *
 * Ordering hazards: kernels and copies execute in encoding order, so a pooled
 * buffer may be reused right after it is freed. `queue.writeBuffer` however
 * runs *before* the batch still being recorded, so writing a buffer that the
 * open batch already uses submits the batch first (`lastBatch`).
 *
 * Host work (the CPU fallback for ops without a kernel) must wait for its
 * inputs to come back. While it runs, further work is queued as closures and
 * replayed in order when it finishes; the JS caller never waits.
 */
import type { GpuContext } from './device.js';
import type { PooledBuffer } from './pool.js';
import { KernelProfiler, type KernelTime } from './profile.js';

const MAX_DISPATCHES = 256;
const META_BYTES = 1 << 16;
/** the parameter window a cached bind group exposes (its position comes as a dynamic offset) */
const META_WINDOW = 4096;
const MAX_CACHED_GROUPS = 4096;
const MAP_READ = 0x01;
const COPY_DST = 0x08;
const COPY_SRC = 0x04;
const META_USAGE = 0x80 | COPY_DST | COPY_SRC;
/** uploads up to this size ride in the batch's parameter block (see write) */
const SMALL_WRITE = 4096;

/** A binding of a whole buffer, or of a [byteOffset, byteSize] range of it. */
function bufferBinding(b: PooledBuffer, range: readonly [number, number] | undefined): GPUBufferBinding {
  return range ? { buffer: b.buffer, offset: range[0], size: range[1] } : { buffer: b.buffer };
}

export class Stream {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private batch = 1;
  private readonly meta: GPUBuffer;
  private readonly metaHost = new ArrayBuffer(META_BYTES);
  private readonly metaI32 = new Int32Array(this.metaHost);
  private readonly metaF32 = new Float32Array(this.metaHost);
  private metaUsed = 0;
  private flushScheduled = false;
  /** closures waiting for a host task to finish; null while none runs */
  private waiting: (() => void)[] | null = null;
  /** the first error of a host task, rethrown at the next call */
  private failure: Error | null = null;
  submits = 0;
  private profiler: KernelProfiler | null = null;
  /** dispatches recorded since the stream was made (benchmarks read it to count kernels per step) */
  totalDispatches = 0;
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  /** pipelines whose layout takes the parameter block at a dynamic offset (see `useDynamicLayout`) */
  private readonly dynamic = new WeakMap<GPUComputePipeline, { layout: GPUBindGroupLayout; id: number }>();
  private layoutIds = 0;
  /** bind groups by layout, parameter window and buffers: pooled buffers recur, so most dispatches find theirs */
  private readonly groups = new Map<string, GPUBindGroup>();

  constructor(private readonly ctx: GpuContext) {
    this.meta = ctx.device.createBuffer({ size: META_BYTES, usage: META_USAGE });
  }

  private get device(): GPUDevice {
    return this.ctx.device;
  }

  private check(): void {
    if (this.ctx.lost) throw new Error(`webgpu: ${this.ctx.lost}`);
    if (this.ctx.error) {
      const e = this.ctx.error;
      this.ctx.error = null;
      throw new Error(`webgpu: the device reported an error: ${e}`);
    }
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      throw f;
    }
  }

  /** Run `fn` now, or after the host task in progress (program order either way). */
  enqueue(fn: () => void): void {
    this.check();
    if (this.waiting) this.waiting.push(fn);
    else fn();
  }

  /** Record one dispatch over `groups` workgroups; `ints` then `floats` form its meta block. */
  /**
   * Declare that `pipeline` was built with an explicit layout whose binding 0
   * (the parameter block) has a dynamic offset: its bind groups are then
   * cached and reused, the parameter position passed at dispatch.
   */
  useDynamicLayout(pipeline: GPUComputePipeline, layout: GPUBindGroupLayout): void {
    this.dynamic.set(pipeline, { layout, id: ++this.layoutIds });
  }

  /** Forget cached bind groups (their buffers are about to be destroyed). */
  clearBindGroups(): void {
    this.groups.clear();
  }

  /** Record one dispatch over `groups` workgroups; `ints` then `floats` form its meta block. */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: readonly PooledBuffer[],
    groups: number,
    ints: readonly number[],
    floats: readonly number[] = [],
    /** per buffer, a [byteOffset, byteSize] sub-range to bind instead of the whole buffer (see split.ts) */
    ranges?: readonly (readonly [number, number] | undefined)[],
  ): void {
    if (groups === 0) return;
    const align = this.ctx.limits.storageOffsetAlignment;
    const words = Math.max(1, ints.length + floats.length);
    const bytes = Math.ceil((words * 4) / align) * align;
    const dyn = this.dynamic.get(pipeline);
    const span = dyn ? Math.max(META_WINDOW, bytes) : bytes; // bytes the binding covers from its offset
    if (span > META_BYTES) throw new Error(`webgpu: a kernel's parameter block of ${words} words is too large`);
    if (this.metaUsed + span > META_BYTES || this.dispatches >= MAX_DISPATCHES) this.submit();
    const at = this.metaUsed;
    const w = at / 4;
    ints.forEach((v, i) => (this.metaI32[w + i] = v));
    floats.forEach((v, i) => (this.metaF32[w + ints.length + i] = v));
    this.metaUsed += bytes;
    for (const b of buffers) b.lastBatch = this.batch;
    const pass = this.profiler ? this.profiler.beginPass(this.encoderNow(), pipeline.label) : this.computePass();
    pass.setPipeline(pipeline);
    if (dyn) {
      const ids = buffers.map((b) => b.id).join(',');
      const key = `${dyn.id}|${span}|${ranges ? `${ids}@${ranges.map((r) => (r ? r.join(':') : '')).join(',')}` : ids}`;
      let group = this.groups.get(key);
      if (!group) {
        if (this.groups.size >= MAX_CACHED_GROUPS) this.groups.clear();
        const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.meta, offset: 0, size: span } }];
        buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: bufferBinding(b, ranges?.[i]) }));
        group = this.device.createBindGroup({ layout: dyn.layout, entries });
        this.groups.set(key, group);
      }
      pass.setBindGroup(0, group, [at]);
    } else {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.meta, offset: at, size: words * 4 } }];
      buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: bufferBinding(b, ranges?.[i]) }));
      let layout = this.layouts.get(pipeline);
      if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
      pass.setBindGroup(0, this.device.createBindGroup({ layout, entries }));
    }
    const maxDim = this.ctx.limits.maxWorkgroupsPerDim;
    const x = Math.min(groups, maxDim);
    const y = Math.ceil(groups / x);
    if (y > maxDim) throw new Error(`webgpu: ${groups} workgroups exceed the device's grid (${maxDim}²)`);
    pass.dispatchWorkgroups(x, y);
    if (this.profiler) pass.end();
    this.dispatches++;
    this.totalDispatches++;
    this.scheduleFlush();
  }

  private encoderNow(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  /** Time every kernel from now until `stopProfile` (needs the device's timestamp-query feature). */
  startProfile(): void {
    if (!this.device.features.has('timestamp-query')) throw new Error('webgpu profile: the device has no timestamp-query feature');
    this.submit();
    this.profiler = new KernelProfiler(this.device, MAX_DISPATCHES);
  }

  /** End the profile: GPU time per kernel label, longest first. */
  async stopProfile(): Promise<KernelTime[]> {
    const p = this.profiler;
    if (!p) throw new Error('webgpu profile: no profile is running (call startProfile first)');
    this.submit();
    this.profiler = null;
    return p.report();
  }

  /**
   * Copy `size` bytes between buffers in program order (no binding-size
   * limit applies to copies: split.ts places the pieces of an op's output with it).
   */
  copy(src: PooledBuffer, srcOffset: number, dst: PooledBuffer, dstOffset: number, size: number): void {
    if (size <= 0) return;
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, size);
    src.lastBatch = this.batch;
    dst.lastBatch = this.batch;
    this.scheduleFlush();
  }

  private computePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (!this.waiting) this.submit();
    });
  }

  /** Submit the open batch (if any). */
  submit(): void {
    if (!this.encoder) return;
    if (this.ctx.lost) throw new Error(`webgpu: ${this.ctx.lost}`);
    this.pass?.end();
    this.pass = null;
    if (this.metaUsed > 0) this.device.queue.writeBuffer(this.meta, 0, this.metaHost, 0, this.metaUsed);
    const collect = this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    collect?.();
    this.submits++;
    this.encoder = null;
    this.dispatches = 0;
    this.metaUsed = 0;
    this.batch++;
  }

  /**
   * Upload bytes into a buffer at `byteOffset`, ordered after every earlier
   * use of the buffer. While a batch is open, small uploads (scalars, short
   * vectors) are appended to its parameter block and copied in by a command
   * of the batch, so they cost no submit; larger ones go through
   * `queue.writeBuffer`, submitting first if the batch uses the buffer.
   */
  write(b: PooledBuffer, data: ArrayBufferView, byteOffset = 0): void {
    const size = data.byteLength;
    if (this.encoder && size <= SMALL_WRITE && size % 4 === 0 && byteOffset % 4 === 0) {
      if (this.metaUsed + size > META_BYTES) this.submit();
      if (this.encoder) {
        const at = this.metaUsed;
        new Uint8Array(this.metaHost, at, size).set(new Uint8Array(data.buffer, data.byteOffset, size));
        this.metaUsed += Math.ceil(size / this.ctx.limits.storageOffsetAlignment) * this.ctx.limits.storageOffsetAlignment;
        this.pass?.end();
        this.pass = null;
        this.encoder.copyBufferToBuffer(this.meta, at, b.buffer, byteOffset, size);
        b.lastBatch = this.batch;
        return;
      }
    }
    if (b.lastBatch === this.batch) this.submit();
    this.device.queue.writeBuffer(b.buffer, byteOffset, data.buffer, data.byteOffset, size);
  }

  /** Copy `bytes` of a buffer out to the host; resolves once the copy has landed. */
  read(b: PooledBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> {
    return new Promise<GPUBuffer>((resolve) => this.enqueue(() => resolve(this.copyOut(b, bytes, byteOffset)))).then(async (staging) => {
      await staging.mapAsync(MAP_READ);
      const out = staging.getMappedRange().slice(0);
      staging.unmap();
      staging.destroy();
      this.check();
      return out;
    });
  }

  private copyOut(b: PooledBuffer, bytes: number, byteOffset = 0): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(b.buffer, byteOffset, staging, 0, size);
    b.lastBatch = this.batch;
    this.submit();
    return staging;
  }

  /**
   * Run asynchronous host work in program order: `task` gets a function that
   * reads buffers back; later work waits until the task's promise settles.
   */
  host(name: string, task: (read: (b: PooledBuffer, bytes: number, byteOffset?: number) => Promise<ArrayBuffer>) => Promise<void>): void {
    this.enqueue(() => {
      this.submit();
      this.waiting = [];
      const readNow = async (b: PooledBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> => {
        const staging = this.copyOut(b, bytes, byteOffset);
        await staging.mapAsync(MAP_READ);
        const out = staging.getMappedRange().slice(0);
        staging.unmap();
        staging.destroy();
        return out;
      };
      task(readNow)
        .catch((e: unknown) => {
          this.failure ??= new Error(`webgpu: the CPU fallback for '${name}' failed: ${(e as Error).message}`);
        })
        .finally(() => this.drain());
    });
  }

  private drain(): void {
    const queued = this.waiting ?? [];
    this.waiting = null;
    while (queued.length > 0) {
      const fn = queued.shift()!;
      fn();
      if (this.waiting) {
        // a queued host task started: the rest waits behind it
        (this.waiting as (() => void)[]).push(...queued);
        return;
      }
    }
  }

  /** Resolves when everything recorded so far has run on the device. */
  async sync(): Promise<void> {
    await new Promise<void>((resolve) => this.enqueue(() => resolve()));
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }
}
