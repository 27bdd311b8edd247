/**
 * Random tensors over the counter-based Philox4x32-10 generator of
 * `core/random.ts` (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011), with JAX's functional key discipline: a key is an immutable
 * pair of uint32 words; the same key always gives the same values, and you
 * derive fresh keys with `splitKey` (or `foldIn`) instead of advancing a
 * generator. Use each key for one purpose only.
 *
 * Every sampler draws its values in float64 and rounds them once to the
 * requested dtype, so `uniform(k, s, {dtype: 'f32'})` is exactly
 * `uniform(k, s, {dtype: 'f64'})` rounded to float32: results do not depend on
 * the dtype beyond that rounding. Element i of an elementwise sampler depends
 * only on (key, i), so a smaller draw is a prefix of a larger one.
 *
 * These are creation functions, not ops: they have no tensor inputs to
 * differentiate, so they are not in `OPS` and record nothing on the tape.
 */
import { Tensor } from '../core/tensor.js';
import * as prng from '../core/random.js';
import type { Key } from '../core/random.js';
import { isFloat, type DType } from '../core/dtype.js';
import { assertShape, broadcastShapes, shapeStr, sizeOf } from '../core/shape.js';
import { bf16BitsToF32, f16BitsToF32, f64ToBf16Bits, f64ToF16Bits, roundToBf16, roundToF16 } from '../core/float16.js';
import { broadcastStrides } from './broadcast.js';
import { defaultFloat, tensor, type CreateOptions } from './creation.js';

export type { Key } from '../core/random.js';

// ---- keys -----------------------------------------------------------------------

/** A key from a seed (a non-negative integer below 2^53), like JAX's `PRNGKey`. */
export function randomKey(seed: number): Key {
  return prng.key(seed);
}

/** `n` independent child keys (default 2). Stop using `k` itself once it is split. */
export function splitKey(k: Key, n = 2): Key[] {
  return prng.split(k, n);
}

/** A key derived from `k` and an integer (a step or layer index); distinct data give independent keys. */
export function foldIn(k: Key, data: number): Key {
  return prng.foldIn(k, data);
}

function assertKey(fn: string, k: unknown): Key {
  const ok = (w: unknown): boolean => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < 2 ** 32;
  if (!Array.isArray(k) || k.length !== 2 || !ok(k[0]) || !ok(k[1])) {
    throw new Error(`${fn}: key must be a pair of uint32 words (from randomKey/splitKey), got ${describeValue(k)}`);
  }
  return k as unknown as Key;
}

function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor ${v.describe()}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---- dtype rounding ------------------------------------------------------------------

/** Round a float64 value to the nearest value of a floating dtype (round-to-nearest-even). */
function roundTo(d: DType, x: number): number {
  switch (d) {
    case 'f32':
      return Math.fround(x);
    case 'f16':
      return roundToF16(x);
    case 'bf16':
      return roundToBf16(x);
    default:
      return x;
  }
}

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);
const f64Buf = new Float64Array(1);
const u64Buf = new BigUint64Array(f64Buf.buffer);

/** Bit-pattern codecs of the narrow float formats (width, encode of an exactly representable value, decode). */
const FORMATS: Record<'f32' | 'f16' | 'bf16', { bits: number; enc: (x: number) => number; dec: (b: number) => number }> = {
  f32: {
    bits: 32,
    enc: (x) => ((f32Buf[0] = x), u32Buf[0]!),
    dec: (b) => ((u32Buf[0] = b), f32Buf[0]!),
  },
  f16: { bits: 16, enc: f64ToF16Bits, dec: f16BitsToF32 },
  bf16: { bits: 16, enc: f64ToBf16Bits, dec: bf16BitsToF32 },
};

/**
 * The largest value of dtype `d` strictly below `hi`. IEEE formats are
 * sign-magnitude, so the neighbour below a value is one step down of its bit
 * pattern when it is positive and one step up when it is negative (below ±0
 * is the smallest negative subnormal).
 */
function largestBelow(d: DType, hi: number): number {
  const r = roundTo(d, hi);
  if (r < hi) return r;
  if (d === 'f64') {
    if (r === 0) return -Number.MIN_VALUE;
    f64Buf[0] = r;
    u64Buf[0] = r > 0 ? u64Buf[0]! - 1n : u64Buf[0]! + 1n;
    return f64Buf[0]!;
  }
  const f = FORMATS[d as 'f32' | 'f16' | 'bf16'];
  const sign = 2 ** (f.bits - 1);
  if (r === 0) return f.dec(sign + 1);
  const b = f.enc(r);
  return f.dec(r > 0 ? b - 1 : b + 1);
}

// ---- options ----------------------------------------------------------------------------

function floatDType(fn: string, d: DType | undefined): DType {
  const dtype = d ?? defaultFloat();
  if (!isFloat(dtype)) throw new Error(`${fn}: dtype must be a floating type (f64, f32, f16, bf16), got ${String(dtype)}`);
  return dtype;
}

