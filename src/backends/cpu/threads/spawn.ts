/**
 * Starting pool workers on each platform. A spawner turns the worker source
 * and its init data ({ memory, ctrl, tid }) into a running thread.
 *
 * Node: `worker_threads` with `eval: true`; the worker is `unref()`'d so it
 * never keeps a finished program alive (the pool is a cache, not a task).
 * Browsers: a module-less Worker from a Blob URL, initialised by one
 * postMessage; they need cross-origin isolation for a shared memory, without
 * which the pool is not created at all (see pool.ts).
 */
import { WORKER_SOURCE } from './workerSource.js';

export interface WorkerInit {
  memory: WebAssembly.Memory;
  /** byte offset of the control block */
  ctrl: number;
  /** thread index, 1.. (0 is the calling thread) */
  tid: number;
}

export interface WorkerHandle {
  terminate(): void;
}

export type Spawner = (init: WorkerInit) => WorkerHandle;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(ev: 'error', f: (e: Error) => void): void;
}
interface NodeWorkerThreads {
  Worker: new (src: string, opts: { eval: true; workerData: WorkerInit; name?: string; execArgv?: string[] }) => NodeWorker;
  isMainThread: boolean;
}

function nodeSpawner(): Spawner | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  let wt: NodeWorkerThreads | undefined;
  try {
    wt = proc?.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
  } catch {
    wt = undefined;
  }
  if (!wt) return undefined;
  const { Worker } = wt;
  return (init) => {
    // execArgv [] : the worker is plain JavaScript, so loaders the program runs under (tsx, ...) are not
    // loaded again per worker (V8 flags such as relaxed SIMD are process-wide and still apply).
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: init, name: `nabla-${init.tid}`, execArgv: [] });
    w.unref();
    // A worker that dies leaves its tasks to the other threads (they are claimed, not assigned).
    w.on('error', (e) => console.warn(`nabla: thread pool worker ${init.tid} failed: ${e.message}`));
    return { terminate: () => void w.terminate() };
  };
}

interface BrowserWorker {
  postMessage(m: unknown): void;
  terminate(): void;
}

function browserSpawner(): Spawner | undefined {
  const g = globalThis as {
    Worker?: new (url: string, opts?: { name?: string }) => BrowserWorker;
    Blob?: typeof Blob;
    URL?: typeof URL;
  };
  if (!g.Worker || !g.Blob || !g.URL?.createObjectURL) return undefined;
  let url: string | undefined;
  return (init) => {
    url ??= g.URL!.createObjectURL(new g.Blob!([WORKER_SOURCE], { type: 'text/javascript' }));
    const w = new g.Worker!(url, { name: `nabla-${init.tid}` });
    w.postMessage(init);
    return { terminate: () => w.terminate() };
  };
}

/** The spawner for this platform, or undefined where threads cannot be started. */
export function platformSpawner(): Spawner | undefined {
  return nodeSpawner() ?? browserSpawner();
}
