/**
 * sgemm family: float32 C = op(A)·op(B) at 256, 1024 and 2048 in the four
 * transpose variants, and batched products (including the two of GPT
 * attention: scores Q·Kᵀ and values P·V), through the public op
 * `matmulT(a, b, transA, transB)` — what a user calls, output allocation
 * included. Throughput in GFLOP/s (2·m·n·k per product).
 *
 * Implementations: nabla's WebAssembly SIMD kernel on 1 and on all threads
 * (BLAS off), nabla's system-BLAS path (when a BLAS is found), PyTorch,
 * TensorFlow.js wasm and cpu (cpu only on the small cases: it runs at
 * ~1 GFLOP/s), onnxruntime.
 *
 *   npx tsx bench/sgemm.ts [driver options, see driver.ts]
 */
import { isMain, runFamilies } from './driver.js';
import { TARGET_HEADER, measure, pickPeers, progress, rateOf, runCases, targetRow, type BenchCase, type CaseResult, type Family, type FamilyContext, type Impl } from './harness.js';
import { blasStatus, setBlasMinFlops } from '../src/backends/cpu/blas.js';
import { setThreads, threadCount } from '../src/backends/cpu/wasm/index.js';
import { matmulT } from '../src/ops/matmul.js';
import { normal } from '../src/ops/random.js';
import { key, split } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';

export interface SgemmSpec {
  family: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  threads?: number;
}

const variant = (tA: boolean, tB: boolean): string => `${tA ? 'Aᵀ' : 'A'}${tB ? 'Bᵀ' : 'B'}`;

export function sgemmCase(family: string, name: string, s: Omit<SgemmSpec, 'family'>, series: string): BenchCase {
  return { family, name, spec: { family, ...s }, work: 2 * s.m * s.n * s.k * s.batch, unit: 'GFLOP/s', series };
}

function cases(quick: boolean): BenchCase[] {
  const sizes = quick ? [32, 64] : [256, 1024, 2048];
  const out: BenchCase[] = [];
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    for (const n of sizes) out.push(sgemmCase('sgemm', `${n}³ ${variant(tA, tB)}`, { m: n, n, k: n, transA: tA, transB: tB, batch: 1 }, `square ${variant(tA, tB)}`));
  }
  const [b, n] = quick ? [4, 32] : [16, 256];
  out.push(sgemmCase('sgemm', `${b}×${n}³ AB`, { m: n, n, k: n, transA: false, transB: false, batch: b }, 'batched AB'));
  out.push(sgemmCase('sgemm', `${b}×${n}³ ABᵀ`, { m: n, n, k: n, transA: false, transB: true, batch: b }, 'batched ABᵀ'));
  // GPT attention at B=16, H=4, T=256, head size 64: scores Q·Kᵀ (256×64 · 64×256), values P·V (256×256 · 256×64)
  const [bh, t, dh] = quick ? [4, 16, 8] : [64, 256, 64];
  out.push(sgemmCase('sgemm', `attention Q·Kᵀ ${bh}×(${t}×${dh}·${dh}×${t})`, { m: t, n: t, k: dh, transA: false, transB: true, batch: bh }, 'attention scores'));
  out.push(sgemmCase('sgemm', `attention P·V ${bh}×(${t}×${t}·${t}×${dh})`, { m: t, n: dh, k: t, transA: false, transB: false, batch: bh }, 'attention values'));
  return out;
}

/** Operands for a spec, in their stored orientation (a transposed operand is stored transposed). */
export function operands(s: SgemmSpec, seed = 0): [Tensor, Tensor] {
  const [ka, kb] = split(key(seed));
  const lead = s.batch > 1 ? [s.batch] : [];
  const a = normal(ka!, [...lead, ...(s.transA ? [s.k, s.m] : [s.m, s.k])], { dtype: 'f32' });
  const b = normal(kb!, [...lead, ...(s.transB ? [s.n, s.k] : [s.k, s.n])], { dtype: 'f32' });
  return [a, b];
}

