/**
 * The op table (src/backends/cpu/report.ts) and `nabla ops`: views are views,
 * the f32 matmul kernel is native for f32 only, an op without a kernel runs
 * the reference for every dtype, declared and undeclared kernels of a
 * backend, counts, the text rendering and the CLI's JSON.
 */
import { describe, expect, it } from 'vitest';
import { backendOps, formatBackendOps, opTable, type DeclaredKernel } from '../../src/backends/cpu/report.js';
import { CpuBackend, cpu } from '../../src/backends/cpu/index.js';
import type { Kernel } from '../../src/backends/backend.js';
import { DTYPES } from '../../src/core/dtype.js';
import { OPS } from '../../src/ops/all.js';
import { buildProgram } from '../../src/cli/main.js';

describe('backendOps', () => {
  const [table] = backendOps();
  const row = (op: string) => table!.rows.find((r) => r.op === op)!;

  it('lists every op of OPS once for the CPU backend, counts adding up', () => {
    expect(table!.backend).toBe('cpu');
    expect(table!.rows.map((r) => r.op)).toEqual(Object.keys(OPS));
    const { native, reference, view } = table!.counts;
    expect(native + reference + view).toBe(Object.keys(OPS).length);
    expect(view).toBe(Object.values(OPS).filter((o) => o.view).length);
  });

  it('views move no data; matmul is native for f32 only; an op without a kernel is reference throughout', () => {
    for (const d of DTYPES) expect(row('reshape').paths[d]).toBe('view');
    expect(row('matmul').paths).toEqual({ f64: 'reference', f32: 'native', f16: 'reference', bf16: 'reference', i32: 'reference', bool: 'reference' });
    expect(row('matmul').note).toMatch(/sgemm/);
    const plain = Object.keys(OPS).find((n) => !OPS[n as keyof typeof OPS].view && !cpu().kernels.has(n))!;
    for (const d of DTYPES) expect(row(plain).paths[d]).toBe('reference');
    expect(table!.notes.join('\n')).toMatch(/float32 matmul: (system BLAS|no system BLAS)/);
  });

  it('a backend’s kernels: declared dtypes are native, undeclared ones are marked native?', () => {
    const be = new CpuBackend();
    const k: Kernel = () => undefined;
    be.kernels.set('exp', Object.assign((() => undefined) as Kernel, { dtypes: ['f32', 'f16'] }) as DeclaredKernel);
    be.kernels.set('log', k);
    const t = opTable(be);
    const exp = t.rows.find((r) => r.op === 'exp')!;
    expect(DTYPES.filter((d) => exp.paths[d] === 'native')).toEqual(['f32', 'f16']);
    expect(exp.paths.f64).toBe('reference');
    const log = t.rows.find((r) => r.op === 'log')!;
    for (const d of DTYPES) expect(log.paths[d]).toBe('native?');
    expect(t.counts.native).toBe(2);
    expect(t.notes).toEqual([]); // machine notes belong to the process-wide CPU backend only
  });

  it('renders a line per op, or only the native ones', () => {
    const all = formatBackendOps([table!]);
    expect(all[0]).toMatch(/^backend cpu: \d+ ops? native \(for some dtype\), \d+ on the float64 reference, \d+ views?$/);
    expect(all.filter((l) => /^ {2}reshape\s/.test(l))).toHaveLength(1);
    const native = formatBackendOps([table!], { nativeOnly: true });
    expect(native.some((l) => /^ {2}matmul\s+reference\s+native\s/.test(l))).toBe(true);
    const plain = table!.rows.find((r) => r.kind === 'kernel' && Object.values(r.paths).every((p) => p === 'reference'))!;
    expect(all.some((l) => l.startsWith(`  ${plain.op} `))).toBe(true);
    expect(native.some((l) => l.startsWith(`  ${plain.op} `))).toBe(false);
  });
});

describe('nabla ops', () => {
  it('--json prints the same table', async () => {
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l)).parseAsync(['node', 'nabla', 'ops', '--json']);
    const parsed = JSON.parse(lines.join('\n')) as { backend: string; rows: { op: string; paths: Record<string, string> }[] }[];
    expect(parsed[0]!.backend).toBe('cpu');
    expect(parsed[0]!.rows.find((r) => r.op === 'matmul')!.paths.f32).toBe('native');
  });

  it('--native lists matmul and the legend', async () => {
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l)).parseAsync(['node', 'nabla', 'ops', '--native']);
    expect(lines.some((l) => /^ {2}matmul\s/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^native: a kernel of this backend/);
  });
});
