/**
 * Kill during save: a child process saving a 64 MB checkpoint over and over is
 * killed with SIGKILL at a random moment inside a save. The target file must
 * still be a complete checkpoint of one generation, loadable, at least as new
 * as the last save the child reported finished. Stray temporary files are
 * cleaned up by the next save.
 *
 * The child runs as `node --import tsx` (the loader `npx tsx` uses) rather
 * than through the npx and tsx wrapper processes, so that SIGKILL hits the
 * process doing the writing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, saveSafetensors } from '../../src/io/index.js';
import { tensor } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nabla-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NUMEL = 16 * 1024 * 1024; // 64 MB of float32: a save takes tens of milliseconds
const target = join(dir, 'ckpt.safetensors');
const temps = (): string[] => readdirSync(dir).filter((n) => n.includes('.tmp-'));

/** Run the child until it has begun save number `after + 1`, wait `delayMs`, SIGKILL it; resolve with the last finished save. */
function killMidSave(after: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'saveLoop.child.ts'), target, String(NUMEL)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastSaved = 0;
    let buf = '';
    let err = '';
    let killed = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [what, k] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (what === 'saved') lastSaved = Number(k);
        if (what === 'begin' && Number(k) === after + 1 && !killed) {
          killed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lastSaved);
      else reject(new Error(`child exited with ${code ?? signal} before it was killed: ${err}`));
    });
  });
}

describe('a save killed with SIGKILL', () => {
  it('leaves the previous complete checkpoint in place', async () => {
    const delays = [0, 3, 8, 15, 25, 40];
    let midSave = 0;
    // at least six rounds, and more (up to 18) until two kills have landed inside a save
    for (let round = 0; round < 18 && (round < delays.length || midSave < 2); round++) {
      const delay = delays[round % delays.length]!;
      const lastSaved = await killMidSave(round === 0 ? 1 : 2, delay);
      if (temps().length > 0) midSave++; // the kill landed inside a save: its temporary file is left behind
      const { tensors, metadata } = loadSafetensors(target);
      const gen = Number(metadata.generation);
      expect(gen, `round ${round}`).toBeGreaterThanOrEqual(lastSaved);
      const w = tensors.w!;
      expect(w.size).toBe(NUMEL);
      const v = w.dataSync() as Float32Array;
      // complete and of one generation: every element equals the generation number
      expect(v[0]).toBe(gen);
      expect(v.every((x) => x === gen), `round ${round}: a mixed or partial file`).toBe(true);
      w.dispose();
    }
    // the kills did hit saves in progress (otherwise the test proves nothing)
    expect(midSave).toBeGreaterThanOrEqual(2);
    // the next save removes the dead writers' temporary files
    saveSafetensors(target, { w: tensor([1], [1]) });
    expect(temps()).toEqual([]);
  }, 120_000);
});