/**
 * nabla's matmul with `threads` threads, on WebAssembly (`blas` false: the
 * BLAS threshold is raised out of reach) or on the system BLAS (threshold 0).
 * Threads and threshold are restored by `restoreNabla`.
 */
export function nablaMatmul(name: string, threads: number | undefined, blas: boolean): Impl {
  return {
    name,
    run: async (c, cfg) => {
      const s = c.spec as unknown as SgemmSpec;
      if (blas && !blasStatus().library) return { skip: `no system BLAS: ${blasStatus().reason}` };
      setThreads(s.threads ?? threads ?? threadCount());
      setBlasMinFlops(blas ? 0 : Number.POSITIVE_INFINITY);
      const [a, b] = operands(s);
      try {
        return measure(() => matmulT(a, b, s.transA, s.transB).dispose(), cfg);
      } finally {
        a.dispose();
        b.dispose();
      }
    },
  };
}

/** Back to the defaults: threads from NABLA_THREADS or the cores, the default BLAS threshold. */
export function restoreNabla(threads: number): void {
  setThreads(threads);
  setBlasMinFlops(undefined);
}

/** The sgemm figures issue 3 sets, from this run (1024³ unless said). */
function targets(r: CaseResult[], T: number): string[][] {
  const wasm = `nabla wasm ${T}T`;
  const plain = rateOf(r, '1024³ AB', wasm);
  return [
    targetRow('WASM / PyTorch', plain, rateOf(r, '1024³ AB', 'torch'), 0.45),
    targetRow('WASM / TensorFlow.js wasm', plain, rateOf(r, '1024³ AB', 'tfjs-wasm'), 3),
    targetRow('BLAS / PyTorch', rateOf(r, '1024³ AB', `nabla blas ${T}T`), rateOf(r, '1024³ AB', 'torch'), 0.9),
    ...['AᵀB', 'ABᵀ', 'AᵀBᵀ'].map((v) => targetRow(`WASM ${v} / AB`, rateOf(r, `1024³ ${v}`, wasm), plain, 0.8)),
    targetRow('WASM batched 16×256³ AB / 256³ AB', rateOf(r, '16×256³ AB', wasm), rateOf(r, '256³ AB', wasm), 0.8),
    targetRow('WASM batched 16×256³ ABᵀ / 256³ AB', rateOf(r, '16×256³ ABᵀ', wasm), rateOf(r, '256³ AB', wasm), 0.8),
  ];
}

export const sgemmFamily: Family = {
  name: 'sgemm',
  title: 'sgemm: float32 matmul (GFLOP/s)',
  async run(ctx: FamilyContext) {
    const T = ctx.threads;
    const impls: Impl[] = [
      nablaMatmul('nabla wasm 1T', 1, false),
      nablaMatmul(`nabla wasm ${T}T`, T, false),
      nablaMatmul(`nabla blas ${T}T`, T, true),
      ...pickPeers(ctx, ['torch', 'tfjs-wasm', 'tfjs-cpu', 'onnxruntime']),
    ];
    const all = cases(ctx.quick).filter((c) => c.name.includes(ctx.filter));
    try {
      const results = await runCases(all, impls, ctx.cfg, {
        skipFor: (impl, c) => (impl === 'tfjs-cpu' && c.work > 6e8 ? 'plain JavaScript kernels (~1 GFLOP/s): small cases only' : undefined),
        onResult: progress(ctx.log),
      });
      return {
        family: 'sgemm',
        title: this.title,
        cases: results,
        extra: ctx.quick ? [] : [{ title: 'against the targets of issue 3', header: TARGET_HEADER, rows: targets(results, T) }],
        ratios: [
          [`nabla wasm ${T}T`, 'torch'],
          [`nabla wasm ${T}T`, 'tfjs-wasm'],
          [`nabla blas ${T}T`, 'torch'],
          [`nabla wasm ${T}T`, 'onnxruntime'],
        ],
        notes: [`torch and onnxruntime use ${T} threads; TensorFlow.js wasm runs one thread under Node`],
      };
    } finally {
      restoreNabla(T);
    }
  },
};

if (isMain(import.meta.url)) await runFamilies([sgemmFamily]);
