/**
 * Learning smoke tests on CI-sized settings (seeded, so the numbers below
 * are exact for this code): the pipeline (task stream → model → AdamW →
 * held-out evaluation) really learns what the papers say each mixer can.
 *
 * On by default (about 4 s of CPU): 2-layer softmax attention learns the
 * smallest point of the MQAR figure (length 16, one pair, 64 possible
 * values) to 100% held-out accuracy in 400 steps.
 *
 * Opt-in (NABLA_SLOW_TESTS=1), because each needs 30 s to a few minutes of
 * CPU, over the budget of a CI test file on 2 cores:
 * - MQAR (Zoology) with 4 pairs: softmax attention (RoPE, 4 heads, width 64)
 *   reaches ≥ 99% (measured: 100%) on vocabulary 32, length 16, 900 steps.
 *   Fewer steps do not do: 600 steps give 93%, and the loss sits at the
 *   ln D plateau (choosing among the context's values) for ~400 steps
 *   before the induction circuit forms.
 * - Selective copying (Mamba): on length 48 with 4 tokens and 600 steps,
 *   Mamba reaches 91.9% where the input-independent S4D block stops at 68.1%
 *   (chance: 25%). At this short length an LTI kernel can still guess from
 *   where the j-th token tends to sit; the paper's gap (99.8% vs 18.3%)
 *   needs its 4064 noise tokens, out of reach of a CPU test.
 *
 * NABLA_SLOW_TESTS=1 npx vitest run test/quality/learning.test.ts
 */
import { describe, expect, it } from 'vitest';
import { dispose } from '../../src/nn/module.js';
import { Mqar } from '../../src/zoo/tasks/mqar.js';
import { SelectiveCopying } from '../../src/zoo/tasks/selectiveCopying.js';
import type { Task } from '../../src/zoo/tasks/task.js';
import { evaluate, trainModelAsync, type TrainConfig } from '../../src/quality/train.js';

/** Train, then held-out accuracy on `batches` × 64 examples drawn from `evalSeed`. */
async function fit(task: Task, c: TrainConfig, evalSeed = 1000, batches = 4): Promise<number> {
  // yields between steps: a long synchronous run would starve the test runner's heartbeat on a loaded machine
  const { model } = await trainModelAsync(task, c);
  try {
    return evaluate(model, task, { seed: evalSeed, batches, batch: 64 }).accuracy;
  } finally {
    dispose(model);
  }
}

const slow = process.env.NABLA_SLOW_TESTS === '1';
/** Seeded results never depend on time; the limit only has to survive a loaded machine (the work is ~4 s of CPU). */
const LONG = 600_000;

describe('learning on CI-sized tasks', () => {
  it('softmax attention learns single-pair recall over a 64-value vocabulary (100% held out)', async () => {
    // the smallest point of the MQAR figure: N = 16, D = N/16 = 1, V = 128
    const task = new Mqar({ vocabSize: 128, seqLen: 16, numPairs: 1 });
    const acc = await fit(task, { mixer: { kind: 'softmax' }, dModel: 16, steps: 400, batch: 32, lr: 3e-3, seed: 0 }, 1_000_003, 8);
    expect(acc).toBeGreaterThanOrEqual(0.99);
  }, LONG);

  it.runIf(slow)('(slow) softmax attention solves MQAR with 4 pairs (≥ 99% held-out accuracy)', async () => {
    const task = new Mqar({ vocabSize: 32, seqLen: 16, numPairs: 4 });
    const acc = await fit(task, { mixer: { kind: 'softmax', heads: 4 }, dModel: 64, steps: 900, batch: 32, lr: 3e-3, warmup: 20, weightDecay: 0, seed: 0 });
    expect(acc).toBeGreaterThanOrEqual(0.99);
  }, LONG);

  it.runIf(slow)('(slow) Mamba learns selective copying far better than the input-independent S4D block', async () => {
    const task = new SelectiveCopying({ vocabSize: 6, seqLen: 48, numTokens: 4 });
    const base = { dModel: 32, steps: 600, batch: 32, lr: 3e-3, warmup: 30, weightDecay: 0, seed: 0 };
    // measured: Mamba 91.9%, S4D 68.1% (chance 25%); the paper's 99.8% vs 18.3% is 4064 noise tokens and 400K steps
    const mamba = await fit(task, { ...base, mixer: { kind: 'mamba' } });
    const s4d = await fit(task, { ...base, mixer: { kind: 's4d', dState: 16, mode: 'direct' } });
    expect(mamba).toBeGreaterThanOrEqual(0.88);
    expect(s4d).toBeLessThan(0.72);
    expect(mamba - s4d).toBeGreaterThan(0.2);
  }, LONG);
});
