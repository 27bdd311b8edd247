/**
 * End to end, in a temp directory, for several mixers: train a few steps →
 * checkpoint → resume → generate → eval; and --resume reproduces the
 * uninterrupted run's losses bit for bit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { TINY, cli, readMetrics, workspace, writeCorpus } from './helpers.js';
import { runGenerate } from '../../src/cli/generateLm.js';
import { runEval } from '../../src/cli/evalLm.js';
import { listCheckpoints } from '../../src/train/index.js';

const ws = workspace('nabla-lm-cli-');
afterAll(() => ws.cleanup());
const corpus = ws.path('corpus.txt');
writeCorpus(corpus);

const trainLosses = (run: string): [number, number][] => readMetrics(run).filter((m) => m.type === 'train').map((m) => [m.step, m.loss!]);

describe.each(['softmax', 'mamba', 'lstm', 'transformer-vq'])('nabla train lm --mixer %s', (mixer) => {
  const straight = ws.path(`${mixer}-straight`);
  const paused = ws.path(`${mixer}-paused`);
  const common = ['train', 'lm', '--data', corpus, '--mixer', mixer, ...TINY, '--steps', '8', '--save-every', '2', '--eval-every', '4', '--sample-every', '4', '--lr', '0.01'];

  it('trains, pauses, resumes exactly, then generates and evaluates', { timeout: 60_000 }, async () => {
    const a = await cli(...common, '--out', straight);
    expect(a.error).toBeNull();
    expect(a.out.join('\n')).toMatch(/done: 8 steps/);
    const b = await cli(...common, '--out', paused, '--until', '4');
    expect(b.error).toBeNull();
    expect(b.out.join('\n')).toMatch(/paused after step 4 of 8/);
    expect(listCheckpoints(`${paused}/checkpoints`)[0]!.step).toBe(4);
    const r = await cli('train', 'lm', '--resume', paused, '--plain');
    expect(r.error).toBeNull();
    expect(r.out.join('\n')).toMatch(/resumed at step 4/);

    // the loss of every step, bit for bit, and the held-out evaluations
    const s = trainLosses(straight);
    expect(s.map(([step]) => step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(trainLosses(paused)).toEqual(s);
    const evals = (run: string): number[] => readMetrics(run).filter((m) => m.type === 'eval').map((m) => m.bitsPerByte!);
    expect(evals(paused)).toEqual(evals(straight));
    expect(s[7]![1]).toBeLessThan(s[0]![1]);

    // generation: seeded, streamed pieces add up to the text, stops at --max-tokens
    const pieces: string[] = [];
    const info: string[] = [];
    const opts = { prompt: 'the ', maxTokens: 12, temperature: 0.9, topK: 0, topP: 1, repetitionPenalty: 1, stop: [], seed: 3 };
    const g = runGenerate(paused, opts, (p) => pieces.push(p), (l) => info.push(l));
    expect(pieces.join('')).toBe(`the ${g.text}\n`);
    expect([...g.text]).toHaveLength(12); // chars tokenizer: one token per character
    expect(runGenerate(straight, opts, () => {}, () => {}).text).toBe(g.text); // same weights, same seed
    expect(info[0]).toMatch(/^12 tokens in [\d.]+ s .*reached --max-tokens; model of step 8/);

    // eval: bits per byte equals loss / ln 2 for a one-byte-per-character corpus
    const lines: string[] = [];
    const e = runEval(paused, { split: 'held-out' }, (l) => lines.push(l));
    expect(e.bitsPerByte).toBeCloseTo(e.loss / Math.LN2, 10);
    expect(e.perplexity).toBeCloseTo(Math.exp(e.loss), 10);
    expect(lines[1]).toMatch(/bits per byte, loss [\d.]+ nats per token, perplexity/);
    expect(existsSync(`${paused}/tokenizer.json`)).toBe(true);
  });
});

describe('nabla train lm settings', () => {
  it('a hybrid stack and a config file overridden by flags', { timeout: 30_000 }, async () => {
    const cfg = ws.path('hybrid.json');
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(cfg, JSON.stringify({ mixer: 'mamba,softmax', layers: 2, steps: 50, tokenizer: 'bytes' }));
    const run = ws.path('hybrid');
    const r = await cli('train', 'lm', '--config', cfg, '--steps', '2', '--data', corpus, '--out', run, '--d-model', '16', '--context', '16', '--batch', '2', '--sample-every', '0', '--eval-tokens', '32', '--plain');
    expect(r.error).toBeNull();
    expect(r.out[0]).toMatch(/^nabla train lm: mamba,softmax × 2 layers, d=16, .* bytes tokenizer \(256 tokens\)/);
    const saved = JSON.parse(readFileSync(`${run}/config.json`, 'utf8'));
    expect(saved.steps).toBe(2); // the flag won over the file
    expect(saved.mixer).toBe('mamba,softmax');
    expect(r.out.at(-3)).toMatch(/^continue: {2}nabla train lm --resume .* --steps 4$/);
  });
});

describe('progress', () => {
  it('without a terminal, plain lines every `every` steps and at the last one', async () => {
    const { createReporter } = await import('../../src/cli/progress.js');
    const lines: string[] = [];
    const r = createReporter({ total: 12, start: 0, every: 5, out: (s) => lines.push(s), tty: false });
    for (let i = 0; i < 12; i++) r.update({ step: i, totalSteps: 12, loss: 3 - i / 10, skipped: false, stepsPerSec: 2, tokensPerSec: 2048, elapsedSec: i / 2, etaSec: (11 - i) / 2 });
    r.line('eval @ step 12');
    r.stop();
    expect(lines).toEqual([
      'step  5/12  loss 2.6000  2.0k tok/s  2.00 it/s  eta 4s',
      'step 10/12  loss 2.1000  2.0k tok/s  2.00 it/s  eta 1s',
      'step 12/12  loss 1.9000  2.0k tok/s  2.00 it/s  eta 0s',
      'eval @ step 12',
    ]);
  });
});
