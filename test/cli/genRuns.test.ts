/**
 * The generative commands' runs in a temp directory: every diffusion sampler
 * runs by name; --resume reproduces the uninterrupted run exactly; SIGINT
 * leaves a loadable checkpoint; bad input gets one clear line and writes
 * nothing. (Every model and the pictures: gen.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GenConfig, type GenKind } from '../../src/cli/gen/config.js';
import { runTrainGen } from '../../src/cli/gen/train.js';
import { runSample } from '../../src/cli/gen/sample.js';
import { DIFFUSION_SAMPLERS } from '../../src/cli/gen/diffusionModels.js';
import { readMetrics } from '../../src/cli/gen/run.js';
import { formatSeconds } from '../../src/cli/gen/progress.js';
import { buildModel } from '../../src/cli/gen/model.js';
import { randomKey } from '../../src/ops/random.js';
import { listCheckpoints } from '../../src/train/checkpointFile.js';

const root = mkdtempSync(join(tmpdir(), 'nabla-gen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;
const fresh = (): string => join(root, `run${runs++}`);
const quiet = (): void => {};
/** The directory of the checkpoint of a step. */
const ckptDir = (dir: string, step: number): string => {
  const c = listCheckpoints(join(dir, 'checkpoints')).find((x) => x.step === step);
  if (!c) throw new Error(`no checkpoint of step ${step} in ${dir}`);
  return c.dir;
};

/** A tiny config: a few steps of small networks. */
const tiny = (model: string, extra: Partial<GenConfig> = {}): Partial<GenConfig> => ({ model, steps: 3, batch: 32, hidden: [16, 16], samples: 120, layers: 2, codes: 8, checkpointEvery: 100, ...extra });

const train = (kind: GenKind, flags: Partial<GenConfig>, more: { out?: string; resume?: boolean; until?: number; config?: string; pictures?: boolean } = {}) =>
  runTrainGen(kind, { out: more.out ?? fresh(), resume: more.resume, until: more.until, config: more.config, noPictures: !more.pictures, plain: true, flags }, quiet);

describe('every diffusion sampler by name', () => {
  it('runs each on one trained model; an unknown one gets one line listing the known ones and writes nothing', async () => {
    const r = await train('diffusion', tiny('vp'));
    const model = buildModel(r.config, randomKey(0));
    for (const name of Object.keys(DIFFUSION_SAMPLERS)) {
      const s = model.sample(randomKey(1), 50, name, 3, { trajectory: true });
      expect(s.x.shape, name).toEqual([50, 2]);
      expect(s.x.toF64().every(Number.isFinite), name).toBe(true);
      expect(s.nfe, name).toBeGreaterThan(0);
      expect(s.frames!.length, name).toBeGreaterThanOrEqual(2);
      s.x.dispose();
    }
    runSample(r.dir, { sampler: 'euler', steps: 2, n: 20 }, quiet);
    const before = readdirSync(join(r.dir, 'pictures')).sort();
    expect(() => runSample(r.dir, { sampler: 'nope' }, quiet)).toThrow(/^unknown sampler 'nope' for the diffusion model 'vp'; known: dpmpp-2m, euler, heun, rk45, ddpm, ddim, euler-maruyama, pc, langevin, flow-euler, flow-heun$/);
    expect(readdirSync(join(r.dir, 'pictures')).sort()).toEqual(before);
  });
});

