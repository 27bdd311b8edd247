/**
 * What the generative commands need from any model, whatever its family:
 * a training loss on a batch, samplers by name, and (where the family has
 * one) an exact log-density for the heat map. `buildModel` picks the family
 * from the config; each family's file adapts the zoo's API to this shape.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import type { Module } from '../../nn/module.js';
import type { GenConfig } from './config.js';
import { buildDiffusion } from './diffusionModels.js';
import { buildFlow } from './flowModels.js';
import { buildVq } from './vqModels.js';

export interface SampleOutput {
  /** the samples (n, d) */
  x: Tensor;
  /** states after each step, (n, d) row-major each, for the trajectory picture (absent where the sampler has no path) */
  frames?: Float64Array[];
  /** network evaluations */
  nfe: number;
}

export interface GenModel {
  /** the trained module (its named parameters are what checkpoints hold) */
  module: Module;
  /** the training loss on a batch x (b, d): a scalar tensor */
  loss(x: Tensor, key: Key): Tensor;
  /** data-dependent initialisation from the first batch of a fresh run (Glow's ActNorm) */
  init?(x: Tensor): void;
  /** called after weights are loaded from a checkpoint */
  afterLoad?(): void;
  /** the sampler names this model accepts, the default first */
  samplers: readonly string[];
  /** default number of sampler steps (0 where steps mean nothing, e.g. a discrete flow's inverse) */
  defaultSteps: number;
  sample(key: Key, n: number, sampler: string, steps: number, opts?: { trajectory?: boolean }): SampleOutput;
  /** log p(x) per point (b,), where the family has an exact one (2-D data only: it draws the heat map) */
  logDensity?(x: Tensor): Tensor;
  /** extra numbers for metrics.jsonl at the end of training (e.g. VQ codebook usage) */
  summary?(key: Key): Record<string, number>;
  /** a one-line description for the terminal */
  describe: string;
}

/** Build the model a config describes (fresh weights from `key`). */
export function buildModel(cfg: GenConfig, key: Key): GenModel {
  if (cfg.kind === 'diffusion') return buildDiffusion(cfg, key);
  if (cfg.kind === 'flow') return buildFlow(cfg, key);
  return buildVq(cfg, key);
}

/** One clear line for an unknown sampler, listing the known ones. */
export function checkSampler(model: GenModel, cfg: GenConfig, name: string): void {
  if (!model.samplers.includes(name)) {
    throw new Error(`unknown sampler '${name}' for the ${cfg.kind} model '${cfg.model}'; known: ${model.samplers.join(', ')}`);
  }
}

/** Keep at most `max` frames, evenly spaced, always the first and the last. */
export function thinFrames(frames: Float64Array[], max = 48): Float64Array[] {
  if (frames.length <= max) return frames;
  const out: Float64Array[] = [];
  for (let i = 0; i < max; i++) out.push(frames[Math.round((i * (frames.length - 1)) / (max - 1))]!);
  return out;
}
