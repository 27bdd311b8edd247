/**
 * Bad input to `nabla train lm | generate | eval`: each gets one clear line
 * naming the problem and the fix, and nothing on disk changes. (Exit codes
 * come from the entry point; test/lm/sigint.test.ts checks one in a real
 * process.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY, cli, workspace, writeCorpus } from './helpers.js';

const ws = workspace('nabla-lm-errors-');
afterAll(() => ws.cleanup());
const corpus = ws.path('corpus.txt');
const runA = ws.path('runA');
const runB = ws.path('runB');
const base = (out: string): string[] => ['train', 'lm', '--data', corpus, ...TINY, '--steps', '2', '--sample-every', '0', '--out', out];

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[p] = `${st.size}:${st.mtimeMs}:${readFileSync(p).toString('base64').slice(0, 64)}`;
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  writeCorpus(corpus);
  expect((await cli(...base(runA), '--mixer', 'softmax')).error).toBeNull();
  expect((await cli(...base(runB), '--mixer', 'lstm')).error).toBeNull();
}, 60_000);

const oneLine = (e: string | null): string => {
  expect(e).not.toBeNull();
  expect(e).not.toContain('\n');
  return e!;
};

describe('bad input: one clear line, nothing written', () => {
  it('corpus problems: missing, empty, binary, not UTF-8', async () => {
    const before = snapshot(ws.dir);
    writeFileSync(ws.path('empty.txt'), '  \n');
    writeFileSync(ws.path('binary.bin'), Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08]));
    writeFileSync(ws.path('latin1.txt'), Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f]));
    const cases: [string, RegExp][] = [
      [ws.path('nope.txt'), /^corpus .*nope\.txt does not exist; give a text file or a directory of text files$/],
      [ws.path('empty.txt'), /^corpus .*empty\.txt is empty; give a file with some text in it$/],
      [ws.path('binary.bin'), /binary\.bin looks binary \(a NUL byte at offset 4\); give a UTF-8 text file$/],
      [ws.path('latin1.txt'), /latin1\.txt is not valid UTF-8 text/],
    ];
    for (const [data, re] of cases) {
      const r = await cli('train', 'lm', ...TINY, '--data', data, '--out', ws.path('never'));
      expect(oneLine(r.error), data).toMatch(re);
    }
    expect(existsSync(ws.path('never'))).toBe(false);
    const after = snapshot(ws.dir);
    for (const k of Object.keys(before)) expect(after[k], k).toBe(before[k]);
  });

  it('unknown mixer, bad flag values, malformed config files', async () => {
    const out = ws.path('never2');
    expect(oneLine((await cli(...base(out), '--mixer', 'transformerz')).error)).toMatch(/^unknown mixer 'transformerz'; choose from .*softmax/);
    expect(oneLine((await cli(...base(out), '--mixer', 'mamba,nope')).error)).toMatch(/^unknown mixer 'nope'/);
    expect(oneLine((await cli(...base(out), '--mixer', 'bilstm')).error)).toMatch(/mixer 'bilstm' is not causal/);
    expect(oneLine((await cli(...base(out), '--layers', 'two')).error)).toMatch(/^--layers must be a number, got 'two'$/);
    expect(oneLine((await cli(...base(out), '--d-model', '0')).error)).toMatch(/^flags: --d-model must be a positive integer, got 0$/);
    expect(oneLine((await cli(...base(out), '--tokenizer', 'words')).error)).toMatch(/--tokenizer must be one of bytes, chars, bpe/);
    writeFileSync(ws.path('bad.json'), '{ "steps": 10,, }');
    expect(oneLine((await cli(...base(out), '--config', ws.path('bad.json'))).error)).toMatch(/^config file .*bad\.json is not valid JSON \(.*\); fix it or drop --config$/);
    writeFileSync(ws.path('typo.json'), '{ "stpes": 10 }');
    expect(oneLine((await cli(...base(out), '--config', ws.path('typo.json'))).error)).toMatch(/unknown setting 'stpes'; known settings: data, tokenizer/);
    writeFileSync(ws.path('type.json'), '{ "layers": "two" }');
    expect(oneLine((await cli(...base(out), '--config', ws.path('type.json'))).error)).toMatch(/'layers' must be a positive integer, got "two"/);
    writeFileSync(ws.path('array.json'), '[1, 2]');
    expect(oneLine((await cli(...base(out), '--config', ws.path('array.json'))).error)).toMatch(/must hold a JSON object of settings/);
    expect(oneLine((await cli(...base(out), '--config', ws.path('missing.json'))).error)).toMatch(/config file .*missing\.json does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('an existing run is never overwritten, and a resume cannot change the model', async () => {
    const before = snapshot(runA);
    expect(oneLine((await cli(...base(runA))).error)).toMatch(/runA already exists and is not empty; continue that run with --resume .*runA, or choose another --out$/);
    expect(oneLine((await cli('train', 'lm', '--resume', runA, '--mixer', 'lstm')).error)).toMatch(/^cannot change 'mixer' when resuming \(the run was trained with "softmax"\)/);
    expect(oneLine((await cli('train', 'lm', '--resume', runA)).error)).toMatch(/already finished 2 of 2 steps; give a larger --steps/);
    expect(oneLine((await cli('train', 'lm', '--resume', ws.path('nowhere'))).error)).toMatch(/run directory .*nowhere does not exist/);
    expect(snapshot(runA)).toEqual(before);
  });

  it('a checkpoint of another architecture is refused by generate and eval', async () => {
    const before = snapshot(runA);
    const e = oneLine((await cli('eval', runA, '--checkpoint', join(runB, 'checkpoints'))).error);
    expect(e).toMatch(/^the checkpoint .*runB.checkpoints.ckpt-0+2 does not fit the model of .*runA.config\.json \(.*\); was it trained with another --mixer, --d-model, --layers or tokenizer\?$/);
    // the same when the files are swapped inside the run directory
    const mixed = ws.path('mixed');
    mkdirSync(mixed);
    cpSync(join(runA, 'config.json'), join(mixed, 'config.json'));
    cpSync(join(runA, 'tokenizer.json'), join(mixed, 'tokenizer.json'));
    cpSync(join(runB, 'checkpoints'), join(mixed, 'checkpoints'), { recursive: true });
    expect(oneLine((await cli('generate', mixed, '-n', '3')).error)).toMatch(/does not fit the model of/);
    expect(oneLine((await cli('eval', ws.path('corpus.txt'))).error)).toMatch(/is not a run directory \(no config\.json\)/);
    expect(oneLine((await cli('generate', runA, '--top-p', '0')).error)).toMatch(/--top-p must be in \(0, 1\], got '0'/);
    expect(oneLine((await cli('generate', runA, '-p', 'ZZZ')).error)).toMatch(/character 'Z' \(U\+005A\) is not among the/);
    expect(snapshot(runA)).toEqual(before);
  });
});
