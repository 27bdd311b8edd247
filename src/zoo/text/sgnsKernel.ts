/**
 * The SGNS pair update — the hot loop of sgns.ts — twice: as a plain
 * TypeScript loop over Float32Arrays (the reference) and as WebAssembly SIMD
 * kernels (several times faster); a test holds the two equal.
 *
 * One training pair (input row w, targets c₀ … c_k) is, per target,
 *   f = w·c            → `dot`
 *   g = lr·(label − σ(f))   (computed in JS: exact σ, as the reference)
 *   e += g·c;  c += g·w → `update`
 * and at the end w += e; e = 0 → `finish`. Rows are padded to a multiple of
 * 4 floats with zeros (which these updates keep at zero), so every loop runs
 * whole f32x4 vectors. Multiply-adds are fused (`f32x4.relaxed_madd`) where
 * the engine has relaxed SIMD, else a multiply then an add. The vectors live
 * in the kernel's own linear memory; TypeScript sees them as Float32Array
 * views of it, so the rest of the training loop is unchanged.
 */
import { ModuleBuilder, f32, f32x4, forUp, get, i32, madd, ret, set, v128 } from '../../backends/cpu/wasm/emit.js';
import { detectFeatures } from '../../backends/cpu/wasm/features.js';

/** The kernels, on byte offsets into `memory`; `n` counts floats and is a multiple of 4. */
export interface SgnsKernel {
  readonly memory: WebAssembly.Memory;
  /** Whether multiply-adds are fused (relaxed SIMD). */
  readonly fused: boolean;
  dot(w: number, c: number, n: number): number;
  update(w: number, c: number, e: number, g: number, n: number): void;
  finish(w: number, e: number, n: number): void;
}

const PAGE = 65536;
const MAX_PAGES = 65536;

function build(fused: boolean, pages: number): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: pages, max: pages, shared: false });
  m.func('dot', { w: 'i32', c: 'i32', n: 'i32' }, 'f32', (p, f) => {
    const i = f.local('i32');
    const end = f.local('i32');
    const acc0 = f.local('v128');
    const acc1 = f.local('v128');
    const at = (base: typeof p.w, off = 0) => v128.load(i32.add(get(base), get(i)), off);
    // Two accumulators (8 floats a step) hide the add latency; a lone 4-float tail follows.
    return [
      set(end, i32.shl(i32.and(get(p.n), -8), 2)),
      set(acc0, v128.zero()),
      set(acc1, v128.zero()),
      forUp(i, 0, get(end), 32,
        set(acc0, madd(fused, at(p.w), at(p.c), get(acc0))),
        set(acc1, madd(fused, at(p.w, 16), at(p.c, 16), get(acc1)))),
      forUp(i, get(end), i32.shl(get(p.n), 2), 16, set(acc0, madd(fused, at(p.w), at(p.c), get(acc0)))),
      set(acc0, f32x4.add(get(acc0), get(acc1))),
      ret(f32.add(
        f32.add(f32x4.extractLane(get(acc0), 0), f32x4.extractLane(get(acc0), 1)),
        f32.add(f32x4.extractLane(get(acc0), 2), f32x4.extractLane(get(acc0), 3)),
      )),
    ];
  }, { export: true });
  m.func('update', { w: 'i32', c: 'i32', e: 'i32', g: 'f32', n: 'i32' }, null, (p, f) => {
    const i = f.local('i32');
    const gv = f.local('v128');
    const cv = f.local('v128');
    const addr = (base: typeof p.w) => i32.add(get(base), get(i));
    return [
      set(gv, f32x4.splat(get(p.g))),
      forUp(i, 0, i32.shl(get(p.n), 2), 16,
        set(cv, v128.load(addr(p.c))),
        v128.store(addr(p.e), madd(fused, get(gv), get(cv), v128.load(addr(p.e)))),
        v128.store(addr(p.c), madd(fused, get(gv), v128.load(addr(p.w)), get(cv)))),
    ];
  }, { export: true });
  m.func('finish', { w: 'i32', e: 'i32', n: 'i32' }, null, (p, f) => {
    const i = f.local('i32');
    const addr = (base: typeof p.w) => i32.add(get(base), get(i));
    return [
      forUp(i, 0, i32.shl(get(p.n), 2), 16,
        v128.store(addr(p.w), f32x4.add(v128.load(addr(p.w)), v128.load(addr(p.e)))),
        v128.store(addr(p.e), v128.zero())),
    ];
  }, { export: true });
  return m.toBytes();
}

/**
 * Kernels over a fresh memory of at least `bytes` bytes, or null where
 * WebAssembly SIMD is unavailable or the memory would pass 4 GiB.
 */
export function createSgnsKernel(bytes: number): SgnsKernel | null {
  const features = detectFeatures();
  if (!features.simd) return null;
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > MAX_PAGES) return null;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const module = new WebAssembly.Module(build(features.relaxed, pages));
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Omit<SgnsKernel, 'memory' | 'fused'>;
  return { memory, fused: features.relaxed, dot: exports.dot, update: exports.update, finish: exports.finish };
}