describe('reflow', () => {
  it('rectified-flow --reflow-from trains on the couplings of a flow-matching run, and refuses other runs', async () => {
    const fm = await train('diffusion', tiny('flow-matching'));
    const rf = await train('diffusion', tiny('rectified-flow', { reflowFrom: fm.dir, steps: 2 }));
    expect(rf.losses).toHaveLength(2);
    expect(rf.losses.every(Number.isFinite)).toBe(true);
    // the loss is not plain flow matching's: the pairs come from the teacher
    const plain = await train('diffusion', tiny('rectified-flow', { steps: 2 }));
    expect(rf.losses).not.toEqual(plain.losses);
    const edm = await train('diffusion', tiny('edm'));
    await expect(train('diffusion', tiny('rectified-flow', { reflowFrom: edm.dir }))).rejects.toThrow(/^--reflow-from .*: reflow needs a flow-matching or rectified-flow run, but that run is a diffusion 'edm' run$/);
    await expect(train('diffusion', tiny('rectified-flow', { reflowFrom: fm.dir, data: 'twoMoons' }))).rejects.toThrow(/that run learned 'eightGaussians' but this one is on 'twoMoons'; use --data eightGaussians$/);
    await expect(train('diffusion', tiny('edm', { reflowFrom: fm.dir }))).rejects.toThrow(/'reflowFrom' is for the rectified-flow model \(reflow\), not 'edm'/);
  });
});

