/**
 * The `nabla` command: the demo trains (its loss falls and nothing leaks),
 * `info` reports the heap, and bad options get commander's clear errors.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram, infoLines } from '../../src/cli/main.js';
import { runDemo } from '../../src/cli/demo.js';

describe('nabla demo', () => {
  it('the loss falls at every printed step and nothing leaks', () => {
    const lines: string[] = [];
    const r = runDemo({ steps: 300, every: 50, seed: 3 }, (l) => lines.push(l));
    expect(r.history.map((h) => h.step)).toEqual([0, 50, 100, 150, 200, 250, 300]);
    r.history.slice(1).forEach((h, i) => expect(h.loss, `step ${h.step}`).toBeLessThan(r.history[i]!.loss));
    expect(r.finalLoss).toBeLessThan(r.initialLoss / 3);
    expect(r.leakedTensors).toBe(0);
    expect(lines[0]).toMatch(/^nabla demo: fitting y = sin\(3·x1\)·x2 with an MLP 2→32→1 \(tanh\)/);
    expect(lines.at(-1)).toMatch(/^final loss \d\.\d{6} \(from \d\.\d{6}\) after 300 steps in [\d.]+ s; tensors leaked: 0$/);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = runDemo({ steps: 20, seed: 7 }, () => {});
    const b = runDemo({ steps: 20, seed: 7 }, () => {});
    const c = runDemo({ steps: 20, seed: 8 }, () => {});
    expect(a.history).toEqual(b.history);
    expect(c.finalLoss).not.toBe(a.finalLoss);
  });

  it('rejects bad options with the option named', () => {
    expect(() => runDemo({ steps: 0 })).toThrow(/^demo: steps must be a positive integer, got 0$/);
    expect(() => runDemo({ lr: -1 })).toThrow(/^demo: lr must be a positive number, got -1$/);
    expect(() => runDemo({ steps: 5, lr: 1e6 }, () => {})).toThrow(/^demo: the loss diverged/);
  });
});

describe('nabla command line', () => {
  const run = async (...args: string[]): Promise<{ out: string[]; err: string }> => {
    const out: string[] = [];
    let err = '';
    const program = buildProgram((l) => out.push(l));
    program.exitOverride();
    program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: (s) => out.push(s) }));
    program.configureOutput({ writeErr: (s) => (err += s), writeOut: (s) => out.push(s) });
    try {
      await program.parseAsync(['node', 'nabla', ...args]);
    } catch {
      // exitOverride turns commander's exit into a throw; the message is in err
    }
    return { out, err };
  };

  it('info prints the backend, heap, shared memory, threads, BLAS, WebGPU and Node version', async () => {
    const { out } = await run('info');
    // the WebGPU line comes last: it is probed asynchronously
    // (live tensors may change while the probe is awaited: compare the rest)
    const steady = (ls: string[]): string[] => ls.filter((l) => !l.startsWith('live tensors'));
    expect(steady(out.slice(0, -1))).toEqual(steady(infoLines()));
    expect(out.join('\n')).toMatch(/live tensors: \d+, live bytes: \d+/);
    expect(out.at(-1)).toMatch(/^webgpu: (none: .+|.+)$/);
    expect(out.join('\n')).toMatch(/threads: \d+ \(/);
    expect(out.join('\n')).toMatch(/blas: (none, matmuls run on WebAssembly SIMD|.+ for float32 matmuls)/);
    expect(out.join('\n')).toMatch(/backend: cpu/);
    expect(out.join('\n')).toMatch(/heap: \d+\.\d MiB now, grows on demand up to 4 GiB/);
    expect(out.join('\n')).toMatch(/shared memory: (yes|no)/);
    expect(out.join('\n')).toContain(`node: ${process.version}`);
  });

  it('demo takes --steps, --seed, --lr and --every', async () => {
    const { out } = await run('demo', '--steps', '4', '--seed', '2', '--lr', '0.05', '--every', '2');
    expect(out[0]).toMatch(/lr 0\.05, seed 2$/);
    expect(out.filter((l) => l.startsWith('step'))).toHaveLength(3);
  });

  it('bad option values are refused by name', async () => {
    expect((await run('demo', '--steps', 'many')).err).toMatch(/--steps must be an integer ≥ 1, got 'many'/);
    expect((await run('demo', '--lr', '0')).err).toMatch(/--lr must be a positive number, got '0'/);
    expect((await run('demo', '--seed', '-1')).err).toMatch(/--seed must be an integer ≥ 0, got '-1'/);
    expect((await run('bogus')).err).toMatch(/unknown command 'bogus'/);
  });
});
