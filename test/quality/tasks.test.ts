/**
 * The defining invariants of each synthetic task, as property tests over
 * seeds and sizes: MQAR's queries recall keys of the context and its gaps
 * follow the power law; selective copying's targets are the memorised tokens
 * in order; induction heads' target follows the first special token; the
 * copying and adding problems' memoryless baselines.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IGNORE, batches, distinct, drawBatch, taskRng, weightedDistinct } from '../../src/zoo/tasks/task.js';
import { Mqar, mqarGapProbabilities } from '../../src/zoo/tasks/mqar.js';
import { SelectiveCopying } from '../../src/zoo/tasks/selectiveCopying.js';
import { InductionHeads } from '../../src/zoo/tasks/inductionHeads.js';
import { Copying, copyingBaseline } from '../../src/zoo/tasks/copying.js';
import { Adding, ADDING_BASELINE_MSE } from '../../src/zoo/tasks/adding.js';
import { makeTask, taskNames } from '../../src/zoo/tasks/registry.js';

const runs = { numRuns: 40, seed: 7 };

/** Pearson's χ² of observed counts against probabilities. */
function chiSquare(counts: number[], p: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * p[i]!) ** 2 / (n * p[i]!), 0);
}

describe('helpers', () => {
  it('distinct draws k different values in range', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), (seed, lo, n, k0) => {
      const k = Math.min(k0, n);
      const xs = distinct(taskRng(seed), lo, lo + n, k);
      expect(xs).toHaveLength(k);
      expect(new Set(xs).size).toBe(k);
      for (const x of xs) expect(x >= lo && x < lo + n).toBe(true);
    }), runs);
    expect(() => distinct(taskRng(0), 0, 3, 4)).toThrow(/cannot draw 4/);
  });

  it('weightedDistinct never picks a zero weight and its first pick follows p', () => {
    const p = [0.5, 0, 0.3, 0.2];
    const rng = taskRng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) {
      const picks = weightedDistinct(rng, p, 3);
      if (new Set(picks).size !== 3 || picks.includes(1)) throw new Error(`bad draw ${picks.join(',')}`);
      counts[picks[0]!]!++;
    }
    // χ² with 2 degrees of freedom: 13.8 is the 0.999 quantile
    expect(chiSquare([counts[0]!, counts[2]!, counts[3]!], [0.5, 0.3, 0.2])).toBeLessThan(13.8);
  });

  it('streams are pure functions of the seed', () => {
    const task = new Mqar({ vocabSize: 64, seqLen: 32, numPairs: 4 });
    const a = batches(task, 5, 3);
    const b = batches(task, 5, 3);
    const c = batches(task, 6, 3);
    for (let i = 0; i < 3; i++) {
      const [x, y, z] = [a.next().value, b.next().value, c.next().value];
      expect(x.inputs).toEqual(y.inputs);
      expect(x.targets).toEqual(y.targets);
      expect(x.inputs).not.toEqual(z.inputs);
    }
  });

  it('the registry builds every task at its paper defaults', () => {
    expect(taskNames().sort()).toEqual(['adding', 'copying', 'induction-heads', 'mqar', 'selective-copying']);
    const m = makeTask('mqar', { seqLen: 128 }) as Mqar;
    expect([m.vocabSize, m.numPairs]).toEqual([8192, 8]);
    expect(makeTask('copying', { seqLen: 120 }).seqLen).toBe(120);
    expect(() => makeTask('nope', { seqLen: 8 })).toThrow(/unknown task 'nope'/);
  });
});

describe('MQAR (Zoology)', () => {
  const config = fc.record({ pairs: fc.integer({ min: 1, max: 8 }), extra: fc.integer({ min: 0, max: 20 }), seed: fc.integer({ min: 0, max: 1e6 }) });

  it('every query is a key of the context, its target the paired value, and nothing else is scored', () => {
    fc.assert(fc.property(config, ({ pairs, extra, seed }) => {
      const N = 4 * pairs + 2 * extra;
      const task = new Mqar({ vocabSize: N + 2 + 2 * pairs, seqLen: N, numPairs: pairs });
      const ex = task.sample(taskRng(seed));
      const half = Math.floor(task.vocabSize / 2);
      const valueOf = new Map<number, number>();
      for (let i = 0; i < pairs; i++) {
        const k = ex.inputs[2 * i]!;
        const v = ex.inputs[2 * i + 1]!;
        expect(k >= 1 && k < half).toBe(true);
        expect(v >= half && v < task.vocabSize).toBe(true);
        expect(valueOf.has(k)).toBe(false); // distinct keys
        valueOf.set(k, v);
      }
      expect(new Set([...valueOf.values()]).size).toBe(pairs); // distinct values
      const queried: number[] = [];
      for (let t = 0; t < N; t++) {
        expect(ex.inputs[t]! >= 0 && ex.inputs[t]! < task.vocabSize).toBe(true);
        if (ex.targets[t] === IGNORE) continue;
        expect(t >= 2 * pairs && (t - 2 * pairs) % 2 === 0).toBe(true);
        expect(ex.targets[t]).toBe(valueOf.get(ex.inputs[t]!));
        queried.push(ex.inputs[t]!);
      }
      // each key queried exactly once
      expect(queried.sort((a, b) => a - b)).toEqual([...valueOf.keys()].sort((a, b) => a - b));
    }), runs);
  });

  it('query gaps follow the power law P(g) ∝ α(g+1)^(α−1)', () => {
    // with one pair the gap is a single draw from p (χ² over 24 cells)
    const task = new Mqar({ vocabSize: 64, seqLen: 50, numPairs: 1 });
    const p = mqarGapProbabilities(task.space);
    expect(p[0]! / p[1]!).toBeCloseTo(2 ** 0.99, 10);
    const counts = new Array<number>(task.space).fill(0);
    const rng = taskRng(11);
    for (let i = 0; i < 20000; i++) counts[task.sample(rng).gaps[0]!]!++;
    // 23 degrees of freedom: 49.7 is the 0.999 quantile
    expect(chiSquare(counts, p)).toBeLessThan(49.7);
    // and a wrong law (uniform gaps) is rejected by the same statistic
    expect(chiSquare(counts, p.map(() => 1 / p.length))).toBeGreaterThan(200);
  });

  it('validates its parameters like the paper’s generator', () => {
    expect(() => new Mqar({ vocabSize: 30, seqLen: 32, numPairs: 4 })).toThrow(/must exceed seqLen/);
    expect(() => new Mqar({ vocabSize: 64, seqLen: 32, numPairs: 9 })).toThrow(/4·numPairs/);
    expect(() => new Mqar({ vocabSize: 64, seqLen: 31, numPairs: 2 })).toThrow(/even/);
  });
});

