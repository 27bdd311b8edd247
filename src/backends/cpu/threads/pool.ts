/**
 * A pool of worker threads running WebAssembly kernels in place on the shared
 * CPU heap. A job is a list of tasks (kernel id + numeric arguments); the
 * caller writes them into the control block (layout.ts), bumps a generation
 * counter, wakes the workers with `Atomics.notify`, claims tasks itself like
 * any worker, and sleeps on a completion counter with `Atomics.wait`. No
 * message is posted per kernel, so a job costs a few microseconds plus the
 * wake-up of sleeping threads.
 *
 * Tasks are claimed, not assigned: the caller alone can finish any job, so a
 * worker that is still starting, descheduled by the OS or dead never blocks
 * one (it only stops helping). Each kernel receives its thread's private
 * scratch area as its first argument.
 *
 * Browsers: the main thread may not `Atomics.wait`, so there the caller spins
 * on the counter instead (detected once); workers block as in Node.
 */
import { CONTROL_BYTES, LAYOUT as L } from './layout.js';
import type { Spawner, WorkerHandle } from './spawn.js';

/** One kernel call: `fn` from `addModule`'s ids, arguments after the scratch pointer. */
export interface Task {
  fn: number;
  args: readonly number[];
}

/** Where the pool lives: the shared heap memory and its allocator. */
export interface PoolHost {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
}

type KernelFn = (...args: number[]) => unknown;

export class ThreadPool {
  /** threads that run a job, the caller included */
  readonly threads: number;
  private readonly host: PoolHost;
  private readonly ctrl: number;
  private readonly I: Int32Array;
  private readonly T: Float64Array;
  private readonly fns: KernelFn[] = [];
  private readonly workers: WorkerHandle[] = [];
  private readonly canBlock: boolean;
  private scratchBytes = 0;
  private scratchPtrs: number[] = [];
  private running = false;
  private closed = false;

  constructor(host: PoolHost, threads: number, spawn: Spawner) {
    if (!Number.isInteger(threads) || threads < 1 || threads > L.MAX_THREADS) throw new Error(`ThreadPool: threads must be an integer in 1..${L.MAX_THREADS}, got ${threads}`);
    if (!(host.memory.buffer instanceof SharedArrayBuffer)) throw new Error('ThreadPool: the heap memory is not shared; threads cannot work on it');
    this.host = host;
    this.threads = threads;
    this.ctrl = host.alloc(CONTROL_BYTES);
    new Uint8Array(host.memory.buffer, this.ctrl, CONTROL_BYTES).fill(0);
    this.I = new Int32Array(host.memory.buffer, this.ctrl, L.HEADER_INTS);
    this.T = new Float64Array(host.memory.buffer, this.ctrl + L.TASKS, L.MAX_TASKS * L.SLOT);
    this.canBlock = mayBlock(this.I);
    for (let tid = 1; tid < threads; tid++) this.workers.push(spawn({ memory: host.memory, ctrl: this.ctrl, tid }));
  }

  /** Workers that have started so far (they start asynchronously; jobs never wait for them). */
  get started(): number {
    return Atomics.load(this.I, L.READY);
  }

  /**
   * Publish a kernel module (its WebAssembly bytes, importing `env.memory`)
   * to every thread. Returns the id of each exported function, by name.
   * Workers compile it the next time they wake.
   */
  addModule(bytes: Uint8Array, module: WebAssembly.Module = new WebAssembly.Module(bytes.slice())): Record<string, number> {
    this.assertOpen('addModule');
    const n = Atomics.load(this.I, L.NMODULES);
    if (n >= L.MAX_MODULES) throw new Error(`ThreadPool.addModule: at most ${L.MAX_MODULES} modules`);
    const inst = new WebAssembly.Instance(module, { env: { memory: this.host.memory } });
    const ids: Record<string, number> = {};
    for (const d of WebAssembly.Module.exports(module)) {
      if (d.kind !== 'function') continue;
      ids[d.name] = this.fns.length;
      this.fns.push(inst.exports[d.name] as KernelFn);
    }
    // The bytes stay on the heap for the pool's lifetime: late workers compile from them.
    const ptr = this.host.alloc(bytes.length);
    new Uint8Array(this.host.memory.buffer, ptr, bytes.length).set(bytes);
    this.I[L.MODULES + 2 * n] = ptr;
    this.I[L.MODULES + 2 * n + 1] = bytes.length;
    Atomics.store(this.I, L.NMODULES, n + 1);
    return ids;
  }

  /** Make every thread's scratch area at least `bytes` long (64-byte aligned). */
  ensureScratch(bytes: number): void {
    this.assertOpen('ensureScratch');
    if (this.running) throw new Error('ThreadPool.ensureScratch: a job is running');
    if (bytes <= this.scratchBytes) return;
    for (const p of this.scratchPtrs) this.host.free(p);
    this.scratchPtrs = [];
    for (let tid = 0; tid < this.threads; tid++) {
      const p = this.host.alloc(bytes);
      this.scratchPtrs.push(p);
      Atomics.store(this.I, L.SCRATCH + tid, p);
    }
    this.scratchBytes = bytes;
  }

