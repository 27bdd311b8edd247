/// <reference types="@webgpu/types" />
/**
 * Getting a WebGPU device: in a browser from `navigator.gpu`, in Node from the
 * `webgpu` package (Google's Dawn, loaded lazily so the CPU-only library never
 * needs it). The device is created with the adapter's own limits rather than
 * WebGPU's conservative defaults (e.g. 128 MiB per storage binding), and the
 * limits the kernels rely on are read back into a small plain object.
 *
 * In Node the process stays alive while the object returned by `create()` and
 * the device are held: `destroyGpu()` drops both.
 */

/** What the kernels need to know about the device. */
export interface GpuLimits {
  maxWorkgroupSize: number;
  maxWorkgroupsPerDim: number;
  maxStorageBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerStage: number;
  workgroupStorageSize: number;
  storageOffsetAlignment: number;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly limits: GpuLimits;
  readonly f16: boolean;
  /** the adapter's smallest subgroup size when the device has the `subgroups` feature, else 0 (kernels then use workgroup memory) */
  readonly subgroupMin: number;
  /** every feature the adapter offers (whether or not the device asked for it) */
  readonly adapterFeatures: readonly string[];
  /** the adapter's info object as plain data (vendor, architecture, subgroup sizes, subgroup-matrix configurations where offered) */
  readonly adapterInfo: Record<string, unknown>;
  /** set when the device was lost; every later submission throws with it */
  lost: string | null;
  /** the first validation or out-of-memory error the device reported (thrown at the next read) */
  error: string | null;
}

/** The adapter's binding size, or NABLA_WEBGPU_MAX_BINDING bytes if smaller (for tests; see split.ts). */
function bindingCap(adapter: number): number {
  const env = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_WEBGPU_MAX_BINDING);
  return env > 0 ? Math.min(adapter, env) : adapter;
}

/** Why no adapter could be had (shown in skips and errors). */
export let noAdapterReason = '';

let gpuObject: unknown = null;
let pending: Promise<GpuContext | null> | null = null;

async function navigatorGpu(): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return null;
  try {
    // a variable specifier keeps bundlers from pulling the native module into browser builds
    const name = 'webgpu';
    const mod = (await import(/* @vite-ignore */ name)) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    // Dawn toggles for experiments, e.g. NABLA_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis
    const flags = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_DAWN_FLAGS;
    gpuObject = mod.create(flags ? flags.split(' ') : []);
    return gpuObject as GPU;
  } catch (e) {
    noAdapterReason = `the 'webgpu' package could not be loaded (${(e as Error).message.split('\n')[0]})`;
    return null;
  }
}

async function acquire(): Promise<GpuContext | null> {
  const gpu = await navigatorGpu();
  if (!gpu) {
    noAdapterReason ||= 'no navigator.gpu and not in Node';
    return null;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    noAdapterReason = 'requestAdapter() returned null (in Node without a GPU, install a Vulkan driver: see docs on SwiftShader)';
    gpuObject = null;
    return null;
  }
  const a = adapter.limits;
  const f16 = adapter.features.has('shader-f16');
  // subgroups: asked for when offered (the flash kernels' row reductions use shuffles); NABLA_WEBGPU_SUBGROUPS=0 leaves them off
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const sgInfo = (adapter as { info?: { subgroupMinSize?: number } }).info;
  const subgroups = adapter.features.has('subgroups') && proc?.env?.NABLA_WEBGPU_SUBGROUPS !== '0' && (sgInfo?.subgroupMinSize ?? 0) > 0;
  const features: GPUFeatureName[] = [];
  if (f16) features.push('shader-f16');
  if (subgroups) features.push('subgroups' as GPUFeatureName);
  // timestamps cost nothing until a kernel profile asks for them (profile.ts)
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxBufferSize: a.maxBufferSize,
      maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    },
  });
  const info = (adapter as { info?: { vendor?: string; architecture?: string; description?: string } }).info;
  const ctx: GpuContext = {
    device,
    adapterName: [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown adapter',
    f16,
    subgroupMin: subgroups ? sgInfo!.subgroupMinSize! : 0,
    adapterFeatures: [...adapter.features].map(String).sort(),
    adapterInfo: plainInfo((adapter as { info?: object }).info),
    lost: null,
    error: null,
    limits: {
      maxWorkgroupSize: Math.min(a.maxComputeInvocationsPerWorkgroup, a.maxComputeWorkgroupSizeX),
      maxWorkgroupsPerDim: a.maxComputeWorkgroupsPerDimension,
      // NABLA_WEBGPU_MAX_BINDING lowers the binding size ops are planned with (tests of split.ts on small tensors)
      maxStorageBindingSize: bindingCap(a.maxStorageBufferBindingSize),
      maxBufferSize: a.maxBufferSize,
      maxStorageBuffersPerStage: a.maxStorageBuffersPerShaderStage,
      workgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      // the device's, not the adapter's: a device gets the default (256) unless it asks for the adapter's better value (16 on NVIDIA)
      storageOffsetAlignment: device.limits.minStorageBufferOffsetAlignment,
    },
  };
  void device.lost.then((l) => {
    ctx.lost = l.reason === 'destroyed' ? 'the WebGPU device was destroyed (releaseWebGpu() or device.destroy()); acquire it again with webgpu()' : `the WebGPU device was lost (${l.reason}): ${l.message}`;
  });
  device.addEventListener?.('uncapturederror', (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    ctx.error ??= err.message.split('\n')[0] ?? 'unknown error';
  });
  return ctx;
}

/** An adapter info object's enumerable and prototype getters as JSON-able data. */
function plainInfo(info: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!info) return out;
  const keys = new Set<string>([...Object.keys(info), ...Object.getOwnPropertyNames(Object.getPrototypeOf(info) ?? {})]);
  for (const k of keys) {
    if (k === 'constructor') continue;
    const v = (info as Record<string, unknown>)[k];
    if (typeof v === 'function') continue;
    // native objects (e.g. subgroup-matrix configurations) keep their fields as prototype getters
    if (Array.isArray(v)) out[k] = v.map((e: unknown) => (e && typeof e === 'object' ? plainInfo(e) : e));
    else if (v && typeof v === 'object') out[k] = plainInfo(v);
    else out[k] = v ?? null;
  }
  return out;
}

/** The shared device, or null (with `noAdapterReason`) when there is none. Acquired once. */
export function gpuContext(): Promise<GpuContext | null> {
  return (pending ??= acquire());
}

/** Destroy the device and drop the Node `create()` object so the process can exit. */
export async function destroyGpu(): Promise<void> {
  const p = pending;
  pending = null;
  const ctx = p ? await p : null;
  ctx?.device.destroy();
  gpuObject = null;
}
