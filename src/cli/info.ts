/**
 * The runtime lines of `nabla info`: threads, which path large matrix
 * products take (a system BLAS through koffi, or WebAssembly SIMD), and
 * whether WebGPU has an adapter here.
 */
import { blasMinFlops, blasStatus } from '../backends/cpu/blas.js';
import { threadCount } from '../backends/cpu/threads/index.js';
import { coreCount } from '../backends/cpu/wasm/features.js';
import { destroyGpu, gpuContext, noAdapterReason } from '../backends/webgpu/device.js';

/** threads and BLAS, one `key: value` per line. */
export function runtimeLines(): string[] {
  const env = process.env.NABLA_THREADS;
  const threads = `threads: ${threadCount()} (${env ? `NABLA_THREADS=${env}` : `the ${coreCount()} logical cores`}; set NABLA_THREADS to change)`;
  const s = blasStatus();
  const blas = s.library
    ? `blas: ${s.library.path}${s.library.config ? ` (${s.library.config})` : ''} for float32 matmuls of ≥ ${blasMinFlops().toExponential(1)} flops (NABLA_BLAS=${s.setting})`
    : `blas: none, matmuls run on WebAssembly SIMD (${s.reason ?? 'off'})`;
  return [threads, blas];
}

let cached: Promise<string> | undefined;

/**
 * `webgpu: <adapter>` or `webgpu: none: <reason>`, from the WebGPU backend's
 * own device acquisition (src/backends/webgpu/device.ts: navigator.gpu, or
 * the `webgpu` package in Node). The device is released afterwards so the
 * process can exit; a time limit keeps a hung driver from hanging the command.
 */
export function webgpuLine(timeoutMs = 10_000): Promise<string> {
  cached ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
      timer.unref?.();
    });
    let timedOut = false;
    try {
      const ctx = await Promise.race([gpuContext(), limit]);
      timedOut = ctx === 'timeout';
      if (ctx === 'timeout') return `webgpu: none: no adapter within ${timeoutMs / 1000} s`;
      if (!ctx) return `webgpu: none: ${noAdapterReason || 'no adapter'}`;
      // f16 kernels run natively under shader-f16, else on packed halves (two per u32 word): see docs/webgpu.md
      return `webgpu: ${ctx.adapterName || 'an adapter (no description)'}${ctx.f16 ? ', shader-f16 (f16: native)' : ' (f16: packed)'}`;
    } catch (e) {
      return `webgpu: none: ${(e as Error).message.split('\n')[0]}`;
    } finally {
      clearTimeout(timer);
      // after a timeout the acquisition is still pending: release it whenever it ends, without waiting
      const release = destroyGpu().catch(() => {});
      if (!timedOut) await release;
    }
  })();
  return cached;
}
