/**
 * The WebGPU backend's entry points: getting it (`webgpu()`), choosing the
 * default backend (`useBackend('webgpu' | 'cpu' | 'auto')`), moving tensors
 * between backends (`toBackend`), waiting for the device (`syncWebGpu`) and
 * letting go of it (`releaseWebGpu`, so a Node process can exit).
 */
import type { Backend } from '../backend.js';
import { Tensor } from '../../core/tensor.js';
import { cpu } from '../cpu/index.js';
import { getDefaultBackend, setDefaultBackend } from '../../ops/creation.js';
import { registry } from '../../core/memory.js';
import { destroyGpu, gpuContext, noAdapterReason } from './device.js';
import { WebGpuBackend } from './backend.js';
import type { KernelTime } from './profile.js';
import { registerElementwise } from './kernels/elementwise.js';
import { registerReduce } from './kernels/reduce.js';
import { registerMatmul } from './kernels/matmul.js';
import { registerIndexing } from './kernels/indexing.js';
import { registerScatter } from './kernels/scatter.js';
import { registerExtrema } from './kernels/extrema.js';
import { registerFft } from './kernels/fft.js';
import { registerLinalg } from './kernels/linalg.js';
import { registerMovement } from './kernels/movement.js';
import { registerConv } from './kernels/conv.js';
import { registerLines } from './kernels/lines.js';
import { registerFused } from './kernels/fused/index.js';

export { WebGpuBackend } from './backend.js';

let instance: Promise<WebGpuBackend | null> | null = null;

/**
 * Fill a backend's kernel table with every WGSL kernel (later tables may wrap
 * earlier entries). Registration only records closures, so the ops table
 * (scripts/op-coverage.ts) can list the WebGPU kernels without a device.
 */
export function registerKernels(b: WebGpuBackend): void {
  registerElementwise(b);
  registerReduce(b);
  registerMatmul(b);
  registerIndexing(b);
  registerScatter(b);
  registerExtrema(b);
  registerFft(b);
  registerLinalg(b);
  registerMovement(b);
  registerConv(b);
  registerLines(b);
  registerFused(b);
}

async function create(): Promise<WebGpuBackend | null> {
  const ctx = await gpuContext();
  if (!ctx) return null;
  const b = new WebGpuBackend(ctx);
  registerKernels(b);
  b.declareWidened();
  return b;
}

/** The WebGPU backend, or null when no adapter exists (`webgpuUnavailableReason()` says why). */
export function webgpu(): Promise<WebGpuBackend | null> {
  return (instance ??= create());
}

export function webgpuUnavailableReason(): string {
  return noAdapterReason;
}

/**
 * Make new tensors go to a backend. 'auto' takes WebGPU when an adapter
 * exists and the CPU otherwise; 'webgpu' throws when there is none.
 */
export async function useBackend(which: 'cpu' | 'webgpu' | 'auto' | Backend): Promise<Backend> {
  let b: Backend;
  if (typeof which !== 'string') b = which;
  else if (which === 'cpu') b = cpu();
  else {
    const g = await webgpu();
    if (!g && which === 'webgpu') throw new Error(`useBackend: no WebGPU adapter: ${noAdapterReason}`);
    b = g ?? cpu();
  }
  setDefaultBackend(b);
  return b;
}

/** A copy of `t` on backend `to` (the same handle's data; no autodiff history). */
export async function toBackend(t: Tensor, to: Backend): Promise<Tensor> {
  t.assertAlive('toBackend');
  const from = t.storage.backend;
  const values = from instanceof WebGpuBackend ? await from.readF64(t) : from.readF64Sync(t);
  const s = to.alloc(t.dtype, values.length);
  if (values.length > 0) to.write(s, values);
  return new Tensor({ storage: s, shape: t.shape, dtype: t.dtype });
}

/** Wait until every kernel recorded on the WebGPU backend has run. */
export async function syncWebGpu(): Promise<void> {
  const b = instance ? await instance : null;
  await b?.sync();
}

/**
 * Time every WebGPU kernel that `fn` records (GPU timestamps, summed per
 * kernel; see profile.ts): the kernels by total GPU time, longest first.
 * Needs an adapter with `timestamp-query`.
 */
export async function profileWebGpu(fn: () => void | Promise<void>): Promise<KernelTime[]> {
  const b = instance ? await instance : null;
  if (!b) throw new Error('profileWebGpu: no WebGPU backend has been acquired (await webgpu() first)');
  b.stream.startProfile();
  try {
    await fn();
  } finally {
    await b.sync();
  }
  return b.stream.stopProfile();
}

export type { KernelTime } from './profile.js';

/**
 * Destroy the device (after finishing its work) so the process can exit;
 * tensors still on it become unusable. The default backend returns to the
 * CPU if it was WebGPU. A later `webgpu()` acquires a fresh device.
 */
export async function releaseWebGpu(): Promise<void> {
  const b = instance ? await instance : null;
  instance = null;
  if (b) {
    await b.sync().catch(() => undefined);
    b.stream.clearBindGroups();
    b.pool.trim();
    registry.backends.delete(b);
    if (getDefaultBackend() === b) setDefaultBackend(cpu());
  }
  await destroyGpu();
}
