/**
 * The pictures of a generative run, written under <run>/pictures:
 *
 * - samples-<sampler>[-<steps>].png   the samples over the data (grey)
 * - density-<sampler>[-<steps>].png   the model's exact density exp(log p) on a grid (flows),
 *                                     else a 2-D histogram of the samples
 * - trajectories-…png                 sampler paths from noise to data, where the sampler has them
 * - loss.png                          the training loss per step, with a moving average
 *
 * For image data (`shapes`) the samples and the data are image grids
 * (samples-….png, data.png) and the trajectories a grid of a few samples
 * (rows) over the sampler's steps (columns); there is no density picture.
 *
 * and the samples themselves as samples-….safetensors (one tensor 'samples', (n, 2)).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { foldIn } from '../../ops/random.js';
import { saveSafetensors } from '../../io/safetensors.js';
import { GREY, heatmap, histogram2d, imageGrid, linePlot, scatterPlot, squareRange, trajectoryPlot, writePng } from '../../plot/index.js';
import { genData, type GenData } from './data.js';
import { slicedWasserstein } from '../../zoo/metrics/sample.js';
import type { GenConfig } from './config.js';
import type { GenModel } from './model.js';
import { runPaths } from './run.js';

export interface PictureOptions {
  sampler: string;
  steps: number;
  n: number;
  key: Key;
}

/** Points per side of the exact-density grid (FFJORD solves an ODE per point) and cells per side of the histogram. */
const GRID = 48;
const BINS = 64;

/** Log-density on a GRID × GRID grid over the ranges (row 0 at y.lo), in chunks. */
function densityGrid(model: GenModel, x: { lo: number; hi: number }, y: { lo: number; hi: number }): Float64Array {
  const out = new Float64Array(GRID * GRID);
  const cell = (lo: number, hi: number, i: number): number => lo + ((i + 0.5) * (hi - lo)) / GRID;
  const rows = 16;
  for (let j0 = 0; j0 < GRID; j0 += rows) {
    const pts: number[] = [];
    for (let j = j0; j < j0 + rows; j++) for (let i = 0; i < GRID; i++) pts.push(cell(x.lo, x.hi, i), cell(y.lo, y.hi, j));
    const lp = tidy(() => model.logDensity!(tensor(pts, [pts.length / 2, 2])).toF64());
    out.set(lp.map(Math.exp), j0 * GRID);
  }
  return out;
}

/** Sample, then write the samples, density and trajectory pictures. */
export function drawPictures(dir: string, model: GenModel, c: GenConfig, o: PictureOptions): { paths: string[]; nfe: number; samples: Float64Array; quality: SampleQuality } {
  const pics = runPaths(dir).pictures;
  const tag = `${o.sampler}${o.steps ? `-${o.steps}` : ''}`;
  const label = `${c.model}, ${o.sampler}${o.steps ? `, ${o.steps} step${o.steps === 1 ? "" : "s"}` : ''}`;
  const res = model.sample(o.key, o.n, o.sampler, o.steps, { trajectory: true });
  const paths: string[] = [];
  mkdirSync(pics, { recursive: true });
  let samples: Float64Array;
  try {
    samples = res.x.toF64();
    const nonFinite = samples.filter((v) => !Number.isFinite(v)).length;
    if (nonFinite > 0) throw new Error(`sampling with '${o.sampler}' gave ${nonFinite} non-finite values; try more --steps or another --sampler`);
    const st = join(pics, `samples-${tag}.safetensors`);
    saveSafetensors(st, { samples: res.x });
    paths.push(st);
  } finally {
    res.x.dispose();
  }
  const data = genData(c.data);
  const ref = tidy(() => data.sample(foldIn(o.key, 1), o.n).toF64());
  const quality = sampleQuality(samples, ref, data, foldIn(o.key, 2));
  if (data.imageShape) {
    paths.push(...imagePictures(pics, tag, data, samples, res.frames, o.key));
    return { paths, nfe: res.nfe, samples, quality };
  }
  const range = squareRange([ref]);
  paths.push(
    writePng(
      join(pics, `samples-${tag}.png`),
      scatterPlot(
        [
          { points: ref, label: `data (${c.data})`, color: GREY, alpha: 0.25 },
          { points: samples, label: 'samples' },
        ],
        { ...range, title: `Samples: ${label}`, xLabel: 'x1', yLabel: 'x2' },
      ),
    ),
  );
  const exact = model.logDensity !== undefined;
  const side = exact ? GRID : BINS;
  const values = exact ? densityGrid(model, range.x, range.y) : histogram2d(samples, BINS, range.x, range.y);
  paths.push(
    writePng(
      join(pics, `density-${tag}.png`),
      heatmap(values, side, side, { ...range, title: exact ? `Density p(x): ${c.model}` : `Sample histogram: ${label}`, xLabel: 'x1', yLabel: 'x2', valueLabel: exact ? 'p(x)' : 'samples per cell' }),
    ),
  );
  if (res.frames && res.frames.length >= 2) {
    paths.push(writePng(join(pics, `trajectories-${tag}.png`), trajectoryPlot(res.frames, { title: `Trajectories: ${label}`, xLabel: 'x1', yLabel: 'x2', maxPaths: 200 })));
  }
  return { paths, nfe: res.nfe, samples, quality };
}