function checkNumber(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${fn}: ${name} must be a finite number, got ${describeValue(v)}`);
  return v;
}

function build(values: Float64Array | Int32Array | Uint8Array, shape: number[], dtype: DType, opts: CreateOptions): Tensor {
  return tensor(values, shape, { ...opts, dtype });
}

// ---- samplers -----------------------------------------------------------------------------

export interface UniformOptions extends CreateOptions {
  /** lower bound, included (default 0) */
  lo?: number;
  /** upper bound, excluded (default 1) */
  hi?: number;
}

/**
 * Uniform samples on [lo, hi). Each element is lo + (hi − lo)·u with u a
 * 53-bit uniform, rounded to the dtype; a value that would round up to `hi`
 * becomes the largest dtype value below `hi`, so `hi` is never returned.
 */
export function uniform(k: Key, shape: readonly number[], opts: UniformOptions = {}): Tensor {
  const fn = 'uniform';
  assertKey(fn, k);
  const sh = assertShape(fn, 'shape', shape);
  const dtype = floatDType(fn, opts.dtype);
  const lo = checkNumber(fn, 'lo', opts.lo ?? 0);
  const hi = checkNumber(fn, 'hi', opts.hi ?? 1);
  if (!(lo < hi)) throw new Error(`${fn}: lo (${lo}) must be less than hi (${hi})`);
  const values = prng.uniform(k, sizeOf(sh), lo, hi);
  if (dtype !== 'f64') {
    const top = largestBelow(dtype, hi);
    if (top < roundTo(dtype, lo)) throw new Error(`${fn}: no ${dtype} value lies in [${lo}, ${hi})`);
    for (let i = 0; i < values.length; i++) {
      const v = roundTo(dtype, values[i]!);
      values[i] = v < hi ? v : top;
    }
  }
  return build(values, sh, dtype, opts);
}

export interface NormalOptions extends CreateOptions {
  mean?: number;
  std?: number;
}

/** Normal samples N(mean, std²), by the Box–Muller transform (two values per Philox block). */
export function normal(k: Key, shape: readonly number[], opts: NormalOptions = {}): Tensor {
  const fn = 'normal';
  assertKey(fn, k);
  const sh = assertShape(fn, 'shape', shape);
  const dtype = floatDType(fn, opts.dtype);
  const mean = checkNumber(fn, 'mean', opts.mean ?? 0);
  const std = checkNumber(fn, 'std', opts.std ?? 1);
  if (std < 0) throw new Error(`${fn}: std must be non-negative, got ${std}`);
  return build(prng.normal(k, sizeOf(sh), mean, std), sh, dtype, opts);
}

export interface TruncatedNormalOptions extends NormalOptions {
  /** lower bound in standard deviations from the mean (default −2; −Infinity allowed) */
  lo?: number;
  /** upper bound in standard deviations from the mean (default 2; Infinity allowed) */
  hi?: number;
}

/**
 * mean + std·z with z a standard normal conditioned on lo ≤ z ≤ hi (bounds in
 * standard units, as in JAX's `truncated_normal`). Exact rejection sampling
 * (C. P. Robert, Statistics and Computing 1995), accurate far in the tails.
 */
export function truncatedNormal(k: Key, shape: readonly number[], opts: TruncatedNormalOptions = {}): Tensor {
  const fn = 'truncatedNormal';
  assertKey(fn, k);
  const sh = assertShape(fn, 'shape', shape);
  const dtype = floatDType(fn, opts.dtype);
  const mean = checkNumber(fn, 'mean', opts.mean ?? 0);
  const std = checkNumber(fn, 'std', opts.std ?? 1);
  if (std < 0) throw new Error(`${fn}: std must be non-negative, got ${std}`);
  const lo = opts.lo ?? -2;
  const hi = opts.hi ?? 2;
  if (typeof lo !== 'number' || Number.isNaN(lo) || typeof hi !== 'number' || Number.isNaN(hi) || !(lo < hi)) {
    throw new Error(`${fn}: need lo < hi (in standard deviations), got lo ${describeValue(lo)} and hi ${describeValue(hi)}`);
  }
  const z = prng.truncatedNormal(k, sizeOf(sh), lo, hi);
  for (let i = 0; i < z.length; i++) z[i] = mean + std * z[i]!;
  return build(z, sh, dtype, opts);
}

/**
 * Bernoulli samples (bool): true with probability p. `p` is a number (then
 * `shape` defaults to []) or a tensor of probabilities that broadcasts to
 * `shape` (default: p's shape). Element i is true iff the 53-bit uniform u_i
 * is below p_i, so a constant tensor p gives exactly the draws of the number p.
 */
export function bernoulli(k: Key, p: number | Tensor, shape?: readonly number[]): Tensor {
  const fn = 'bernoulli';
  assertKey(fn, k);
  if (typeof p === 'number') {
    if (!(p >= 0 && p <= 1)) throw new Error(`${fn}: p must be a probability in [0, 1], got ${p}`);
    const sh = assertShape(fn, 'shape', shape ?? []);
    return build(prng.bernoulli(k, sizeOf(sh), p), sh, 'bool', {});
  }
  if (!(p instanceof Tensor)) throw new Error(`${fn}: p must be a number or a Tensor, got ${describeValue(p)}`);
  p.assertAlive(fn, 'p');
  const sh = shape === undefined ? p.shape.slice() : assertShape(fn, 'shape', shape);
  const b = broadcastShapes(fn, [p.shape, sh], ['p', 'shape']);
  if (b.length !== sh.length || b.some((d, i) => d !== sh[i])) throw new Error(`${fn}: p is ${shapeStr(p.shape)}, which does not broadcast to shape ${shapeStr(sh)}`);
  const probs = p.toF64();
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (!(v >= 0 && v <= 1)) throw new Error(`${fn}: p must hold probabilities in [0, 1], got ${v} at flat index ${i} of p ${p.describe()}`);
  }
  const n = sizeOf(sh);
  const u = prng.uniform(k, n, 0, 1);
  const out = new Uint8Array(n);
  // walk p with broadcast strides (0 on broadcast axes) in row-major order of the output
  const st = broadcastStrides(p.shape, sh);
  const ctr = new Array<number>(sh.length).fill(0);
  let j = 0;
  for (let i = 0; i < n; i++) {
    out[i] = u[i]! < probs[j]! ? 1 : 0;
    for (let ax = sh.length - 1; ax >= 0; ax--) {
      ctr[ax]!++;
      j += st[ax]!;
      if (ctr[ax]! < sh[ax]!) break;
      j -= st[ax]! * sh[ax]!;
      ctr[ax] = 0;
    }
  }
  return build(out, sh, 'bool', { backend: p.storage.backend });
}

/** Integers uniform on [lo, hi) as i32; exactly unbiased (Lemire's multiply-shift with rejection). */
export function randint(k: Key, shape: readonly number[], lo: number, hi: number, opts: Omit<CreateOptions, 'dtype' | 'requiresGrad'> = {}): Tensor {
  const fn = 'randint';
  assertKey(fn, k);
  const sh = assertShape(fn, 'shape', shape);
  return build(prng.randint(k, sizeOf(sh), lo, hi), sh, 'i32', opts);
}

/** A uniformly random permutation of 0 … n−1 (i32), by Fisher–Yates. */
export function permutation(k: Key, n: number, opts: Omit<CreateOptions, 'dtype' | 'requiresGrad'> = {}): Tensor {
  const fn = 'permutation';
  assertKey(fn, k);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${fn}: n must be a non-negative integer, got ${describeValue(n)}`);
  return build(prng.permutation(k, n), [n], 'i32', opts);
}

