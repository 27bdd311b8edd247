/**
 * `sgemm`: C = α·op(A)·op(B) + β·C on float32 matrices that live on the CPU
 * heap, in place, with the WebAssembly SIMD kernel of sgemm.kernel.ts, on the
 * thread pool when the product is large enough to pay for waking it.
 *
 * Conventions are BLAS's, row-major: pointers are byte offsets into the heap;
 * `lda`, `ldb`, `ldc` are the distances in elements between consecutive rows
 * of the stored matrices (A is m×k, or k×m when `transA`; B is k×n, or n×k
 * when `transB`; C is m×n); batch strides count elements and may be 0 for A
 * or B (one matrix broadcast over the batch). β = 0 never reads C.
 *
 * Threads split the batch, or else the columns (or rows) of C, into blocks
 * that are multiples of the register tile. Every element of C is computed by
 * the same sequence of roundings whatever the split (see sgemm.kernel.ts),
 * so threaded results equal single-threaded ones bit for bit.
 */
import { heap } from '../../../core/heap.js';
import { threadCount, threadPool } from '../threads/index.js';
import type { Task } from '../threads/pool.js';
import { detectFeatures } from './features.js';
import { callerScratch, kernelModule, poolIds, type KernelModule } from './kernels.js';
import { DEFAULT_SGEMM, buildSgemm, sgemmScratchBytes } from './sgemm.kernel.js';

export interface SgemmArgs {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  aPtr: number;
  lda: number;
  bPtr: number;
  ldb: number;
  beta?: number;
  cPtr: number;
  ldc: number;
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

export interface SgemmOptions {
  /** most threads to use (default: the pool's size) */
  threads?: number;
  /** use the fused relaxed-SIMD micro-kernel (default: when supported); false forces mul + add */
  fused?: boolean;
}

const BLOCK = DEFAULT_SGEMM;
const SCRATCH = sgemmScratchBytes(BLOCK);
/** Below this many flops a product runs on the calling thread: waking workers costs ~10-50 µs. */
export const SGEMM_THREAD_MIN_FLOPS = 1 << 21;

/** The sgemm module with the fused (relaxed SIMD) or the mul + add micro-kernel. */
export function sgemmModule(fused: boolean): KernelModule {
  const f = detectFeatures();
  if (!f.simd) throw new Error('sgemm: this WebAssembly engine has no SIMD support');
  if (fused && !f.relaxed) throw new Error('sgemm: fused requested but relaxed SIMD is unavailable');
  return kernelModule(fused ? 'sgemm.relaxed' : 'sgemm.simd', (shared) => buildSgemm({ ...BLOCK, fused, shared }));
}

type Full = Required<SgemmArgs>;

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`sgemm: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Validate and fill defaults; errors name the argument and the sizes at fault. */
export function normalizeSgemm(p: SgemmArgs): Full {
  const a: Full = {
    transA: p.transA ?? false, transB: p.transB ?? false, m: p.m, n: p.n, k: p.k, alpha: p.alpha ?? 1,
    aPtr: p.aPtr, lda: p.lda, bPtr: p.bPtr, ldb: p.ldb, beta: p.beta ?? 0, cPtr: p.cPtr, ldc: p.ldc,
    batch: p.batch ?? 1, strideA: p.strideA ?? 0, strideB: p.strideB ?? 0, strideC: p.strideC ?? 0,
  };
  for (const d of ['m', 'n', 'k', 'batch', 'strideA', 'strideB', 'strideC', 'aPtr', 'bPtr', 'cPtr'] as const) check(d, a[d], 0);
  for (const d of ['alpha', 'beta'] as const) if (typeof a[d] !== 'number' || Number.isNaN(a[d])) throw new Error(`sgemm: ${d} must be a number, got ${a[d]}`);
  const [ar, ac] = a.transA ? [a.k, a.m] : [a.m, a.k];
  const [br, bc] = a.transB ? [a.n, a.k] : [a.k, a.n];
  const lds = [['lda', a.lda, ac, `A is ${ar}×${ac}`], ['ldb', a.ldb, bc, `B is ${br}×${bc}`], ['ldc', a.ldc, a.n, `C is ${a.m}×${a.n}`]] as const;
  for (const [nm, ld, cols, what] of lds) {
    if (!Number.isInteger(ld) || ld < cols) throw new Error(`sgemm: ${nm} is ${ld} but ${what} (stored row-major): it must be an integer ≥ ${cols}`);
  }
  if (a.batch > 1 && a.strideC === 0 && a.m * a.n > 0) throw new Error(`sgemm: strideC is 0 with batch ${a.batch}: every product would write the same C`);
  const cap = heap().capacity;
  const span = (ptr: number, rows: number, cols: number, ld: number, stride: number, nm: string): void => {
    if (ptr % 4 !== 0) throw new Error(`sgemm: ${nm}Ptr ${ptr} is not 4-byte aligned`);
    if (rows === 0 || cols === 0 || a.batch === 0) return;
    const end = ptr + 4 * ((a.batch - 1) * stride + (rows - 1) * ld + cols);
    if (end > cap) throw new Error(`sgemm: ${nm} (${rows}×${cols}, ld ${ld}, batch ${a.batch}, stride ${stride}) at byte ${ptr} ends at ${end}, past the heap's ${cap} bytes`);
  };
  span(a.aPtr, ar, ac, a.lda, a.strideA, 'a');
  span(a.bPtr, br, bc, a.ldb, a.strideB, 'b');
  span(a.cPtr, a.m, a.n, a.ldc, a.strideC, 'c');
  return a;
}

