/**
 * `nabla train words`: word vectors from a text file (or a generated corpus
 * with planted synonyms), by SGNS or by PPMI + truncated SVD. Writes a run
 * directory with
 *   vectors.txt   the vectors in word2vec text format
 *   vocab.txt     "word count" per line, most frequent first (word2vec's -save-vocab)
 *   config.json   the options, the measured statistics (words/s, seconds) and, for
 *                 --synthetic, the recovery of the planted synonym groups
 * and prints the nearest neighbours of a few words. Needs no network.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { key } from '../core/random.js';
import { fileCorpus, textCorpus, type Corpus } from '../zoo/text/corpus.js';
import { groupPrecision } from '../zoo/text/evaluate.js';
import { trainWordVectors, type WordVectorOptions, type WordVectorResult } from '../zoo/text/pipeline.js';
import { syntheticCorpus } from '../zoo/text/synthetic.js';
import { saveWord2vecText } from '../zoo/text/word2vecFormat.js';
import type { WindowWeighting } from '../zoo/text/cooccurrence.js';

/** Options of {@link runTrainWords} (the CLI flags, parsed). */
export interface TrainWordsOptions {
  corpus?: string;
  /** Generate the planted-synonym corpus with about this many tokens instead of reading a file. */
  synthetic?: number;
  method: 'sgns' | 'svd';
  dim: number;
  window: number;
  minCount: number;
  maxVocab?: number;
  negatives?: number;
  alpha: number;
  sample?: number;
  epochs: number;
  lr: number;
  power: number;
  weighting: WindowWeighting;
  seed: number;
  out?: string;
  /** Words whose neighbours are printed (default: a few of mid frequency). */
  show?: string[];
  neighbours: number;
}