export interface SampleQuality {
  /** sliced Wasserstein-2 distance between the samples and as many fresh data points */
  sw2: number;
  /** the same between two fresh draws of the data: the floor that sample noise alone gives */
  floor: number;
}

/** Sliced W₂ of the samples to fresh data, with the data-to-data floor (src/zoo/metrics). */
function sampleQuality(samples: Float64Array, ref: Float64Array, data: GenData, key: Key): SampleQuality {
  const d = data.dim;
  const n = ref.length / d;
  const other = tidy(() => data.sample(key, n).toF64());
  const pts = (v: Float64Array): { data: Float64Array; n: number; d: number } => ({ data: v, n, d });
  return { sw2: slicedWasserstein(pts(samples), pts(ref)), floor: slicedWasserstein(pts(other), pts(ref)) };
}

/** Image grids of the samples, the data and the trajectories (values in [−1, 1]). */
function imagePictures(pics: string, tag: string, data: GenData, samples: Float64Array, frames: Float64Array[] | undefined, key: Key): string[] {
  const [c, h, w] = data.imageShape!;
  const size = c * h * w;
  const grid = (values: Float64Array, n: number, cols: number): ReturnType<typeof imageGrid> => imageGrid(values.subarray(0, n * size), [n, c, h, w], { cols, scale: 6, range: { lo: -1, hi: 1 } });
  const shown = Math.min(64, samples.length / size);
  const out = [writePng(join(pics, `samples-${tag}.png`), grid(samples, shown, 8))];
  const ref = tidy(() => data.sample(foldIn(key, 1), 64).toF64());
  out.push(writePng(join(pics, 'data.png'), grid(ref, 64, 8)));
  if (frames && frames.length >= 2) {
    // rows: 8 samples; columns: up to 10 states from noise to sample
    const rows = Math.min(8, shown);
    const cols = Math.min(10, frames.length);
    const picks = Array.from({ length: cols }, (_, j) => frames[Math.round((j * (frames.length - 1)) / (cols - 1))]!);
    const tiles = new Float64Array(rows * cols * size);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) tiles.set(picks[j]!.subarray(i * size, (i + 1) * size), (i * cols + j) * size);
    out.push(writePng(join(pics, `trajectories-${tag}.png`), grid(tiles, rows * cols, cols)));
  }
  return out;
}

/** Exponential moving average (weight 1 − a on the new value), for a readable loss curve. */
function smooth(ys: readonly number[], a = 0.95): number[] {
  let m = ys[0] ?? 0;
  return ys.map((y, i) => (m = i === 0 ? y : a * m + (1 - a) * y));
}

/** The loss curve from the metric records; returns its path. */
export function lossCurve(dir: string, records: readonly Record<string, unknown>[], c: GenConfig): string {
  const steps = records.filter((r) => typeof r.step === 'number' && typeof r.loss === 'number' && r.summary === undefined);
  const xs = steps.map((r) => (r.step as number) + 1);
  const ys = steps.map((r) => r.loss as number);
  const logY = ys.length > 0 && ys.every((v) => v > 0) && Math.max(...ys) / Math.min(...ys) > 20;
  const what = c.kind === 'flow' ? 'negative log-likelihood (nats)' : 'loss';
  return writePng(
    join(runPaths(dir).pictures, 'loss.png'),
    linePlot(
      [
        { xs, ys, label: 'per step', color: [170, 200, 230], width: 1 },
        { xs, ys: smooth(ys), label: 'moving average', width: 2 },
      ],
      { title: `Training ${what}: ${c.model} on ${c.data}`, xLabel: 'step', yLabel: what, logY },
    ),
  );
}
