/**
 * The configuration of a generative run (`nabla train diffusion|flow|vq`):
 * defaults per kind, then a JSON file (`--config`), then flags, each layer
 * overriding the one before. The merged config is validated here, once, so
 * that every mistake surfaces as one line naming the field and the fix
 * before anything is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GEN_DATA } from './data.js';

export type GenKind = 'diffusion' | 'flow' | 'vq';
export const GEN_KINDS: readonly GenKind[] = ['diffusion', 'flow', 'vq'];

/** The models of each kind, by name (the first is the default). */
export const MODELS: Readonly<Record<GenKind, readonly string[]>> = {
  diffusion: ['edm', 'ddpm', 'vp', 'vp-cosine', 'subvp', 've', 'ncsn', 'flow-matching', 'rectified-flow'],
  flow: ['realnvp', 'nice', 'glow', 'ffjord'],
  vq: ['vq', 'vq-rotation', 'vq-ema', 'simvq', 'residual'],
};

export interface GenConfig {
  kind: GenKind;
  /** the model's name in MODELS[kind] */
  model: string;
  /** a 2-D toy data set of src/zoo/data (eightGaussians, checkerboard, twoMoons, …) or the 8×8 image set 'shapes' (data.ts) */
  data: string;
  /** optimiser steps in all (a resumed run continues up to this) */
  steps: number;
  batch: number;
  /** peak learning rate (AdamW, warmup then cosine decay to a tenth) */
  lr: number;
  seed: number;
  /** hidden widths of the network(s) */
  hidden: number[];
  /** save a checkpoint every this many steps (and at the end) */
  checkpointEvery: number;
  /** flows: couplings / steps of flow; ffjord: ODE steps in training */
  layers: number;
  /** vq: codebook size per stage, latent width and residual stages */
  codes: number;
  latentDim: number;
  stages: number;
  /** pictures at the end of training: the sampler, its steps and the number of samples (default per model) */
  sampler?: string;
  sampleSteps?: number;
  samples: number;
  /** rectified-flow only: reflow, i.e. train on the couplings (ODE(x₁), x₁) of this run's flow (a flow-matching or rectified-flow run) */
  reflowFrom?: string;
}

/** Keys a config file may hold, with their types, for the validation messages. */
const FIELDS: Readonly<Record<keyof GenConfig, 'string' | 'int' | 'number' | 'ints'>> = {
  kind: 'string',
  model: 'string',
  data: 'string',
  steps: 'int',
  batch: 'int',
  lr: 'number',
  seed: 'int',
  hidden: 'ints',
  checkpointEvery: 'int',
  layers: 'int',
  codes: 'int',
  latentDim: 'int',
  stages: 'int',
  sampler: 'string',
  sampleSteps: 'int',
  samples: 'int',
  reflowFrom: 'string',
};

/** The defaults of a kind. */
export function defaults(kind: GenKind): GenConfig {
  const base = { kind, data: 'eightGaussians', batch: 256, seed: 0, checkpointEvery: 500, samples: 1000 };
  if (kind === 'diffusion') return { ...base, model: 'edm', steps: 2000, lr: 2e-3, hidden: [128, 128, 128], layers: 0, codes: 0, latentDim: 0, stages: 0 };
  if (kind === 'flow') return { ...base, model: 'realnvp', steps: 2000, lr: 1e-3, hidden: [64, 64], layers: 8, codes: 0, latentDim: 0, stages: 0 };
  return { ...base, model: 'vq', steps: 1500, lr: 2e-3, hidden: [64], layers: 0, codes: 32, latentDim: 2, stages: 2 };
}

/** Read a JSON config file: an object of known fields (one clear error otherwise). */
export function readConfigFile(path: string): Partial<GenConfig> {
  if (!existsSync(path)) throw new Error(`config file ${path} does not exist; give the path of a JSON file, e.g. --config run.json`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON (${(e as Error).message}); fix it or leave out --config`, { cause: e });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`config file ${path} must hold a JSON object such as {"model": "edm", "steps": 500}`);
  return v as Partial<GenConfig>;
}

function checkField(name: string, type: string, v: unknown, where: string): void {
  const fail = (what: string): never => {
    throw new Error(`${where}: '${name}' must be ${what}, got ${JSON.stringify(v)}`);
  };
  if (type === 'string' && typeof v !== 'string') fail('a string');
  if (type === 'int' && !(Number.isSafeInteger(v) && (v as number) >= 0)) fail('a non-negative integer');
  if (type === 'number' && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) fail('a positive number');
  if (type === 'ints' && !(Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x) && x > 0))) fail('a non-empty list of positive integers, e.g. [128, 128]');
}

/**
 * Merge defaults ← file ← flags (undefined flags are ignored) and validate.
 * `where` names the source in messages (e.g. the config file's path).
 */
export function resolveConfig(kind: GenKind, file: Partial<GenConfig>, flags: Partial<GenConfig>, where = 'config'): GenConfig {
  for (const [k, v] of Object.entries(file)) {
    if (!(k in FIELDS)) throw new Error(`${where}: unknown field '${k}' (known: ${Object.keys(FIELDS).join(', ')})`);
    checkField(k, FIELDS[k as keyof GenConfig], v, where);
  }
  if (file.kind !== undefined && file.kind !== kind) throw new Error(`${where}: holds kind '${file.kind}' but the command is 'train ${kind}'; run 'nabla train ${file.kind}' or fix the file`);
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const c: GenConfig = { ...defaults(kind), ...file, ...given, kind };
  for (const [k, t] of Object.entries(FIELDS)) {
    const v = c[k as keyof GenConfig];
    if (v !== undefined) checkField(k, t, v, where);
  }
  if (!MODELS[kind].includes(c.model)) throw new Error(`unknown ${kind} model '${c.model}'; known: ${MODELS[kind].join(', ')}`);
  if (!(c.data in GEN_DATA)) throw new Error(`unknown data set '${c.data}'; known: ${Object.keys(GEN_DATA).join(', ')}`);
  for (const k of ['steps', 'batch', 'checkpointEvery', 'samples'] as const) if (c[k] < 1) throw new Error(`${where}: '${k}' must be at least 1, got ${c[k]}`);
  if (c.reflowFrom !== undefined && c.model !== 'rectified-flow') throw new Error(`${where}: 'reflowFrom' is for the rectified-flow model (reflow), not '${c.model}'; add --model rectified-flow or drop --reflow-from`);
  if (kind === 'flow' && c.layers < 1) throw new Error(`${where}: 'layers' must be at least 1 for flows, got ${c.layers}`);
  if (kind === 'vq' && (c.codes < 1 || c.latentDim < 1 || c.stages < 1)) throw new Error(`${where}: 'codes', 'latentDim' and 'stages' must be at least 1 for VQ models`);
  return c;
}

/** The fields that may differ between a run's saved config and a resume (more steps, new pictures). */
export const RESUMABLE_FIELDS: ReadonlySet<string> = new Set(['steps', 'checkpointEvery', 'sampler', 'sampleSteps', 'samples']);
