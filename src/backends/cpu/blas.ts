/**
 * An optional system BLAS for large float32 matrix products in Node.
 *
 * When a tuned BLAS is installed (OpenBLAS, MKL, BLIS, Apple Accelerate),
 * `cblas_sgemm` beats any 128-bit WebAssembly kernel on a large product: it
 * uses the CPU's full vector width (AVX2/AVX-512 FMA), about twice the
 * WASM SIMD ceiling. The library is loaded through the FFI package `koffi`
 * (an optional dependency: no compiler, no build step) and is called on the
 * CPU heap's memory directly — a Float32Array view of the heap is passed as
 * the `float *`, and koffi hands C the view's own data pointer, so nothing is
 * copied in or out (test/backends/blas.test.ts checks the addresses).
 *
 * Which path runs:
 * - `NABLA_BLAS` unset or `auto`: the first library found among the tuned
 *   ones below; none found, or no koffi, or not Node: WebAssembly.
 *   (The generic `libblas.so.3` is skipped on purpose: on Debian it is often
 *   the netlib reference BLAS, slower than the WASM kernel.)
 * - `NABLA_BLAS=off`: never.
 * - `NABLA_BLAS=<path>`: that library; failing to load it is an error.
 * - `setBlas(...)` does the same from code and wins over the variable.
 * Only products of at least `blasMinFlops()` floating-point operations per
 * matrix (2·m·n·k) go to BLAS: below it the call overhead and BLAS's own
 * thread start-up cost more than they save. `NABLA_BLAS_MIN_FLOPS` or
 * `setBlasMinFlops` change it. One line on stderr, once, says which path the
 * first product large enough to choose took.
 *
 * BLAS threads follow nabla's thread count (`setThreads`, `NABLA_THREADS`),
 * set through `openblas_set_num_threads` (or MKL's/BLIS's equivalent).
 */
import { heap } from '../../core/heap.js';
import { threadCount } from './threads/index.js';
import { normalizeSgemm, type SgemmArgs } from './wasm/sgemm.js';

/** The tuned libraries tried in order by `auto`. */
export const BLAS_CANDIDATES: readonly string[] = [
  'libopenblas.so.0',
  'libopenblas.so',
  'libopenblasp.so.0',
  'libmkl_rt.so.2',
  'libmkl_rt.so',
  'libblis.so.4',
  'libopenblas.dylib',
  '/System/Library/Frameworks/Accelerate.framework/Accelerate',
];

/**
 * Default of `blasMinFlops()`: 2·64³. Measured on the development machine
 * (docs/benchmarks.md, "BLAS threshold"), OpenBLAS through koffi beats the
 * WASM kernel from about 48³ up; below, both are dominated by per-call costs.
 */
export const DEFAULT_BLAS_MIN_FLOPS = 2 * 64 ** 3;

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

type CFunction = (...args: unknown[]) => unknown;
interface KoffiLib {
  func(prototype: string): CFunction;
}
interface Koffi {
  load(path: string): KoffiLib;
}

/** A loaded BLAS. */
export interface BlasLibrary {
  /** what was loaded (the name or path given to the loader) */
  readonly path: string;
  /** the library's own description when it has one (OpenBLAS: its build configuration), else '' */
  readonly config: string;
  /** `cblas_sgemm`, row-major, on float32 arrays (views of the heap) */
  readonly sgemm: CFunction;
  /** sets the library's thread count, when it exports a way to */
  readonly setThreads?: (n: number) => void;
}

/** Which path large float32 products take, and why. */
export interface BlasStatus {
  /** the BLAS in use, or undefined for WebAssembly */
  library?: BlasLibrary;
  /** the setting in force: 'auto', 'off' or a path */
  setting: string;
  /** where the setting came from */
  source: 'default' | 'NABLA_BLAS' | 'setBlas';
  /** why no BLAS is used (undefined when one is) */
  reason?: string;
}

