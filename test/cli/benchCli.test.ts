/**
 * `nabla bench` (the harness's command line, without running a benchmark),
 * the --help text of the generative commands, and the process contract of a
 * bad command: one line on stderr, a non-zero exit code.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, benchCommand, packageRoot } from '../../src/cli/bench.js';
import { buildProgram } from '../../src/cli/main.js';

describe('nabla bench', () => {
  it('passes the flags on to bench/run.ts, run by tsx from the checkout', () => {
    expect(benchArgs({ quick: true, family: 'sgemm', peers: 'none', docs: false, threads: 2 })).toEqual(['--quick', '--peers', 'none', '--family', 'sgemm', '--no-docs', '--threads', '2']);
    expect(benchArgs({})).toEqual([]);
    const cmd = benchCommand({ quick: true });
    expect(cmd[0]).toBe(process.execPath);
    expect(cmd[1]).toBe(join(packageRoot(), 'node_modules', 'tsx', 'dist', 'cli.mjs'));
    expect(cmd.slice(2)).toEqual([join(packageRoot(), 'bench', 'run.ts'), '--quick']);
  });

  it('says what is missing when there is no harness (an installed package)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-bench-'));
    try {
      expect(() => benchCommand({}, dir)).toThrow(/^bench: no benchmark harness at .*bench\/run\.ts; it ships with the source checkout, not the npm package/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--help of the generative commands', () => {
  const help = (...args: string[]): string => {
    let text = '';
    const program = buildProgram(() => {});
    const capture = (c: ReturnType<typeof buildProgram>): void => {
      c.exitOverride().configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      c.commands.forEach(capture);
    };
    capture(program);
    try {
      program.parse(['node', 'nabla', ...args, '--help']);
    } catch {
      // exitOverride: --help throws after printing
    }
    return text;
  };

  it('lists the models, samplers and examples', () => {
    const d = help('train', 'diffusion');
    expect(d).toContain('Models: edm, ddpm, vp, vp-cosine, subvp, ve, ncsn, flow-matching, rectified-flow');
    expect(d).toContain('nabla train diffusion --out runs/edm --resume --steps 4000');
    expect(d).toMatch(/--config <file>/);
    expect(help('train', 'flow')).toContain('Models: realnvp, nice, glow, ffjord');
    expect(help('train', 'vq')).toContain('--codes <n>');
    expect(help('sample')).toContain('nabla sample runs/edm --sampler euler --steps 8');
    expect(help('bench', 'speed')).toContain('nabla bench --family sgemm --peers torch');
  });
});

describe('a bad command as a process', () => {
  it('prints one line naming the problem and the fix, and exits non-zero', () => {
    const tsx = join(packageRoot(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const missing = join(tmpdir(), 'nabla-no-such-run');
    const r = spawnSync(process.execPath, [tsx, join(packageRoot(), 'src', 'cli', 'main.ts'), 'sample', missing, '--sampler', 'heun'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('nabla:'));
    expect(lines).toEqual([`nabla: no run at ${missing} (no config.json there); train one first, e.g. nabla train diffusion --out ${missing}`]);
    expect(r.stdout).toBe('');
  });
});
