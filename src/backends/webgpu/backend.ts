/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend. Storage is a pooled GPU buffer (pool.ts), freed when
 * its refcount reaches 0 through the same `dispose`/`using`/scopes as CPU
 * tensors; ops run as WGSL kernels recorded on the stream (stream.ts); reads
 * are asynchronous (`await t.data()`).
 *
 * An op without a kernel for its dtypes runs on the CPU: its inputs are read
 * back, its float64 reference kernel runs, the outputs are uploaded — all in
 * program order on the stream, without blocking the caller. Each such op is
 * named once on stderr (and collected in `fallbacks`).
 */
import type { Backend, Kernel, OutMeta, Storage, TypedArray, View } from '../backend.js';
import type { DType } from '../../core/dtype.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import { registry } from '../../core/memory.js';
import { gatherF64, storeF64 } from '../cpu/strided.js';
import type { OpDef } from '../../ops/registry.js';
import type { GpuContext } from './device.js';
import { BufferPool, type PooledBuffer } from './pool.js';
import { Stream } from './stream.js';
import { fillInPieces, needsSplit, runSplit } from './split.js';
import { assignF32, fusedAdam, type FusedUpdateArgs } from './kernels/optim.js';
import type { FlashGpuOptions } from './kernels/flash.js';
import { flashAttentionInPieces } from './flashSplit.js';
import { fillKernel } from './kernels/movement.js';
import { launchElementwise } from './kernels/elementwise.js';
import { is16, layoutKey, type HalfMode } from './wgsl.js';
import type { Tensor } from '../../core/tensor.js';

export interface GpuStorage extends Storage {
  readonly pb: PooledBuffer;
  /** set on a window of a larger buffer (split.ts): where the window starts, a multiple of the offset alignment */
  readonly byteOffset?: number;
}

/** Bytes per element on the GPU (see wgsl.ts for the layout: f16 and bf16 two to a word). */
export const GPU_BYTES: Record<DType, number> = { f64: 8, f32: 4, f16: 2, bf16: 2, i32: 4, bool: 4 };

/** A storage's byte size: whole 32-bit words (WGSL arrays and copies are word-granular), at least one. */
export const gpuByteLength = (dtype: DType, size: number): number => Math.max(4, Math.ceil((size * GPU_BYTES[dtype]) / 4) * 4);

/** A kernel that reads and writes packed f16/bf16 itself (others get f32 copies: see `WebGpuBackend.widened`). */
export type HalfAwareKernel = Kernel & { packedHalves?: boolean };


