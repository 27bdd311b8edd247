/**
 * Live-tensor accounting, scopes and the GC backstop.
 *
 * Every tensor handle is counted while alive. Handles are freed by
 * `dispose()`, by `using`, by the scope they were created in (`tidy` for
 * synchronous code, `scope` for async code; both keep what the function
 * returns), or, as a last resort, by a FinalizationRegistry when the handle is
 * garbage collected without having been disposed.
 */
import type { Backend } from '../backends/backend.js';

/** Anything with a dispose method that scopes can track. */
export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
  /** the scope tracking this object, if any */
  scope?: Scope | undefined;
}

export class Scope {
  readonly items = new Set<Disposable>();
  private closed = false;
  add(t: Disposable): void {
    if (this.closed) return;
    t.scope?.items.delete(t);
    this.items.add(t);
    t.scope = this;
  }
  delete(t: Disposable): void {
    if (this.items.delete(t)) t.scope = undefined;
  }
  /** Dispose everything tracked except `keep`. */
  close(keep: Set<Disposable>): void {
    this.closed = true;
    const items = [...this.items];
    this.items.clear();
    for (const t of items) {
      t.scope = undefined;
      if (!keep.has(t) && !t.disposed) t.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.close(new Set());
  }
}

interface ScopeContext {
  current(): Scope | undefined;
  run<R>(s: Scope | undefined, fn: () => R): R;
}

/** Stack-based context: exact for synchronous code; for async code it is exact when one async scope runs at a time. */
function stackContext(): ScopeContext {
  const stack: (Scope | undefined)[] = [];
  return {
    current: () => stack[stack.length - 1],
    run<R>(s: Scope | undefined, fn: () => R): R {
      stack.push(s);
      let popNow = true;
      try {
        const r = fn();
        if (r instanceof Promise) {
          popNow = false;
          return r.finally(() => {
            const i = stack.lastIndexOf(s);
            if (i >= 0) stack.splice(i, 1);
          }) as R;
        }
        return r;
      } finally {
        if (popNow) stack.pop();
      }
    },
  };
}

/** AsyncLocalStorage context (Node): each async chain sees its own scope, so interleaved async scopes stay exact. */
function asyncContext(): ScopeContext | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:async_hooks') as
    | { AsyncLocalStorage: new <T>() => { getStore(): T | undefined; run<R>(s: T, fn: () => R): R } }
    | undefined;
  if (!mod) return undefined;
  const als = new mod.AsyncLocalStorage<{ s: Scope | undefined }>();
  return {
    current: () => als.getStore()?.s,
    run: (s, fn) => als.run({ s }, fn),
  };
}

const ctx: ScopeContext = asyncContext() ?? stackContext();

export function currentScope(): Scope | undefined {
  return ctx.current();
}

/** Run `fn` with no scope active: what it creates is not tracked by the caller's scope. */
export function untracked<R>(fn: () => R): R {
  return ctx.run(undefined, fn);
}

/** Collect disposables reachable from a returned value (arrays, plain objects, Maps, one level of class fields is not searched). */
export function collectDisposables(v: unknown, out: Set<Disposable>, depth = 0): Set<Disposable> {
  if (v === null || v === undefined || depth > 8) return out;
  if (typeof v !== 'object') return out;
  const o = v as Record<string, unknown>;
  // check `in` first: reading an unknown property can throw on proxies (e.g. assertion objects)
  if ('disposed' in o && 'dispose' in o && typeof o.dispose === 'function') {
    out.add(o as unknown as Disposable);
    return out;
  }
  if (Array.isArray(v)) for (const x of v) collectDisposables(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collectDisposables(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const k in o) collectDisposables(o[k], out, depth + 1);
  return out;
}

function finish<R>(s: Scope, parent: Scope | undefined, r: R): R {
  const keep = collectDisposables(r, new Set());
  // only what this scope tracked moves up: a returned tensor it never owned (an input, a kept
  // tensor, one of an outer scope) stays where it was, or the parent would dispose it
  const owned = [...keep].filter((t) => s.items.has(t));
  s.close(keep);
  if (parent) for (const t of owned) if (!t.disposed) parent.add(t);
  return r;
}

/**
 * Run a synchronous function; dispose every tensor it created except those in
 * its return value (arrays and plain objects are searched), which move to the
 * enclosing scope.
 */
export function tidy<R>(fn: () => R): R {
  const parent = currentScope();
  const s = new Scope();
  let r: R;
  try {
    r = ctx.run(s, fn);
  } catch (e) {
    s.close(new Set());
    throw e;
  }
  if (r instanceof Promise) throw new Error('tidy: the function returned a Promise; use scope(async () => ...) for async code');
  return finish(s, parent, r);
}

/** `tidy` for async functions: tensors created across `await`s are tracked too. */
export async function scope<R>(fn: () => Promise<R> | R): Promise<R> {
  const parent = currentScope();
  const s = new Scope();
  let r: R;
  try {
    r = await ctx.run(s, fn);
  } catch (e) {
    s.close(new Set());
    throw e;
  }
  return finish(s, parent, r);
}

/** Take a tensor out of every enclosing scope so it survives them (dispose it yourself). */
export function keep<T extends Disposable>(t: T): T {
  t.scope?.delete(t);
  return t;
}

// ---- accounting -------------------------------------------------------------

export const registry = {
  liveTensors: 0,
  backends: new Set<Backend>(),
};

export interface MemoryInfo {
  /** tensor handles alive (including those the autodiff tape holds) */
  liveTensors: number;
  /** bytes of storage alive, all backends */
  liveBytes: number;
  /** high-water mark of liveBytes since the last resetPeakMemory() */
  peakBytes: number;
}

export function memory(): MemoryInfo {
  let liveBytes = 0;
  let peakBytes = 0;
  for (const b of registry.backends) {
    const m = b.memory();
    liveBytes += m.liveBytes;
    peakBytes += m.peakBytes;
  }
  return { liveTensors: registry.liveTensors, liveBytes, peakBytes };
}

export function resetPeakMemory(): void {
  for (const b of registry.backends) b.resetPeak();
}
