/**
 * `nabla bench quality`: the synthetic quality benchmarks of the papers
 * (MQAR from Zoology, selective copying and induction heads from Mamba, the
 * copying and adding problems) over a grid of mixers × widths × lengths with
 * a learning-rate sweep (src/quality/runner.ts). Writes a run directory with
 *   results.jsonl   one record per (mixer, width, length, lr[, test length])
 *   <task>.png      accuracy vs width per length (Zoology Fig. 2), or vs test
 *                   length for --test-lens (Mamba's induction-heads extrapolation)
 *   summary.md      the best accuracy over the sweep, as a table
 * `--plot <jsonl>` redraws the figure and table of an earlier run.
 *
 * `bench` is a command group: other benchmarks register beside `quality`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { writePng } from '../plot/index.js';
import { atomicWriteFileSync } from '../io/atomicWrite.js';
import { runQuality, type QualityGrid } from '../quality/runner.js';
import { readRecords, type QualityRecord } from '../quality/records.js';
import { accuracyByLength, accuracyByWidth, bestByTrainLr, bestOverLr } from '../quality/plot.js';
import { taskNames } from '../zoo/tasks/registry.js';

const list = (name: string, ok: (n: number) => boolean, what: string) => (v: string): number[] => {
  const xs = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (xs.length === 0 || !xs.every(ok)) throw new InvalidArgumentError(`${name} must be a comma-separated list of ${what}, got '${v}'.`);
  return xs;
};
const ints = (name: string, min = 1) => list(name, (n) => Number.isSafeInteger(n) && n >= min, `integers ≥ ${min}`);
const int = (name: string, min = 1) => (v: string): number => ints(name, min)(v)[0]!;
const names = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

export interface BenchQualityOptions {
  task: string;
  mixers: string[];
  dModel: number[];
  seqLen: number[];
  lr: number[];
  steps: number;
  batch: number;
  evalBatches: number;
  evalBatch: number;
  seed: number;
  layers?: number;
  mlpRatio?: number;
  warmup?: number;
  weightDecay?: number;
  vocab?: number;
  pairs?: number;
  tokens?: number;
  testLens?: number[];
  evalTokens?: number;
  out?: string;
  plot?: string;
}

/** The best-over-lr table as markdown lines. */
export function summaryTable(records: readonly QualityRecord[]): string[] {
  const extrapolation = records.some((r) => r.testLen !== undefined);
  const best = extrapolation ? bestByTrainLr(records) : bestOverLr(records);
  const rows = [...best].sort((a, b) => a.seqLen - b.seqLen || a.mixer.localeCompare(b.mixer) || a.dModel - b.dModel || (a.testLen ?? a.seqLen) - (b.testLen ?? b.seqLen));
  return [
    '| task | seq len | test len | mixer | d_model | best lr | accuracy | held-out loss | params | train s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.task} | ${r.seqLen} | ${r.testLen ?? r.seqLen} | ${r.mixer} | ${r.dModel} | ${r.lr} | ${(100 * r.accuracy).toFixed(1)}% | ${r.loss.toFixed(3)} | ${r.params} | ${r.seconds.toFixed(0)} |`),
  ];
}

function drawFigure(records: readonly QualityRecord[], path: string): string {
  const task = records[0]?.task ?? 'quality';
  const canvas = records.some((r) => r.testLen !== undefined) ? accuracyByLength(records, task) : accuracyByWidth(records, task);
  return writePng(path, canvas);
}

