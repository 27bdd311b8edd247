/**
 * Benchmarks of the CPU backend: `npm run bench` runs every suite, prints a
 * table and writes JSON to bench/results/ (one file per run, named by date).
 *
 *   npm run bench                          all suites
 *   npm run bench -- --quick               fewer sizes and samples (a smoke run)
 *   npm run bench -- --filter matmul       only cases whose name contains "matmul"
 *   npm run bench -- --out results.json    write the JSON elsewhere
 *
 * Method: each case is warmed up, then timed in samples of a calibrated number
 * of calls (so one sample lasts ≥ 10 ms and the timer's resolution does not
 * matter); the report is the median time per call with the interquartile
 * range as the spread, and a throughput (GFLOP/s for matmul, GB/s moved for
 * elementwise ops). Results of every call are disposed, so the heap stays flat.
 *
 * Peers (PyTorch, TensorFlow.js) join as further `Runner`s of the same cases in
 * a later issue; the JSON already records which implementation ran each case.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { BYTES } from '../src/core/dtype.js';

interface Case {
  suite: string;
  name: string;
  params: Record<string, number | string>;
  /** build inputs (kept for the whole case) and the function timed; everything it returns is disposed */
  setup(): { inputs: Tensor[]; run: () => Tensor };
  /** throughput of one call */
  work: { amount: number; unit: 'GFLOP/s' | 'GB/s' };
}

interface Result {
  suite: string;
  name: string;
  implementation: string;
  params: Record<string, number | string>;
  samples: number;
  callsPerSample: number;
  medianMs: number;
  q1Ms: number;
  q3Ms: number;
  minMs: number;
  throughput: number;
  unit: string;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] ?? '' : '';
const outArg = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;

const key = nb.randomKey(0);

function elementwiseCases(): Case[] {
  const sizes = quick ? [1e4, 1e6] : [1e3, 1e4, 1e5, 1e6];
  const dtypes: DType[] = ['f32', 'f64'];
  return dtypes.flatMap((dtype) =>
    sizes.map((n) => {
      const bytes = BYTES[dtype];
      return {
        suite: 'elementwise',
        name: `add ${dtype} n=${n}`,
        params: { op: 'add', n, dtype },
        setup: () => {
          const [ka, kb] = nb.splitKey(key);
          const a = nb.normal(ka!, [n], { dtype });
          const b = nb.normal(kb!, [n], { dtype });
          return { inputs: [a, b], run: () => nb.add(a, b) };
        },
        work: { amount: 3 * n * bytes, unit: 'GB/s' as const }, // two reads, one write
      };
    }),
  );
}

function matmulCases(): Case[] {
  const sizes = quick ? [64, 128] : [64, 128, 256];
  return sizes.map((n) => ({
    suite: 'matmul',
    name: `matmul f32 ${n}x${n}x${n}`,
    params: { op: 'matmul', m: n, k: n, n, dtype: 'f32' },
    setup: () => {
      const [ka, kb] = nb.splitKey(key);
      const a = nb.normal(ka!, [n, n], { dtype: 'f32' });
      const b = nb.normal(kb!, [n, n], { dtype: 'f32' });
      return { inputs: [a, b], run: () => nb.matmul(a, b) };
    },
    work: { amount: 2 * n * n * n, unit: 'GFLOP/s' as const },
  }));
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Time `run` as described in the module comment; returns milliseconds per call, one entry per sample. */
function timeCalls(run: () => Tensor, samples: number): { perCall: number[]; calls: number } {
  const once = (): void => run().dispose();
  for (let i = 0; i < 3; i++) once(); // warm up (JIT, heap growth)
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) once();
    const dt = performance.now() - t0;
    if (dt >= 10 || calls >= 1 << 20) break;
    calls = Math.min(1 << 20, Math.ceil(calls * Math.max(2, 12 / Math.max(dt, 0.01))));
  }
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) once();
    perCall.push((performance.now() - t0) / calls);
  }
  return { perCall, calls };
}

function runCase(c: Case): Result {
  const { inputs, run } = c.setup();
  try {
    const { perCall, calls } = timeCalls(run, quick ? 5 : 15);
    const sorted = perCall.slice().sort((a, b) => a - b);
    const medianMs = quantile(sorted, 0.5);
    return {
      suite: c.suite,
      name: c.name,
      implementation: `nabla cpu (${nb.cpu().kernels.has(String(c.params.op)) ? 'native kernel' : 'float64 reference kernel'})`,
      params: c.params,
      samples: sorted.length,
      callsPerSample: calls,
      medianMs,
      q1Ms: quantile(sorted, 0.25),
      q3Ms: quantile(sorted, 0.75),
      minMs: sorted[0]!,
      throughput: c.work.amount / (medianMs / 1000) / 1e9, // giga-units per second
      unit: c.work.unit,
    };
  } finally {
    for (const t of inputs) t.dispose();
  }
}

function fmtMs(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

function main(): void {
  const cases = [...elementwiseCases(), ...matmulCases()].filter((c) => c.name.includes(filter));
  const results: Result[] = [];
  const head = ['case', 'median', 'IQR', 'throughput'];
  console.log(`nabla benchmarks: ${cases.length} cases on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} threads), Node ${process.version}${quick ? ', quick' : ''}`);
  console.log(`${head[0]!.padEnd(28)}${head[1]!.padStart(12)}${head[2]!.padStart(10)}${head[3]!.padStart(18)}`);
  for (const c of cases) {
    const r = runCase(c);
    results.push(r);
    const iqr = `±${(((r.q3Ms - r.q1Ms) / 2 / r.medianMs) * 100).toFixed(1)}%`;
    console.log(`${r.name.padEnd(28)}${fmtMs(r.medianMs).padStart(12)}${iqr.padStart(10)}${`${r.throughput.toFixed(3)} ${r.unit}`.padStart(18)}`);
  }
  const leaked = nb.memory().liveTensors;
  if (leaked !== 0) throw new Error(`bench: ${leaked} tensors were left alive; a case leaks`);

  const date = new Date();
  const report = {
    date: date.toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', threads: cpus().length, platform: platform(), arch: arch(), node: process.version },
    quick,
    results,
  };
  const file = outArg ?? join(dirname(fileURLToPath(import.meta.url)), 'results', `${date.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

main();