/** One SGD step for an input row against its targets, on padded V×stride matrices. */
export interface PairUpdater {
  readonly kind: 'wasm' | 'js';
  /** Input vectors W and output vectors C, V×stride row-major. */
  readonly syn0: Float32Array;
  readonly syn1: Float32Array;
  /**
   * Updates input row `row` against targets[0] (label 1) and
   * targets[1..count) (label 0) with learning rate lr; returns the summed
   * loss −log σ(±w·c) when `trackLoss`, else 0.
   */
  step(row: number, targets: Int32Array, count: number, lr: number, trackLoss: boolean): number;
}

/** A pair updater for a V×stride model: 'wasm' (throws if unavailable), 'js', or 'auto' (wasm if it can). */
export function createPairUpdater(v: number, stride: number, kind: 'auto' | 'wasm' | 'js'): PairUpdater {
  if (kind !== 'auto' && kind !== 'wasm' && kind !== 'js') {
    throw new Error(`trainSgns: kernel must be 'auto', 'wasm' or 'js', got ${JSON.stringify(kind)}`);
  }
  if (kind !== 'js') {
    const floats = 2 * v * stride + stride;
    const kernel = createSgnsKernel(4 * floats);
    if (kernel) return wasmUpdater(kernel, v, stride);
    if (kind === 'wasm') {
      throw new Error(`trainSgns: kernel 'wasm' is unavailable (no WebAssembly SIMD, or ${4 * floats} bytes of vectors exceed 4 GiB)`);
    }
  }
  return jsUpdater(v, stride);
}

function wasmUpdater(kernel: SgnsKernel, v: number, stride: number): PairUpdater {
  const { dot, update, finish } = kernel;
  const rowBytes = 4 * stride;
  const syn1Base = v * rowBytes;
  const neu1e = 2 * v * rowBytes; // zero, and left zero by finish()
  return {
    kind: 'wasm',
    syn0: new Float32Array(kernel.memory.buffer, 0, v * stride),
    syn1: new Float32Array(kernel.memory.buffer, syn1Base, v * stride),
    step(row, targets, count, lr, trackLoss) {
      const w = row * rowBytes;
      let loss = 0;
      for (let d = 0; d < count; d++) {
        const c = syn1Base + targets[d] * rowBytes;
        const sigma = 1 / (1 + Math.exp(-dot(w, c, stride)));
        const label = d === 0 ? 1 : 0;
        if (trackLoss) loss -= Math.log(label === 1 ? sigma : 1 - sigma);
        update(w, c, neu1e, (label - sigma) * lr, stride);
      }
      finish(w, neu1e, stride);
      return loss;
    },
  };
}

function jsUpdater(v: number, stride: number): PairUpdater {
  const syn0 = new Float32Array(v * stride);
  const syn1 = new Float32Array(v * stride);
  const neu1e = new Float32Array(stride);
  return {
    kind: 'js',
    syn0,
    syn1,
    step: (row, targets, count, lr, trackLoss) => updatePairJs(syn0, syn1, neu1e, row * stride, targets, count, stride, lr, trackLoss),
  };
}

/**
 * The reference pair update in plain TypeScript: the input vector at offset
 * l1 of syn0 against targets[0] (label 1) and targets[1..count) (label 0),
 * rows of `dim` floats in syn1. Per target, with g = lr·(label − σ(w·c)):
 * e += g·c; c += g·w; then w += e (word2vec.c's order).
 * Returns the summed loss −log σ(±f) when `trackLoss`, else 0.
 */
export function updatePairJs(
  syn0: Float32Array, syn1: Float32Array, neu1e: Float32Array, l1: number,
  targets: Int32Array, count: number, dim: number, lr: number, trackLoss: boolean,
): number {
  // Views of exactly dim elements let V8 drop the bounds checks in the loops below.
  const w = syn0.subarray(l1, l1 + dim);
  const dim4 = dim & ~3;
  neu1e.fill(0);
  let loss = 0;
  for (let d = 0; d < count; d++) {
    const l2 = targets[d] * dim;
    const c = syn1.subarray(l2, l2 + dim);
    const label = d === 0 ? 1 : 0;
    // Four partial sums break the add dependency chain (about 1.2x faster here).
    let f0 = 0;
    let f1 = 0;
    let f2 = 0;
    let f3 = 0;
    let t = 0;
    for (; t < dim4; t += 4) {
      f0 += w[t] * c[t];
      f1 += w[t + 1] * c[t + 1];
      f2 += w[t + 2] * c[t + 2];
      f3 += w[t + 3] * c[t + 3];
    }
    for (; t < dim; t++) f0 += w[t] * c[t];
    const sigma = 1 / (1 + Math.exp(-(f0 + f1 + f2 + f3)));
    if (trackLoss) loss -= Math.log(label === 1 ? sigma : 1 - sigma);
    const g = (label - sigma) * lr;
    for (t = 0; t < dim; t++) {
      const ct = c[t];
      neu1e[t] += g * ct;
      c[t] = ct + g * w[t];
    }
  }
  for (let t = 0; t < dim; t++) w[t] += neu1e[t];
  return loss;
}
