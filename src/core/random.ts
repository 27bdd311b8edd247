/**
 * Counter-based, splittable pseudo-random numbers.
 *
 * The generator is Philox4x32-10 (J. K. Salmon, M. A. Moraes, R. O. Dror,
 * D. E. Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a keyed
 * bijection of a 128-bit counter. Random words are a pure function of
 * (key, counter), so any element of a stream can be computed independently,
 * in any order, on any device. The implementation uses only 32-bit unsigned
 * integer operations (`Math.imul`, shifts, xor, wrapping adds), so the same
 * algorithm written in WGSL produces the same bits.
 *
 * Keys follow JAX's functional style: a key is an immutable pair of uint32
 * words; you never "advance" a generator, you `split` a key into independent
 * children (or `foldIn` a number) and use each key for one purpose only.
 * Reusing one key for two samplers gives correlated results.
 *
 * Counter layout. Word 3 of the counter is a domain tag so that the streams
 * used for different purposes under the same key never overlap:
 * - tag 0, `randomBits` and the samplers built on it: counter (j_lo, j_hi, 0, 0)
 *   for block j (a 64-bit block index split into two words);
 * - tag 1, `split`: counter (i_lo, i_hi, 0, 1) for child i;
 * - tag 2, `foldIn`: counter (d_lo, d_hi, 0, 2) for data d;
 * - tag 3, retries of the integer rejection samplers (`randint`,
 *   `permutation`): counter (i_lo, i_hi, attempt, 3) for element i;
 * - tag 4, `truncatedNormal`: counter (i_lo, i_hi, attempt, 4) for element i.
 *   Per-element counters keep every element a function of (key, i) only,
 *   however many rejections other elements needed.
 *
 * Reproducibility. The integer streams (`randomBits`, `randint`,
 * `permutation`, `bernoulli`, `rademacher`, `uniform` up to the final
 * affine map) are bit-exact everywhere. Samplers that apply `Math.log`,
 * `Math.cos`, ... (`normal`, `gumbel`, `truncatedNormal`, `multinomial`
 * without replacement) are as reproducible as the platform's math library
 * (deterministic within one JS engine; other engines may differ by an ulp).
 *
 * Prefix property. For every element-wise sampler (all except `permutation`
 * and `multinomial` without replacement) element i depends only on the key
 * and i, so `sampler(k, n)` is a prefix of `sampler(k, n')` for n' > n.
 */

/** A PRNG key: two uint32 words, JAX-style. Immutable; derive new keys with `split` / `foldIn`. */
export type Key = readonly [number, number];

// Philox4x32 constants (Salmon et al. 2011): round multipliers and Weyl key increments.
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const ROUNDS = 10;

// Domain tags (counter word 3), see the module comment.
const TAG_BITS = 0;
const TAG_SPLIT = 1;
const TAG_FOLD = 2;
const TAG_RETRY = 3;
const TAG_TRUNCATED_NORMAL = 4;

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/**
 * High 32 bits of the 64-bit product of two uint32 values, using only 32-bit
 * operations: split both operands into 16-bit halves so that each partial
 * product fits in 32 bits, then add the partial products with the carries
 * out of the low word. (In JS, `a * b` on doubles would lose the low bits.)
 */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = Math.imul(aLo, bLo) >>> 0;
  const lh = Math.imul(aLo, bHi) >>> 0;
  const hl = Math.imul(aHi, bLo) >>> 0;
  const hh = Math.imul(aHi, bHi) >>> 0;
  // Bits 16..31 of the product, plus the carry into bit 32. At most 3·(2^16 − 1).
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  // True high word: never exceeds 2^32 − 1, so no wrap-around happens here.
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Core Philox4x32-10 block function: writes the 4 output words for counter
 * (c0, c1, c2, c3) under key (k0, k1) into out[offset .. offset+4).
 */
function philoxInto(
  k0: number,
  k1: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  out: Uint32Array,
  offset: number,
): void {
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) {
      // Key schedule: Weyl sequence bump before every round but the first.
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[offset] = c0;
  out[offset + 1] = c1;
  out[offset + 2] = c2;
  out[offset + 3] = c3;
}

