/**
 * The runtime lines of `nabla info`: threads, which path large matrix
 * products take (a system BLAS through koffi, or WebAssembly SIMD), and
 * whether WebGPU has an adapter here (through the `webgpu` npm package,
 * Dawn's Node binding, when it is installed).
 */
import { blasMinFlops, blasStatus } from '../backends/cpu/blas.js';
import { threadCount } from '../backends/cpu/threads/index.js';
import { coreCount } from '../backends/cpu/wasm/features.js';

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

interface WebGpuModule {
  create(options: string[]): { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
}

let cached: Promise<string> | undefined;

/**
 * `webgpu: <adapter>` or `webgpu: none: <reason>`. Probed once per process,
 * with a time limit so a hung driver cannot hang the command.
 */
export function webgpuLine(timeoutMs = 5000): Promise<string> {
  cached ??= (async () => {
    let mod: WebGpuModule;
    try {
      mod = (await import('webgpu' as string)) as WebGpuModule;
    } catch (e) {
      return `webgpu: none: the 'webgpu' package is not installed or does not load here (${(e as Error).message.split('\n')[0]})`;
    }
    try {
      const gpu = mod.create([]);
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), timeoutMs);
        timer.unref?.();
      });
      const adapter = await Promise.race([gpu.requestAdapter(), limit]);
      clearTimeout(timer);
      if (adapter === 'timeout') return `webgpu: none: no answer from requestAdapter() within ${timeoutMs / 1000} s`;
      if (!adapter) return 'webgpu: none: requestAdapter() found no adapter (no Vulkan, Metal or D3D12 driver with a GPU here)';
      const i = adapter.info ?? {};
      const name = [i.vendor, i.architecture, i.description].filter(Boolean).join(' ');
      return `webgpu: ${name || 'an adapter (no description)'}`;
    } catch (e) {
      return `webgpu: none: ${(e as Error).message.split('\n')[0]}`;
    }
  })();
  return cached;
}
