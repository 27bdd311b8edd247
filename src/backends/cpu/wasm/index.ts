/**
 * nabla's WebAssembly SIMD kernels for the CPU backend: generated from
 * TypeScript at first use (emit.ts), working in place on the CPU heap, run
 * on the thread pool (../threads) when the work is large enough.
 */
import { heap } from '../../../core/heap.js';
import { threadCount } from '../threads/index.js';
import { detectFeatures, type WasmFeatures } from './features.js';

export { sgemm, splitSgemm, normalizeSgemm, SGEMM_THREAD_MIN_FLOPS, type SgemmArgs, type SgemmOptions } from './sgemm.js';
export { matmulKernel, registerFastKernels } from './matmulKernel.js';
export { setThreads, shutdownThreads, threadCount } from '../threads/index.js';
export type { WasmFeatures } from './features.js';

/** What the fast CPU path can use here: SIMD, relaxed SIMD (fused multiply-add), shared memory, threads. */
export function wasmFeatures(): WasmFeatures {
  const f = detectFeatures();
  const shared = heap().shared;
  return { ...f, sharedMemory: shared, threads: shared ? threadCount() : 1 };
}