/**
 * Category indices (i32) drawn in proportion to the non-negative weights in
 * the last axis of `probs` [..., m] (they need not sum to 1); the result is
 * [..., numSamples]. Rows are independent: row r uses the key foldIn(k, r),
 * so its draws do not depend on the batch around it. With replacement
 * (default) by inverse CDF; without, by Gumbel-top-k (numSamples ≤ the number
 * of positive weights in every row).
 */
export function multinomial(k: Key, probs: Tensor, numSamples: number, opts: { replacement?: boolean } = {}): Tensor {
  const fn = 'multinomial';
  assertKey(fn, k);
  if (!(probs instanceof Tensor)) throw new Error(`${fn}: probs must be a Tensor, got ${describeValue(probs)}`);
  probs.assertAlive(fn, 'probs');
  if (probs.ndim === 0) throw new Error(`${fn}: probs must have at least one axis (categories last), got a scalar`);
  if (!Number.isInteger(numSamples) || numSamples < 0) throw new Error(`${fn}: numSamples must be a non-negative integer, got ${describeValue(numSamples)}`);
  const m = probs.shape[probs.ndim - 1]!;
  if (m === 0) throw new Error(`${fn}: probs ${probs.describe()} has no categories`);
  const lead = probs.shape.slice(0, -1);
  const rows = sizeOf(lead);
  const w = probs.toF64();
  const out = new Int32Array(rows * numSamples);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * m, (r + 1) * m);
    try {
      out.set(prng.multinomial(prng.foldIn(k, r), row, numSamples, { replacement: opts.replacement ?? true }), r * numSamples);
    } catch (e) {
      const where = rows > 1 ? ` (row ${r} of probs ${probs.describe()})` : ` (probs ${probs.describe()})`;
      throw new Error(`${(e as Error).message}${where}`, { cause: e });
    }
  }
  return build(out, [...lead, numSamples], 'i32', { backend: probs.storage.backend });
}
