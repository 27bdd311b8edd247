/**
 * The thread pool's protocol, with small kernels written for the test: every
 * task of every job runs exactly once (10,000 jobs, no deadlock), workers
 * really take part and each has its own scratch, a trapping kernel becomes
 * an error on the calling thread, relaxed SIMD compiles in workers, and a
 * Node process that used the pool exits by itself.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadPool, setThreads, shutdownThreads, type ThreadPool } from '../../src/backends/cpu/threads/index.js';
import { ModuleBuilder, drop, f32, f32x4, forUp, get, i32, set, unreachable, v128 } from '../../src/backends/cpu/wasm/emit.js';
import { wasmFeatures } from '../../src/backends/cpu/wasm/index.js';
import { heap } from '../../src/core/heap.js';

/**
 * count(scratch, ptr, slot): ptr[slot] += 1, atomically, so that a task run twice at the same time is
 * counted twice (a plain += could lose one update and hide the double run).
 * whoami(scratch, out, idx, spin): out[idx] = scratch, then busy-loop `spin` times.
 * trap(scratch): unreachable.
 */
function testModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: heap().shared });
  m.func('count', { scratch: 'i32', ptr: 'i32', slot: 'i32' }, null, (p) => {
    return [drop(i32.atomicAdd(i32.add(get(p.ptr), i32.shl(get(p.slot), 2)), 1))];
  }, { export: true });
  m.func('whoami', { scratch: 'i32', out: 'i32', idx: 'i32', spin: 'i32' }, null, (p, f) => {
    const i = f.local('i32');
    const acc = f.local('i32');
    return [
      i32.store(i32.add(get(p.out), i32.shl(get(p.idx), 2)), get(p.scratch)),
      forUp(i, 0, get(p.spin), 1, set(acc, i32.add(i32.mul(get(acc), 31), get(i)))),
      i32.store(get(p.scratch), get(acc)), // keep the loop observable
    ];
  }, { export: true });
  m.func('trap', { scratch: 'i32' }, null, () => [unreachable()], { export: true });
  return m.toBytes();
}

/** madd(scratch, out, idx): out[idx] = relaxed_madd(2, 3, 1)[0] (= 7), then records the scratch pointer after it. */
function relaxedModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: heap().shared });
  m.func('madd', { scratch: 'i32', out: 'i32', idx: 'i32', spin: 'i32' }, null, (p, f) => {
    const i = f.local('i32');
    const acc = f.local('i32');
    const v = f32x4.relaxedMadd(f32x4.splat(f32.const(2)), f32x4.splat(f32.const(3)), f32x4.splat(f32.const(1)));
    const at = i32.add(get(p.out), i32.shl(get(p.idx), 3));
    return [
      f32.store(at, f32x4.extractLane(v, 0)),
      i32.store(at, get(p.scratch), 4),
      forUp(i, 0, get(p.spin), 1, set(acc, i32.add(i32.mul(get(acc), 31), get(i)))),
      v128.store(get(p.scratch), f32x4.splat(f32.const(0))),
    ];
  }, { export: true });
  return m.toBytes();
}

let pool: ThreadPool;
let ids: Record<string, number>;

beforeAll(async () => {
  setThreads(2);
  pool = threadPool()!;
  expect(pool, 'a pool of 2 threads (Node has shared memory and worker_threads)').toBeDefined();
  ids = pool.addModule(testModule());
  pool.ensureScratch(256);
  // Workers start asynchronously; jobs never wait for them, but these tests want them running.
  for (let t = 0; t < 500 && pool.started < pool.threads - 1; t++) await new Promise((r) => setTimeout(r, 10));
  expect(pool.started).toBe(pool.threads - 1);
});

afterAll(() => shutdownThreads());