/** Run (or, with `plot`, redraw) and report through `out`; returns the run directory. */
export function runBenchQuality(o: BenchQualityOptions, out: (line: string) => void = console.log): string {
  if (o.plot) {
    const records = readRecords(o.plot);
    const dir = dirname(resolve(o.plot));
    out(`figure: ${drawFigure(records, join(dir, `${records[0]?.task ?? 'quality'}.png`))}`);
    for (const line of summaryTable(records)) out(line);
    return dir;
  }
  if (!taskNames().includes(o.task)) throw new Error(`bench quality: unknown task '${o.task}'; known: ${taskNames().join(', ')}`);
  const dir = resolve(o.out ?? join('runs', `quality-${o.task}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  mkdirSync(dir, { recursive: true });
  const grid: QualityGrid = {
    task: o.task, mixers: o.mixers, dModels: o.dModel, seqLens: o.seqLen, lrs: o.lr, steps: o.steps, batch: o.batch,
    evalBatches: o.evalBatches, evalBatch: o.evalBatch, seed: o.seed, layers: o.layers, mlpRatio: o.mlpRatio, warmup: o.warmup, weightDecay: o.weightDecay,
    vocabSize: o.vocab, numPairs: o.pairs, numTokens: o.tokens, testLens: o.testLens, evalTokens: o.evalTokens,
  };
  const jsonl = join(dir, 'results.jsonl');
  atomicWriteFileSync(join(dir, 'config.json'), Buffer.from(JSON.stringify(grid, null, 2) + '\n'));
  atomicWriteFileSync(jsonl, new Uint8Array(0));
  out(`bench quality: ${o.task}, ${o.mixers.length} mixers × ${o.dModel.length} widths × ${o.seqLen.length} lengths × ${o.lr.length} learning rates, ${o.steps} steps of ${o.batch}; writing ${jsonl}`);
  const records = runQuality(grid, { out: jsonl, log: out });
  out(`figure: ${drawFigure(records, join(dir, `${o.task}.png`))}`);
  const table = summaryTable(records);
  atomicWriteFileSync(join(dir, 'summary.md'), Buffer.from(table.join('\n') + '\n'));
  for (const line of table) out(line);
  return dir;
}

/** Adds `bench quality` (creating the `bench` group if no one has yet). */
export function registerBenchQuality(program: Command, out: (line: string) => void = console.log): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks: speed against peers, and what models can learn (quality)');
  return bench
    .command('quality')
    .description('train every mixer on a synthetic task (mqar, selective-copying, induction-heads, copying, adding) over widths × lengths with a learning-rate sweep; JSONL, table and PNG')
    .option('--task <name>', `one of ${taskNames().join(', ')}`, 'mqar')
    .option('--mixers <list>', 'mixer names (the registry\'s, plus softmax-abs and softmax-nope), each optionally with :key=value options (s4d:dState=16)', names, ['softmax', 'linear', 'mamba'])
    .option('--d-model <list>', 'model widths', ints('--d-model'), [64, 128])
    .option('--seq-len <list>', 'training sequence lengths', ints('--seq-len', 2), [64, 128, 256])
    .option('--lr <list>', 'learning rates swept (the best is reported)', list('--lr', (n) => n > 0 && Number.isFinite(n), 'positive numbers'), [3e-4, 1e-3, 3e-3])
    .option('--steps <n>', 'optimiser steps per run (the same budget for every configuration)', int('--steps'), 1000)
    .option('--batch <n>', 'examples per step', int('--batch'), 32)
    .option('--eval-batches <n>', 'held-out batches', int('--eval-batches'), 8)
    .option('--eval-batch <n>', 'examples per held-out batch', int('--eval-batch'), 64)
    .option('--eval-tokens <n>', 'cap on examples × length per held-out batch (long test lengths)', int('--eval-tokens'))
    .option('--seed <n>', 'PRNG seed (initialisation, data; held-out data uses another stream)', int('--seed', 0), 0)
    .option('--layers <n>', 'residual blocks (default 2)', int('--layers'))
    .option('--mlp-ratio <x>', 'an MLP of this width ratio after each mixer (default none)', (v: string) => list('--mlp-ratio', (n) => n >= 0, 'numbers ≥ 0')(v)[0]!)
    .option('--warmup <n>', 'warmup steps of the warmup-cosine schedule (default 10% of steps)', int('--warmup', 0))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (default 0.1)', (v: string) => list('--weight-decay', (n) => n >= 0, 'numbers ≥ 0')(v)[0]!)
    .option('--vocab <n>', 'vocabulary (defaults: mqar 8192, selective-copying and induction-heads 16)', int('--vocab', 3))
    .option('--pairs <n>', 'mqar: key-value pairs (default seq-len/16)', int('--pairs'))
    .option('--tokens <n>', 'selective-copying: tokens to memorise (default 16); copying: symbols (default 10)', int('--tokens'))
    .option('--test-lens <list>', 'induction-heads: also evaluate at these lengths', ints('--test-lens', 3))
    .option('--out <dir>', 'run directory (default runs/quality-<task>-<time>)')
    .option('--plot <jsonl>', 'only redraw the figure and table of an earlier results.jsonl')
    .action((opts: BenchQualityOptions) => {
      runBenchQuality(opts, out);
    });
}
