/**
 * "Compare samplers at a chosen NFE": every sampler that applies to a
 * diffusion/flow model draws the same number of points at about the same
 * number of network evaluations, and each set is scored against fresh data by
 * the sliced Wasserstein-2 distance of zoo/metrics (Rabin et al. 2011;
 * Bonneel et al. 2015: √ of the mean over 128 fixed random directions of the
 * 1-D W₂² of the projections; lower is better, in the data's units). The
 * distance between two independent data sets of the same size is reported
 * too: the floor that sampling noise alone reaches.
 */
import type { Tensor } from '../../src/core/tensor.js';
import { randomKey } from '../../src/ops/random.js';
import { slicedWasserstein } from '../../src/zoo/metrics/sample.js';
import { SAMPLERS, type DiffusionTask, type Method, type SamplerName } from './tasks.js';

/** The samplers a model can use: the rectified-flow Euler sampler needs a flow-matching model; the σ-space ones take any denoiser. */
export function applicableSamplers(method: Method): SamplerName[] {
  return SAMPLERS.filter((s) => s !== 'flow-euler' || method === 'flow');
}

export interface SamplerScore {
  sampler: SamplerName;
  points: Float64Array;
  /** the evaluations the sampler actually made */
  nfe: number;
  /** sliced Wasserstein-2 distance to fresh data */
  sw: number;
}

export interface Comparison {
  results: SamplerScore[];
  /** the fresh data the samples were scored against, x, y pairs */
  data: Float64Array;
  /** the distance between two fresh data sets of n points (the noise floor) */
  floor: number;
  /** the metric's name, for the page */
  metric: string;
}

/** A tensor's values as float64, read with `await` (WebGPU allows no other way); the tensor is disposed. */
async function read(t: Tensor): Promise<Float64Array> {
  try {
    return Float64Array.from(await t.data(), Number);
  } finally {
    t.dispose();
  }
}

const pts = (data: Float64Array): { data: Float64Array; n: number; d: number } => ({ data, n: data.length / 2, d: 2 });

/** Sample n points with each applicable sampler at about `nfe` evaluations and score them against fresh data. */
export async function compareSamplers(task: DiffusionTask, nfe: number, n = 500, samplers: readonly SamplerName[] = applicableSamplers(task.config.method)): Promise<Comparison> {
  if (!Number.isInteger(nfe) || nfe < 1) throw new Error(`compareSamplers: nfe must be a positive integer, got ${nfe}`);
  if (!Number.isInteger(n) || n < 2) throw new Error(`compareSamplers: n must be an integer ≥ 2, got ${n}`);
  // data the model never saw in training (those keys are foldIn(seed, 1000 + step))
  const data = await read(task.sampleData(randomKey(4242), n));
  const other = await read(task.sampleData(randomKey(4243), n));
  const results: SamplerScore[] = [];
  for (const sampler of samplers) {
    const s = await task.sample(sampler, nfe, n, 0);
    // a diverged sampler (too few steps) scores ∞ rather than NaN
    const sw = s.points.every(Number.isFinite) ? slicedWasserstein(pts(s.points), pts(data)) : Infinity;
    results.push({ sampler, points: s.points, nfe: s.nfe, sw });
  }
  return { results, data, floor: slicedWasserstein(pts(other), pts(data)), metric: 'sliced Wasserstein-2 to fresh data (128 directions; lower is better)' };
}
