/**
 * Registers `nabla train diffusion|flow|vq` and `nabla sample` on the
 * program (src/cli/main.ts calls `registerGen`). The flags map one to one
 * onto GenConfig fields (config.ts); a flag given overrides --config, which
 * overrides the defaults.
 */
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GEN_DATA } from './data.js';
import { MODELS, type GenConfig, type GenKind } from './config.js';
import { DIFFUSION_SAMPLERS } from './diffusionModels.js';
import { runTrainGen } from './train.js';
import { runSample } from './sample.js';

const int = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'.`);
  return n;
};
const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'.`);
  return n;
};
const widths = (v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || !xs.every((x) => Number.isSafeInteger(x) && x > 0)) throw new InvalidArgumentError(`--hidden must be comma-separated positive integers such as 128,128, got '${v}'.`);
  return xs;
};

const EXAMPLES: Readonly<Record<GenKind, string>> = {
  diffusion: `
Models: ${MODELS.diffusion.join(', ')}
Samplers (nabla sample --sampler): ${Object.keys(DIFFUSION_SAMPLERS).join(', ')}
Data sets: ${Object.keys(GEN_DATA).join(', ')} (shapes: 8×8 images)

Examples:
  nabla train diffusion --out runs/edm --model edm --data checkerboard --steps 2000
  nabla train diffusion --out runs/fm --model flow-matching --data twoMoons --hidden 64,64
  nabla train diffusion --config diffusion.json --steps 300      (flags override the file)
  nabla train diffusion --out runs/edm --resume --steps 4000     (continue exactly where it stopped)
  nabla sample runs/edm --sampler dpmpp-2m --steps 12
  nabla train diffusion --out runs/rf2 --model rectified-flow --reflow-from runs/fm   (reflow: straighter paths)
  nabla sample runs/rf2 --sampler flow-euler --steps 1`,
  flow: `
Models: ${MODELS.flow.join(', ')} (ffjord samplers: rk4, euler, heun, dopri5; the others: inverse)
Data sets: ${Object.keys(GEN_DATA).join(', ')} (shapes: 8×8 images)

Examples:
  nabla train flow --out runs/rnvp --model realnvp --layers 8 --data twoMoons
  nabla train flow --out runs/ffjord --model ffjord --hidden 64,64 --layers 8 --steps 500
  nabla sample runs/ffjord --sampler dopri5`,
  vq: `
Models: ${MODELS.vq.join(', ')} (samplers: codes, uniform)
Data sets: ${Object.keys(GEN_DATA).join(', ')} (shapes: 8×8 images)

Examples:
  nabla train vq --out runs/vq --model vq-rotation --codes 32 --data pinwheel
  nabla train vq --out runs/rvq --model residual --stages 3 --codes 16
  nabla sample runs/rvq --sampler uniform`,
};

interface TrainFlags {
  config?: string;
  out?: string;
  resume?: boolean;
  until?: number;
  plain?: boolean;
  pictures?: boolean;
  model?: string;
  data?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  hidden?: number[];
  checkpointEvery?: number;
  layers?: number;
  codes?: number;
  latentDim?: number;
  stages?: number;
  sampler?: string;
  sampleSteps?: number;
  samples?: number;
  reflowFrom?: string;
}

