/** Atomic file replacement: all or nothing, no stray files, stale temporaries of dead writers removed. */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWriteFileSync, removeStaleTempFiles } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nabla-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('atomicWriteFileSync', () => {
  it('writes one buffer or a sequence of chunks, replacing the old file', () => {
    const p = join(dir, 'a.bin');
    atomicWriteFileSync(p, enc('first'));
    expect(readFileSync(p, 'utf8')).toBe('first');
    atomicWriteFileSync(p, [enc('sec'), enc(''), enc('ond')], { mode: 0o600 });
    expect(readFileSync(p, 'utf8')).toBe('second');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('leaves the previous file untouched when writing fails midway', () => {
    const p = join(dir, 'b.bin');
    atomicWriteFileSync(p, enc('good'));
    function* failing(): Generator<Uint8Array> {
      yield enc('partial');
      throw new Error('disk on fire');
    }
    expect(() => atomicWriteFileSync(p, failing())).toThrow(`atomicWriteFileSync: could not write ${p}: disk on fire`);
    expect(readFileSync(p, 'utf8')).toBe('good');
    expect(readdirSync(dir).filter((n) => n.startsWith('.b.bin'))).toEqual([]);
    expect(() => atomicWriteFileSync(join(dir, 'missing', 'c.bin'), enc('x'))).toThrow(/could not write .*missing.*ENOENT/);
  });

  it('removes temporary files of dead writers but not of live ones', () => {
    const p = join(dir, 'c.bin');
    const dead = join(dir, `.c.bin.tmp-${deadPid()}-abc`);
    const live = join(dir, `.c.bin.tmp-1-abc`); // pid 1 is always alive
    const other = join(dir, `.other.tmp-${deadPid()}-abc`);
    for (const f of [dead, live, other]) writeFileSync(f, 'junk');
    atomicWriteFileSync(p, enc('x'));
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true); // another file's temporaries are not ours to judge
    rmSync(other);
    expect(removeStaleTempFiles(p)).toBe(0);
    rmSync(live);
  });
});
