/**
 * Configuration of `nabla train lm`: defaults, a JSON config file, flags
 * overriding both, and validation that names the key and the fix. Also the
 * run directory's files (config.json, tokenizer.json, checkpoints/,
 * metrics.jsonl) and loading a trained run back for `generate` and `eval`.
 *
 * The defaults are the `npm start` job: a 2-layer, 64-wide softmax
 * transformer over the characters of the default corpus, 500 steps of 16
 * windows of 64 characters (about two minutes on two CPU cores).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LanguageModel, parseMixers, type LanguageModelConfig } from '../zoo/lm/index.js';
import { loadTokenizer, TOKENIZER_KINDS, type Tokenizer } from '../tokenizers/index.js';
import { loadCheckpoint, assignWeights } from '../train/checkpointFile.js';
import { dispose, namedParameters } from '../nn/module.js';

/** The shipped corpus (data/sotu, two levels above both src/cli and dist/cli). */
export const DEFAULT_CORPUS = fileURLToPath(new URL('../../data/sotu', import.meta.url));

export interface LmRunConfig {
  data: string;
  tokenizer: string;
  /** BPE only: the vocabulary size to learn */
  vocabSize: number;
  mixer: string;
  mixerOptions: Record<string, unknown>;
  dModel: number;
  layers: number;
  mlpRatio: number;
  norm: 'layernorm' | 'rmsnorm';
  context: number;
  batch: number;
  steps: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  seed: number;
  heldOut: number;
  evalEvery: number;
  evalTokens: number;
  logEvery: number;
  saveEvery: number;
  sampleEvery: number;
  sampleTokens: number;
  prompt: string;
}

export const DEFAULTS: LmRunConfig = {
  data: DEFAULT_CORPUS,
  tokenizer: 'chars',
  vocabSize: 512,
  mixer: 'softmax',
  mixerOptions: {},
  dModel: 64,
  layers: 2,
  mlpRatio: 4,
  norm: 'layernorm',
  context: 64,
  batch: 16,
  steps: 500,
  lr: 3e-3,
  warmup: 30,
  weightDecay: 0.01,
  clip: 1,
  seed: 0,
  heldOut: 0.1,
  evalEvery: 100,
  evalTokens: 4096,
  logEvery: 10,
  saveEvery: 100,
  sampleEvery: 100,
  sampleTokens: 100,
  prompt: 'The ',
};

/** Keys that may change when a run is resumed (they do not change what is computed). */
export const RESUMABLE_KEYS = new Set<keyof LmRunConfig>(['steps', 'evalEvery', 'evalTokens', 'logEvery', 'saveEvery', 'sampleEvery', 'sampleTokens', 'prompt']);

type Check = (v: unknown) => string | null;
const posInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 1 ? null : 'a positive integer');
const nonNegInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'an integer ≥ 0');
const posNum: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'a positive number');
const nonNegNum: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'a number ≥ 0');
const str: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'a non-empty string');
const oneOf = (xs: readonly string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? null : `one of ${xs.join(', ')}`);

const CHECKS: Record<keyof LmRunConfig, Check> = {
  data: str,
  tokenizer: oneOf(TOKENIZER_KINDS),
  vocabSize: (v) => (Number.isSafeInteger(v) && (v as number) >= 256 && (v as number) <= 65536 ? null : 'an integer in 256…65536'),
  mixer: str,
  mixerOptions: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? null : 'a JSON object of mixer options'),
  dModel: posInt,
  layers: posInt,
  mlpRatio: posNum,
  norm: oneOf(['layernorm', 'rmsnorm']),
  context: posInt,
  batch: posInt,
  steps: posInt,
  lr: posNum,
  warmup: nonNegInt,
  weightDecay: nonNegNum,
  clip: posNum,
  seed: nonNegInt,
  heldOut: (v) => (typeof v === 'number' && v > 0 && v < 1 ? null : 'a fraction in (0, 1)'),
  evalEvery: posInt,
  evalTokens: posInt,
  logEvery: posInt,
  saveEvery: posInt,
  sampleEvery: nonNegInt,
  sampleTokens: posInt,
  prompt: str,
};

export const CONFIG_KEYS = Object.keys(DEFAULTS) as (keyof LmRunConfig)[];

