/**
 * Measure the WebAssembly sgemm: GFLOP/s for square products, 1 and 2..N
 * threads, plain and transposed, fused (relaxed SIMD) and mul + add.
 * Configurations are interleaved round-robin so that the noise of a shared
 * host spreads over all of them; prints best and median of the rounds.
 *
 *   npx tsx scripts/bench-sgemm.ts [--sizes 256,1024] [--rounds 7] [--threads 1,2] [--muladd] [--batched]
 *                                  [--shapes 4096x768x256,256x256x64x64]   (m×n×k[×batch], plain and transposed)
 *
 * Not a test: timings never gate anything.
 */
import { loadavg } from 'node:os';
import { setThreads, sgemm, wasmFeatures } from '../src/backends/cpu/wasm/index.js';
import { heap } from '../src/core/heap.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}
const sizes = arg('sizes', '256,1024').split(',').map(Number);
const rounds = Number(arg('rounds', '7'));
const threadList = arg('threads', '1,2').split(',').map(Number);
const withMulAdd = process.argv.includes('--muladd');
const batched = process.argv.includes('--batched');
const features = wasmFeatures();
setThreads(Math.max(...threadList));

interface Config {
  label: string;
  m: number;
  n: number;
  k: number;
  threads: number;
  transA: boolean;
  transB: boolean;
  fused: boolean;
  batch: number;
  times: number[];
}
const configs: Config[] = [];
const fusedList = [features.relaxed, ...(withMulAdd && features.relaxed ? [false] : [])];
for (const n of sizes) {
  for (const fused of fusedList) {
    for (const threads of threadList) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const t = `${transA ? 'Aᵀ' : 'A'}${transB ? 'Bᵀ' : 'B'}`;
        configs.push({ label: `${n} ${t} ${fused ? 'fma' : 'mul+add'} ${threads}T`, m: n, n, k: n, threads, transA, transB, fused, batch: 1, times: [] });
      }
      if (batched) configs.push({ label: `${n / 4}×16 batched ${fused ? 'fma' : 'mul+add'} ${threads}T`, m: n / 4, n: n / 4, k: n / 4, threads, transA: false, transB: false, fused, batch: 16, times: [] });
    }
  }
}

const shapes = arg('shapes', '').split(',').filter((x) => x !== '');
for (const sh of shapes) {
  const [m, n, k, batch] = sh.split('x').map(Number);
  for (const threads of threadList) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true]] as const) {
      const t = `${transA ? 'Aᵀ' : 'A'}${transB ? 'Bᵀ' : 'B'}`;
      configs.push({ label: `${sh} ${t} ${threads}T`, m: m!, n: n!, k: k!, threads, transA, transB, fused: features.relaxed, batch: batch ?? 1, times: [] });
    }
  }
}

const h = heap();
const maxElems = Math.max(...configs.map((c) => Math.max(c.m * c.k, c.k * c.n, c.m * c.n) * c.batch));
const [a, b, c] = [h.alloc(maxElems * 4), h.alloc(maxElems * 4), h.alloc(maxElems * 4)];
for (const p of [a, b]) {
  const v = new Float32Array(h.buffer, p, maxElems);
  for (let i = 0; i < v.length; i++) v[i] = Math.random() - 0.5;
}

function once(cfg: Config): number {
  const { m, n, k, batch, transA, transB } = cfg;
  const s = performance.now();
  sgemm(
    { transA, transB, m, n, k, aPtr: a, lda: transA ? m : k, bPtr: b, ldb: transB ? k : n, cPtr: c, ldc: n, batch, strideA: m * k, strideB: k * n, strideC: m * n },
    { threads: cfg.threads, fused: cfg.fused },
  );
  return performance.now() - s;
}

console.log(`features ${JSON.stringify(features)}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const cfg of configs) once(cfg); // warm up: compile, tier up, start the pool
for (let r = 0; r < rounds; r++) {
  for (const cfg of configs) {
    // repeat small products so each sample lasts at least ~20 ms
    const flops = 2 * cfg.m * cfg.n * cfg.k * cfg.batch;
    const reps = Math.max(1, Math.round(1e9 / flops));
    const s = performance.now();
    for (let i = 0; i < reps; i++) once(cfg);
    cfg.times.push((performance.now() - s) / reps);
  }
}
const gf = (cfg: Config, ms: number): number => (2 * cfg.m * cfg.n * cfg.k * cfg.batch) / ms / 1e6;
console.log('config'.padEnd(34) + 'best GFLOP/s'.padStart(14) + 'median'.padStart(10));
for (const cfg of configs) {
  const t = [...cfg.times].sort((x, y) => x - y);
  console.log(cfg.label.padEnd(34) + gf(cfg, t[0]!).toFixed(1).padStart(14) + gf(cfg, t[t.length >> 1]!).toFixed(1).padStart(10));
}
console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
