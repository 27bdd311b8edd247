/**
 * `nabla sample <run>`: load a generative run's newest checkpoint, sample
 * with any of its model's samplers at any step count, and write the
 * pictures (samples, density, trajectories) and the samples under
 * <run>/pictures. Nothing else in the run is touched.
 */
import { resolve } from 'node:path';
import { foldIn, randomKey, splitKey } from '../../ops/random.js';
import { dispose } from '../../nn/module.js';
import { buildModel, checkSampler } from './model.js';
import { drawPictures } from './pictures.js';
import { loadRunCheckpoint, readRunConfig } from './run.js';

export interface SampleOptions {
  sampler?: string;
  steps?: number;
  /** number of samples (default: the run's `samples`) */
  n?: number;
  /** seed of the sampling noise (default: the run's seed + 1) */
  seed?: number;
}

export interface SampleRunResult {
  paths: string[];
  nfe: number;
  samples: Float64Array;
  sampler: string;
  steps: number;
}

export function runSample(dir: string, o: SampleOptions, out: (line: string) => void = console.log): SampleRunResult {
  const c = readRunConfig(dir);
  const [kInit] = splitKey(randomKey(c.seed), 4);
  const model = buildModel(c, kInit!);
  try {
    const sampler = o.sampler ?? c.sampler ?? model.samplers[0]!;
    checkSampler(model, c, sampler);
    const steps = o.steps ?? (o.sampler === undefined ? c.sampleSteps : undefined) ?? model.defaultSteps;
    if (model.defaultSteps === 0 && o.steps !== undefined) out(`note: the sampler '${sampler}' of ${c.model} takes no steps; --steps ${o.steps} is ignored`);
    const { step } = loadRunCheckpoint(dir, model, c);
    out(`nabla sample: ${model.describe}, checkpoint at step ${step} of ${resolve(dir)}`);
    const key = foldIn(randomKey(o.seed ?? c.seed + 1), 7);
    const t0 = performance.now();
    const r = drawPictures(dir, model, c, { sampler, steps: model.defaultSteps === 0 ? 0 : steps, n: o.n ?? c.samples, key });
    out(`${o.n ?? c.samples} samples with ${sampler}${model.defaultSteps ? ` (${steps} steps)` : ''}: ${r.nfe} network evaluations, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    out(`sliced W2 to fresh data: ${r.quality.sw2.toFixed(4)} (data against data: ${r.quality.floor.toFixed(4)})`);
    for (const p of r.paths) out(`wrote ${p}`);
    return { ...r, sampler, steps };
  } finally {
    dispose(model.module);
  }
}
