import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { key } from '../../src/core/random.js';
import { buildProgram } from '../../src/cli/main.js';
import { registerTrainWords } from '../../src/cli/words.js';
import { loadWord2vecText, syntheticCorpus } from '../../src/zoo/text/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nabla-words-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const syn = syntheticCorpus({ tokens: 20_000, key: key(2) });
const corpusPath = join(dir, 'corpus.txt');
writeFileSync(corpusPath, syn.text);

/** A program with just `train words`, whose parse errors throw instead of exiting. */
async function run(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeErr: (s) => lines.push(s), writeOut: (s) => lines.push(s) });
  registerTrainWords(program, (l) => lines.push(l));
  await program.parseAsync(['node', 'nabla', 'train', 'words', ...args]);
  return lines;
}

describe('nabla train words', () => {
  it('is registered under `train` in the nabla program', () => {
    const train = buildProgram(() => {}).commands.find((c) => c.name() === 'train');
    expect(train?.commands.map((c) => c.name())).toContain('words');
  });

  it('trains svd vectors from a file into a run directory and prints neighbours', async () => {
    const out = join(dir, 'run-svd');
    const lines = await run(['--corpus', corpusPath, '--method', 'svd', '--dim', '16', '--min-count', '1', '--out', out, '--show', 'g03a,nope']);
    const vectors = loadWord2vecText(join(out, 'vectors.txt'));
    expect(vectors.dim).toBe(16);
    expect(vectors.words.length).toBe(128);
    const vocabLines = readFileSync(join(out, 'vocab.txt'), 'utf8').trim().split('\n');
    expect(vocabLines.map((l) => l.split(' ')[0])).toEqual(vectors.words);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ method: 'svd', dim: 16, corpus: corpusPath, stats: { vocabulary: 128 } });
    // The neighbours printed for g03a are its planted synonyms.
    const g03 = lines.find((l) => l.startsWith('g03a: '))!;
    expect(g03.split(', ').slice(0, 2).map((s) => s.replace('g03a: ', '').split(' ')[0]).sort()).toEqual(['g03b', 'g03c']);
    expect(lines).toContain('nope: not in the vocabulary (128 words)');
    expect(lines.at(-1)).toBe(`saved ${join(out, 'vectors.txt')}`);
  });

  it('trains sgns on a generated corpus and reports words/s and the planted-group precision', async () => {
    const out = join(dir, 'run-sgns');
    const lines = await run(['--synthetic', '20000', '--method', 'sgns', '--dim', '10', '--epochs', '2', '--min-count', '1', '--sample', '0', '--out', out]);
    expect(lines.some((l) => /^sgns: [\d.]+ s, [\d,]+ words\/s \(WebAssembly SIMD loop, 1 thread\)$/.test(l))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.stats.wordsPerSecond).toBeGreaterThan(0);
    expect(config.kernel).toBe('wasm');
    expect(config.groupPrecision).toBeGreaterThan(0.3);
    expect(existsSync(join(out, 'corpus.txt'))).toBe(true);
  });

  it('bad arguments are refused with the flag named', async () => {
    await expect(run(['--corpus', corpusPath, '--method', 'cbow'])).rejects.toThrow(/--method <m>' argument 'cbow' is invalid/);
    await expect(run(['--corpus', corpusPath, '--negatives', '0'])).rejects.toThrow(/--negatives must be a number ≥ 1, got '0'/);
    await expect(run(['--corpus', corpusPath, '--dim', '0'])).rejects.toThrow(/--dim must be an integer ≥ 1, got '0'/);
    await expect(run([])).rejects.toThrow(/give exactly one of --corpus <file> and --synthetic/);
    await expect(run(['--corpus', join(dir, 'missing.txt')])).rejects.toThrow(/cannot open corpus file ".*missing\.txt"/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n  \n');
    await expect(run(['--corpus', empty, '--out', join(dir, 'run-empty')])).rejects.toThrow(/the corpus \(file .*empty\.txt\) is empty/);
    expect(existsSync(join(dir, 'run-empty'))).toBe(false);
  });
});