  /** The calling thread's scratch area (thread 0). */
  get scratch(): number {
    return this.scratchPtrs[0] ?? 0;
  }

  /**
   * Run the tasks on all threads; returns when every task has finished.
   * Throws the first task's error. More than MAX_TASKS tasks run as
   * successive jobs, in order.
   */
  run(tasks: readonly Task[]): void {
    this.assertOpen('run');
    if (this.running) throw new Error('ThreadPool.run: called while a job is running (kernels cannot start jobs)');
    for (let at = 0; at < tasks.length; at += L.MAX_TASKS) this.runJob(at === 0 && tasks.length <= L.MAX_TASKS ? tasks : tasks.slice(at, at + L.MAX_TASKS));
  }

  private runJob(tasks: readonly Task[]): void {
    const n = tasks.length;
    const { I, T } = this;
    for (let t = 0; t < n; t++) {
      const { fn, args } = tasks[t]!;
      if (!(fn >= 0 && fn < this.fns.length)) throw new Error(`ThreadPool.run: task ${t} names unknown kernel id ${fn}`);
      if (args.length > L.SLOT - 2) throw new Error(`ThreadPool.run: task ${t} has ${args.length} arguments; at most ${L.SLOT - 2}`);
      const base = t * L.SLOT;
      T[base] = fn;
      T[base + 1] = args.length;
      for (let i = 0; i < args.length; i++) T[base + 2 + i] = args[i]!;
    }
    this.running = true;
    try {
      Atomics.store(I, L.DONE, 0);
      Atomics.store(I, L.ERROR, 0);
      Atomics.store(I, L.NEXT, n << 16); // publish: claims of this job may start now
      Atomics.add(I, L.GEN, 1);
      if (n > 1) Atomics.notify(I, L.GEN, n - 1);
      this.work();
      this.waitDone(n);
    } finally {
      this.running = false;
    }
    const err = Atomics.load(I, L.ERROR);
    if (err !== 0) {
      const len = Atomics.load(I, L.ERRLEN);
      const text = len > 0 ? new TextDecoder().decode(new Uint8Array(this.host.memory.buffer, this.ctrl + L.ERRTEXT, len).slice()) : '';
      throw new Error(`ThreadPool: task ${err - 1} failed${text ? `: ${text}` : ''}`);
    }
  }

  /** The claim loop (the same as the workers'), run by the calling thread as thread 0. */
  private work(): void {
    const I = this.I;
    for (;;) {
      const w = Atomics.load(I, L.NEXT);
      const idx = w & 0xffff;
      const count = w >>> 16;
      if (idx >= count) return;
      if (Atomics.compareExchange(I, L.NEXT, w, w + 1) !== w) continue;
      try {
        this.runTask(idx);
      } catch (e) {
        if (Atomics.compareExchange(I, L.ERROR, 0, idx + 1) === 0) {
          const text = new TextEncoder().encode(`thread 0: ${(e as Error)?.stack ?? String(e)}`).slice(0, L.ERRBYTES);
          new Uint8Array(this.host.memory.buffer, this.ctrl + L.ERRTEXT, L.ERRBYTES).set(text);
          Atomics.store(I, L.ERRLEN, text.length);
        }
      }
      if (Atomics.add(I, L.DONE, 1) + 1 === count) Atomics.notify(I, L.DONE);
    }
  }

  private runTask(idx: number): void {
    const base = idx * L.SLOT;
    const T = this.T;
    const n = T[base + 1]!;
    const args = new Array<number>(n + 1);
    args[0] = this.scratchPtrs[0] ?? 0;
    for (let i = 0; i < n; i++) args[i + 1] = T[base + 2 + i]!;
    this.fns[T[base]!]!(...args);
  }

  private waitDone(n: number): void {
    const I = this.I;
    let spins = L.SPIN;
    for (;;) {
      const d = Atomics.load(I, L.DONE);
      if (d >= n) return;
      if (spins > 0) spins--;
      else if (this.canBlock) Atomics.wait(I, L.DONE, d);
    }
  }

  /**
   * Stop the workers (they leave at their next wake-up) and free the scratch
   * areas. The control block and module bytes stay allocated (about 70 KiB):
   * a worker that is still starting reads them, and must find SHUTDOWN set.
   */
  shutdown(): void {
    if (this.closed) return;
    if (this.running) throw new Error('ThreadPool.shutdown: a job is running');
    this.closed = true;
    Atomics.store(this.I, L.SHUTDOWN, 1);
    Atomics.add(this.I, L.GEN, 1);
    Atomics.notify(this.I, L.GEN);
    for (const p of this.scratchPtrs) this.host.free(p);
    this.scratchPtrs = [];
    this.scratchBytes = 0;
    this.workers.length = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new Error(`ThreadPool.${what}: the pool was shut down`);
  }
}

/** Whether this thread may block in Atomics.wait (false on a browser's main thread). */
function mayBlock(I: Int32Array): boolean {
  try {
    Atomics.wait(I, L.GEN, -1, 0); // GEN is 0, so this returns 'not-equal' at once where waiting is allowed
    return true;
  } catch {
    return false;
  }
}
