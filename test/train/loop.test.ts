/**
 * trainLoop: the step schedule (resume from startStep), evaluation every N
 * and at the end, log windows, progress numbers (steps/s, tokens/s, ETA) on an
 * injected clock, early stops that name the step (NaN/inf loss, too many
 * skipped steps, a stop request), Tensor losses freed with their step, and a
 * real model trained through it.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { formatProgress, trainLoop, trainStep, type LogEntry, type Progress } from '../../src/train/index.js';
import { batch, disposeAll, initMlp, makeTeacher, mlp } from './mlp.js';

describe('trainLoop', () => {
  it('runs steps startStep..steps−1, evaluates every N and at the end, logs window means', async () => {
    const ran: number[] = [];
    const logs: LogEntry[] = [];
    const evals: number[] = [];
    const res = await trainLoop({
      steps: 10,
      startStep: 2,
      step: (i) => (ran.push(i), { loss: i, lr: 0.1 * i }),
      evalEvery: 3,
      evaluate: (i) => (evals.push(i), { acc: i / 10 }),
      logEvery: 4,
      onLog: (e) => logs.push(e),
    });
    expect(ran).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(evals).toEqual([2, 5, 8, 9]); // (i+1) % 3 == 0, and the last step
    expect(res.evals).toEqual([2, 5, 8, 9].map((step) => ({ step, metrics: { acc: step / 10 } })));
    expect(logs.map((l) => [l.step, l.loss])).toEqual([
      [3, 2.5], // steps 2, 3
      [7, 5.5], // steps 4..7
      [9, 8.5], // steps 8, 9 (the last)
    ]);
    expect(logs[0]!.extra).toEqual({ lr: 0.30000000000000004 });
    expect(res.losses).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(res.lastStep).toBe(9);
    expect(res.stopped).toBeNull();
  });

  it('reports steps/s, tokens/s and an ETA from the clock, and formats them', async () => {
    const seen: Progress[] = [];
    // time moves only inside steps: 100 ms each
    let now = 0;
    await trainLoop({ steps: 4, step: () => ((now += 100), 1.5), tokensPerStep: 512, onProgress: (p) => seen.push(p), clock: () => now });
    const p = seen[1]!;
    expect(p.step).toBe(1);
    expect(p.elapsedSec).toBeCloseTo(0.2, 12);
    expect(p.stepsPerSec).toBeCloseTo(10, 9);
    expect(p.tokensPerSec).toBeCloseTo(5120, 9);
    expect(p.etaSec).toBeCloseTo(0.2, 9); // two steps left at 10 steps/s
    expect(formatProgress(p)).toBe('step 2/4  loss 1.5000  5.1k tok/s  10.0 it/s  eta 0s');
    expect(formatProgress({ ...p, step: 0, totalSteps: 1000, loss: NaN, tokensPerSec: 0, stepsPerSec: 12.34, etaSec: 3725, skipped: true })).toBe(
      'step    1/1000  loss NaN (skipped)  12.3 it/s  eta 1h02m',
    );
  });

  it('stops on a NaN or infinite loss with a message naming the step and the last finite loss', async () => {
    const losses = [2, 1.5, 1.25, NaN, 1];
    const res = await trainLoop({ steps: 5, step: (i) => losses[i]! });
    expect(res.stopped).toEqual({ step: 3, reason: 'nonfinite', message: 'trainLoop: the loss became NaN at step 3 (last finite loss 1.2500 at step 2); stopping' });
    expect(res.lastStep).toBe(3);
    expect(res.losses).toEqual([2, 1.5, 1.25, NaN]);
    await expect(trainLoop({ steps: 3, step: (i) => (i === 1 ? Infinity : 1), onNonFinite: 'throw' })).rejects.toThrow(/the loss became Infinity at step 1/);
  });

  it('tolerates skipped steps but stops after too many in a row; stops on request', async () => {
    const res = await trainLoop({ steps: 100, step: (i) => ({ loss: i < 3 ? NaN : 1, skipped: i < 3 }), maxConsecutiveSkips: 5 });
    expect(res.stopped).toBeNull();
    const stuck = await trainLoop({ steps: 100, step: () => ({ loss: Infinity, skipped: true }), maxConsecutiveSkips: 5 });
    expect(stuck.stopped?.reason).toBe('skips');
    expect(stuck.stopped?.message).toMatch(/5 steps in a row were skipped \(steps 0–4/);
    let n = 0;
    const req = await trainLoop({ steps: 100, step: () => (n++, 1), shouldStop: () => n >= 7 });
    expect(req.stopped).toEqual({ step: 7, reason: 'requested', message: 'trainLoop: stopped on request before step 7' });
    expect(req.lastStep).toBe(6);
  });

  it('frees each step’s tensors (a Tensor loss included) and validates its options', async () => {
    const live = nb.memory().liveTensors;
    const res = await trainLoop({ steps: 3, step: () => nb.sum(nb.mul(nb.ones([4]), 2)) });
    expect(res.losses).toEqual([8, 8, 8]);
    expect(nb.memory().liveTensors).toBe(live);
    await expect(trainLoop({ steps: 2, step: () => nb.ones([2]) })).rejects.toThrow(/step 0 returned a loss of shape f32\[2\]; it must be a scalar/);
    await expect(trainLoop({ steps: 1, step: () => 'x' as never })).rejects.toThrow(/must return a loss/);
    await expect(trainLoop({ steps: -1, step: () => 1 })).rejects.toThrow(/steps must be a non-negative integer/);
    await expect(trainLoop({ steps: 1, step: () => 1, evalEvery: 0 })).rejects.toThrow(/evalEvery must be a positive integer/);
    await expect(trainLoop({ steps: 1, step: () => 1, onNonFinite: 'warn' as never })).rejects.toThrow(/onNonFinite must be 'stop' or 'throw'/);
  });

  it('trains a model with trainStep (accumulation over micro-batches) and evaluation', async () => {
    const key = nb.randomKey(11);
    const teacher = makeTeacher(nb.foldIn(key, 1), [4, 16, 1]);
    const p = initMlp(nb.foldIn(key, 2), [4, 32, 1]);
    const opt = nb.adam({ lr: 1e-2 });
    let optState = opt.init(p);
    const held = batch(nb.foldIn(key, 3), 0, teacher, 256, 4);
    const live = nb.memory().liveTensors;
    const res = await trainLoop({
      steps: 60,
      tokensPerStep: 64,
      evalEvery: 20,
      evaluate: () => nb.noGrad(() => nb.mseLoss(mlp(p, held.x), held.y).item()),
      step: (i) => {
        const r = trainStep({
          params: p,
          optimizer: opt,
          optState,
          microBatches: 2,
          loss: (m) => {
            const { x, y } = batch(nb.foldIn(key, 4), 2 * i + m, teacher, 32, 4);
            return nb.mseLoss(mlp(p, x), y);
          },
        });
        optState = r.optState;
        return r.loss;
      },
    });
    expect(nb.memory().liveTensors).toBe(live); // nothing leaked across 60 steps
    const e = res.evals.map((x) => x.metrics.loss!);
    expect(res.evals.map((x) => x.step)).toEqual([19, 39, 59]);
    expect(e[2]!).toBeLessThan(e[0]!);
    expect(e[2]!).toBeLessThan(0.5 * res.losses[0]!);
    disposeAll(p);
    disposeAll(teacher);
    nb.optim.disposeOptimizerState(optState);
    held.x.dispose();
    held.y.dispose();
  });
});