/** Arguments of the module's `sgemm` export after the scratch pointer. */
function wasmArgs(a: Full): number[] {
  return [
    a.transA ? 1 : 0, a.transB ? 1 : 0, a.m, a.n, a.k, a.alpha, a.aPtr, a.lda, a.bPtr, a.ldb,
    a.beta, a.cPtr, a.ldc, a.batch, a.strideA, a.strideB, a.strideC,
  ];
}

/** Split into at most `parts` independent sub-products (batch ranges, else column or row blocks). */
export function splitSgemm(a: Full, parts: number): Full[] {
  const even = (total: number, q: number, unit: number): [number, number][] => {
    const units = Math.ceil(total / unit);
    const per = Math.ceil(units / q) * unit;
    const out: [number, number][] = [];
    for (let s = 0; s < total; s += per) out.push([s, Math.min(total, s + per)]);
    return out;
  };
  if (parts <= 1) return [a];
  if (a.batch >= parts && (a.batch % parts === 0 || a.batch >= 4 * parts)) {
    return even(a.batch, parts, 1).map(([s, e]) => ({
      ...a, batch: e - s, aPtr: a.aPtr + 4 * s * a.strideA, bPtr: a.bPtr + 4 * s * a.strideB, cPtr: a.cPtr + 4 * s * a.strideC,
    }));
  }
  if (a.n >= a.m) {
    return even(a.n, parts, BLOCK.nr).map(([s, e]) => ({
      ...a, n: e - s, bPtr: a.bPtr + 4 * s * (a.transB ? a.ldb : 1), cPtr: a.cPtr + 4 * s,
    }));
  }
  return even(a.m, parts, BLOCK.mr).map(([s, e]) => ({
    ...a, m: e - s, aPtr: a.aPtr + 4 * s * (a.transA ? 1 : a.lda), cPtr: a.cPtr + 4 * s * a.ldc,
  }));
}

/**
 * Tasks for `threads` threads: two per thread when the blocks stay at least
 * 256 columns (or rows) wide, so that a thread slowed by the OS or by other
 * processes is made up for by the others (tasks are claimed, not assigned);
 * narrower blocks would repack A (or B) too often for their work.
 */
function taskCount(a: Full, threads: number): number {
  const span = a.batch >= threads ? a.batch * 256 : Math.max(a.m, a.n);
  return span >= 2 * threads * 256 ? 2 * threads : threads;
}

/** C = α·op(A)·op(B) + β·C in place on the heap (see the module comment for the conventions). */
export function sgemm(args: SgemmArgs, opts: SgemmOptions = {}): void {
  const a = normalizeSgemm(args);
  if (opts.threads !== undefined) check('threads', opts.threads, 1);
  if (a.m === 0 || a.n === 0 || a.batch === 0) return;
  const fused = opts.fused ?? detectFeatures().relaxed;
  const km = sgemmModule(fused);
  const flops = 2 * a.m * a.n * Math.max(1, a.k) * a.batch;
  const want = Math.min(opts.threads ?? threadCount(), threadCount());
  const pool = want > 1 && flops >= SGEMM_THREAD_MIN_FLOPS ? threadPool() : undefined;
  if (!pool) {
    km.fns.sgemm!(callerScratch(SCRATCH), ...wasmArgs(a));
    return;
  }
  pool.ensureScratch(SCRATCH);
  const id = poolIds(pool, km).sgemm!;
  const tasks: Task[] = splitSgemm(a, taskCount(a, Math.min(want, pool.threads))).map((s) => ({ fn: id, args: wasmArgs(s) }));
  pool.run(tasks);
}
