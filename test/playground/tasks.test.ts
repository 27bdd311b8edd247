/**
 * The playground's tasks in Node (the browser runs the same code in a
 * worker): chunked training lowers the loss, sampling returns points and
 * trajectories, the weights it downloads load back into a fresh model and
 * give the same outputs, and the VQ race reports metrics per quantiser.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { DiffusionTask, VqRace, VQ_VARIANTS, diffusionWeightsConfig } from '../../playground/src/tasks.js';
import { ATTENTION_FORMS, timeAttention } from '../../playground/src/attentionTiming.js';

describe('playground tasks', () => {
  it('a flow-matching task trains in chunks, samples with trajectories, and its safetensors weights reload with equal outputs', async () => {
    const task = new DiffusionTask({ dataset: 'twoMoons', method: 'flow', lr: 3e-3, seed: 0, hidden: [32, 32], batch: 128 });
    const first = await task.train(10);
    const later = [...(await task.train(40)), ...(await task.train(40))];
    expect(task.step).toBe(90);
    const mean = (a: number[]): number => a.reduce((s, v) => s + v) / a.length;
    expect(mean(later.slice(-20))).toBeLessThan(mean(first));
    const s = await task.sample('flow-euler', 8, 100, 5);
    expect(s.nfe).toBe(8);
    expect(s.points.length).toBe(200);
    expect(s.trajectories.length).toBe(5);
    expect(s.trajectories[0]!.length).toBe(2 * 9); // the start and 8 steps
    // the download, loaded in Node
    const bytes = await task.weights();
    const st = nb.parseSafetensors(bytes);
    const fresh = new df.TimeMlp(2, { key: nb.randomKey(99), hidden: [32, 32] });
    nb.nn.loadStateDict(fresh, st.tensors);
    const x = nb.normal(nb.randomKey(3), [7, 2]);
    const c = nb.full([7], 0.4);
    expect(nb.max(nb.abs(nb.sub(fresh.forward(x, c), task.net.forward(x, c)))).item()).toBe(0);
    expect(st.metadata?.method).toBe('flow');
    await expect(task.sample('ddim', 4, 10)).resolves.toBeDefined();
    expect(() => new DiffusionTask({ dataset: 'nope', method: 'flow', lr: 1e-3, seed: 0 })).toThrow(/unknown data set 'nope'/);
  });

  it('weights saved by a task load into a fresh task (rebuilt from the metadata) with equal samples; a mismatch names the fault', async () => {
    const task = new DiffusionTask({ dataset: 'eightGaussians', method: 'ddpm', lr: 3e-3, seed: 0, hidden: [16, 16], batch: 32 });
    await task.train(4);
    const st = nb.parseSafetensors(await task.weights());
    const cfg = diffusionWeightsConfig(st.metadata);
    expect(cfg).toEqual({ method: 'ddpm', dataset: 'eightGaussians', hidden: [16, 16] });
    const fresh = new DiffusionTask({ ...cfg, lr: 1e-3, seed: 0 });
    const before = await fresh.sample('ddim', 6, 30, 3);
    fresh.loadWeights(st);
    expect(fresh.step).toBe(4);
    const [a, b] = [await task.sample('ddim', 6, 30, 3), await fresh.sample('ddim', 6, 30, 3)];
    expect(Array.from(b.points)).toEqual(Array.from(a.points));
    expect(Array.from(b.points)).not.toEqual(Array.from(before.points)); // the load changed the model
    // another panel's task, or a model of other widths, is refused by name
    expect(() => new DiffusionTask({ ...cfg, method: 'flow', lr: 1e-3, seed: 0 }).loadWeights(st)).toThrow(/weights are of a ddpm model of 'eightGaussians', this task is a flow model/);
    expect(() => new DiffusionTask({ ...cfg, hidden: [8, 16], lr: 1e-3, seed: 0 }).loadWeights(st)).toThrow(/loadStateDict: parameter '.*' is \[.*\] in the model but \[.*\] in the state/);
    expect(() => diffusionWeightsConfig({ mixer: 'lstm' })).toThrow(/name no diffusion method/);
  });

  it('DDPM and EDM tasks train and sample with their samplers', async () => {
    for (const [method, sampler] of [['ddpm', 'ddpm'], ['edm', 'heun']] as const) {
      const task = new DiffusionTask({ dataset: 'eightGaussians', method, lr: 3e-3, seed: 1, hidden: [16], batch: 32 });
      await task.train(3);
      const s = await task.sample(sampler, 9, 20, 2);
      expect(s.points.every(Number.isFinite)).toBe(true);
      expect(s.nfe).toBe(9);
    }
  });

  it('the VQ race reports usage, perplexity and MSE for STE, rotation and SimVQ', () => {
    const race = new VqRace(16);
    const m = race.train(5);
    expect(race.step).toBe(5);
    for (const v of VQ_VARIANTS) {
      expect(m[v].usage).toBeGreaterThan(0);
      expect(m[v].usage).toBeLessThanOrEqual(1);
      expect(m[v].mse).toBeGreaterThan(0);
    }
  });

  it('attention timing: every form runs and softmax needs the most memory at n = 512 (its n² scores)', () => {
    const r = Object.fromEntries(ATTENTION_FORMS.map((f) => [f, timeAttention(f, 512, 1)]));
    for (const f of ATTENTION_FORMS) expect(r[f]!.ms).toBeGreaterThan(0);
    // 4 heads × 512² float32 scores = 4 MiB at least
    expect(r.softmax!.peakBytes).toBeGreaterThan(4 * 2 ** 20);
    expect(r.flash!.peakBytes).toBeLessThan(r.softmax!.peakBytes / 2);
    expect(r.linear!.peakBytes).toBeLessThan(r.softmax!.peakBytes / 2);
  });
});
