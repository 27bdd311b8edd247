/**
 * Node's file system, reached lazily with `process.getBuiltinModule` (as
 * core/memory.ts reaches async_hooks) instead of a static import, so that the
 * library's single entry point still loads in a browser; there, the file
 * functions throw a clear error and the in-memory ones (serialize/parse) work.
 * Every module reachable from src/index.ts reads files this way
 * (test/io/browserBundle.test.ts bundles the root for the browser to hold it).
 */
import type * as FS from 'node:fs';
import type * as Path from 'node:path';

function builtin<T>(name: string, fn: string, hint: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(name) as T | undefined;
  if (!mod) throw new Error(`${fn}: needs Node.js ≥ 20.16 (${name}); ${hint}`);
  return mod;
}

const BYTES_HINT = 'in a browser use serializeSafetensors/parseSafetensors on bytes';

/** `node:fs`, or an error naming `fn` and, as `hint`, what a browser can do instead. */
export const nodeFs = (fn: string, hint = BYTES_HINT): typeof FS => builtin<typeof FS>('node:fs', fn, hint);
export const nodePath = (fn: string, hint = BYTES_HINT): typeof Path => builtin<typeof Path>('node:path', fn, hint);
