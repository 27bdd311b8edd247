/**
 * `nabla train lm`: train a language model with any mixer on a text corpus,
 * with a run directory, progress, periodic evaluation and samples,
 * checkpoints, Ctrl-C that saves, and exact resume.
 *
 * Order matters for "nothing overwritten": every input (config, corpus,
 * tokenizer, mixer, run directory) is checked before anything is written,
 * so a bad invocation fails with one line and leaves the disk as it was.
 */
import { relative } from 'node:path';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { atomicWriteFileSync } from '../io/atomicWrite.js';
import { LanguageModel, batchAt, evaluateLM, generateText, lmLoss, readCorpus, splitTokens } from '../zoo/lm/index.js';
import { loadTokenizer, saveTokenizer, trainTokenizer, type Tokenizer } from '../tokenizers/index.js';
import { adamw, warmupCosine } from '../optim/index.js';
import { disposeOptimizerState } from '../optim/optimizer.js';
import { loadTrainingState, saveTrainingState, trainLoop, trainStep } from '../train/index.js';
import { dispose, namedParameters, parameterCount } from '../nn/module.js';
import { createReporter } from './progress.js';
import type { Command } from 'commander';
import type { Tensor } from '../core/tensor.js';
import { mixerKinds } from '../zoo/mixer.js';
import {
  CONFIG_KEYS,
  DEFAULTS,
  RESUMABLE_KEYS,
  flagOf,
  modelConfig,
  readConfigFile,
  readRunConfig,
  resolveConfig,
  runFiles,
  trainingIdentity,
  type LmRunConfig,
} from './lmConfig.js';

export interface TrainLmOptions {
  /** settings given as flags (they override the config file) */
  flags: Partial<LmRunConfig>;
  config?: string;
  out?: string;
  resume?: string;
  /** stop after this many seconds of training (a CPU budget), saving as at the end */
  time?: number;
  /** the clock of the --time budget in ms (default: wall time; the mixer comparison passes process CPU time) */
  budgetClock?: () => number;
  /** stop (and save) once this many steps are done, short of `steps` (train a long schedule in sessions) */
  until?: number;
  /** print progress as plain lines even on a terminal */
  plain?: boolean;
  /** install a SIGINT handler (default true); tests driving it in-process turn it off */
  handleSignals?: boolean;
}

export interface TrainLmResult {
  dir: string;
  /** steps completed */
  step: number;
  losses: number[];
  lastEval?: { loss: number; bitsPerByte: number; perplexity: number };
  interrupted: boolean;
}