/** Result of {@link runTrainWords}. */
export interface TrainWordsResult {
  runDir: string;
  result: WordVectorResult;
  /** Neighbour precision of the planted groups (synthetic corpora only). */
  groupPrecision?: number;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Trains, saves the run directory and prints neighbours through `out`. */
export function runTrainWords(opts: TrainWordsOptions, out: (line: string) => void = console.log): TrainWordsResult {
  if ((opts.corpus === undefined) === (opts.synthetic === undefined)) {
    throw new Error('train words: give exactly one of --corpus <file> and --synthetic [tokens]');
  }
  let corpus: Corpus;
  let groups: string[][] | undefined;
  let generated: string | undefined;
  if (opts.corpus !== undefined) {
    corpus = fileCorpus(opts.corpus);
  } else {
    const syn = syntheticCorpus({ tokens: opts.synthetic, key: key(opts.seed) });
    corpus = textCorpus(syn.text);
    groups = syn.groups;
    generated = syn.text;
  }
  const runDir = resolve(opts.out ?? join('runs', `words-${opts.method}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const options: WordVectorOptions = {
    method: opts.method,
    dim: opts.dim,
    window: opts.window,
    minCount: opts.minCount,
    maxVocab: opts.maxVocab,
    negatives: opts.negatives,
    alpha: opts.alpha,
    sample: opts.sample,
    epochs: opts.epochs,
    learningRate: opts.lr,
    power: opts.power,
    weighting: opts.weighting,
    key: key(opts.seed),
    onProgress: (p) => {
      const pct = ((100 * p.wordsDone) / p.totalWords).toFixed(1);
      out(`epoch ${p.epoch + 1}/${opts.epochs}  ${pct.padStart(5)}%  lr ${p.learningRate.toFixed(5)}  ${Math.round(p.wordsPerSecond).toLocaleString('en-US')} words/s`);
    },
  };
  out(`training ${opts.method} vectors (d = ${opts.dim}) on ${corpus.description}`);
  const result = trainWordVectors(corpus, options);
  const { vectors, vocab, stats } = result;

  mkdirSync(runDir, { recursive: true });
  saveWord2vecText(join(runDir, 'vectors.txt'), vectors);
  writeAtomic(join(runDir, 'vocab.txt'), vocab.words.map((w, i) => `${w} ${vocab.counts[i]}\n`).join(''));
  if (generated !== undefined) writeAtomic(join(runDir, 'corpus.txt'), generated);
  let precision: number | undefined;
  if (groups) precision = groupPrecision(vectors, groups).precision;
  const { onProgress: _drop, key: _key, ...saved } = options;
  writeAtomic(
    join(runDir, 'config.json'),
    JSON.stringify({ ...saved, seed: opts.seed, corpus: opts.corpus ?? `synthetic (${opts.synthetic} tokens)`, kernel: result.kernel, stats, groupPrecision: precision }, null, 2) + '\n',
  );

  out(`vocabulary ${vocab.words.length} words, ${stats.tokens.toLocaleString('en-US')} tokens`);
  if (stats.wordsPerSecond) {
    const loop = result.kernel === 'wasm' ? 'WebAssembly SIMD' : 'TypeScript';
    out(`sgns: ${stats.trainSeconds.toFixed(2)} s, ${Math.round(stats.wordsPerSecond).toLocaleString('en-US')} words/s (${loop} loop, 1 thread)`);
  }
  if (stats.svdSeconds !== undefined) {
    out(`svd: co-occurrence ${stats.cooccurrenceSeconds.toFixed(2)} s (${stats.cooccurrenceNnz} non-zeros), PPMI + SVD ${stats.svdSeconds.toFixed(2)} s`);
  }
  if (precision !== undefined) out(`planted synonym groups: neighbour precision@${(groups![0].length - 1)} = ${precision.toFixed(3)}`);
  const show = opts.show ?? defaultShow(vocab.words);
  for (const w of show) {
    if (!vectors.index.has(w)) {
      out(`${w}: not in the vocabulary (${vocab.words.length} words)`);
      continue;
    }
    const list = vectors.nearest(w, opts.neighbours);
    out(`${w}: ${list.map((n) => `${n.word} (${n.score.toFixed(3)})`).join(', ')}`);
  }
  out(`saved ${join(runDir, 'vectors.txt')}`);
  return { runDir, result, groupPrecision: precision };
}

/** Five words spread over the frequency ranks (skipping the very top, usually function words). */
function defaultShow(words: readonly string[]): string[] {
  const n = words.length;
  const picks = [10, 30, 100, 300, 1000].filter((r) => r < n);
  return picks.length > 0 ? picks.map((r) => words[r]) : words.slice(0, Math.min(5, n));
}

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'.`);
    return n;
  };
}

function num(name: string, check: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be ${what}, got '${v}'.`);
    return n;
  };
}

/**
 * Adds `words` under the program's `train` command (created if it is not
 * there yet, so other `train` subcommands can share it).
 */
export function registerTrainWords(program: Command, out: (line: string) => void = console.log): Command {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train a model');
  return train
    .command('words')
    .description('word vectors by skip-gram with negative sampling (sgns) or PPMI + truncated SVD (svd)')
    .option('--corpus <file>', 'UTF-8 text file, one sentence per line')
    .option('--synthetic [tokens]', 'generate a corpus with planted synonym groups instead', int('--synthetic', 1))
    .addOption(new Option('--method <m>', 'sgns or svd').choices(['sgns', 'svd']).default('sgns'))
    .option('--dim <n>', 'vector width', int('--dim', 1), 100)
    .option('--window <n>', 'context window', int('--window', 1), 5)
    .option('--min-count <n>', 'drop rarer words', int('--min-count', 1), 5)
    .option('--max-vocab <n>', 'keep at most this many words', int('--max-vocab', 1))
    .option('--negatives <k>', 'sgns: negatives per pair (default 5); svd: shift log k (default 1)', num('--negatives', (n) => n >= 1, 'a number ≥ 1'))
    .option('--alpha <a>', 'noise / context distribution exponent', num('--alpha', (n) => n > 0 && n <= 1, 'in (0, 1]'), 0.75)
    .option('--sample <t>', 'subsampling threshold (default 1e-3 sgns, 0 svd)', num('--sample', (n) => n >= 0, 'a number ≥ 0'))
    .option('--epochs <n>', 'sgns: passes over the corpus', int('--epochs', 1), 5)
    .option('--lr <x>', 'sgns: initial learning rate', num('--lr', (n) => n > 0, 'a positive number'), 0.025)
    .option('--power <p>', 'svd: eigenvalue weighting, vectors = U·Σ^p', num('--power', (n) => n >= 0, 'a number ≥ 0'), 0.5)
    .addOption(new Option('--weighting <w>', 'svd: distance weighting').choices(['dynamic', 'harmonic', 'uniform']).default('dynamic'))
    .option('--seed <n>', 'PRNG seed', int('--seed', 0), 0)
    .option('--out <dir>', 'run directory (default runs/words-<method>-<time>)')
    .option('--show <words>', 'comma-separated words whose neighbours to print', (v: string) => v.split(',').map((w) => w.trim()).filter(Boolean))
    .option('--neighbours <n>', 'neighbours printed per word', int('--neighbours', 1), 5)
    .action((opts: Omit<TrainWordsOptions, 'synthetic'> & { synthetic?: number | true }) => {
      const synthetic = opts.synthetic === true ? 50_000 : opts.synthetic;
      runTrainWords({ ...opts, synthetic }, out);
    });
}