describe('--resume', () => {
  // a run split in two (--until, then --resume) equals the uninterrupted run: losses and final weights
  it.each([
    ['diffusion', 'edm'],
    ['flow', 'glow'],
    ['vq', 'vq-ema'],
  ] as const)('%s %s continues exactly', async (kind, model) => {
    const flags = tiny(model, { steps: 6, checkpointEvery: 2 });
    const a = await train(kind, flags);
    const dir = fresh();
    const b1 = await train(kind, flags, { out: dir, until: 3 });
    expect(b1.step).toBe(3);
    const b2 = await train(kind, {}, { out: dir, resume: true });
    expect(b2.step).toBe(6);
    expect([...b1.losses, ...b2.losses]).toEqual(a.losses);
    const weights = (d: string): Buffer => readFileSync(join(ckptDir(d, 6), 'model.safetensors'));
    expect(weights(dir).equals(weights(a.dir))).toBe(true);
    // metrics.jsonl holds each step once
    expect(readMetrics(dir).filter((m) => m.summary === undefined).map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses to change the model of a run, and --resume of a missing run', async () => {
    const r = await train('diffusion', tiny('edm'));
    await expect(train('diffusion', { model: 'ddpm' }, { out: r.dir, resume: true })).rejects.toThrow(/^--resume: 'model' is "edm" in the run but "ddpm" now; only steps, checkpointEvery, sampler, sampleSteps, samples may change/);
    await expect(train('diffusion', {}, { out: join(root, 'nothing'), resume: true })).rejects.toThrow(/^no run at .*nothing \(no config\.json there\); train one first/);
    expect(existsSync(join(root, 'nothing'))).toBe(false);
  });
});

describe('Ctrl-C', () => {
  it('SIGINT stops after the current step and leaves a loadable checkpoint', async () => {
    const dir = fresh();
    const lines: string[] = [];
    const listeners = process.listenerCount('SIGINT');
    const timer = setTimeout(() => process.emit('SIGINT'), 300);
    const r = await runTrainGen('diffusion', { out: dir, plain: true, flags: tiny('edm', { steps: 100000 }) }, (l) => lines.push(l));
    clearTimeout(timer);
    expect(r.interrupted).toBe(true);
    expect(r.step).toBeGreaterThan(0);
    expect(r.step).toBeLessThan(100000);
    expect(lines).toContain('Ctrl-C: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
    expect(lines.some((l) => l.startsWith(`interrupted after step ${r.step} of 100000; checkpoint saved in`))).toBe(true);
    expect(existsSync(join(ckptDir(dir, r.step), 'model.safetensors'))).toBe(true);
    expect(runSample(dir, { steps: 2, n: 20 }, quiet).samples.every(Number.isFinite)).toBe(true);
    // the handler is removed again
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });
});

describe('bad input: one clear line, nothing written', () => {
  it('an unknown model or data set', async () => {
    const dir = fresh();
    await expect(train('diffusion', { model: 'dalle' }, { out: dir })).rejects.toThrow(/^unknown diffusion model 'dalle'; known: edm, ddpm, vp, vp-cosine, subvp, ve, ncsn, flow-matching, rectified-flow$/);
    await expect(train('flow', { data: 'mnist' }, { out: dir })).rejects.toThrow(/^unknown data set 'mnist'; known: eightGaussians, checkerboard/);
    await expect(train('vq', { sampler: 'ddim', steps: 1 }, { out: dir })).rejects.toThrow(/^unknown sampler 'ddim' for the vq model 'vq'; known: codes, uniform$/);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });

  it('a malformed config file: bad JSON, an unknown field, a wrong type, another kind', async () => {
    const write = (name: string, text: string): string => {
      const p = join(root, name);
      writeFileSync(p, text);
      return p;
    };
    const dir = fresh();
    await expect(train('diffusion', {}, { out: dir, config: write('bad.json', '{"steps": 3,') })).rejects.toThrow(/^config file .*bad\.json is not valid JSON \(.*\); fix it or leave out --config$/);
    await expect(train('diffusion', {}, { out: dir, config: write('field.json', '{"stpes": 3}') })).rejects.toThrow(/field\.json: unknown field 'stpes' \(known: kind, model, data, steps/);
    await expect(train('diffusion', {}, { out: dir, config: write('type.json', '{"hidden": "64"}') })).rejects.toThrow(/type\.json: 'hidden' must be a non-empty list of positive integers, e\.g\. \[128, 128\], got "64"$/);
    await expect(train('diffusion', {}, { out: dir, config: write('kind.json', '{"kind": "vq"}') })).rejects.toThrow(/kind\.json: holds kind 'vq' but the command is 'train diffusion'/);
    await expect(train('diffusion', {}, { out: dir, config: join(root, 'missing.json') })).rejects.toThrow(/^config file .*missing\.json does not exist/);
    expect(existsSync(dir)).toBe(false);
  });

  it('a config file is read and flags override it', async () => {
    const p = join(root, 'good.json');
    writeFileSync(p, JSON.stringify({ model: 'ddpm', steps: 50, hidden: [8], batch: 16 }));
    const r = await train('diffusion', { steps: 2, samples: 10 }, { config: p });
    expect(r.config).toMatchObject({ model: 'ddpm', steps: 2, hidden: [8], batch: 16, samples: 10, kind: 'diffusion' });
    expect(JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8'))).toEqual(r.config);
  });

  it('an existing run is not overwritten without --resume', async () => {
    const r = await train('flow', tiny('nice'));
    const cfg = join(r.dir, 'config.json');
    const before = [readFileSync(cfg, 'utf8'), statSync(cfg).mtimeMs];
    await expect(train('flow', tiny('realnvp'), { out: r.dir })).rejects.toThrow(/already holds a run; pass --resume to continue it, or choose another --out$/);
    expect([readFileSync(cfg, 'utf8'), statSync(cfg).mtimeMs]).toEqual(before);
  });

  it('sampling a missing run or a directory that is not a run', () => {
    expect(() => runSample(join(root, 'none'), {}, quiet)).toThrow(/^no run at .*none \(no config\.json there\); train one first, e\.g\. nabla train diffusion --out/);
    const odd = fresh();
    mkdirSync(odd);
    writeFileSync(join(odd, 'config.json'), JSON.stringify({ kind: 'lm', mixer: 'softmax' }));
    expect(() => runSample(odd, {}, quiet)).toThrow(/config\.json is not the config of a generative run \(kind "lm"\); nabla sample reads runs of nabla train diffusion\|flow\|vq$/);
    expect(readdirSync(odd)).toEqual(['config.json']);
  });
});

describe('progress', () => {
  it('formats the ETA without a 60 in the seconds or minutes', () => {
    expect([0.4, 59.6, 179.7, 185, 3599.6, 7199, Infinity].map(formatSeconds)).toEqual(['0s', '1m00s', '3m00s', '3m05s', '1h00m', '2h00m', '?']);
  });
});
