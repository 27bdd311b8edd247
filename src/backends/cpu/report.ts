/**
 * Which ops each backend runs natively, per dtype, and which fall back to
 * the float64 reference kernel: `backendOps()` returns the table, and
 * `nabla ops` prints it (`formatBackendOps`).
 *
 * How a cell is decided: a view op moves no data on any backend ('view').
 * Otherwise an op whose name has a kernel in the backend's `kernels` map is
 * native for the dtypes the kernel declares — a kernel says which dtypes it
 * runs by carrying a `dtypes` array (`Object.assign(kernel, { dtypes:
 * ['f32'] })`), and declines the others at run time, which then take the
 * reference path. A kernel that declares nothing is listed as native for
 * every dtype, marked 'native?' so the gap shows. Everything else runs the
 * reference kernel: its inputs are read as float64, computed, and rounded
 * to the output dtype.
 *
 * This module sits above the op table (it imports `OPS`), unlike the rest
 * of backends/: nothing below it imports it, it only reports.
 */
import type { Backend, Kernel } from '../backend.js';
import { DTYPES, type DType } from '../../core/dtype.js';
import { registry } from '../../core/memory.js';
import { OPS } from '../../ops/all.js';
import type { OpDef } from '../../ops/registry.js';
import { blasMinFlops, blasStatus } from './blas.js';
import { cpu } from './index.js';
import { wasmFeatures } from './wasm/index.js';

/** How one op runs for one dtype. */
export type OpPath = 'native' | 'native?' | 'reference' | 'view';

/** A kernel that declares the dtypes it runs. */
export type DeclaredKernel = Kernel & { dtypes?: readonly DType[] };

export interface OpRow {
  op: string;
  kind: 'view' | 'kernel';
  /** the path per dtype */
  paths: Record<DType, OpPath>;
  /** how the native kernel works, when there is something to say */
  note?: string;
}

export interface BackendOpTable {
  backend: string;
  rows: OpRow[];
  /** counts over ops: native for at least one dtype, reference only, views */
  counts: { native: number; reference: number; view: number };
  /** facts about the fast path on this machine (SIMD, threads, BLAS) */
  notes: string[];
}

/** Dtypes the kernels registered before a kernel could declare them run natively. */
const KNOWN_DTYPES: Readonly<Record<string, readonly DType[]>> = { matmul: ['f32'] };

interface Introspectable extends Backend {
  kernels?: ReadonlyMap<string, Kernel>;
}

function kernelDtypes(name: string, k: Kernel): readonly DType[] | undefined {
  return (k as DeclaredKernel).dtypes ?? KNOWN_DTYPES[name];
}

/** What the CPU backend's fast path uses here (SIMD flavour, threads, BLAS). */
function cpuNotes(): { notes: string[]; matmul: string } {
  const f = wasmFeatures();
  const simd = f.simd ? `WebAssembly SIMD${f.relaxed ? ` with relaxed FMA (${f.relaxedVia})` : ' (mul + add: no relaxed SIMD)'}` : 'no WebAssembly SIMD';
  const threads = `${f.threads} thread${f.threads === 1 ? '' : 's'}${f.sharedMemory ? '' : ' (no shared memory)'}`;
  const b = blasStatus();
  const blas = b.library ? `system BLAS ${b.library.path} for products ≥ ${blasMinFlops().toExponential(2)} flops` : `no system BLAS (${b.reason})`;
  return {
    notes: [`kernels: ${simd}, ${threads}`, `float32 matmul: ${blas}`],
    matmul: `sgemm: ${f.relaxed ? 'relaxed-FMA' : 'mul+add'} SIMD micro-kernel${b.library ? `; ≥ ${blasMinFlops().toExponential(2)} flops: cblas_sgemm (${b.library.path})` : ''}`,
  };
}

/** The table of one backend over `ops`. */
export function opTable(backend: Backend, ops: Readonly<Record<string, OpDef<never>>> = OPS as unknown as Record<string, OpDef<never>>): BackendOpTable {
  const kernels = (backend as Introspectable).kernels ?? new Map<string, Kernel>();
  const isCpu = backend === cpu();
  const extra = isCpu ? cpuNotes() : undefined;
  const rows: OpRow[] = Object.entries(ops).map(([name, op]) => {
    const paths = {} as Record<DType, OpPath>;
    const k = kernels.get(name);
    const declared = k ? kernelDtypes(name, k) : undefined;
    for (const d of DTYPES) paths[d] = op.view ? 'view' : !k ? 'reference' : !declared ? 'native?' : declared.includes(d) ? 'native' : 'reference';
    const row: OpRow = { op: name, kind: op.view ? 'view' : 'kernel', paths };
    if (name === 'matmul' && k && extra) row.note = extra.matmul;
    return row;
  });
  const counts = { native: 0, reference: 0, view: 0 };
  for (const r of rows) {
    if (r.kind === 'view') counts.view++;
    else if (Object.values(r.paths).some((p) => p !== 'reference')) counts.native++;
    else counts.reference++;
  }
  const own = (backend as { notes?: () => string[] }).notes?.() ?? [];
  return { backend: backend.name, rows, counts, notes: extra?.notes ?? own };
}

/**
 * Which ops each backend runs natively vs on the float64 reference, per
 * dtype: one table per backend created in this process (the CPU backend
 * always). See the module comment for how cells are decided.
 */
export function backendOps(): BackendOpTable[] {
  const backends = new Set<Backend>([cpu(), ...(registry.backends as Iterable<Backend>)]);
  return [...backends].map((b) => opTable(b));
}

/** A plain-text rendering: one line per op (or only the native ones), then the counts and notes. */
export function formatBackendOps(tables: readonly BackendOpTable[], opts: { nativeOnly?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const t of tables) {
    const c = t.counts;
    out.push(`backend ${t.backend}: ${c.native} op${c.native === 1 ? '' : 's'} native (for some dtype), ${c.reference} on the float64 reference, ${c.view} view${c.view === 1 ? '' : 's'}`);
    for (const n of t.notes) out.push(`  ${n}`);
    const width = Math.max(8, ...t.rows.map((r) => r.op.length)) + 2;
    out.push(`  ${'op'.padEnd(width)}${DTYPES.map((d) => d.padEnd(10)).join('')}`.trimEnd());
    for (const r of t.rows) {
      if (opts.nativeOnly && !Object.values(r.paths).some((p) => p === 'native' || p === 'native?')) continue;
      const cells = DTYPES.map((d) => r.paths[d].padEnd(10)).join('');
      out.push(`  ${r.op.padEnd(width)}${cells}${r.note ? ` ${r.note}` : ''}`.trimEnd());
    }
  }
  out.push("native: a kernel of this backend; native?: a kernel that does not declare its dtypes (it may decline some); reference: the op's float64 reference kernel; view: no data moves");
  return out;
}
