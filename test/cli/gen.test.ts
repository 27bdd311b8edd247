/**
 * The generative commands end to end in a temp directory: every model of
 * every kind trains a few steps and samples; the pictures decode as PNGs of
 * the expected size with non-blank content. (Resume, Ctrl-C, samplers and
 * bad input: genRuns.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/plot/index.js';
import { MODELS, type GenConfig, type GenKind } from '../../src/cli/gen/config.js';
import { runTrainGen } from '../../src/cli/gen/train.js';
import { runSample } from '../../src/cli/gen/sample.js';
import { buildModel } from '../../src/cli/gen/model.js';
import { loadRunCheckpoint } from '../../src/cli/gen/run.js';
import { randomKey } from '../../src/ops/random.js';
import { shapes } from '../../src/cli/gen/data.js';

const root = mkdtempSync(join(tmpdir(), 'nabla-gen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;
const fresh = (): string => join(root, `run${runs++}`);
const quiet = (): void => {};
/** A tiny config: a few steps of small networks. */
const tiny = (model: string, extra: Partial<GenConfig> = {}): Partial<GenConfig> => ({ model, steps: 3, batch: 32, hidden: [16, 16], samples: 120, layers: 2, codes: 8, checkpointEvery: 100, ...extra });

const train = (kind: GenKind, flags: Partial<GenConfig>, more: { out?: string; resume?: boolean; until?: number; config?: string; pictures?: boolean } = {}) =>
  runTrainGen(kind, { out: more.out ?? fresh(), resume: more.resume, until: more.until, config: more.config, noPictures: !more.pictures, plain: true, flags }, quiet);

/** Decode a PNG and count the pixels that are not white. */
function inkOf(path: string): { width: number; height: number; ink: number; colours: number } {
  const png = decodePng(readFileSync(path));
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r < 250 || g < 250 || b < 250) ink++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { width: png.width, height: png.height, ink, colours: colours.size };
}

/** The models whose pictures are checked here (one or two per kind; the others are sampled without drawing, to keep the file fast). */
const DRAWN = new Set(['edm', 'ncsn', 'realnvp', 'ffjord', 'residual']);

describe('train → sample → pictures, every model', () => {
  const cases = (Object.keys(MODELS) as GenKind[]).flatMap((kind) => MODELS[kind].map((m) => [kind, m] as const));
  it.each(cases)('%s %s', async (kind, model) => {
    const r = await train(kind, tiny(model));
    expect(r.step).toBe(3);
    expect(r.losses).toHaveLength(3);
    r.losses.forEach((l) => expect(Number.isFinite(l)).toBe(true));
    if (!DRAWN.has(model)) {
      // the checkpoint loads into a fresh model and samples with its default sampler
      const m = buildModel(r.config, randomKey(5));
      loadRunCheckpoint(r.dir, m, r.config);
      const s = m.sample(randomKey(1), 40, m.samplers[0]!, 3);
      expect(s.x.shape).toEqual([40, 2]);
      expect(s.x.toF64().every(Number.isFinite)).toBe(true);
      s.x.dispose();
      return;
    }
    const s = runSample(r.dir, { steps: 3, n: 100 }, quiet);
    expect(s.samples).toHaveLength(200);
    expect(s.samples.every(Number.isFinite)).toBe(true);
    const pngs = s.paths.filter((p) => p.endsWith('.png'));
    expect(pngs.map((p) => p.split('/').pop()!.split('-')[0])).toEqual(expect.arrayContaining(['samples', 'density']));
    for (const p of pngs) {
      const im = inkOf(p);
      expect(im.width, p).toBeGreaterThanOrEqual(500);
      expect(im.height, p).toBeGreaterThanOrEqual(500);
      // axes, labels and data: a real picture, not a blank or a flat fill
      expect(im.ink, p).toBeGreaterThan(5000);
      expect(im.colours, p).toBeGreaterThan(20);
    }
  });
});

describe('the image set', () => {
  it('shapes: 8×8 images in [−1, 1] (plus noise), seeded', () => {
    const a = shapes.sample(randomKey(3), 16).toF64();
    expect(a).toHaveLength(16 * 64);
    expect(Array.from(a)).toEqual(Array.from(shapes.sample(randomKey(3), 16).toF64()));
    // every image has ink and background
    for (let k = 0; k < 16; k++) {
      const img = a.subarray(64 * k, 64 * (k + 1));
      const ink = img.filter((v) => v > 0).length;
      expect(ink, `image ${k}`).toBeGreaterThanOrEqual(3);
      expect(ink, `image ${k}`).toBeLessThanOrEqual(25);
      img.forEach((v) => expect(Math.min(Math.abs(v - 1), Math.abs(v + 1))).toBeLessThan(0.3));
    }
  });

  it.each([
    ['diffusion', 'flow-matching'],
    ['flow', 'realnvp'],
    ['flow', 'ffjord'],
    ['vq', 'vq'],
  ] as const)('%s %s trains on shapes and draws image grids', async (kind, model) => {
    const r = await train(kind, tiny(model, { data: 'shapes', codes: 4, latentDim: 4 }));
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const s = runSample(r.dir, { steps: 2, n: 70 }, quiet);
    expect(s.samples).toHaveLength(70 * 64);
    const names = s.paths.map((p) => p.split('/').pop());
    expect(names).toContain('data.png');
    for (const p of s.paths.filter((q) => q.endsWith('.png'))) {
      const im = inkOf(p);
      if (p.includes('trajectories')) {
        // 8 samples down, one column per state (2 sampler steps or 2 layers: 3 states)
        expect([im.width, im.height], p).toEqual([3 * 50 + 2, 8 * 50 + 2]);
      }
      // 64 of the samples (or data) in 8 columns of 8×8 images at 6 pixels, 2 apart
      else expect([im.width, im.height], p).toEqual([402, 402]);
      expect(im.colours, p).toBeGreaterThan(10);
    }
  });
});

describe('pictures at the end of training', () => {
  it('loss curve, samples, density and trajectories are written and said where', async () => {
    const lines: string[] = [];
    const dir = fresh();
    const r = await runTrainGen('diffusion', { out: dir, plain: true, flags: tiny('flow-matching', { steps: 8, sampleSteps: 4 }) }, (l) => lines.push(l));
    const names = r.pictures.map((p) => p.split('/').pop());
    expect(names).toEqual(['loss.png', 'samples-flow-heun-4.safetensors', 'samples-flow-heun-4.png', 'density-flow-heun-4.png', 'trajectories-flow-heun-4.png']);
    for (const p of r.pictures) expect(lines).toContain(`wrote ${p}`);
    const loss = inkOf(join(dir, 'pictures', 'loss.png'));
    expect([loss.width, loss.height]).toEqual([640, 400]);
    expect(loss.ink).toBeGreaterThan(3000);
    expect(lines.some((l) => /^step 8\/8 {2}loss \d/.test(l))).toBe(true);
    // the samples' distance to fresh data is reported, with the data-to-data floor, and kept in metrics.jsonl
    expect(lines.some((l) => /^samples \(flow-heun\): sliced W2 to fresh data \d+\.\d{4} \(data against data: \d+\.\d{4}\)$/.test(l))).toBe(true);
    const summary = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).at(-1);
    expect(summary).toMatchObject({ summary: true, step: 8, sampler: 'flow-heun' });
    // 8 steps of training: far from the data, far above the floor
    expect(summary.sw2).toBeGreaterThan(2 * summary.sw2Floor);
    expect(lines.at(-1)).toMatch(/^sample: {4}nabla sample .* --sampler flow-heun --steps 10/);
  });
});

