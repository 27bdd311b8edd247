/**
 * Bits per byte after the same CPU budget for every causal mixer, on the
 * default corpus (docs/models.md). Each mixer trains the default model of
 * `nabla train lm` (2 layers, d = 64, characters, batch 16 × 64) until the
 * process has used `--budget` seconds of CPU time (all threads counted, so a
 * busy shared machine does not shortchange one mixer), then the whole
 * held-out split is evaluated.
 *
 *   npx tsx scripts/lm-mixers.ts --budget 30 --out results.jsonl [--mixers softmax,mamba]
 *   npx tsx scripts/lm-mixers.ts --table results.jsonl [more.jsonl …]   prints the markdown table
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrainLm } from '../src/cli/trainLm.js';
import { runEval } from '../src/cli/evalLm.js';
import { mixerKinds } from '../src/zoo/mixer.js';
import '../src/zoo/lm/index.js';

interface Row {
  mixer: string;
  budgetSec: number;
  steps: number;
  tokens: number;
  trainLoss: number;
  bitsPerByte: number;
  perplexity: number;
  wallSec: number;
  error?: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function table(files: string[]): void {
  const rows = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row));
  rows.sort((a, b) => (a.error ? 1 : 0) - (b.error ? 1 : 0) || a.bitsPerByte - b.bitsPerByte);
  console.log('| mixer | held-out bits/byte | perplexity (chars) | steps in budget | tokens seen | last train loss |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    if (r.error) console.log(`| ${r.mixer} | — | — | — | — | failed: ${r.error.replace(/\|/g, '/').slice(0, 120)} |`);
    else console.log(`| ${r.mixer} | ${r.bitsPerByte.toFixed(3)} | ${r.perplexity.toFixed(2)} | ${r.steps} | ${r.tokens.toLocaleString('en-US')} | ${r.trainLoss.toFixed(3)} |`);
  }
}

async function main(): Promise<void> {
  const tableAt = process.argv.indexOf('--table');
  if (tableAt >= 0) return table(process.argv.slice(tableAt + 1));
  const budget = Number(arg('--budget') ?? 30);
  const out = arg('--out') ?? 'lm-mixers.jsonl';
  const mixers = (arg('--mixers') ?? mixerKinds().filter((k) => !k.startsWith('bi')).join(',')).split(',');
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const mixer of mixers) {
    const dir = mkdtempSync(join(tmpdir(), `nabla-mixers-${mixer}-`));
    const run = join(dir, 'run');
    const t0 = performance.now();
    let row: Row;
    try {
      const r = await runTrainLm(
        { flags: { mixer, steps: 100000, evalEvery: 100000, sampleEvery: 0, logEvery: 50, saveEvery: 100000 }, out: run, time: budget, budgetClock: cpuMs, plain: true, handleSignals: false },
        () => {},
      );
      const e = runEval(run, { split: 'held-out' }, () => {});
      const last = r.losses.slice(-20);
      row = { mixer, budgetSec: budget, steps: r.step, tokens: r.step * 16 * 64, trainLoss: last.reduce((a, b) => a + b, 0) / last.length, bitsPerByte: e.bitsPerByte, perplexity: e.perplexity, wallSec: (performance.now() - t0) / 1000 };
    } catch (e) {
      row = { mixer, budgetSec: budget, steps: 0, tokens: 0, trainLoss: NaN, bitsPerByte: NaN, perplexity: NaN, wallSec: (performance.now() - t0) / 1000, error: (e as Error).message };
    }
    rmSync(dir, { recursive: true, force: true });
    appendFileSync(out, JSON.stringify(row) + '\n');
    console.log(JSON.stringify(row));
  }
}

void main();
