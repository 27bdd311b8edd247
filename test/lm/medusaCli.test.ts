/**
 * `nabla train medusa` and `nabla generate --medusa`, end to end in a temp
 * directory: train an LM a few steps → fit heads a few steps → greedy Medusa
 * decoding gives exactly `nabla generate -t 0`'s text (several prompts and
 * trees) and prints the report lines; Medusa-2 saves its own base; bad input
 * (no heads, heads of another model, unsupported flags) is one clear line
 * and a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TINY, cli, workspace, writeCorpus } from './helpers.js';
import { runGenerate } from '../../src/cli/generateLm.js';
import { runGenerateMedusa, type MedusaCliOptions } from '../../src/cli/medusaGenerate.js';
import { loadSafetensors } from '../../src/io/index.js';
import { memory } from '../../src/core/memory.js';

const ws = workspace('nabla-medusa-cli-');
afterAll(() => ws.cleanup());
const corpus = ws.path('corpus.txt');
const run = ws.path('run');
const other = ws.path('other');
const lm = (out: string, ...more: string[]): string[] => ['train', 'lm', '--data', corpus, ...TINY, '--steps', '12', '--lr', '0.02', '--sample-every', '0', '--out', out, ...more];
const plainOpts = { maxTokens: 16, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, stop: [] as string[], seed: 0 };
const medusaOpts = (tree: string): MedusaCliOptions => ({ medusa: true, tree, epsilon: 0.09, delta: 0.3, compare: true });

beforeAll(async () => {
  writeCorpus(corpus);
  expect((await cli(...lm(run))).error).toBeNull();
  expect((await cli(...lm(other, '--d-model', '8'))).error).toBeNull();
}, 60_000);

describe('nabla train medusa → generate --medusa', () => {
  it('fits heads (Medusa-1), saves them with the base model named, and decodes greedily to the plain text', { timeout: 60_000 }, async () => {
    const t = await cli('train', 'medusa', run, '--heads', '3', '--steps', '8', '--lr', '0.01');
    expect(t.error).toBeNull();
    const log = t.out.join('\n');
    expect(log).toMatch(/fitting 3 Medusa heads \(Medusa-1: base frozen\)/);
    expect(log).toMatch(/step 8\/8: loss [\d.]+, per head [\d.]+ [\d.]+ [\d.]+ nats/);
    expect(log).toMatch(/heads saved to .*medusa\/heads\.safetensors/);
    const st = loadSafetensors(`${run}/medusa/heads.safetensors`);
    expect(st.metadata).toMatchObject({ format: 'nabla-medusa', heads: '3', mode: 'medusa1', mixer: 'softmax', dModel: '16', layers: '1' });
    expect(Object.keys(st.tensors).filter((n) => n.endsWith('proj.weight'))).toHaveLength(3);
    for (const x of Object.values(st.tensors)) x.dispose();
    expect(existsSync(`${run}/medusa/base.safetensors`)).toBe(false); // Medusa-1 leaves the base alone

    const live = memory().liveTensors;
    for (const prompt of ['the ', 'peace and ', 'we are']) {
      const plain = runGenerate(run, { ...plainOpts, prompt }, () => {}, () => {}).text;
      for (const tree of ['default', 'chain', 'cartesian:2x2x1', '[[0],[1],[0,0],[0,1]]']) {
        const pieces: string[] = [];
        const info: string[] = [];
        const r = runGenerateMedusa(run, { ...plainOpts, prompt, ...medusaOpts(tree) }, false, (s) => pieces.push(s), (l) => info.push(l));
        expect(r.text).toBe(plain); // token for token the zoo LM's own greedy decoding
        expect(pieces.join('')).toBe(`${prompt}${plain}\n`); // streamed
        expect(r.sameAsPlain).toBe(true);
        expect(r.meanAccepted).toBeGreaterThanOrEqual(1);
        expect(info[0]).toMatch(/^medusa: 16 tokens in [\d.]+ s \([\d.]+ tokens\/s\), \d+ base-model calls, mean accepted length [\d.]+ tokens per call; 3 heads \(Medusa-1\), tree .* greedy acceptance$/);
        expect(info[1]).toMatch(/^plain: {2}16 tokens in [\d.]+ s \([\d.]+ tokens\/s\), 1 token per call$/);
        expect(info[2]).toMatch(/^speedup: [\d.]+x tokens\/s over plain decoding; same text as plain greedy decoding: yes$/);
      }
    }
    expect(memory().liveTensors).toBe(live);

    // through the command line (report lines go to `out`; -t not given: greedy even though plain generate defaults to 0.8)
    const g = await cli('generate', run, '--medusa', '-n', '10', '--tree', 'chain');
    expect(g.error).toBeNull();
    expect(g.out.join('\n')).toMatch(/mean accepted length [\d.]+ tokens per call; 3 heads \(Medusa-1\), tree chain of 3 \(4 nodes with the root\), greedy acceptance/);
    expect(g.out.join('\n')).toMatch(/same text as plain greedy decoding: yes/);
    // typical acceptance at a temperature: seeded, so the same text twice
    const a = runGenerateMedusa(run, { ...plainOpts, temperature: 0.8, prompt: 'the ', ...medusaOpts('default'), acceptance: 'typical' }, true, () => {}, () => {});
    const b = runGenerateMedusa(run, { ...plainOpts, temperature: 0.8, prompt: 'the ', ...medusaOpts('default'), acceptance: 'typical', compare: false }, true, () => {}, () => {});
    expect(a.text).toBe(b.text);
    expect(b.plain).toBeUndefined();
  });

  it('Medusa-2 trains the base jointly and keeps it next to the heads, not in the run', { timeout: 60_000 }, async () => {
    const copy = ws.path('joint');
    cpSync(run, copy, { recursive: true });
    const before = readdirSync(`${copy}/checkpoints`).sort();
    const t = await cli('train', 'medusa', copy, '--mode', 'medusa2', '--heads', '2', '--steps', '4');
    expect(t.error).toBeNull();
    expect(t.out.join('\n')).toMatch(/Medusa-2: heads and base jointly.*\n[^]*jointly trained base to .*base\.safetensors/);
    expect(readdirSync(`${copy}/checkpoints`).sort()).toEqual(before);
    const r = runGenerateMedusa(copy, { ...plainOpts, prompt: 'the ', ...medusaOpts('default') }, false, () => {}, () => {});
    expect(r.sameAsPlain).toBe(true); // the comparison decodes the joint base too
    const original = runGenerate(copy, { ...plainOpts, prompt: 'the ' }, () => {}, () => {}).text;
    expect(typeof original).toBe('string'); // the run's own model still loads
  });
});

describe('bad input', () => {
  const oneLine = (e: string | null): string => {
    expect(e).not.toBeNull();
    expect(e!.split('\n')).toHaveLength(1);
    return e!;
  };

  it('a run without heads, heads of another model, bad trees and flags', { timeout: 60_000 }, async () => {
    expect(oneLine((await cli('generate', other, '--medusa')).error)).toMatch(/has no Medusa heads .*train them first: nabla train medusa/);
    const stray = ws.path('stray');
    cpSync(other, stray, { recursive: true });
    cpSync(`${run}/medusa`, `${stray}/medusa`, { recursive: true });
    expect(oneLine((await cli('generate', stray, '--medusa')).error)).toMatch(/trained on another model \(mixer softmax, d-model 16, .*\) than this run's \(mixer softmax, d-model 8, .*train them again/);
    expect(oneLine((await cli('generate', run, '--medusa', '--tree', 'wide')).error)).toMatch(/--tree must be default, chain, cartesian/);
    expect(oneLine((await cli('generate', run, '--medusa', '--top-p', '0.9')).error)).toMatch(/--medusa does not combine with --top-p/);
    expect(oneLine((await cli('generate', run, '--medusa', '-t', '0.5', '--acceptance', 'greedy')).error)).toMatch(/greedy acceptance decodes at temperature 0/);
    expect(oneLine((await cli('train', 'medusa', ws.path('none'))).error)).toMatch(/does not exist/);
    expect(oneLine((await cli('train', 'medusa', run, '--heads', '20')).error)).toMatch(/--context 16 is too short for 20 heads/);
  });

  it('exits non-zero from a real process', { timeout: 30_000 }, () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'generate', other, '--medusa'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('nabla:'))).toEqual([expect.stringMatching(/^nabla: .* has no Medusa heads/)]);
  });
});
