/**
 * What the WebAssembly engine supports, detected once by validating tiny
 * modules (the usual way: `WebAssembly.validate` never runs code).
 *
 * Relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add) is shipped in
 * Chrome ≥ 114 and Node ≥ 22, but Node 20's V8 (11.3) keeps it behind the
 * flag `--experimental-wasm-relaxed-simd`. V8 flags are process-wide and are
 * read when a module is validated, so setting the flag with
 * `v8.setFlagsFromString` before our first compile enables it for this
 * thread and for every worker thread (measured: a worker validates the same
 * bytes). Setting it can only add instructions the engine understands, so it
 * does not change any other code running in the process.
 */
import { ModuleBuilder, f32x4, get } from './emit.js';

export interface WasmFeatures {
  /** 128-bit SIMD (required by the fast kernels) */
  simd: boolean;
  /** relaxed SIMD: `f32x4.relaxed_madd` is used by the kernels */
  relaxed: boolean;
  /** how relaxed SIMD was obtained: built in, by setting the V8 flag at run time, or not at all */
  relaxedVia: 'native' | 'v8-flag' | 'none';
  /** the heap is a shared memory (worker threads can work on it) */
  sharedMemory: boolean;
  /** threads the pool uses for a kernel, the calling thread included (1 = no workers) */
  threads: number;
}

const simdProbe = (): Uint8Array<ArrayBuffer> => {
  const m = new ModuleBuilder();
  m.func('f', { a: 'v128', b: 'v128' }, 'v128', (p) => [f32x4.add(get(p.a), get(p.b)).c]);
  return m.toBytes();
};

const relaxedProbe = (): Uint8Array<ArrayBuffer> => {
  const m = new ModuleBuilder();
  m.func('f', { a: 'v128', b: 'v128', c: 'v128' }, 'v128', (p) => [f32x4.relaxedMadd(get(p.a), get(p.b), get(p.c)).c]);
  return m.toBytes();
};

let detected: { simd: boolean; relaxed: boolean; relaxedVia: WasmFeatures['relaxedVia'] } | undefined;

function nodeV8(): { setFlagsFromString(flag: string): void } | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flag: string): void } | undefined;
  } catch {
    return undefined;
  }
}

/** Detect SIMD and relaxed SIMD, enabling the latter through V8's flag on Node when needed. */
export function detectFeatures(): { simd: boolean; relaxed: boolean; relaxedVia: WasmFeatures['relaxedVia'] } {
  if (detected) return detected;
  if (typeof WebAssembly === 'undefined') return (detected = { simd: false, relaxed: false, relaxedVia: 'none' });
  const simd = WebAssembly.validate(simdProbe());
  const probe = relaxedProbe();
  let relaxedVia: WasmFeatures['relaxedVia'] = 'none';
  if (simd && WebAssembly.validate(probe)) relaxedVia = 'native';
  else if (simd) {
    const v8 = nodeV8();
    if (v8) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      if (WebAssembly.validate(probe)) relaxedVia = 'v8-flag';
    }
  }
  return (detected = { simd, relaxed: relaxedVia !== 'none', relaxedVia });
}

/** Logical cores available to this process (Node) or page (browsers). */
export function coreCount(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}
