/**
 * Exact resume: 200 steps straight vs 100 steps, save, load into fresh
 * objects (new parameters initialised differently, a new optimiser and
 * scaler), 100 more steps: the loss curves and the final weights agree bit
 * for bit. The run exercises everything a resume must carry: AdamW moments
 * and per-parameter counts, a warmup-cosine schedule of the step, float16
 * autocast with a dynamic loss scale that skips and grows across the save,
 * dropout keyed by foldIn(key, step), data keyed by the step, and gradient
 * accumulation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { adamw, warmupCosine, type Optimizer, type OptimizerState } from '../../src/optim/index.js';
import {
  dynamicLossScale,
  loadTrainingState,
  saveTrainingState,
  trainLoop,
  trainStep,
  type LossScaler,
  type LossScaleState,
} from '../../src/train/index.js';
import { batch, dense, disposeAll, initMlp, makeTeacher, sameBits, type Params } from './mlp.js';

const TOTAL = 200;
const HALF = 100;
const config = { sizes: [6, 32, 32, 2], lr: 3e-3, dropout: 0.1, microBatches: 2, batch: 16, precision: 'f16', seed: 42 } as const;
const root = mkdtempSync(join(tmpdir(), 'nabla-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const [, kTeach] = nb.splitKey(nb.randomKey(config.seed), 2) as [nb.Key, nb.Key];
const teacher = makeTeacher(kTeach, [6, 16, 2]);

interface Run {
  params: Params;
  opt: Optimizer;
  optState: OptimizerState;
  scaler: LossScaler;
  scaleState: LossScaleState;
  key: nb.Key;
}

function fresh(initSeed: number): Run {
  const params = initMlp(nb.randomKey(initSeed), [...config.sizes]);
  const opt = adamw({ lr: warmupCosine({ peak: config.lr, warmup: 20, total: TOTAL }), weightDecay: 0.01 });
  // a large start and a short growth interval: skips at the start and growth across the save
  const scaler = dynamicLossScale({ initScale: 2 ** 24, growthInterval: 30 });
  return { params, opt, optState: opt.init(params), scaler, scaleState: scaler.init(), key: nb.randomKey(config.seed) };
}

function forward(p: Params, x: Tensor, key: nb.Key): Tensor {
  const L = config.sizes.length - 1;
  let h = x;
  for (let l = 0; l < L; l++) {
    h = dense(p, l, h, l === L - 1);
    if (l < L - 1) h = nb.where(nb.bernoulli(nb.foldIn(key, l), 1 - config.dropout, h.shape), nb.div(h, 1 - config.dropout), 0);
  }
  return h;
}

/** Steps [from, to) of the run; returns the losses and the scale after each step. */
async function runSteps(r: Run, from: number, to: number, onStepEnd?: (i: number) => void): Promise<{ losses: number[]; scales: number[] }> {
  const scales: number[] = [];
  const res = await trainLoop({
    steps: to,
    startStep: from,
    step: (i) => {
      const stepKey = nb.foldIn(r.key, i);
      const out = trainStep({
        params: r.params,
        optimizer: r.opt,
        optState: r.optState,
        precision: config.precision,
        scaler: r.scaler,
        scaleState: r.scaleState,
        microBatches: config.microBatches,
        loss: (m) => {
          const { x, y } = batch(nb.foldIn(stepKey, 1000), m, teacher, config.batch, config.sizes[0]);
          return nb.mseLoss(forward(r.params, x, nb.foldIn(stepKey, m)), y);
        },
      });
      r.optState = out.optState;
      r.scaleState = out.scaleState!;
      scales.push(r.scaleState.scale);
      return { loss: out.loss, skipped: out.skipped };
    },
    onStepEnd: onStepEnd ? (i) => onStepEnd(i) : undefined,
  });
  expect(res.stopped).toBeNull();
  return { losses: res.losses, scales };
}

