/**
 * Tasks by name, for the CLI and the quality runner: one config record with
 * the options every task reads (missing ones take the papers' defaults).
 */
import { Adding } from './adding.js';
import { Copying } from './copying.js';
import { InductionHeads } from './inductionHeads.js';
import { Mqar } from './mqar.js';
import { SelectiveCopying } from './selectiveCopying.js';
import type { Task } from './task.js';

export interface TaskConfig {
  seqLen: number;
  vocabSize?: number;
  /** MQAR: key-value pairs (default seqLen/16, Zoology's ratios 64:4, 128:8, 256:16) */
  numPairs?: number;
  /** MQAR: α of the gap power law */
  powerA?: number;
  /** selective copying: tokens to memorise (default 16) */
  numTokens?: number;
}

const makers: Record<string, (c: TaskConfig) => Task> = {
  mqar: (c) => new Mqar({ vocabSize: c.vocabSize ?? 8192, seqLen: c.seqLen, numPairs: c.numPairs ?? Math.max(1, Math.floor(c.seqLen / 16)), powerA: c.powerA }),
  'selective-copying': (c) => new SelectiveCopying({ vocabSize: c.vocabSize ?? 16, seqLen: c.seqLen, numTokens: c.numTokens ?? 16 }),
  'induction-heads': (c) => new InductionHeads({ vocabSize: c.vocabSize ?? 16, seqLen: c.seqLen }),
  // the copying task's length is T + 20: seqLen names the whole sequence
  copying: (c) => new Copying({ delay: c.seqLen - 2 * (c.numTokens ?? 10), numSymbols: c.numTokens ?? 10 }),
  adding: (c) => new Adding({ seqLen: c.seqLen }),
};

export function taskNames(): string[] {
  return Object.keys(makers);
}

export function makeTask(name: string, config: TaskConfig): Task {
  const make = makers[name];
  if (!make) throw new Error(`makeTask: unknown task '${name}'; known: ${taskNames().join(', ')}`);
  return make(config);
}
