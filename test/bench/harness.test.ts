/**
 * The benchmark harness's pieces that decide what a number means: the timing
 * rule (warm-up, calibration, sample budget), the statistics, the skip
 * prediction, the ratio columns, and the docs section that a re-run replaces.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, measure, runCases, summarize, throughput, type BenchCase, type FamilyReport, type Impl, type TimingConfig } from '../../bench/harness.js';
import { DOCS_END, docsSection, familyTable, skipNotes, updateDocs } from '../../bench/report.js';

/** A call that takes `ms` of busy time. */
const busy = (ms: number) => (): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('measure', () => {
  it('warms up, then takes samples of calibrated call counts', () => {
    let calls = 0;
    const cfg: TimingConfig = { warmupMs: 5, minSampleMs: 4, samples: 5, minSamples: 3, budgetMs: 1000, maxCallMs: 1e9 };
    const t = measure(() => {
      calls++;
      busy(0.5)();
    }, cfg);
    expect(t.perCallMs).toHaveLength(5);
    expect(calls).toBeGreaterThanOrEqual(5 * t.callsPerSample + 1);
    for (const x of t.perCallMs) expect(x).toBeGreaterThanOrEqual(0.5);
  });

  it('stops at the budget after the least number of samples, and a slow first call is a sample', () => {
    // calls of 2 ms against a 60 ms budget: far below the "a third of the budget" rule even on a loaded host
    const cfg: TimingConfig = { warmupMs: 0, minSampleMs: 0, samples: 50, minSamples: 2, budgetMs: 60, maxCallMs: 1e9 };
    const t = measure(busy(2), cfg);
    expect(t.perCallMs.length).toBeGreaterThanOrEqual(2);
    expect(t.perCallMs.length).toBeLessThan(50);
    let n = 0;
    const slow = measure(() => {
      n++;
      busy(n === 1 ? 1010 : 1)();
    }, { ...cfg, budgetMs: 500 });
    expect(slow.perCallMs[0]).toBeGreaterThanOrEqual(1000); // the first (slow) call counted, no second long call
    expect(n).toBe(slow.perCallMs.length);
  });
});

describe('calibrate', () => {
  const cfg: TimingConfig = { warmupMs: 5, minSampleMs: 4, samples: 5, minSamples: 3, budgetMs: 3000, maxCallMs: 1e9 };
  it('enough calls per sample to last minSampleMs, from the last warm-up call', () => {
    expect(calibrate([3, 0.5], cfg)).toEqual({ per: 8, perCall: [], minSamples: 3 });
    expect(calibrate([0.3], cfg)).toEqual({ per: 14, perCall: [], minSamples: 3 });
  });
  it('a lone slow warm-up call is a sample, and one sample suffices when a call eats a third of the budget', () => {
    expect(calibrate([1500], cfg)).toEqual({ per: 1, perCall: [1500], minSamples: 1 });
    expect(calibrate([20, 1200], cfg)).toEqual({ per: 1, perCall: [], minSamples: 1 });
  });
});

describe('statistics and throughput', () => {
  it('median, quartiles, min and max', () => {
    const s = summarize({ perCallMs: [5, 1, 3, 2, 4], callsPerSample: 7 });
    expect(s).toEqual({ medianMs: 3, q1Ms: 2, q3Ms: 4, minMs: 1, maxMs: 5, samples: 5, callsPerSample: 7 });
  });

  it('units', () => {
    const c = (unit: BenchCase['unit'], work: number): BenchCase => ({ family: 'f', name: 'n', spec: {}, work, unit, series: 's' });
    expect(throughput(c('GFLOP/s', 2e9), 1000)).toBeCloseTo(2);
    expect(throughput(c('Melem/s', 1e6), 10)).toBeCloseTo(100);
    expect(throughput(c('tokens/s', 4096), 2000)).toBeCloseTo(2048);
  });
});