// Scratch block for single-block calls and partial trailing blocks.
const block = new Uint32Array(4);

/**
 * The raw Philox4x32-10 bijection: the 4 output words (uint32) for the
 * 128-bit counter (c0, c1, c2, c3) under `k`. Matches the Random123
 * reference implementation (its known-answer vectors are in the tests).
 */
export function philox4x32(
  k: Key,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
): [number, number, number, number] {
  checkKey('philox4x32', k);
  for (const [name, c] of [['c0', c0], ['c1', c1], ['c2', c2], ['c3', c3]] as const) {
    if (!isUint32(c)) throw new Error(`philox4x32: counter word ${name} must be a uint32, got ${c}`);
  }
  philoxInto(k[0], k[1], c0, c1, c2, c3, block, 0);
  return [block[0], block[1], block[2], block[3]];
}

// ---------------------------------------------------------------------------
// Validation helpers. Errors name the function and the offending argument.
// ---------------------------------------------------------------------------

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_32;
}

function checkKey(fn: string, k: Key): void {
  if (k == null || typeof k !== 'object' || k.length !== 2 || !isUint32(k[0]) || !isUint32(k[1])) {
    let shown: string;
    try {
      shown = JSON.stringify(k);
    } catch {
      shown = String(k);
    }
    throw new Error(`${fn}: key must be a pair of uint32 words, got ${shown}`);
  }
}

function checkCount(fn: string, name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${fn}: ${name} must be a non-negative integer, got ${n}`);
  }
}

function checkFinite(fn: string, name: string, x: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new Error(`${fn}: ${name} must be a finite number, got ${x}`);
  }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/**
 * Make a key from a seed: a non-negative safe integer (0 ≤ seed < 2^53).
 * Like JAX's `PRNGKey`, the key is [high 32 bits, low 32 bits] of the seed.
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`key: seed must be a non-negative integer, got ${seed}`);
  }
  return [Math.floor(seed / TWO_32), seed >>> 0];
}

/**
 * Derive `n` independent child keys (default 2) from `k`. Child i is the
 * first two output words of Philox on counter (i_lo, i_hi, 0, TAG_SPLIT) under
 * `k`, the counter-based analogue of JAX's threefry split. Don't keep using
 * `k` itself after splitting it.
 */
export function split(k: Key, n = 2): Key[] {
  checkKey('split', k);
  checkCount('split', 'n', n);
  const children: Key[] = [];
  for (let i = 0; i < n; i++) {
    philoxInto(k[0], k[1], i >>> 0, Math.floor(i / TWO_32), 0, TAG_SPLIT, block, 0);
    children.push([block[0], block[1]]);
  }
  return children;
}

/**
 * Derive a new key from `k` and a non-negative integer `data` (< 2^53), e.g. a
 * step or layer index. Distinct data give independent keys; the result is
 * also independent of `split(k, …)` children (different counter tag).
 */
export function foldIn(k: Key, data: number): Key {
  checkKey('foldIn', k);
  if (!Number.isSafeInteger(data) || data < 0) {
    throw new Error(`foldIn: data must be a non-negative integer, got ${data}`);
  }
  philoxInto(k[0], k[1], data >>> 0, Math.floor(data / TWO_32), 0, TAG_FOLD, block, 0);
  return [block[0], block[1]];
}

// ---------------------------------------------------------------------------
// Raw bits
// ---------------------------------------------------------------------------

/** Fill `out` with the key's main stream (tag 0), no validation. */
function fillBits(k: Key, out: Uint32Array): Uint32Array {
  const n = out.length;
  const fullBlocks = Math.floor(n / 4);
  const k0 = k[0];
  const k1 = k[1];
  for (let j = 0; j < fullBlocks; j++) {
    philoxInto(k0, k1, j >>> 0, Math.floor(j / TWO_32), 0, TAG_BITS, out, 4 * j);
  }
  const rest = n - 4 * fullBlocks;
  if (rest > 0) {
    philoxInto(k0, k1, fullBlocks >>> 0, Math.floor(fullBlocks / TWO_32), 0, TAG_BITS, block, 0);
    for (let lane = 0; lane < rest; lane++) out[4 * fullBlocks + lane] = block[lane];
  }
  return out;
}

/**
 * `n` uniformly distributed uint32 words. Element i is lane i % 4 of the
 * Philox block for counter (j_lo, j_hi, 0, 0) with j = floor(i / 4). Hence
 * `randomBits(k, n)` is always a prefix of `randomBits(k, n')` for n' > n.
 */
export function randomBits(k: Key, n: number): Uint32Array {
  checkKey('randomBits', k);
  checkCount('randomBits', 'n', n);
  return fillBits(k, new Uint32Array(n));
}

/** A double in [0, 1) with 53 random bits: 27 from `a`, 26 from `b`. */
function unit53(a: number, b: number): number {
  return ((a >>> 5) * 67108864 + (b >>> 6)) / TWO_53;
}

/** A double in the open interval (0, 1): (m + 1/2) / 2^52 with 52 random bits m (exact, never 0 or 1). */
function openUnit(a: number, b: number): number {
  return ((a >>> 6) * 67108864 + (b >>> 6) + 0.5) / 4503599627370496;
}

/** The largest double strictly below x (x finite). */
function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  // Positive: decrement the pattern. Negative: increment it (larger magnitude).
  bits[0] += x > 0 ? -1n : 1n;
  return f[0];
}

// ---------------------------------------------------------------------------
// Samplers
// ---------------------------------------------------------------------------

/**
 * `n` samples from the uniform distribution on [lo, hi). Element i uses words
 * 2i and 2i+1 of `randomBits(k, 2n)`, i.e. 53 random bits u ∈ [0, 1), and is
 * lo + (hi − lo)·u. When floating-point rounding of that expression would
 * yield `hi`, the result is the largest double below `hi`, so `hi` is never
 * returned.
 */
export function uniform(k: Key, n: number, lo = 0, hi = 1): Float64Array {
  const fn = 'uniform';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  checkFinite(fn, 'lo', lo);
  checkFinite(fn, 'hi', hi);
  if (!(lo < hi)) throw new Error(`${fn}: lo (${lo}) must be less than hi (${hi})`);
  const width = hi - lo;
  if (!Number.isFinite(width)) throw new Error(`${fn}: hi − lo overflows (lo ${lo}, hi ${hi})`);
  const below = nextDown(hi);
  const bits = fillBits(k, new Uint32Array(2 * n));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = lo + width * unit53(bits[2 * i], bits[2 * i + 1]);
    out[i] = x < hi ? x : below;
  }
  return out;
}