function addTrain(train: Command, kind: GenKind, out: (line: string) => void): void {
  const cmd = train
    .command(kind)
    .description(
      kind === 'diffusion'
        ? 'train a diffusion / flow-matching / rectified-flow / EDM model on 2-D toy data'
        : kind === 'flow'
          ? 'train a normalising flow (NICE, Real NVP, Glow, FFJORD) on 2-D toy data'
          : 'train a VQ-VAE with any quantiser on 2-D toy data',
    )
    .option('--config <file>', 'JSON config (fields as the flags, camelCase: {"model": "edm", "hidden": [64, 64]})')
    .option('--out <dir>', `run directory (default runs/${kind}-<model>-<time>)`)
    .option('--resume', 'continue the run in --out from its newest checkpoint')
    .option('--until <step>', 'stop after this step this time (resume later); the schedule still spans --steps', int('--until', 1))
    .option('--plain', 'plain progress lines instead of a progress bar')
    .option('--no-pictures', 'do not draw the pictures at the end')
    .option('--model <name>', `one of ${MODELS[kind].join(', ')}`)
    .option('--data <name>', 'a 2-D toy data set, or shapes (8×8 images)')
    .option('--steps <n>', 'optimiser steps in all', int('--steps', 1))
    .option('--batch <n>', 'batch size', int('--batch', 1))
    .option('--lr <x>', 'peak learning rate', positive('--lr'))
    .option('--seed <n>', 'seed of the initialisation, data and noise', int('--seed', 0))
    .option('--hidden <widths>', 'hidden widths, comma-separated', widths)
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps', int('--checkpoint-every', 1))
    .option('--sampler <name>', 'sampler of the pictures drawn at the end')
    .option('--sample-steps <n>', 'sampler steps of the pictures drawn at the end', int('--sample-steps', 1))
    .option('--samples <n>', 'points in the sample pictures', int('--samples', 1));
  if (kind === 'diffusion') cmd.option('--reflow-from <run>', 'rectified-flow: reflow, training on the couplings (ODE(noise), noise) of this flow-matching / rectified-flow run');
  if (kind === 'flow') cmd.option('--layers <n>', 'couplings / steps of flow; ffjord: RK4 steps in training', int('--layers', 1));
  if (kind === 'vq') {
    cmd
      .option('--codes <n>', 'codebook size (per stage)', int('--codes', 1))
      .option('--latent-dim <n>', 'latent width', int('--latent-dim', 1))
      .option('--stages <n>', 'residual: quantiser stages', int('--stages', 1));
  }
  cmd.addHelpText('after', EXAMPLES[kind]).action(async (f: TrainFlags) => {
    if (f.resume && !f.out) throw new Error('--resume needs --out <run directory> (the run to continue)');
    const flags: Partial<GenConfig> = {
      model: f.model,
      data: f.data,
      steps: f.steps,
      batch: f.batch,
      lr: f.lr,
      seed: f.seed,
      hidden: f.hidden,
      checkpointEvery: f.checkpointEvery,
      layers: f.layers,
      codes: f.codes,
      latentDim: f.latentDim,
      stages: f.stages,
      sampler: f.sampler,
      sampleSteps: f.sampleSteps,
      samples: f.samples,
      reflowFrom: f.reflowFrom === undefined ? undefined : resolve(f.reflowFrom),
    };
    const dir = f.out ?? join('runs', `${kind}-${f.model ?? 'default'}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await runTrainGen(kind, { out: dir, config: f.config, resume: f.resume, until: f.until, plain: f.plain, noPictures: f.pictures === false, flags }, out);
  });
}

/** Add the generative commands to the program. */
export function registerGen(program: Command, out: (line: string) => void = console.log): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train a model');
  for (const kind of ['diffusion', 'flow', 'vq'] as const) addTrain(train, kind, out);
  program
    .command('sample')
    .description('sample a trained diffusion / flow / VQ run with any of its samplers and draw the pictures')
    .argument('<run>', 'the run directory (from nabla train diffusion|flow|vq)')
    .option('--sampler <name>', 'sampler name (default: the model\'s own); an unknown name lists the known ones')
    .option('--steps <n>', 'sampler steps', int('--steps', 1))
    .addOption(new Option('-n, --samples <n>', 'number of samples').argParser(int('--samples', 1)))
    .option('--seed <n>', 'seed of the sampling noise', int('--seed', 0))
    .addHelpText(
      'after',
      `
Writes <run>/pictures/samples-<sampler>-<steps>.png, density-….png, trajectories-….png and the samples as .safetensors.

Examples:
  nabla sample runs/edm                              the model's default sampler
  nabla sample runs/edm --sampler euler --steps 8    few steps: see the error of a first-order sampler
  nabla sample runs/fm --sampler flow-euler --steps 1 -n 2000`,
    )
    .action((run: string, f: { sampler?: string; steps?: number; samples?: number; seed?: number }) => {
      runSample(run, { sampler: f.sampler, steps: f.steps, n: f.samples, seed: f.seed }, out);
    });
}
