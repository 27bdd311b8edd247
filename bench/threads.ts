/**
 * Thread speedup family: float32 matmul 1024³ on 1 thread and on all the
 * cores, for nabla's WebAssembly kernel, nabla's BLAS path, PyTorch and
 * onnxruntime. The host is shared and noisy, so the two thread counts are
 * measured back to back in each of several rounds, and the speedup is the
 * median over rounds of the per-round ratio (a slow spell hits both sides of
 * a ratio alike); its range over rounds is printed too.
 *
 *   npx tsx bench/threads.ts [driver options, see driver.ts]
 */
import { isMain, runFamilies } from './driver.js';
import { TARGET_HEADER, isSkip, pickPeers, quantile, targetRow, summarize, throughput, type BenchCase, type CaseResult, type Family, type FamilyContext, type Impl, type Measurement } from './harness.js';
import { nablaMatmul, restoreNabla, sgemmCase } from './sgemm.js';

interface Pair {
  label: string;
  one: Impl;
  many: Impl;
}

export const threadsFamily: Family = {
  name: 'threads',
  title: 'thread speedup: float32 matmul 1024³, 1 thread vs all cores',
  async run(ctx: FamilyContext) {
    const T = ctx.threads;
    const n = ctx.quick ? 64 : 1024;
    const rounds = ctx.quick ? 2 : 7;
    const cfg = { ...ctx.cfg, samples: 3, minSamples: 3, budgetMs: ctx.quick ? 50 : 1500 };
    const base = (threads: number): BenchCase => sgemmCase('threads', `${n}³ AB ${threads}T`, { m: n, n, k: n, transA: false, transB: false, batch: 1, threads }, 'threads');
    const [c1, cT] = [base(1), base(T)];
    const pairs: Pair[] = [
      { label: 'nabla wasm', one: nablaMatmul('nabla wasm', undefined, false), many: nablaMatmul('nabla wasm', undefined, false) },
      { label: 'nabla blas', one: nablaMatmul('nabla blas', undefined, true), many: nablaMatmul('nabla blas', undefined, true) },
      ...pickPeers(ctx, ['torch', 'onnxruntime']).map((p) => ({ label: p.name, one: p, many: p })),
    ];
    const times = new Map<string, { one: number[]; many: number[]; skip?: string }>(pairs.map((p) => [p.label, { one: [], many: [] }]));
    try {
      for (let r = 0; r < rounds; r++) {
        for (const p of pairs) {
          const rec = times.get(p.label)!;
          if (rec.skip) continue;
          const a = await p.one.run(c1, cfg);
          const b = await p.many.run(cT, cfg);
          if (isSkip(a) || isSkip(b)) rec.skip = isSkip(a) ? a.skip : (b as { skip: string }).skip;
          else {
            rec.one.push(summarize(a).medianMs);
            rec.many.push(summarize(b).medianMs);
          }
        }
        ctx.log(`  round ${r + 1}/${rounds} done`);
      }
    } finally {
      restoreNabla(T);
    }
    const speedups = new Map<string, number>();
    const speedup = (label: string): number | undefined => speedups.get(label);
    const results: Measurement[] = [];
    const rows: string[][] = [];
    for (const p of pairs) {
      const rec = times.get(p.label)!;
      if (rec.skip || rec.one.length === 0) {
        results.push({ impl: `${p.label} 1T`, ok: false, skipped: rec.skip ?? 'not run' }, { impl: `${p.label} ${T}T`, ok: false, skipped: rec.skip ?? 'not run' });
        continue;
      }
      for (const [label, xs, c] of [[`${p.label} 1T`, rec.one, c1], [`${p.label} ${T}T`, rec.many, cT]] as const) {
        const s = summarize({ perCallMs: xs, callsPerSample: 1 });
        results.push({ impl: label, ok: true, throughput: throughput(c, s.medianMs), unit: 'GFLOP/s', ...s });
      }
      const ratios = rec.one.map((t, i) => t / rec.many[i]!).sort((x, y) => x - y);
      speedups.set(p.label, quantile(ratios, 0.5));
      const g = (xs: number[]): string => throughput(c1, quantile([...xs].sort((x, y) => x - y), 0.5)).toFixed(1);
      rows.push([p.label, g(rec.one), g(rec.many), `${quantile(ratios, 0.5).toFixed(2)}x`, `${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)}`]);
    }
    const caseResult: CaseResult = { family: 'threads', name: `${n}³ AB (median of ${rounds} rounds)`, spec: c1.spec, unit: 'GFLOP/s', results };
    return {
      family: 'threads',
      title: this.title,
      cases: [caseResult],
      ratios: [],
      notes: [`each round times 1 thread then ${T} threads back to back; the speedup is the median of the ${rounds} per-round ratios`],
      extra: [
        { title: `speedup from 1 to ${T} threads`, header: ['implementation', '1T GFLOP/s', `${T}T GFLOP/s`, 'speedup (median)', 'range over rounds'], rows },
        ...(ctx.quick || T !== 2 ? [] : [{ title: 'against the target of issue 3', header: TARGET_HEADER, rows: [targetRow('nabla WASM 1 → 2 threads', speedup('nabla wasm'), 1, 1.6)] }]),
      ],
    };
  },
};

if (isMain(import.meta.url)) await runFamilies([threadsFamily]);