/** FNV-1a over the UTF-16 code units: a cheap fingerprint to notice that a corpus changed under a run. */
function fingerprint(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function defaultOut(mixer: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `runs/lm-${mixer.replace(/[^a-z0-9]+/gi, '_')}-${t}`;
}

const fmt = (x: number, d = 4): string => x.toFixed(d);

/** How to call nabla again in the printed commands: `node dist/cli/main.js` after `npm start` (no `nabla` on the PATH), else `nabla`. */
function selfCommand(): string {
  const a = process.argv[1] ?? '';
  const rel = relative(process.cwd(), a);
  return /dist[\\/]cli[\\/]main\.js$/.test(a) && !rel.startsWith('..') ? `node ${rel}` : 'nabla';
}

/** Keep only the metrics lines up to `step` steps done (a resumed run rewrites what the interrupted one logged after its checkpoint). */
function truncateMetrics(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => {
      if (!l.trim()) return false;
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  atomicWriteFileSync(file, new TextEncoder().encode(kept.map((l) => l + '\n').join('')));
}

export async function runTrainLm(o: TrainLmOptions, out: (s: string) => void = console.log): Promise<TrainLmResult> {
  // 1. settings, from a run being resumed or from defaults ← config file ← flags
  let c: LmRunConfig;
  let dir: string;
  let saved: { bytes: number; hash: string } | undefined;
  if (o.resume) {
    if (o.config) throw new Error('--config cannot be combined with --resume: a resumed run keeps its own config.json');
    if (o.out && o.out !== o.resume) throw new Error('--out cannot be combined with --resume: the run continues in its own directory');
    dir = o.resume;
    const prev = readRunConfig(dir);
    saved = prev.corpus;
    const { corpus: _c, ...prevConfig } = prev;
    for (const [k, v] of Object.entries(o.flags)) {
      if (!RESUMABLE_KEYS.has(k as keyof LmRunConfig) && JSON.stringify(v) !== JSON.stringify(prevConfig[k as keyof LmRunConfig])) {
        throw new Error(`cannot change '${k}' when resuming (the run was trained with ${JSON.stringify(prevConfig[k as keyof LmRunConfig])}); only ${[...RESUMABLE_KEYS].join(', ')} may change`);
      }
    }
    c = resolveConfig(prevConfig, o.flags);
  } else {
    c = resolveConfig(o.config ? readConfigFile(o.config) : {}, o.flags);
    dir = o.out ?? defaultOut(c.mixer);
    if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
      throw new Error(`${dir} already exists and is not empty; continue that run with --resume ${dir}, or choose another --out`);
    }
  }
  if (o.time !== undefined && !(o.time > 0)) throw new Error(`--time must be a positive number of seconds, got ${o.time}`);
  if (o.until !== undefined && !(Number.isSafeInteger(o.until) && o.until >= 1)) throw new Error(`--until must be a positive integer, got ${o.until}`);
  const files = runFiles(dir);

  // 2. data and tokenizer (checked before anything is written)
  const corpus = readCorpus(c.data);
  const hash = fingerprint(corpus.text);
  if (saved && (saved.bytes !== corpus.bytes || saved.hash !== hash)) {
    throw new Error(`the corpus ${c.data} changed since the run started (${saved.bytes} bytes then, ${corpus.bytes} now); resume with the same text`);
  }
  const tokenizer: Tokenizer = o.resume ? loadTokenizer(files.tokenizer) : trainTokenizer(c.tokenizer, corpus.text, { vocabSize: c.vocabSize });
  const split = splitTokens(tokenizer.encode(corpus.text), c.heldOut, c.context + 1);
  if (c.sampleEvery > 0) {
    try {
      tokenizer.encode(c.prompt);
    } catch (e) {
      throw new Error(`the sample prompt ${JSON.stringify(c.prompt)} cannot be encoded (${(e as Error).message}); give a --prompt made of the corpus' characters, or --sample-every 0`, { cause: e });
    }
  }

  // 3. model and optimiser
  const model = new LanguageModel(modelConfig(c, tokenizer.vocabSize), c.seed);
  // walked afresh whenever used: a mixer may replace its non-trainable buffers
  // (Transformer-VQ's EMA codebook) in a training-mode forward pass
  const params = (): Record<string, Tensor> => namedParameters(model);
  const optimizer = adamw({ lr: warmupCosine({ peak: c.lr, warmup: Math.min(c.warmup, c.steps), total: c.steps, final: c.lr / 10 }), weightDecay: c.weightDecay, clipNorm: c.clip });
  const identity = trainingIdentity(c, tokenizer.vocabSize);
  let optState = optimizer.init(params());
  let start = 0;
  try {
    if (o.resume) {
      if (!existsSync(files.checkpoints)) throw new Error(`${dir} has no checkpoints to resume from`);
      disposeOptimizerState(optState);
      const r = loadTrainingState(files.checkpoints, { params: params(), optimizer, config: identity });
      optState = r.optState!;
      start = r.step;
      if (start >= c.steps) throw new Error(`${dir} already finished ${start} of ${c.steps} steps; give a larger --steps to train on`);
      truncateMetrics(files.metrics, start);
    } else {
      mkdirSync(dir, { recursive: true });
      const { data, ...rest } = c;
      const record = { nabla: 'lm/1', data, ...rest, corpus: { files: corpus.files, bytes: corpus.bytes, hash } };
      atomicWriteFileSync(files.config, new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
      saveTokenizer(files.tokenizer, tokenizer);
    }
  } catch (e) {
    disposeOptimizerState(optState);
    dispose(model);
    throw e;
  }

  const log = (entry: Record<string, unknown>): void => appendFileSync(files.metrics, JSON.stringify(entry) + '\n');
  out(`nabla train lm: ${c.mixer} × ${c.layers} layers, d=${c.dModel}, ${parameterCount(model).toLocaleString('en-US')} parameters; ${c.tokenizer} tokenizer (${tokenizer.vocabSize} tokens)`);
  out(`data: ${c.data} (${corpus.bytes.toLocaleString('en-US')} bytes; ${split.train.length.toLocaleString('en-US')} training tokens, ${split.heldOut.length.toLocaleString('en-US')} held out); batch ${c.batch} × ${c.context} tokens, lr ${c.lr}, seed ${c.seed}`);
  out(`run: ${dir}${start > 0 ? ` (resumed at step ${start})` : ''}`);

  const reporter = createReporter({ total: c.steps, start, every: c.logEvery, out, tty: o.plain ? false : undefined });
  const sample = (step: number): void => {
    const g = generateText(model, tokenizer, c.prompt, { maxTokens: c.sampleTokens, temperature: 0.8, topK: 0, seed: c.seed });
    const text = (c.prompt + g.text).replace(/\s+/g, ' ');
    reporter.line(`sample @ step ${step}: ${JSON.stringify(text)}`);
    log({ type: 'sample', step, text: c.prompt + g.text });
  };
  let lastEval: TrainLmResult['lastEval'];
  /** `step`: steps completed so far (the same count in every log line) */
  const evaluate = (step: number): Record<string, number> => {
    const r = evaluateLM(model, tokenizer, split.heldOut, { context: c.context, maxTokens: c.evalTokens });
    lastEval = { loss: r.loss, bitsPerByte: r.bitsPerByte, perplexity: r.perplexity };
    reporter.line(`eval @ step ${step}: held-out loss ${fmt(r.loss)}, ${fmt(r.bitsPerByte, 3)} bits per byte, perplexity ${fmt(r.perplexity, 2)}`);
    log({ type: 'eval', step, loss: r.loss, bitsPerByte: r.bitsPerByte, perplexity: r.perplexity, tokens: r.tokens });
    return { loss: r.loss, bitsPerByte: r.bitsPerByte };
  };
  const save = (step: number): string => saveTrainingState(files.checkpoints, { step, params: params(), optState, config: identity, extra: { tokensSeen: step * c.batch * c.context } }, { keep: 2 });

  let interrupted = false;
  let budgetHit = false;
  const onSigint = (): void => {
    if (interrupted) {
      reporter.stop();
      out('second Ctrl-C: quitting without saving');
      process.exit(130);
    }
    interrupted = true;
    reporter.line('Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to quit without saving)');
  };
  if (o.handleSignals !== false) process.on('SIGINT', onSigint);
  if (start === 0 && c.sampleEvery > 0) sample(0);
  const t0 = performance.now();
  const budgetClock = o.budgetClock ?? (() => performance.now());
  const b0 = budgetClock();
  let result;
  try {
    result = await trainLoop({
      steps: Math.min(c.steps, o.until ?? Infinity),
      startStep: start,
      tokensPerStep: c.batch * c.context,
      logEvery: c.logEvery,
      evalEvery: c.evalEvery,
      evaluate: (i) => evaluate(i + 1),
      step: (i) => {
        const r = trainStep({
          params: params(),
          optimizer,
          optState,
          loss: () => {
            const { x, y } = batchAt(split.train, i, c.batch, c.context, c.seed);
            return lmLoss(model, x, y);
          },
        });
        optState = r.optState;
        return { loss: r.loss, skipped: r.skipped, lr: r.info?.lr[0] };
      },
      onProgress: (p) => reporter.update(p),
      onLog: (e) => log({ type: 'train', step: e.step + 1, loss: e.loss, lr: e.extra.lr, tokensPerSec: Math.round(e.progress.tokensPerSec), elapsedSec: +e.progress.elapsedSec.toFixed(3) }),
      onStepEnd: (i) => {
        const done = i + 1;
        if (c.sampleEvery > 0 && done % c.sampleEvery === 0) sample(done);
        if (done % c.saveEvery === 0 && done < Math.min(c.steps, o.until ?? Infinity)) save(done);
      },
      shouldStop: () => {
        if (o.time !== undefined && (budgetClock() - b0) / 1000 >= o.time) budgetHit = true;
        return interrupted || budgetHit;
      },
    });
    const done = result.lastStep + 1;
    reporter.stop();
    if (result.stopped && result.stopped.reason !== 'requested') throw new Error(result.stopped.message);
    if (done > start) {
      if (budgetHit && done < c.steps) evaluate(done);
      save(done);
    }
    const where = `${dir}`;
    const nabla = selfCommand();
    if (interrupted) {
      out(`interrupted after step ${done}; checkpoint saved in ${files.checkpoints}`);
      out(`continue:  ${nabla} train lm --resume ${where}`);
    } else if (done < c.steps) {
      out(`paused after step ${done} of ${c.steps}${budgetHit ? ` (the --time budget of ${o.time} s)` : ''}; checkpoint in ${files.checkpoints}`);
      out(`continue:  ${nabla} train lm --resume ${where}`);
    } else {
      out(`done: ${done} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s${budgetHit ? ` (the --time budget of ${o.time} s)` : ''}; checkpoint in ${files.checkpoints}, metrics in ${files.metrics}`);
      out(`continue:  ${nabla} train lm --resume ${where} --steps ${c.steps * 2}`);
    }
    out(`generate:  ${nabla} generate ${where} --prompt ${JSON.stringify(c.prompt)}`);
    out(`evaluate:  ${nabla} eval ${where}`);
    if (interrupted) process.exitCode = 130;
    return { dir, step: done, losses: result.losses, lastEval, interrupted };
  } finally {
    reporter.stop();
    if (o.handleSignals !== false) process.off('SIGINT', onSigint);
    disposeOptimizerState(optState);
    dispose(model);
  }
}

const STRING_KEYS = new Set(['data', 'tokenizer', 'mixer', 'norm', 'prompt']);

/** Turn the flags commander parsed (strings) into typed settings; only the flags given. */
export function flagsToSettings(opts: Record<string, unknown>): Partial<LmRunConfig> {
  const s: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    const v = opts[k];
    if (v === undefined) continue;
    if (STRING_KEYS.has(k)) s[k] = v;
    else if (k === 'mixerOptions') {
      try {
        s[k] = JSON.parse(String(v));
      } catch {
        throw new Error(`--mixer-options must be a JSON object such as '{"heads": 2}', got '${String(v)}'`);
      }
    } else {
      const n = Number(v);
      if (String(v).trim() === '' || Number.isNaN(n)) throw new Error(`${flagOf(k)} must be a number, got '${String(v)}'`);
      s[k] = n;
    }
  }
  return s as Partial<LmRunConfig>;
}

const FLAG_HELP: Record<keyof LmRunConfig, string> = {
  data: 'a text file or a directory of text files',
  tokenizer: 'bytes, chars or bpe',
  vocabSize: 'vocabulary size of the BPE tokenizer',
  mixer: 'token mixer, or a comma-separated list cycled over the layers (e.g. mamba,mamba,softmax)',
  mixerOptions: "JSON options for every mixer, e.g. '{\"heads\": 2}'",
  dModel: 'model width',
  layers: 'number of blocks',
  mlpRatio: 'MLP width as a multiple of the model width',
  norm: 'layernorm or rmsnorm',
  context: 'tokens per training window',
  batch: 'windows per step',
  steps: 'optimiser steps in all',
  lr: 'peak learning rate (AdamW, warmup then cosine to lr/10)',
  warmup: 'warmup steps',
  weightDecay: 'AdamW weight decay',
  clip: 'global gradient-norm clip',
  seed: 'seed of initialisation and batches',
  heldOut: 'fraction of the corpus held out for evaluation',
  evalEvery: 'evaluate every n steps',
  evalTokens: 'held-out tokens per evaluation',
  logEvery: 'log the loss every n steps',
  saveEvery: 'save a checkpoint every n steps',
  sampleEvery: 'print a sample every n steps (0: never)',
  sampleTokens: 'tokens per sample',
  prompt: 'prompt of the samples',
};

export function registerTrainLm(program: Command, out: (line: string) => void): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train a model');
  const cmd = train
    .command('lm')
    .description('train a language model with any token mixer on a text corpus (defaults: the npm start job, about two minutes on CPU)')
    .option('--config <file>', 'JSON file of settings (the flags below override it)')
    .option('--out <dir>', 'run directory to create (default: runs/lm-<mixer>-<time>)')
    .option('--resume <dir>', 'continue the run in <dir> exactly where its last checkpoint left off')
    .option('--time <seconds>', 'stop after this much training time (a CPU budget) and save')
    .option('--until <step>', 'stop and save once this many steps are done (the schedule still spans --steps)')
    .option('--plain', 'plain progress lines instead of a progress bar');
  for (const k of CONFIG_KEYS) cmd.option(`${flagOf(k)} <${k === 'data' ? 'path' : STRING_KEYS.has(k) ? 'text' : k === 'mixerOptions' ? 'json' : 'n'}>`, `${FLAG_HELP[k]} (default: ${k === 'data' ? 'the shipped corpus, data/sotu' : JSON.stringify(DEFAULTS[k])})`);
  cmd.addHelpText(
    'after',
    `
Examples:
  nabla train lm                                             the default: a small transformer on data/sotu
  nabla train lm --mixer mamba --steps 1000 --out runs/mamba
  nabla train lm --mixer mamba,mamba,softmax --layers 6 --data my.txt --tokenizer bpe --vocab-size 1024
  nabla train lm --config lm.json --lr 1e-3                  flags override the config file
  nabla train lm --resume runs/mamba --steps 2000            continue (exactly, from the last checkpoint)

Mixers: ${mixerKinds().filter((k) => !k.startsWith('bi')).join(', ')}
Ctrl-C stops after the current step and saves a checkpoint; --resume continues from it.`,
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    await runTrainLm(
      {
        flags: flagsToSettings(opts),
        config: opts.config as string | undefined,
        out: opts.out as string | undefined,
        resume: opts.resume as string | undefined,
        time: opts.time === undefined ? undefined : Number(opts.time),
        until: opts.until === undefined ? undefined : Number(opts.until),
        plain: Boolean(opts.plain),
      },
      out,
    );
  });
}
