/**
 * Compiled kernel modules: generated once per process (compiling a few KiB
 * of WebAssembly takes milliseconds), instantiated on the calling thread over
 * the CPU heap, and published to the thread pool on first threaded use.
 *
 * Browsers forbid synchronous compilation of modules over 4 KiB on the main
 * thread; there `WebAssembly.compile` must run first (an async `ready()` to
 * add with the browser backend). Node compiles synchronously.
 */
import { heap } from '../../../core/heap.js';
import type { ThreadPool } from '../threads/pool.js';
import { allocInternal, freeInternal } from './internalAlloc.js';

export type KernelFn = (...args: number[]) => void;

export interface KernelModule {
  readonly name: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly module: WebAssembly.Module;
  /** exported functions, instantiated on the calling thread */
  readonly fns: Readonly<Record<string, KernelFn>>;
}

const modules = new Map<string, KernelModule>();
const published = new WeakMap<ThreadPool, Map<string, Record<string, number>>>();

/** The module `name`, built by `build(shared)` on first use; `shared` says whether the heap memory is shared. */
export function kernelModule(name: string, build: (shared: boolean) => Uint8Array<ArrayBuffer>): KernelModule {
  let km = modules.get(name);
  if (km) return km;
  const h = heap();
  const bytes = build(h.shared);
  const module = new WebAssembly.Module(bytes);
  const inst = new WebAssembly.Instance(module, { env: { memory: h.memory } });
  const fns: Record<string, KernelFn> = {};
  for (const d of WebAssembly.Module.exports(module)) if (d.kind === 'function') fns[d.name] = inst.exports[d.name] as KernelFn;
  km = { name, bytes, module, fns };
  modules.set(name, km);
  return km;
}

/** Ids of a module's functions in `pool`, publishing the module there on first use. */
export function poolIds(pool: ThreadPool, km: KernelModule): Record<string, number> {
  let m = published.get(pool);
  if (!m) published.set(pool, (m = new Map()));
  let ids = m.get(km.name);
  if (!ids) m.set(km.name, (ids = pool.addModule(km.bytes, km.module)));
  return ids;
}

let scratchPtr = 0;
let scratchBytes = 0;

/** Scratch for kernels run on the calling thread alone (grown on demand, never shrunk). */
export function callerScratch(bytes: number): number {
  if (bytes <= scratchBytes) return scratchPtr;
  const h = heap();
  if (scratchPtr) freeInternal(h, scratchPtr);
  scratchPtr = allocInternal(h, bytes);
  scratchBytes = bytes;
  return scratchPtr;
}
