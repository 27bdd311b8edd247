/**
 * nabla's GPU benchmarks on the WebGPU backend (issue: measure on a real GPU).
 * Run on the GPU machine by scripts/gpu/remote.sh from a bundle made by
 * scripts/gpu/pack.sh; prints one JSON object per measurement and writes the
 * whole list to --out.
 *
 * Timing: each case is warmed up, then timed as wall clock over k calls
 * followed by one device sync (`syncWebGpu`), so the GPU's queue is drained
 * inside the timed region; the median of the samples is reported.
 */
import { writeFileSync } from 'node:fs';
import { useBackend, syncWebGpu, releaseWebGpu, webgpu, webgpuUnavailableReason } from '../../src/backends/webgpu/index.js';
import { gpuContext } from '../../src/backends/webgpu/device.js';
import { normal, randomKey } from '../../src/ops/random.js';
import { matmul } from '../../src/ops/index.js';
import { tidy } from '../../src/core/memory.js';
import type { Tensor } from '../../src/core/tensor.js';

interface Result { name: string; shape: string; dtype: string; ms?: number; value?: number; unit?: string; error?: string }
const results: Result[] = [];
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function time(run: () => void, reps: number, samples = 5): Promise<number> {
  run();
  await syncWebGpu();
  const ms: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    await syncWebGpu();
    ms.push((performance.now() - t0) / reps);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

function record(r: Result): void {
  results.push(r);
  console.log(JSON.stringify(r));
}

async function gemm(dtype: 'f32' | 'f16', sizes: number[]): Promise<void> {
  for (const n of sizes) {
    const name = dtype === 'f32' ? 'sgemm' : 'hgemm';
    try {
      const a = normal(randomKey(1), [n, n], { dtype });
      const b = normal(randomKey(2), [n, n], { dtype });
      const reps = n >= 4096 ? 2 : 10;
      const ms = await time(() => tidy(() => { matmul(a, b); }), reps);
      record({ name, shape: `${n}x${n}x${n}`, dtype, ms, value: (2 * n ** 3) / (ms * 1e9), unit: 'TFLOP/s' });
      a.dispose();
      b.dispose();
    } catch (e) {
      record({ name, shape: `${n}`, dtype, error: String((e as Error).message ?? e).slice(0, 300) });
    }
  }
}

async function main(): Promise<void> {
  const gpu = await webgpu();
  if (!gpu) {
    record({ name: 'adapter', shape: '', dtype: '', error: webgpuUnavailableReason() });
  } else {
    await useBackend(gpu);
    const ctx = await gpuContext();
    console.log(JSON.stringify({ adapter: ctx?.adapterName, f16: ctx?.f16, limits: ctx?.limits }));
    record({ name: 'adapter', shape: '', dtype: '', error: undefined, unit: ctx?.adapterName });
    const sizes = arg('sizes', '1024,2048,4096,8192').split(',').map(Number);
    await gemm('f32', sizes);
    if (ctx?.f16) await gemm('f16', sizes);
    else record({ name: 'hgemm', shape: '', dtype: 'f16', error: 'the adapter has no shader-f16' });
  }
  writeFileSync(arg('out', 'gpu-nabla.json'), JSON.stringify(results, null, 1));
  await releaseWebGpu();
}

void main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
export type { Tensor };