describe('selective copying (Mamba)', () => {
  it('targets are exactly the memorised tokens, in order, at the markers', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 20 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 1e6 }), (A, M, L, seed) => {
      const task = new SelectiveCopying({ vocabSize: A, seqLen: L + 2 * M, numTokens: M });
      const ex = task.sample(taskRng(seed));
      const span = L + M;
      const memorised = Array.from(ex.inputs.subarray(0, span)).filter((t) => t !== task.noise);
      expect(memorised).toHaveLength(M);
      for (const t of memorised) expect(t >= 1 && t < A - 1).toBe(true);
      expect(Array.from(ex.inputs.subarray(span))).toEqual(new Array(M).fill(A - 1));
      expect(Array.from(ex.targets.subarray(span))).toEqual(memorised);
      expect(Array.from(ex.targets.subarray(0, span)).every((t) => t === IGNORE)).toBe(true);
    }), runs);
  });

  it('scatters the tokens over the whole span, not only its start', () => {
    const task = new SelectiveCopying({ vocabSize: 16, seqLen: 96, numTokens: 16 });
    const rng = taskRng(2);
    let last = 0;
    for (let i = 0; i < 200; i++) last = Math.max(last, ...task.sample(rng).positions);
    expect(last).toBeGreaterThan(70);
  });
});

describe('induction heads', () => {
  it('the last token is the special token and its target is the token after its first occurrence', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 20 }), fc.integer({ min: 3, max: 300 }), fc.integer({ min: 0, max: 1e6 }), (V, N, seed) => {
      const task = new InductionHeads({ vocabSize: V, seqLen: N });
      const ex = task.sample(taskRng(seed));
      const specials = Array.from(ex.inputs).flatMap((t, i) => (t === V - 1 ? [i] : []));
      expect(specials).toEqual([ex.trigger, N - 1]);
      expect(ex.targets[N - 1]).toBe(ex.inputs[ex.trigger + 1]);
      expect(ex.targets[N - 1]).not.toBe(V - 1);
      expect(Array.from(ex.targets.subarray(0, N - 1)).every((t) => t === IGNORE)).toBe(true);
    }), runs);
    expect(new InductionHeads({ vocabSize: 16, seqLen: 64 }).withLength(1024).seqLen).toBe(1024);
  });
});

describe('copying problem', () => {
  it('lays out symbols, delimiter and targets, and the memoryless cross-entropy is 10·ln 8/(T+20)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 1e6 }), (T, seed) => {
      const task = new Copying({ delay: T });
      const ex = task.sample(taskRng(seed));
      expect(ex.inputs).toHaveLength(T + 20);
      expect(ex.inputs[T + 9]).toBe(9);
      expect(Array.from(ex.targets.subarray(T + 10))).toEqual(Array.from(ex.inputs.subarray(0, 10)));
      expect(Array.from(ex.inputs.subarray(10, T + 9)).every((t) => t === 0)).toBe(true);
      expect(Array.from(ex.targets.subarray(0, T + 10)).every((t) => t === 0)).toBe(true);
      // the memoryless predictor: blank with certainty, then 1/8 per data symbol
      let ce = 0;
      for (let t = 0; t < T + 20; t++) ce += ex.targets[t] === 0 ? 0 : Math.log(8);
      expect(ce / (T + 20)).toBeCloseTo(copyingBaseline(T), 12);
      expect(task.baseline!.value).toBeCloseTo((10 * Math.log(8)) / (T + 20), 12);
    }), runs);
  });
});

describe('adding problem', () => {
  it('two markers, one per half, the target their sum; answering 1 scores MSE ≈ 1/6', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 200 }), fc.integer({ min: 0, max: 1e6 }), (T, seed) => {
      const ex = new Adding({ seqLen: T }).sample(taskRng(seed));
      const marks = Array.from({ length: T }, (_, t) => ex.inputs[2 * t + 1]!).flatMap((m, t) => (m === 1 ? [t] : m === 0 ? [] : [NaN]));
      expect(marks).toEqual(ex.marked);
      expect(marks[0]!).toBeLessThan(Math.floor(T / 2));
      expect(marks[1]!).toBeGreaterThanOrEqual(Math.floor(T / 2));
      expect(ex.target).toBe(ex.inputs[2 * marks[0]!]! + ex.inputs[2 * marks[1]!]!);
    }), runs);
    const b = drawBatch(new Adding({ seqLen: 50 }), taskRng(1), 20000);
    if (b.kind !== 'regression') throw new Error('expected a regression batch');
    const mse = b.targets.reduce((s, y) => s + (y - 1) ** 2, 0) / b.b;
    expect(Math.abs(mse - ADDING_BASELINE_MSE)).toBeLessThan(0.006);
  });
});
