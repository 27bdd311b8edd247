/**
 * The quality benchmark runner: every (mixer, width, training length) of a
 * grid is trained with the same budget (steps × batch) at every learning
 * rate of a sweep, as Zoology does (arXiv 2312.04927, Appendix E: the best
 * accuracy over the sweep is reported), then evaluated on held-out data drawn
 * from another seed, optionally at longer test lengths (induction heads'
 * extrapolation, Mamba arXiv 2312.00752 §4.1.2). Records go to a JSONL file
 * as each run finishes, so a long grid can be watched and a partial one
 * still plotted.
 *
 * Mixers are named as in the registry (`softmax`, `linear`, `mamba`, `s4d`,
 * `lstm`, …) plus two aliases the papers compare:
 *   softmax-abs  softmax attention without RoPE, with sinusoidal absolute
 *                positions (Mamba's "MHA-Abs");
 *   softmax-nope softmax attention with no positional information at all.
 * Attention-family mixers other than softmax get learned absolute positions
 * (Zoology's setting), or sinusoidal ones when tested beyond the training
 * length; recurrent and state-space mixers see order themselves and get none.
 */
import { parameterCount, dispose } from '../nn/module.js';
import { mixerKinds, type MixerSpec } from '../zoo/mixer.js';
import { attentionMixerKinds } from '../zoo/attention/index.js';
import { makeTask, type TaskConfig } from '../zoo/tasks/registry.js';
import { InductionHeads } from '../zoo/tasks/inductionHeads.js';
import type { Task } from '../zoo/tasks/task.js';
import type { Positions } from './model.js';
import { evaluate, trainModel } from './train.js';
import { appendRecords, type QualityRecord } from './records.js';

export interface QualityGrid {
  task: string;
  mixers: string[];
  dModels: number[];
  seqLens: number[];
  lrs: number[];
  steps: number;
  batch: number;
  /** held-out batches (of `evalBatch` examples) per evaluation */
  evalBatches: number;
  evalBatch: number;
  seed: number;
  layers?: number;
  mlpRatio?: number;
  /** warmup steps (default 10% of steps) */
  warmup?: number;
  /** AdamW's decoupled weight decay (default 0.1) */
  weightDecay?: number;
  /** task options: vocabulary, pairs (MQAR; default seqLen/16), tokens (selective copying) */
  vocabSize?: number;
  numPairs?: number;
  numTokens?: number;
  /** also evaluate at these lengths (induction heads) */
  testLens?: number[];
  /** cap on the examples × length evaluated per test length (long tests use fewer examples) */
  evalTokens?: number;
}

/**
 * The model settings a mixer name stands for. Options follow the name as
 * `:key=value` pairs (numbers and booleans parsed), e.g. `s4d:dState=16:mode=direct`
 * or `softmax:heads=4`.
 */
export function resolveMixer(label: string, extrapolate: boolean): { spec: MixerSpec; positions: Positions } {
  const [name, ...opts] = label.split(':') as [string, ...string[]];
  const extra: Record<string, unknown> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new Error(`quality: mixer option '${o}' of '${label}' must be key=value`);
    const v = o.slice(eq + 1);
    extra[o.slice(0, eq)] = v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  const r = resolveName(name, extrapolate);
  return { spec: { ...r.spec, ...extra }, positions: r.positions };
}

function resolveName(name: string, extrapolate: boolean): { spec: MixerSpec; positions: Positions } {
  if (name === 'softmax-abs') return { spec: { kind: 'softmax', rope: false }, positions: 'sinusoidal' };
  if (name === 'softmax-nope') return { spec: { kind: 'softmax', rope: false }, positions: 'none' };
  if (!mixerKinds().includes(name)) throw new Error(`quality: unknown mixer '${name}'; known: softmax-abs, softmax-nope, ${mixerKinds().join(', ')}`);
  const attention = attentionMixerKinds.includes(name) && name !== 'softmax' && name !== 'flash-attention';
  return { spec: { kind: name }, positions: attention ? (extrapolate ? 'sinusoidal' : 'learned') : 'none' };
}

function taskFor(g: QualityGrid, seqLen: number): Task {
  const c: TaskConfig = { seqLen, vocabSize: g.vocabSize, numPairs: g.numPairs, numTokens: g.numTokens };
  return makeTask(g.task, c);
}

/** The task at another length, for extrapolation (only tasks whose definition has a free length). */
function atLength(task: Task, n: number): Task {
  if (task instanceof InductionHeads) return task.withLength(n);
  throw new Error(`quality: test lengths are defined for induction-heads, not '${task.name}'`);
}

export interface RunOptions {
  /** JSONL file that receives each record as it is made */
  out?: string;
  log?: (line: string) => void;
}

/** Run the grid; returns every record (also appended to `out`). */
export function runQuality(g: QualityGrid, o: RunOptions = {}): QualityRecord[] {
  const log = o.log ?? (() => {});
  const records: QualityRecord[] = [];
  const testLens = g.testLens ?? [];
  const total = g.mixers.length * g.dModels.length * g.seqLens.length * g.lrs.length;
  let done = 0;
  for (const n of g.seqLens) {
    const task = taskFor(g, n);
    for (const name of g.mixers) {
      const { spec, positions } = resolveMixer(name, testLens.some((t) => t > n));
      for (const d of g.dModels) {
        for (const lr of g.lrs) {
          const t0 = performance.now();
          const { model, losses } = trainModel(task, { mixer: spec, dModel: d, layers: g.layers, positions, mlpRatio: g.mlpRatio, warmup: g.warmup, weightDecay: g.weightDecay, steps: g.steps, batch: g.batch, lr, seed: g.seed });
          const seconds = (performance.now() - t0) / 1000;
          const tail = losses.slice(Math.floor(losses.length * 0.9));
          const base = {
            task: task.name, mixer: name, dModel: d, seqLen: n, lr, steps: g.steps, batch: g.batch, seed: g.seed,
            trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length, params: parameterCount(model), seconds,
            taskOptions: taskOptions(task),
          };
          const made: QualityRecord[] = [];
          try {
            for (const t of [n, ...testLens.filter((t) => t !== n)]) {
              const evalTask = t === n ? task : atLength(task, t);
              const perBatch = Math.max(1, Math.min(g.evalBatch, Math.floor((g.evalTokens ?? Infinity) / t)));
              const ev = evaluate(model, evalTask, { seed: g.seed + 1_000_003, batches: g.evalBatches, batch: perBatch });
              made.push({ ...base, ...(t === n ? {} : { testLen: t }), accuracy: ev.accuracy, loss: ev.loss });
            }
          } finally {
            dispose(model);
          }
          records.push(...made);
          if (o.out) appendRecords(o.out, made);
          done++;
          log(`[${done}/${total}] ${task.name} n=${n} ${name} d=${d} lr=${lr}: acc ${made.map((r) => `${r.testLen ?? n}:${(100 * r.accuracy).toFixed(1)}%`).join(' ')} (${seconds.toFixed(1)} s)`);
        }
      }
    }
  }
  return records;
}

function taskOptions(task: Task): Record<string, number> {
  const o: Record<string, number> = {};
  for (const k of ['vocabSize', 'numPairs', 'numTokens', 'delay'] as const) {
    const v = (task as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') o[k] = v;
  }
  return o;
}