/** Check a partial config from `where` (a file or 'flags'), naming the first bad key. */
export function checkPartial(raw: unknown, where: string, nameOf: (k: string) => string = (k) => `'${k}'`): Partial<LmRunConfig> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where} must hold a JSON object of settings, e.g. {"mixer": "mamba", "steps": 200}`);
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in CHECKS)) throw new Error(`${where}: unknown setting '${k}'; known settings: ${CONFIG_KEYS.join(', ')}`);
    const want = CHECKS[k as keyof LmRunConfig](v);
    if (want) throw new Error(`${where}: ${nameOf(k)} must be ${want}, got ${JSON.stringify(v)}`);
  }
  return raw as Partial<LmRunConfig>;
}

/** Read a JSON config file: one clear error for a missing file, bad JSON or a bad setting. */
export function readConfigFile(path: string): Partial<LmRunConfig> {
  if (!existsSync(path)) throw new Error(`config file ${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON (${(e as Error).message}); fix it or drop --config`, { cause: e });
  }
  return checkPartial(raw, `config file ${path}`);
}

/** The command-line flag of a setting: dModel → --d-model. */
export const flagOf = (k: string): string => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;

/** Defaults ← config file ← flags; the mixer list is checked against the registry here, before anything runs. */
export function resolveConfig(file: Partial<LmRunConfig>, flags: Partial<LmRunConfig>): LmRunConfig {
  checkPartial(flags, 'flags', flagOf);
  const c = { ...DEFAULTS, ...file, ...flags };
  checkPartial(c, 'settings');
  parseMixers(c.mixer, c.layers);
  return c;
}

/** The model's config from a run config and the tokenizer's vocabulary. */
export function modelConfig(c: LmRunConfig, vocabSize: number): LanguageModelConfig {
  return { vocabSize, dModel: c.dModel, layers: c.layers, mixer: c.mixer, mixerOptions: c.mixerOptions, mlpRatio: c.mlpRatio, norm: c.norm };
}

/** What a checkpoint must agree with to be resumed exactly (everything that changes the computation). */
export function trainingIdentity(c: LmRunConfig, vocabSize: number): Record<string, unknown> {
  const { data: _d, ...rest } = c;
  const id: Record<string, unknown> = { ...rest, vocabSize };
  for (const k of RESUMABLE_KEYS) delete id[k];
  return id;
}

export const runFiles = (dir: string) => ({
  config: join(dir, 'config.json'),
  tokenizer: join(dir, 'tokenizer.json'),
  checkpoints: join(dir, 'checkpoints'),
  metrics: join(dir, 'metrics.jsonl'),
});

/** The config.json of a run directory. */
export function readRunConfig(dir: string): LmRunConfig & { corpus?: { bytes: number; hash: string } } {
  const f = runFiles(dir);
  if (!existsSync(dir)) throw new Error(`run directory ${dir} does not exist; train one with: nabla train lm --out ${dir}`);
  if (!existsSync(f.config)) throw new Error(`${dir} is not a run directory (no config.json); give the --out directory of nabla train lm`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(f.config, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${f.config} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const { corpus, nabla: _n, ...settings } = raw;
  const c = resolveConfig(checkPartial(settings, f.config), {});
  return { ...c, corpus: corpus as { bytes: number; hash: string } | undefined };
}

export interface LoadedRun {
  config: LmRunConfig;
  tokenizer: Tokenizer;
  model: LanguageModel;
  /** the step of the checkpoint loaded */
  step: number;
  checkpoint: string;
}

/** Load a run's tokenizer and model with the weights of its newest checkpoint (or of the checkpoint root `from`). */
export function loadRun(dir: string, from?: string): LoadedRun {
  const config = readRunConfig(dir);
  const f = runFiles(dir);
  const tokenizer = loadTokenizer(f.tokenizer);
  const root = from ?? f.checkpoints;
  if (!existsSync(join(root, 'latest.json'))) {
    throw new Error(from ? `${from} holds no checkpoint (no latest.json); give a checkpoints/ directory of a run` : `${dir} has no checkpoint yet; train it first (nabla train lm --resume ${dir})`);
  }
  const model = new LanguageModel(modelConfig(config, tokenizer.vocabSize), config.seed);
  const loaded = loadCheckpoint(root);
  try {
    assignWeights(namedParameters(model), loaded.model);
  } catch (e) {
    dispose(model);
    const why = (e as Error).message.replace(/^assignWeights: /, '').replace(/ \(pass strict: false to load the rest\)$/, '');
    throw new Error(`the checkpoint ${loaded.dir} does not fit the model of ${f.config} (${why}); was it trained with another --mixer, --d-model, --layers or tokenizer?`, { cause: e });
  } finally {
    for (const t of Object.values(loaded.model)) t.dispose();
    for (const t of Object.values(loaded.optimizer?.tensors ?? {})) t.dispose();
  }
  return { config, tokenizer, model, step: loaded.step, checkpoint: loaded.dir };
}