describe('runCases', () => {
  const cfg: TimingConfig = { warmupMs: 0, minSampleMs: 0, samples: 3, minSamples: 3, budgetMs: 1, maxCallMs: 50 };
  const mk = (n: number): BenchCase => ({ family: 'f', name: `n=${n}`, spec: { n }, work: n, unit: 'x', series: 's' });
  const fixed = (name: string, msPerWork: number): Impl => ({ name, run: async (c) => ({ perCallMs: [1, 2, 3].map(() => (c.spec.n as number) * msPerWork), callsPerSample: 1 }) });

  it('skips a size its previous one predicts too slow, a family skip, and a failure, with reasons', async () => {
    const failing: Impl = { name: 'broken', run: async () => Promise.reject(new Error('boom\nstack')) };
    const res = await runCases([mk(1), mk(10), mk(100)], [fixed('fast', 0.01), fixed('slow', 1), failing], cfg, {
      skipFor: (impl, c) => (impl === 'fast' && c.spec.n === 10 ? 'not this one' : undefined),
    });
    const at = (i: number, impl: string) => res[i]!.results.find((r) => r.impl === impl)!;
    expect(at(0, 'slow').ok).toBe(true);
    expect(at(1, 'slow').ok).toBe(true); // predicted 10 ms: under 50
    expect(at(2, 'slow')).toEqual({ impl: 'slow', ok: false, skipped: 'predicted 0 s per call from the previous size' });
    expect(at(1, 'fast')).toEqual({ impl: 'fast', ok: false, skipped: 'not this one' });
    expect(at(2, 'fast').ok).toBe(true);
    expect(at(0, 'broken')).toEqual({ impl: 'broken', ok: false, skipped: 'failed: boom' });
  });
});

describe('tables and docs', () => {
  const ok = (impl: string, tp: number) => ({ impl, ok: true as const, throughput: tp, unit: 'GFLOP/s' as const, medianMs: 10, q1Ms: 9, q3Ms: 11, minMs: 8, maxMs: 12, samples: 5, callsPerSample: 1 });
  const rep: FamilyReport = {
    family: 'sgemm',
    title: 'sgemm (GFLOP/s)',
    cases: [
      { family: 'sgemm', name: '256³ AB', spec: {}, unit: 'GFLOP/s', results: [ok('nabla wasm 2T', 60), ok('torch', 120), { impl: 'tfjs-cpu', ok: false, skipped: 'slow' }] },
      { family: 'sgemm', name: '1024³ AB', spec: {}, unit: 'GFLOP/s', results: [ok('nabla wasm 2T', 90), ok('torch', 180), { impl: 'tfjs-cpu', ok: false, skipped: 'slow' }] },
    ],
    ratios: [['nabla wasm 2T', 'torch'], ['nabla wasm 2T', 'onnxruntime']],
    notes: ['a note'],
  };

  it('a column per implementation, ratio columns only for implementations present', () => {
    const { header, rows } = familyTable(rep);
    expect(header).toEqual(['case (GFLOP/s, median ±½IQR)', 'nabla wasm 2T', 'torch', 'tfjs-cpu', 'wasm 2T / torch']);
    expect(rows[0]).toEqual(['256³ AB', '60.0 ±10%', '120 ±10%', '—', '0.50x']);
    expect(skipNotes(rep)).toEqual(['tfjs-cpu: slow (all cases)']);
  });

  it('the generated docs section replaces the previous one and leaves the rest alone', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nabla-bench-docs-')), 'benchmarks.md');
    writeFileSync(file, '# Benchmarks\n\nHand-written intro.\n');
    const meta = { date: '2026-01-01 00:00 UTC', machine: ['CPU: test'], command: 'npm run bench' };
    updateDocs(file, docsSection(meta, [rep]));
    const first = readFileSync(file, 'utf8');
    expect(first).toMatch(/^# Benchmarks\n\nHand-written intro\.\n/);
    expect(first).toContain('| 256³ AB | 60.0 ±10% | 120 ±10% | — | 0.50x |');
    writeFileSync(file, `${first}\nTrailing text.\n`);
    updateDocs(file, docsSection({ ...meta, date: '2026-02-02 00:00 UTC' }, [rep]));
    const second = readFileSync(file, 'utf8');
    expect(second.match(/<!-- bench:begin/g)).toHaveLength(1);
    expect(second).toContain('Run of 2026-02-02 00:00 UTC');
    expect(second).not.toContain('2026-01-01');
    expect(second.indexOf('Trailing text.')).toBeGreaterThan(second.indexOf(DOCS_END));
    expect(second).toMatch(/^# Benchmarks\n\nHand-written intro\.\n/);
  });
});