describe('exact resume', () => {
  it('200 steps straight equal 100 + save + load into fresh objects + 100, bit for bit', async () => {
    const straight = fresh(1);
    const a = await runSteps(straight, 0, TOTAL);

    const first = fresh(1);
    const b1 = await runSteps(first, 0, HALF, (i) => {
      if (i === HALF - 1) saveTrainingState(root, { step: HALF, params: first.params, optState: first.optState, scaleState: first.scaleState, key: first.key, config });
    });
    disposeAll(first.params);
    nb.optim.disposeOptimizerState(first.optState);

    const second = fresh(2); // initialised differently: the load must overwrite everything
    second.key = nb.randomKey(0);
    const loaded = loadTrainingState(root, { params: second.params, optimizer: second.opt, scaler: second.scaler, config });
    expect(loaded.step).toBe(HALF);
    nb.optim.disposeOptimizerState(second.optState);
    second.optState = loaded.optState!;
    second.scaleState = loaded.scaleState!;
    second.key = loaded.key!;
    const b2 = await runSteps(second, loaded.step, TOTAL);

    const losses = [...b1.losses, ...b2.losses];
    expect(losses.length).toBe(TOTAL);
    expect(losses).toEqual(a.losses); // toEqual on numbers is Object.is: bitwise for non-NaN values
    expect([...b1.scales, ...b2.scales]).toEqual(a.scales);
    for (const name of Object.keys(straight.params)) expect(sameBits(second.params[name]!, straight.params[name]!), name).toBe(true);
    for (const [name, ps] of Object.entries(straight.optState.params)) {
      expect(second.optState.params[name]!.count).toBe(ps.count);
      for (const [slot, t] of Object.entries(ps.slots)) expect(sameBits(second.optState.params[name]!.slots[slot]!, t), `${name}.${slot}`).toBe(true);
    }
    // the run did what the test claims to exercise
    expect(Math.max(...a.scales)).toBeGreaterThan(Math.min(...a.scales.slice(HALF)));
    expect(a.scales[0]).toBeLessThan(2 ** 24); // skipped at the start
    expect(a.scales.slice(HALF).some((s, i, arr) => i > 0 && s > arr[i - 1]!)).toBe(true); // grew after the save
    expect(a.losses[TOTAL - 1]).toBeLessThan(a.losses[0]!);
    for (const r of [straight, second]) {
      disposeAll(r.params);
      nb.optim.disposeOptimizerState(r.optState);
    }
  });

  it('refuses a different config, a foreign checkpoint, mismatched shapes and bad keys, naming what differs', () => {
    const r = fresh(3);
    const dir = join(root, 'errors');
    saveTrainingState(dir, { step: 5, params: r.params, optState: r.optState, scaleState: r.scaleState, key: r.key, config });
    expect(() => loadTrainingState(dir, { params: r.params, config: { ...config, lr: 1 } })).toThrow(/checkpoint's config\.lr differs from the config given/);
    expect(() => loadTrainingState(dir, { params: r.params, config: { ...config, sizes: [6, 32, 32, 3] } })).toThrow(/config\.sizes\[3\] differs/);
    const small = initMlp(nb.randomKey(4), [6, 32, 32, 3]);
    expect(() => loadTrainingState(dir, { params: small })).toThrow(/tensor 'W2' is \[32,2\] in the checkpoint but \[32,3\] in the model/);
    expect(() => saveTrainingState(dir, { step: 6, params: r.params, key: [1, -1] as never })).toThrow(/key must be a pair of uint32 words/);
    // a checkpoint written without saveTrainingState's metadata
    nb.saveCheckpoint(join(root, 'foreign'), { step: 1, model: r.params });
    expect(() => loadTrainingState(join(root, 'foreign'), { params: r.params })).toThrow(/was not written by saveTrainingState/);
    writeFileSync(join(root, 'foreign', 'latest.json'), '{');
    expect(() => loadTrainingState(join(root, 'foreign'), { params: r.params })).toThrow(/not valid JSON/);
    // loading without an optimiser or scaler only restores the weights (and leaks nothing)
    const live = nb.memory().liveTensors;
    const got = loadTrainingState(dir, { params: r.params });
    expect(got.optState).toBeUndefined();
    expect(got.key).toEqual(r.key);
    expect(got.config).toEqual(JSON.parse(JSON.stringify(config)));
    expect(nb.memory().liveTensors).toBe(live);
    disposeAll(small);
    disposeAll(r.params);
    nb.optim.disposeOptimizerState(r.optState);
  });
});
