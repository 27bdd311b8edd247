/**
 * Node's file system, reached lazily with `process.getBuiltinModule` (as
 * core/memory.ts reaches async_hooks) instead of a static import, so that the
 * library's single entry point still loads in a browser; there, the file
 * functions throw a clear error and the in-memory ones (serialize/parse) work.
 */
import type * as FS from 'node:fs';
import type * as Path from 'node:path';

function builtin<T>(name: string, fn: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(name) as T | undefined;
  if (!mod) throw new Error(`${fn}: needs Node.js ≥ 20.16 (${name}); in a browser use serializeSafetensors/parseSafetensors on bytes`);
  return mod;
}

export const nodeFs = (fn: string): typeof FS => builtin<typeof FS>('node:fs', fn);
export const nodePath = (fn: string): typeof Path => builtin<typeof Path>('node:path', fn);