let override: string | undefined;
let minFlopsOverride: number | undefined;
let status: BlasStatus | undefined;
let threadsSet = 0;
let announced = false;
let calls = 0;

function env(name: string): string | undefined {
  const e = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = e?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** koffi through Node's require, or why it cannot be had (not Node, not installed). */
function loadKoffi(): Koffi | string {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:module') as { createRequire(url: string): (id: string) => unknown } | undefined;
  if (!mod) return 'not running in Node';
  try {
    return mod.createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return `the optional package koffi is not installed (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Load `path` and bind its entry points; throws with the loader's message. */
function bind(koffi: Koffi, path: string): BlasLibrary {
  const lib = koffi.load(path);
  const sgemm = lib.func(
    'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)',
  );
  const optional = (proto: string): CFunction | undefined => {
    try {
      return lib.func(proto);
    } catch {
      return undefined;
    }
  };
  const cfg = optional('const char *openblas_get_config()');
  const setters = ['void openblas_set_num_threads(int n)', 'void MKL_Set_Num_Threads(int n)', 'void bli_thread_set_num_threads(long n)'];
  const setter = setters.map(optional).find((f) => f !== undefined);
  return { path, config: cfg ? String(cfg()) : '', sgemm, setThreads: setter ? (n) => void setter(n) : undefined };
}

/** Resolve the setting into a status (loading the library at most once per setting). */
function resolve(): BlasStatus {
  const fromEnv = env('NABLA_BLAS');
  const setting = override ?? fromEnv ?? 'auto';
  const source: BlasStatus['source'] = override !== undefined ? 'setBlas' : fromEnv !== undefined ? 'NABLA_BLAS' : 'default';
  if (setting === 'off') return { setting, source, reason: `turned off by ${source === 'setBlas' ? "setBlas('off')" : 'NABLA_BLAS=off'}` };
  const koffi = loadKoffi();
  if (typeof koffi === 'string') {
    if (setting !== 'auto') throw new Error(`${source}=${setting}: cannot load a system BLAS: ${koffi}`);
    return { setting, source, reason: koffi };
  }
  if (setting !== 'auto') {
    try {
      return { setting, source, library: bind(koffi, setting) };
    } catch (e) {
      throw new Error(`${source}=${setting}: cannot use it as a BLAS: ${(e as Error).message}. Give the path of a library exporting cblas_sgemm, or 'off'.`, { cause: e });
    }
  }
  for (const path of BLAS_CANDIDATES) {
    try {
      return { setting, source, library: bind(koffi, path) };
    } catch {
      // not installed here: try the next one
    }
  }
  return { setting, source, reason: `no system BLAS found (tried ${BLAS_CANDIDATES.join(', ')})` };
}

/** Which path large float32 products take (resolving the setting on first call). */
export function blasStatus(): BlasStatus {
  return (status ??= resolve());
}

/** The BLAS in use, or undefined when products run on WebAssembly. */
export function blasLibrary(): BlasLibrary | undefined {
  return blasStatus().library;
}

/**
 * Choose the BLAS from code: 'auto' (the default search), 'off', or a library
 * path; `undefined` returns to `NABLA_BLAS`. Loads at once, so a bad path
 * throws here.
 */
export function setBlas(setting: 'auto' | 'off' | (string & {}) | undefined): BlasStatus {
  if (setting !== undefined && (typeof setting !== 'string' || setting === '')) throw new Error(`setBlas: setting must be 'auto', 'off', a library path or undefined, got ${JSON.stringify(setting)}`);
  override = setting;
  status = undefined;
  threadsSet = 0;
  announced = false;
  return blasStatus();
}

/** Products of at least this many flops per matrix (2·m·n·k) run on BLAS when one is in use. */
export function blasMinFlops(): number {
  if (minFlopsOverride !== undefined) return minFlopsOverride;
  const v = env('NABLA_BLAS_MIN_FLOPS');
  if (v === undefined) return DEFAULT_BLAS_MIN_FLOPS;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`NABLA_BLAS_MIN_FLOPS must be a number ≥ 0, got '${v}'`);
  return n;
}

/** Set `blasMinFlops()` (0 sends every product to BLAS, Infinity none); `undefined` returns to the default or the variable. */
export function setBlasMinFlops(flops: number | undefined): void {
  if (flops !== undefined && !(typeof flops === 'number' && flops >= 0)) throw new Error(`setBlasMinFlops: flops must be a number ≥ 0 (Infinity: never), got ${flops}`);
  minFlopsOverride = flops;
}

/** The line `announce` prints: which path large float32 products take. */
export function blasPathLine(): string {
  const s = blasStatus();
  const min = blasMinFlops();
  if (s.library) {
    const cfg = s.library.config ? ` (${s.library.config})` : '';
    return `nabla: float32 matmuls of ≥ ${min.toExponential(2)} flops run on the system BLAS ${s.library.path}${cfg}; smaller ones on WebAssembly SIMD`;
  }
  return `nabla: float32 matmuls run on WebAssembly SIMD (no system BLAS: ${s.reason})`;
}

function announce(): void {
  if (announced) return;
  announced = true;
  const proc = (globalThis as { process?: { stderr?: { write(s: string): void } } }).process;
  if (proc?.stderr) proc.stderr.write(`${blasPathLine()}\n`);
  else console.info(blasPathLine());
}

/**
 * C = α·op(A)·op(B) + β·C through `cblas_sgemm`, with sgemm()'s conventions
 * (byte pointers into the heap, row-major, batch strides in elements). The
 * batch is a loop of calls. Throws when no BLAS is in use.
 */
export function blasSgemm(args: SgemmArgs): void {
  const lib = blasLibrary();
  if (!lib) throw new Error(`blasSgemm: no system BLAS in use (${blasStatus().reason})`);
  const a = normalizeSgemm(args);
  if (a.m === 0 || a.n === 0 || a.batch === 0) return;
  const want = threadCount();
  if (lib.setThreads && threadsSet !== want) {
    lib.setThreads(want);
    threadsSet = want;
  }
  calls += a.batch;
  const buf = heap().buffer;
  const [ar, ac] = a.transA ? [a.k, a.m] : [a.m, a.k];
  const [br, bc] = a.transB ? [a.n, a.k] : [a.k, a.n];
  // Views span exactly each stored matrix; koffi passes their data pointers to C.
  const extent = (rows: number, cols: number, ld: number): number => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
  const [la, lb, lc] = [extent(ar, ac, a.lda), extent(br, bc, a.ldb), extent(a.m, a.n, a.ldc)];
  for (let q = 0; q < a.batch; q++) {
    const A = new Float32Array(buf, a.aPtr + 4 * q * a.strideA, Math.max(1, la));
    const B = new Float32Array(buf, a.bPtr + 4 * q * a.strideB, Math.max(1, lb));
    const C = new Float32Array(buf, a.cPtr + 4 * q * a.strideC, lc);
    // k = 0 is legal: C = β·C (BLAS handles it)
    lib.sgemm(ROW_MAJOR, a.transA ? TRANS : NO_TRANS, a.transB ? TRANS : NO_TRANS, a.m, a.n, a.k, a.alpha, A, a.lda, B, a.ldb, a.beta, C, a.ldc);
  }
}

/** How many matrix products `cblas_sgemm` has computed in this process (a batch counts each matrix). */
export function blasCallCount(): number {
  return calls;
}

/**
 * Wrap a WebAssembly sgemm so that products of at least `blasMinFlops()` per
 * matrix run on the system BLAS when one is in use. The matmul kernel's
 * registration uses this (wasm/matmulKernel.ts).
 */
export function withBlas(wasm: (args: SgemmArgs) => void): (args: SgemmArgs) => void {
  return (args) => {
    const flops = 2 * args.m * args.n * args.k;
    if (flops < blasMinFlops()) return wasm(args);
    announce();
    if (blasLibrary()) return blasSgemm(args);
    return wasm(args);
  };
}
