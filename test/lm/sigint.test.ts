/**
 * In a real process: Ctrl-C (SIGINT) during `nabla train lm` saves a
 * checkpoint that loads and resumes, and exits with 130; a bad invocation
 * prints one `nabla: …` line on stderr and exits non-zero.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { TINY, cli, readMetrics, workspace, writeCorpus } from './helpers.js';
import { loadRun } from '../../src/cli/lmConfig.js';
import { dispose } from '../../src/nn/module.js';

const ws = workspace('nabla-lm-sigint-');
afterAll(() => ws.cleanup());
const corpus = ws.path('corpus.txt');
writeCorpus(corpus);
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const node = (args: string[]): string[] => ['--import', 'tsx', MAIN, ...args];

describe('nabla train lm in a process', () => {
  it('SIGINT during training leaves a loadable checkpoint and exits 130', { timeout: 60_000 }, async () => {
    const run = ws.path('run');
    const child = spawn(process.execPath, node(['train', 'lm', '--data', corpus, ...TINY, '--steps', '100000', '--sample-every', '0', '--eval-every', '100000', '--out', run]), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // interrupt once a few steps have run
        if (!sent && /step\s+3\/100000/.test(stdout)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(sent, stderr).toBe(true);
    expect(code, stdout + stderr).toBe(130);
    const m = /interrupted after step (\d+); checkpoint saved in/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(3);
    expect(stdout).toMatch(/continue: {2}nabla train lm --resume /);
    const loaded = loadRun(run);
    expect(loaded.step).toBe(step);
    dispose(loaded.model);
    // and it resumes from there
    const r = await cli('train', 'lm', '--resume', run, '--steps', String(step + 2), '--plain');
    expect(r.error).toBeNull();
    expect(r.out.join('\n')).toMatch(new RegExp(`resumed at step ${step}`));
    expect(readMetrics(run).filter((l) => l.type === 'train').map((l) => l.step).slice(-3)).toEqual([step, step + 1, step + 2]);
  });

  it('a bad invocation prints one line on stderr and exits non-zero', { timeout: 30_000 }, () => {
    const r = spawnSync(process.execPath, node(['train', 'lm', '--mixer', 'nope', '--out', ws.path('never')]), { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nabla: unknown mixer 'nope'; choose from /);
  });
});