/**
 * `n` samples from the normal distribution N(mean, std²), by the Box–Muller
 * transform. Elements 2p and 2p+1 come from Philox block p (4 words = two
 * 53-bit uniforms): u1 = 1 − U ∈ (0, 1] so log(u1) is finite, u2 ∈ [0, 1),
 * r = √(−2 ln u1), and the pair is (r cos 2πu2, r sin 2πu2).
 */
export function normal(k: Key, n: number, mean = 0, std = 1): Float64Array {
  const fn = 'normal';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  checkFinite(fn, 'mean', mean);
  checkFinite(fn, 'std', std);
  if (std < 0) throw new Error(`${fn}: std must be non-negative, got ${std}`);
  const pairs = Math.ceil(n / 2);
  const bits = fillBits(k, new Uint32Array(4 * pairs));
  const out = new Float64Array(n);
  for (let p = 0; p < pairs; p++) {
    const u1 = 1 - unit53(bits[4 * p], bits[4 * p + 1]);
    const u2 = unit53(bits[4 * p + 2], bits[4 * p + 3]);
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    out[2 * p] = mean + std * r * Math.cos(theta);
    if (2 * p + 1 < n) out[2 * p + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
}

/**
 * `n` Bernoulli(p) samples as 0/1 bytes: element i is 1 iff the 53-bit
 * uniform from words 2i, 2i+1 is below p (so p = 0 never and p = 1 always
 * gives 1).
 */
export function bernoulli(k: Key, n: number, p: number): Uint8Array {
  const fn = 'bernoulli';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be a probability in [0, 1], got ${p}`);
  }
  const bits = fillBits(k, new Uint32Array(2 * n));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = unit53(bits[2 * i], bits[2 * i + 1]) < p ? 1 : 0;
  return out;
}

/**
 * Lemire's multiply-shift reduction of a uniform uint32 `x` to [0, range),
 * range in [1, 2^32): the high word of x·range, rejecting the few low words
 * that would make some results more likely than others (D. Lemire, "Fast
 * random integer generation in an interval", ACM TOMACS 2019). Returns −1
 * when `x` must be rejected.
 */
function boundedOrReject(x: number, range: number): number {
  const low = Math.imul(x, range) >>> 0;
  if (low < range) {
    // 2^32 mod range: the number of low words that would bias the result.
    const threshold = (TWO_32 - range) % range;
    if (low < threshold) return -1;
  }
  return mulhi32(x, range);
}

/**
 * Unbiased integer in [0, range) for element `index`: first try the word
 * `first` (from the main stream); on rejection draw fresh words from the
 * per-element retry counters (index_lo, index_hi, attempt, TAG_RETRY).
 * range in [1, 2^32].
 */
function boundedInt(k: Key, first: number, range: number, index: number): number {
  if (range === TWO_32) return first;
  let r = boundedOrReject(first, range);
  for (let attempt = 1; r < 0; attempt++) {
    philoxInto(k[0], k[1], index >>> 0, Math.floor(index / TWO_32), attempt, TAG_RETRY, block, 0);
    r = boundedOrReject(block[0], range);
  }
  return r;
}

const INT32_MIN = -2147483648;
const INT32_LIMIT = 2147483648;

/**
 * `n` integers uniform on [lo, hi) (lo < hi, both within int32 range; hi may
 * be 2^31). Exactly unbiased: Lemire's multiply-shift with rejection.
 * Element i first uses word i of `randomBits(k, n)`; rejected draws (a
 * fraction below (2^32 mod range)/2^32) are redrawn from per-element retry
 * counters, so element i still depends only on (k, i).
 */
export function randint(k: Key, n: number, lo: number, hi: number): Int32Array {
  const fn = 'randint';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  if (!Number.isInteger(lo) || lo < INT32_MIN || lo >= INT32_LIMIT) {
    throw new Error(`${fn}: lo must be an int32 integer, got ${lo}`);
  }
  if (!Number.isInteger(hi) || hi <= INT32_MIN || hi > INT32_LIMIT) {
    throw new Error(`${fn}: hi must be an integer in (-2^31, 2^31], got ${hi}`);
  }
  if (!(lo < hi)) throw new Error(`${fn}: lo (${lo}) must be less than hi (${hi})`);
  const range = hi - lo; // 1 .. 2^32, exact
  const bits = fillBits(k, new Uint32Array(n));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + boundedInt(k, bits[i], range, i);
  return out;
}

/**
 * A uniformly random permutation of 0 .. n−1 (Fisher–Yates / Durstenfeld):
 * for t = 0 .. n−2, position i = n−1−t is swapped with an unbiased j ∈ [0, i]
 * drawn from word t as in `randint`.
 */
export function permutation(k: Key, n: number): Int32Array {
  const fn = 'permutation';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  if (n > INT32_LIMIT) throw new Error(`${fn}: n must be at most 2^31, got ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const steps = Math.max(n - 1, 0);
  const bits = fillBits(k, new Uint32Array(steps));
  for (let t = 0; t < steps; t++) {
    const i = n - 1 - t;
    const j = boundedInt(k, bits[t], i + 1, t);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}

/**
 * `numSamples` category indices drawn with probabilities proportional to the
 * non-negative weights `probs` (they need not sum to 1; zero-weight
 * categories are never drawn).
 *
 * - With replacement (default): inverse CDF. Sample s uses the 53-bit
 *   uniform u from words 2s, 2s+1; the result is the first index whose
 *   cumulative weight exceeds u·total (binary search).
 * - Without replacement: Gumbel-top-k. Category c gets the score
 *   log(w_c) + G_c with G_c a Gumbel variate from words 2c, 2c+1; the sample
 *   is the categories ordered by decreasing score, truncated to numSamples.
 *   This is distributed exactly like drawing one category at a time with
 *   probability proportional to the remaining weights. Requires numSamples ≤
 *   the number of positive weights.
 */
export function multinomial(
  k: Key,
  probs: ArrayLike<number>,
  numSamples: number,
  options: { replacement?: boolean } = {},
): Int32Array {
  const fn = 'multinomial';
  const replacement = options.replacement ?? true;
  checkKey(fn, k);
  checkCount(fn, 'numSamples', numSamples);
  const m = probs.length;
  if (m === 0) throw new Error(`${fn}: probs must not be empty`);
  let positive = 0;
  let lastPositive = -1;
  const cdf = new Float64Array(m);
  let total = 0;
  for (let c = 0; c < m; c++) {
    const w = probs[c];
    if (typeof w !== 'number' || Number.isNaN(w) || w === Infinity || w === -Infinity) {
      throw new Error(`${fn}: probs contains a non-finite value (${w} at index ${c})`);
    }
    if (w < 0) throw new Error(`${fn}: probs contains a negative value (${w} at index ${c})`);
    if (w > 0) {
      positive++;
      lastPositive = c;
    }
    total += w;
    cdf[c] = total;
  }
  if (positive === 0) throw new Error(`${fn}: probs must contain at least one positive weight`);
  if (!Number.isFinite(total)) throw new Error(`${fn}: the sum of probs overflows`);

  const out = new Int32Array(numSamples);
  if (replacement) {
    const bits = fillBits(k, new Uint32Array(2 * numSamples));
    for (let s = 0; s < numSamples; s++) {
      const target = unit53(bits[2 * s], bits[2 * s + 1]) * total;
      // First c with cdf[c] > target. Zero-weight categories repeat the
      // previous cdf value, so they can never be the first to exceed it.
      let lo = 0;
      let hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid] > target) hi = mid;
        else lo = mid + 1;
      }
      // Rounding in u·total can reach total itself; fall back to the last
      // category that can be drawn.
      out[s] = lo < m ? lo : lastPositive;
    }
    return out;
  }

  if (numSamples > positive) {
    throw new Error(
      `${fn}: numSamples (${numSamples}) exceeds the number of categories with positive weight (${positive}) when sampling without replacement`,
    );
  }
  const bits = fillBits(k, new Uint32Array(2 * m));
  const candidates: number[] = [];
  const scores = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    if (probs[c] > 0) {
      scores[c] = Math.log(probs[c]) - Math.log(-Math.log(openUnit(bits[2 * c], bits[2 * c + 1])));
      candidates.push(c);
    }
  }
  // Decreasing score; exact ties (probability ~0) broken by index for determinism.
  candidates.sort((a, b) => scores[b] - scores[a] || a - b);
  for (let s = 0; s < numSamples; s++) out[s] = candidates[s];
  return out;
}

