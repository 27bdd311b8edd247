/**
 * The process-wide thread pool over the CPU heap, created on first use and
 * sized to the cores (`os.availableParallelism()` in Node,
 * `navigator.hardwareConcurrency` in browsers), the calling thread included.
 *
 * `setThreads(n)` changes the size (1 = no workers); `shutdownThreads()`
 * stops the workers now. Neither is needed for a Node program to exit: the
 * workers are unref()'d. A browser page that is not cross-origin isolated has
 * no shared memory and runs single-threaded, with a one-time warning.
 */
import { heap } from '../../../core/heap.js';
import { coreCount } from '../wasm/features.js';
import { allocInternal, freeInternal } from '../wasm/internalAlloc.js';
import { ThreadPool } from './pool.js';
import { platformSpawner } from './spawn.js';

export { ThreadPool, type Task, type PoolHost } from './pool.js';

let wanted: number | undefined;
let pool: ThreadPool | undefined;
let warned = false;

function envThreads(): number | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.NABLA_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`NABLA_THREADS must be a positive integer, got '${v}'`);
  return n;
}

/** The number of threads kernels use: setThreads(n), else NABLA_THREADS, else the core count (at most 64). */
export function threadCount(): number {
  return Math.min(64, wanted ?? envThreads() ?? coreCount());
}

/** Use `n` threads (the caller included) from now on; a pool of another size is shut down. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`setThreads: n must be an integer in 1..64, got ${n}`);
  wanted = n;
  if (pool && pool.threads !== n) shutdownThreads();
}

/** Stop the pool's workers now; the next threaded kernel starts a new pool. */
export function shutdownThreads(): void {
  pool?.shutdown();
  pool = undefined;
}

/**
 * The pool, started if needed; undefined when kernels must run on the calling
 * thread alone (one thread wanted, no shared memory, or no way to start
 * workers).
 */
export function threadPool(): ThreadPool | undefined {
  const n = threadCount();
  if (n <= 1) return undefined;
  if (pool && !pool.isClosed && pool.threads === n) return pool;
  const h = heap();
  const spawn = platformSpawner();
  if (!h.shared || !spawn) {
    if (!warned && !h.shared) {
      warned = true;
      console.warn('nabla: shared memory is unavailable (a browser page must be cross-origin isolated), so CPU kernels run on one thread');
    }
    return undefined;
  }
  pool = new ThreadPool({ memory: h.memory, alloc: (b) => allocInternal(h, b), free: (p) => freeInternal(h, p) }, n, spawn);
  return pool;
}
