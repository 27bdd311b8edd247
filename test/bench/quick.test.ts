/**
 * The benchmark runs end to end in its quick form (tiny sizes, no peers, no
 * docs update): every family reports, every nabla implementation produces a
 * positive throughput (the BLAS one may be skipped where no BLAS is found,
 * with its reason), the peers are reported as left out, and no tensor leaks
 * (the driver fails on a leak). Timing values are never asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { FamilyReport } from '../../bench/harness.js';

it('npm run bench:quick works', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'nabla-bench-quick-')), 'quick.json');
  const run = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', run, '--quick', '--no-docs', '--out', out], { encoding: 'utf8', timeout: 90_000 });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/== sgemm: float32 matmul/);
  expect(r.stdout).not.toMatch(/updated .*benchmarks\.md/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as { quick: boolean; families: FamilyReport[]; peerNotes: string[] };
  expect(report.quick).toBe(true);
  // issue 3's families first; other issues' families (ssm, attention, ...) follow and are checked like them below
  const names = report.families.map((f) => f.family);
  expect(names.slice(0, 4)).toEqual(['sgemm', 'threads', 'elementwise', 'gpt']);
  expect(names).toEqual(expect.arrayContaining(['ssm', 'attention']));
  expect(report.peerNotes).toEqual(['torch', 'tfjs', 'onnxruntime'].map((p) => `${p}: not measured (--quick left it out)`));
  for (const fam of report.families) {
    expect(fam.cases.length, fam.family).toBeGreaterThan(0);
    for (const c of fam.cases) {
      for (const m of c.results) {
        expect(m.impl, `${fam.family} ${c.name}`).toMatch(/^nabla/);
        if (m.ok) expect(m.throughput, `${c.name} ${m.impl}`).toBeGreaterThan(0);
        else expect(`${m.impl}: ${m.skipped}`).toMatch(/^nabla blas.*no system BLAS/);
      }
    }
  }
}, 120_000);