/**
 * `n` samples of the standard normal truncated to [lo, hi] (bounds in
 * standard-normal units; ±Infinity allowed, lo < hi). Exact rejection
 * sampling after C. P. Robert, "Simulation of truncated normal variables"
 * (Statistics and Computing, 1995), which stays efficient far in the tails
 * where inverse-CDF methods lose all precision:
 *
 * - an interval containing 0: plain normal proposals when it is wider than
 *   √(2π), otherwise uniform proposals accepted with probability e^(−z²/2);
 * - an interval on one side of 0 (mirrored to [a, b] with a ≥ 0): whichever
 *   of three proposals has the highest acceptance rate — half-normal |z|,
 *   uniform on [a, b] (accept with e^((a²−z²)/2)), or Robert's translated
 *   exponential a + E/α with α = (a + √(a²+4))/2 (accept with e^(−(z−α)²/2)).
 *   The acceptance rates share the factor ∫ₐᵇ e^(−z²/2) dz, so they can be
 *   compared in closed form.
 *
 * Element i, attempt t uses the Philox block for counter (i_lo, i_hi, t, 4)
 * (two 53-bit uniforms: one for the proposal, one for the accept test), so
 * element i depends only on (k, i).
 */
export function truncatedNormal(k: Key, n: number, lo: number, hi: number): Float64Array {
  const fn = 'truncatedNormal';
  checkKey(fn, k);
  checkCount(fn, 'n', n);
  if (typeof lo !== 'number' || Number.isNaN(lo)) throw new Error(`${fn}: lo must be a number, got ${lo}`);
  if (typeof hi !== 'number' || Number.isNaN(hi)) throw new Error(`${fn}: hi must be a number, got ${hi}`);
  if (!(lo < hi)) throw new Error(`${fn}: lo (${lo}) must be less than hi (${hi})`);

  // Mirror intervals lying at or below 0 onto the positive side.
  const mirror = hi <= 0;
  const a = mirror ? -hi : lo;
  const b = mirror ? -lo : hi;

  type Method = 'normal' | 'halfNormal' | 'uniformAroundZero' | 'uniform' | 'exponential';
  let method: Method;
  const alpha = (a + Math.sqrt(a * a + 4)) / 2;
  if (a < 0) {
    // 0 is inside (a, b).
    method = b - a < Math.sqrt(2 * Math.PI) ? 'uniformAroundZero' : 'normal';
  } else {
    // Log acceptance rates, up to the common terms log ∫ₐᵇ e^(−z²/2) dz + a²/2.
    const halfNormalScore = 0.5 * Math.log(2 / Math.PI) - (a * a) / 2;
    const uniformScore = -Math.log(b - a); // −Infinity for an unbounded interval
    const alphaMinusA = 2 / (Math.sqrt(a * a + 4) + a); // α − a without cancellation
    const exponentialScore = Math.log(alpha) - (alphaMinusA * alphaMinusA) / 2;
    if (halfNormalScore >= uniformScore && halfNormalScore >= exponentialScore) method = 'halfNormal';
    else if (uniformScore >= exponentialScore) method = 'uniform';
    else method = 'exponential';
  }

  const out = new Float64Array(n);
  const k0 = k[0];
  const k1 = k[1];
  for (let i = 0; i < n; i++) {
    const iLo = i >>> 0;
    const iHi = Math.floor(i / TWO_32);
    let z = 0;
    for (let attempt = 0; ; attempt++) {
      philoxInto(k0, k1, iLo, iHi, attempt, TAG_TRUNCATED_NORMAL, block, 0);
      const u = unit53(block[0], block[1]);
      const v = unit53(block[2], block[3]);
      let accept: boolean;
      switch (method) {
        case 'normal':
        case 'halfNormal': {
          // One Box–Muller variate from (u, v).
          z = Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
          if (method === 'halfNormal') z = Math.abs(z);
          accept = z >= a && z <= b;
          break;
        }
        case 'uniformAroundZero':
          z = a + (b - a) * u;
          accept = v < Math.exp(-(z * z) / 2);
          break;
        case 'uniform':
          z = a + (b - a) * u;
          accept = v < Math.exp(-((z - a) * (z + a)) / 2);
          break;
        case 'exponential': {
          z = a - Math.log(1 - u) / alpha; // 1 − u ∈ (0, 1]
          const d = z - alpha;
          accept = z <= b && v < Math.exp(-(d * d) / 2);
          break;
        }
      }
      if (accept) break;
    }
    // Uniform proposals can round just past b; keep results inside [a, b].
    if (z > b) z = b;
    out[i] = mirror ? -z : z;
  }
  return out;
}

/**
 * `n` standard Gumbel samples −log(−log u), with u ∈ (0, 1) from words 2i,
 * 2i+1 (52 bits, never 0 or 1, so the result is always finite).
 */
export function gumbel(k: Key, n: number): Float64Array {
  checkKey('gumbel', k);
  checkCount('gumbel', 'n', n);
  const bits = fillBits(k, new Uint32Array(2 * n));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = -Math.log(-Math.log(openUnit(bits[2 * i], bits[2 * i + 1])));
  return out;
}

/** `n` Rademacher samples (±1 with equal probability): the top bit of word i. */
export function rademacher(k: Key, n: number): Float64Array {
  checkKey('rademacher', k);
  checkCount('rademacher', 'n', n);
  const bits = fillBits(k, new Uint32Array(n));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i] >>> 31 ? 1 : -1;
  return out;
}