describe('thread pool', () => {
  it('10,000 small jobs: every task runs exactly once, no deadlock', () => {
    const slots = 16;
    const ptr = heap().alloc(slots * 4);
    const counts = (): Int32Array => new Int32Array(heap().buffer, ptr, slots);
    counts().fill(0);
    const expected = new Int32Array(slots);
    for (let j = 0; j < 10_000; j++) {
      const nTasks = 1 + (j % slots); // 1..16 tasks per job
      pool.run(Array.from({ length: nTasks }, (_, s) => ({ fn: ids.count!, args: [ptr, s] })));
      for (let s = 0; s < nTasks; s++) expected[s]!++;
    }
    expect([...counts()]).toEqual([...expected]);
    heap().free(ptr);
  });

  it('contended claims: 2,000 jobs of 256 tiny tasks, each task exactly once', () => {
    const n = 256;
    const ptr = heap().alloc(n * 4);
    const counts = new Int32Array(heap().buffer, ptr, n);
    counts.fill(0);
    const tasks = Array.from({ length: n }, (_, s) => ({ fn: ids.count!, args: [ptr, s] }));
    for (let j = 0; j < 2000; j++) pool.run(tasks);
    expect(counts.every((x) => x === 2000)).toBe(true);
    heap().free(ptr);
  });

  it('workers take tasks, and each thread has its own scratch area', () => {
    const n = 64;
    const out = heap().alloc(n * 4);
    const seen = new Set<number>();
    for (let rep = 0; rep < 20 && seen.size < pool.threads; rep++) {
      pool.run(Array.from({ length: n }, (_, i) => ({ fn: ids.whoami!, args: [out, i, 200_000] })));
      for (const s of new Int32Array(heap().buffer, out, n)) seen.add(s);
    }
    expect(seen.size).toBe(pool.threads);
    expect(seen.has(pool.scratch)).toBe(true);
    for (const s of seen) expect(s % 64).toBe(0);
    heap().free(out);
  });

  it('a kernel that traps becomes an error on the caller; the pool keeps working', () => {
    expect(() => pool.run([{ fn: ids.trap!, args: [] }, { fn: ids.trap!, args: [] }])).toThrow(/task [01] failed: .*unreachable/);
    const ptr = heap().alloc(4);
    new Int32Array(heap().buffer, ptr, 1)[0] = 0;
    pool.run([{ fn: ids.count!, args: [ptr, 0] }]);
    expect(new Int32Array(heap().buffer, ptr, 1)[0]).toBe(1);
    heap().free(ptr);
  });

  it('rejects bad jobs with clear errors', () => {
    expect(() => pool.run([{ fn: 9999, args: [] }])).toThrow(/unknown kernel id 9999/);
    expect(() => pool.run([{ fn: ids.count!, args: new Array<number>(40).fill(0) }])).toThrow(/40 arguments; at most 30/);
  });

  it('more tasks than a job holds run as successive jobs, each once', () => {
    const n = 1000;
    const ptr = heap().alloc(n * 4);
    new Int32Array(heap().buffer, ptr, n).fill(0);
    pool.run(Array.from({ length: n }, (_, s) => ({ fn: ids.count!, args: [ptr, s] })));
    expect(new Int32Array(heap().buffer, ptr, n).every((x) => x === 1)).toBe(true);
    heap().free(ptr);
  });

  it.skipIf(!wasmFeatures().relaxed)('relaxed SIMD modules compile and run in workers too', () => {
    const madd = pool.addModule(relaxedModule()).madd!;
    const n = 32;
    const out = heap().alloc(n * 8);
    const threadsSeen = new Set<number>();
    for (let rep = 0; rep < 20 && threadsSeen.size < pool.threads; rep++) {
      pool.run(Array.from({ length: n }, (_, i) => ({ fn: madd, args: [out, i, 200_000] })));
      const f = new Float32Array(heap().buffer, out, 2 * n);
      const s = new Int32Array(heap().buffer, out, 2 * n);
      for (let i = 0; i < n; i++) {
        expect(f[2 * i]).toBe(7);
        threadsSeen.add(s[2 * i + 1]!);
      }
    }
    expect(threadsSeen.size).toBe(pool.threads);
    heap().free(out);
  });

  it('shutdown stops the pool; the next use starts a new one', () => {
    const old = pool;
    shutdownThreads();
    expect(old.isClosed).toBe(true);
    expect(() => old.run([{ fn: 0, args: [] }])).toThrow(/shut down/);
    pool = threadPool()!;
    expect(pool).not.toBe(old);
    ids = pool.addModule(testModule());
    pool.ensureScratch(256);
    const ptr = heap().alloc(8);
    new Int32Array(heap().buffer, ptr, 2).fill(0);
    pool.run([{ fn: ids.count!, args: [ptr, 0] }, { fn: ids.count!, args: [ptr, 1] }]);
    expect([...new Int32Array(heap().buffer, ptr, 2)]).toEqual([1, 1]);
    heap().free(ptr);
  });
});

describe('a Node process that used the pool exits by itself', () => {
  const fixture = fileURLToPath(new URL('./fixtures/poolExit.ts', import.meta.url));

  /** Run the fixture; resolves with its output and the time from its last line to its exit. */
  function runChild(args: string[]): Promise<{ code: number | null; out: string; lingerMs: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let doneAt = 0;
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!doneAt && out.includes('done')) doneAt = Date.now();
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, out, lingerMs: doneAt ? Date.now() - doneAt : Infinity });
      });
    });
  }

  it.each([['without shutdown', []], ['after shutdownThreads()', ['shutdown']]])('%s', async (_l, args) => {
    const r = await runChild(args as string[]);
    expect(r.code, r.out).toBe(0);
    const info = JSON.parse(r.out.split('\n')[0]!) as { worst: number; pool: number };
    expect(info.worst).toBe(0);
    expect(info.pool).toBe(2);
    expect(r.lingerMs, r.out).toBeLessThan(3000);
  }, 40_000);
});