/** Host values (float64 semantics) → the GPU layout of a dtype. */
export function encodeHost(dtype: DType, values: ArrayLike<number>): Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array {
  const n = values.length;
  switch (dtype) {
    case 'f64':
      return Float64Array.from(values);
    case 'f32':
      return Float32Array.from(values);
    case 'i32': {
      const out = new Int32Array(n);
      storeF64(out, 'i32', values);
      return out;
    }
    case 'bool': {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    case 'f16':
    case 'bf16': {
      // the CPU's half bits (core/float16.ts rounding), padded to whole 32-bit words
      const bits = new Uint16Array(n + (n & 1));
      storeF64(bits.subarray(0, n), dtype, values);
      return bits;
    }
  }
}

/** Bytes read back → the CPU's raw layout of a dtype (what gatherF64 reads). */
export function decodeRaw(dtype: DType, buf: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case 'f64':
      return new Float64Array(buf, 0, size);
    case 'f32':
      return new Float32Array(buf, 0, size);
    case 'i32':
      return new Int32Array(buf, 0, size);
    case 'bool':
      return Uint8Array.from(new Uint32Array(buf, 0, size));
    case 'f16':
    case 'bf16':
      return new Uint16Array(buf, 0, size);
  }
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly pool: BufferPool;
  readonly stream: Stream;
  /** WGSL kernels by op name (each may carry `dtypes`, see cpu/report.ts) */
  readonly kernels = new Map<string, Kernel>();
  /** ops that ran on the CPU fallback, with each dtype signature seen ('f32,i32->f32') */
  readonly fallbacks = new Map<string, Set<string>>();
  /** print the one-time fallback notice (tests turn it off) */
  notices = true;
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  /**
   * How kernels reach f16: 'native' (array<f16>, `shader-f16`) when the
   * device has the feature, else 'packed' (u32 words, shifts). The bytes are
   * the same either way. NABLA_WEBGPU_F16=packed forces the packed path.
   */
  readonly half: HalfMode;

  constructor(readonly ctx: GpuContext) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_WEBGPU_F16;
    this.half = ctx.f16 && env !== 'packed' ? 'native' : 'packed';
    this.pool = new BufferPool(ctx.device, ctx.limits.maxBufferSize);
    this.stream = new Stream(ctx);
    registry.backends.add(this);
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  alloc(dtype: DType, size: number): GpuStorage {
    const byteLength = gpuByteLength(dtype, size);
    // larger than one binding is fine (ops on it run in pieces: split.ts); larger than one buffer is not
    if (byteLength > this.ctx.limits.maxBufferSize) {
      throw new Error(`webgpu: a ${dtype} tensor of ${size} elements (${byteLength} bytes) exceeds the device's maxBufferSize ${this.ctx.limits.maxBufferSize} (a tensor is one GPUBuffer)`);
    }
    return { backend: this, dtype, size, byteLength, refs: 0, pb: this.pool.acquire(byteLength) };
  }

  free(s: Storage): void {
    const g = s as GpuStorage;
    this.pool.release(g.pb, g.byteLength);
  }

  write(s: Storage, values: ArrayLike<number>, at = 0): void {
    if (at + values.length > s.size) throw new Error(`write: ${values.length} values at ${at} overflow a storage of ${s.size}`);
    if (values.length === 0) return;
    const data = encodeHost(s.dtype, values);
    const pb = (s as GpuStorage).pb;
    const n = values.length;
    if (is16(s.dtype) && (at % 2 === 1 || (n % 2 === 1 && at + n < s.size))) {
      // a half at either end shares its word with an element not written here: upload to a
      // scratch storage and place the halves by the kernel that writes single halves
      const tmp = this.alloc(s.dtype, n);
      this.stream.enqueue(() => this.stream.write(tmp.pb, data, 0));
      const v: View = { storage: tmp, dtype: s.dtype, shape: [n], strides: [1], offset: 0 };
      launchElementwise(this, `place:${layoutKey(s.dtype, this.half)}`, [v], { shape: [n], dtype: s.dtype }, (ld) => [ld[0]!, 'raw'], [], { storage: s, offset: at, strides: [1] });
      this.free(tmp);
      return;
    }
    this.stream.enqueue(() => this.stream.write(pb, data, at * GPU_BYTES[s.dtype]));
  }

  fill(s: Storage, value: number): void {
    if (s.size === 0) return;
    if (s.byteLength > this.ctx.limits.maxStorageBindingSize) return fillInPieces(this, s, value);
    if (!fillKernel(this, s, value)) this.write(s, new Float64Array(s.size).fill(value));
  }

  readF64Sync(v: View): Float64Array {
    throw new Error(`the webgpu backend reads asynchronously: use await t.data() (reading ${v.dtype}[${v.shape.join(',')}])`);
  }

  async read(v: View): Promise<TypedArray> {
    const s = v.storage as GpuStorage;
    const buf = await this.stream.read(s.pb, s.byteLength);
    const raw = decodeRaw(v.dtype, buf, s.size);
    if (v.dtype === 'f16' || v.dtype === 'bf16') return Float32Array.from(gatherF64(raw, v.dtype, v));
    const f = gatherF64(raw, v.dtype, v);
    const Ctor = (v.dtype === 'bool' ? Uint8Array : raw.constructor) as new (src: ArrayLike<number>) => TypedArray;
    return new Ctor(f);
  }

  /** Read a view as float64 (async). */
  async readF64(v: View): Promise<Float64Array> {
    const s = v.storage as GpuStorage;
    const buf = await this.stream.read(s.pb, s.byteLength);
    return gatherF64(decodeRaw(v.dtype, buf, s.size), v.dtype, v);
  }

  /**
   * The compute pipeline for `key` (compiled once from `code()`, which runs
   * only on a miss). Its layout is built from the shader's declared storage
   * bindings, with the parameter block (binding 0) at a dynamic offset, so
   * the stream can reuse bind groups; a shader with other kinds of bindings
   * gets WebGPU's automatic layout instead.
   */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const src = code();
      const module = this.device.createShaderModule({ code: src });
      const found = [...src.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g)];
      const declared = (src.match(/@binding\(/g) ?? []).length;
      if (found.length === declared && found.some((m) => m[1] === '0')) {
        const entries: GPUBindGroupLayoutEntry[] = found.map((m) => ({
          binding: Number(m[1]),
          visibility: 0x4, // GPUShaderStage.COMPUTE
          buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage', hasDynamicOffset: m[1] === '0' },
        }));
        const bgl = this.device.createBindGroupLayout({ entries });
        p = this.device.createComputePipeline({ label: key, layout: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }), compute: { module, entryPoint: 'main' } });
        this.stream.useDynamicLayout(p, bgl);
      } else {
        p = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      }
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Record a dispatch over `groups` workgroups of the shader `key` (built by
   * `code` the first time), with storages bound at 1, 2, … in order.
   */
  launch(key: string, code: () => string, storages: readonly Storage[], groups: number, ints: readonly number[], floats: readonly number[] = []): void {
    const p = this.pipeline(key, code);
    const bufs = storages.map((s) => (s as GpuStorage).pb);
    // windows bind their byte range; a buffer whose size class exceeds the binding limit binds its used bytes.
    // The device's own limit (ctx.limits may be lowered for tests of split.ts, which plans with it)
    const limit = this.device.limits.maxStorageBufferBindingSize;
    let ranges: [number, number][] | undefined;
    storages.forEach((s, i) => {
      const g = s as GpuStorage;
      if (g.byteOffset === undefined && g.pb.bytes <= limit) return;
      if (g.byteLength > limit) {
        throw new Error(`webgpu: kernel '${key}': operand ${i} (${g.dtype}, ${g.byteLength} bytes) exceeds the device's maxStorageBufferBindingSize (${limit} bytes); this kernel does not run in pieces`);
      }
      (ranges ??= [])[i] = [g.byteOffset ?? 0, Math.ceil(g.byteLength / 4) * 4];
    });
    this.stream.enqueue(() => this.stream.dispatch(p, bufs, groups, ints, floats, ranges));
  }

  run(op: OpDef, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] {
    if (needsSplit(this, inputs, outs)) return runSplit(this, op, inputs, attrs, outs);
    const native = this.kernels.get(op.name) as HalfAwareKernel | undefined;
    if (native) {
      const halves = inputs.some((v) => is16(v.dtype)) || outs.some((m) => is16(m.dtype));
      const r = halves && !native.packedHalves ? this.widened(native, inputs, attrs, outs) : native(inputs, attrs, outs);
      if (r) return r;
    }
    return this.fallback(op, inputs, attrs, outs);
  }

  /**
   * Run an f32 kernel on f16/bf16 operands: each 16-bit input is cast up to
   * a contiguous f32 copy on the device (exact), the kernel runs in f32 with
   * f32 accumulation, and each 16-bit output is cast back down (round to
   * nearest even). Serves every kernel not written for packed halves (fused
   * rows, conv, gather, scans, …) at the price of the casts.
   */
  private widened(k: Kernel, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined {
    const cast = this.kernels.get('astype')!;
    const temps: Storage[] = [];
    const wide = inputs.map((v): View => {
      if (!is16(v.dtype)) return v;
      const s = cast([v], { dtype: 'f32' }, [{ shape: v.shape, dtype: 'f32' }])![0]!;
      temps.push(s);
      return { storage: s, dtype: 'f32', shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
    });
    const r = k(wide, attrs, outs.map((m) => (is16(m.dtype) ? { shape: m.shape, dtype: 'f32' } : m)));
    const res = r?.map((s, i) => {
      const m = outs[i]!;
      if (!is16(m.dtype)) return s;
      temps.push(s);
      return cast([{ storage: s, dtype: 'f32', shape: m.shape, strides: contiguousStrides(m.shape), offset: 0 }], { dtype: m.dtype }, [m])![0]!;
    });
    for (const t of new Set(temps)) if (!res?.includes(t)) this.free(t);
    return res;
  }

  /** Let every f32 kernel also declare f16 and bf16 (they run through `widened`), for the op table. */
  declareWidened(): void {
    for (const k of this.kernels.values()) {
      const d = (k as { dtypes?: readonly DType[] }).dtypes;
      if (d?.includes('f32') && !d.includes('f16')) Object.assign(k, { dtypes: [...d, 'f16', 'bf16'] });
    }
  }

  /** Run an op on the CPU: inputs read back, its float64 reference, outputs uploaded (in program order). */
  fallback(op: OpDef, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] {
    if (!op.ref) throw new Error(`${op.name}: no reference kernel`);
    const dtypes = `${inputs.map((v) => v.dtype).join(',')}->${outs.map((m) => m.dtype).join(',')}`;
    const seen = this.fallbacks.get(op.name);
    if (!seen) {
      this.fallbacks.set(op.name, new Set([dtypes]));
      if (this.notices) console.warn(`nabla webgpu: '${op.name}' (${dtypes}) has no WGSL kernel; it runs on the CPU (float64 reference)`);
    } else seen.add(dtypes);
    // snapshot the views: the handles may be disposed before the host task runs
    const views: View[] = inputs.map((v) => ({ storage: v.storage, dtype: v.dtype, shape: v.shape.slice(), strides: v.strides.slice(), offset: v.offset }));
    const results = outs.map((m) => this.alloc(m.dtype, sizeOf(m.shape)));
    const ref = op.ref;
    this.stream.host(op.name, async (read) => {
      const xs: Float64Array[] = [];
      for (const v of views) {
        const s = v.storage as GpuStorage;
        xs.push(gatherF64(decodeRaw(v.dtype, await read(s.pb, s.byteLength, s.byteOffset), s.size), v.dtype, v));
      }
      const ys = ref(xs, views, attrs, outs);
      ys.forEach((y, i) => {
        const n = results[i]!.size;
        if (y.length !== n) throw new Error(`${op.name}: reference kernel returned ${y.length} values for output ${i} of ${n}`);
        if (n > 0) this.stream.write(results[i]!.pb, encodeHost(results[i]!.dtype, y));
      });
    });
    return results;
  }

  /** Facts about the device for `nabla ops` and `nabla info`. */
  notes(): string[] {
    const l = this.ctx.limits;
    const mib = (n: number): string => `${Math.round(n / 2 ** 20)} MiB`;
    return [
      `adapter: ${this.ctx.adapterName}${this.ctx.f16 ? ', shader-f16' : ', no shader-f16'}`,
      `f16/bf16: 2 bytes per element; f16 kernels ${this.half === 'native' ? 'native (array<f16>, shader-f16)' : 'packed (two halves per u32 word, no shader-f16)'}, f32 accumulation`,
      `limits: ${l.maxWorkgroupSize} invocations per workgroup, ${l.workgroupStorageSize / 1024} KiB workgroup memory, ${mib(l.maxStorageBindingSize)} per storage binding, ${mib(l.maxBufferSize)} per buffer`,
      'ops marked reference run on the CPU (inputs read back, float64 reference kernel, outputs uploaded), named once on stderr',
    ];
  }

  memory(): { liveBytes: number; peakBytes: number } {
    return { liveBytes: this.pool.liveBytes, peakBytes: this.pool.peakBytes };
  }

  resetPeak(): void {
    this.pool.peakBytes = this.pool.liveBytes;
  }

  /** An optimiser step on the device (Adam, AdamW); false leaves it to the host path. */
  fusedUpdate(a: FusedUpdateArgs): boolean {
    return fusedAdam(this, a);
  }

  /** dst ← src in place on the device (contiguous f32 only; false otherwise). Used by optim/inplace.ts. */
  assign(dst: Tensor, src: Tensor): boolean {
    return assignF32(this, dst, src);
  }

  /** FlashAttention forward/backward in WGSL (undefined when the shapes do not fit; see kernels/flash.ts), in pieces of heads when larger than a binding (flashSplit.ts). */
  flashAttention(q: Tensor, k: Tensor, v: Tensor, o: FlashGpuOptions): Tensor | undefined {
    return flashAttentionInPieces(this, q, k, v, o);
  }

  /** Resolves once every recorded kernel has run (and rethrows a fallback's error). */
  sync(): Promise<void> {
    return this.stream.sync();
  }
}
