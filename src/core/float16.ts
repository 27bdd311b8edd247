/**
 * Conversions between JS numbers and the two 16-bit floating-point formats
 * used for storage and mixed-precision compute:
 *
 * - IEEE 754-2008 binary16 ("f16", "half"): 1 sign bit, 5 exponent bits
 *   (bias 15), 10 fraction bits. Largest finite value 65504, smallest normal
 *   2⁻¹⁴, smallest subnormal 2⁻²⁴.
 * - bfloat16 ("bf16"): 1 sign bit, 8 exponent bits (bias 127, same as
 *   float32), 7 fraction bits; i.e. the upper half of a float32.
 *
 * Every encoder is bit-exact with IEEE 754 round-to-nearest, ties-to-even:
 * - NaN stays NaN: the result is a quiet NaN carrying the input's sign and the
 *   top payload bits that fit (JS engines may canonicalise NaN bits, so only
 *   "is NaN" is guaranteed to survive a trip through a JS number).
 * - ±Infinity stays ±Infinity; finite values whose rounded magnitude would
 *   exceed the largest finite value overflow to ±Infinity, exactly as IEEE
 *   rounding with an unbounded exponent followed by overflow prescribes
 *   (e.g. 65519.99… → 65504 but 65520 → +Infinity for f16).
 * - Gradual underflow: results may be subnormal; values at or below half the
 *   smallest subnormal round to (signed) zero, with ties to even.
 * - −0 is kept as −0.
 *
 * Two families of encoders exist because rounding twice is not the same as
 * rounding once: rounding a float64 first to float32 and then to f16 can give
 * a different (wrong) answer when the first rounding lands exactly on an f16
 * tie. For example 1 + 2⁻¹¹ + 2⁻⁴⁰ is nearer to 1 + 2⁻¹⁰ than to 1, but as a
 * float32 it becomes 1 + 2⁻¹¹, an exact tie that rounds to even, i.e. to 1.
 * - `f32ToF16Bits` / `f32ToBf16Bits` first treat their argument as float32
 *   (`Math.fround`), matching what a GPU shader converting `f32` data does.
 * - `f64ToF16Bits` / `f64ToBf16Bits` and the bulk `encodeF16` / `encodeBf16`
 *   round directly from the float64 value (a single rounding).
 *
 * Implementation note: all encoders work on the integer bit pattern of the
 * input (read through a shared scratch buffer), so they never depend on the
 * floating-point environment and can be ported 1:1 to WGSL/GLSL.
 */

// Shared scratch for reinterpreting numbers as bits. One buffer, three views.
const scratch = new ArrayBuffer(8);
const scratchF64 = new Float64Array(scratch);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);

// Which 32-bit word of a float64 holds the sign/exponent depends on platform
// endianness (all mainstream platforms are little-endian, but be correct).
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const F64_HI = LITTLE_ENDIAN ? 1 : 0;
const F64_LO = LITTLE_ENDIAN ? 0 : 1;

/** f16 bit layout. */
const F16_MANT_BITS = 10;
const F16_BIAS = 15;
/** bf16 bit layout. */
const BF16_MANT_BITS = 7;
const BF16_BIAS = 127;

/**
 * Round a float64, given as its high and low 32-bit words, to a narrow binary
 * format with `mantBits` fraction bits and exponent bias `bias` (the exponent
 * field is assumed to be `log2(2*bias+2)` bits wide, as for f16 and bf16).
 * Returns the 16-bit pattern. Round-to-nearest, ties-to-even.
 *
 * The float64 significand is 1.f with f = 20 bits in `hi` followed by 32
 * bits in `lo`. We keep the top bits, and decide rounding from the
 * remainder: `rem` against `half` (the first dropped bit) with every lower
 * bit, including all of `lo`, acting as the "sticky" bit that breaks ties.
 */
function roundF64BitsToNarrow(hi: number, lo: number, mantBits: number, bias: number): number {
  const sign = (hi >>> 16) & 0x8000;
  const expField = (hi >>> 20) & 0x7ff;
  const mantHi = hi & 0xfffff;
  const infBits = ((2 * bias + 1) << mantBits) >>> 0;

  if (expField === 0x7ff) {
    if ((mantHi | lo) !== 0) {
      // NaN: force the quiet bit (top fraction bit) so the result can never
      // collapse to an infinity, keep the sign and the top payload bits.
      return sign | infBits | (1 << (mantBits - 1)) | (mantHi >>> (20 - mantBits));
    }
    return sign | infBits;
  }

  const e = expField - 1023; // unbiased exponent (meaningless for 0/subnormal doubles, handled below)
  if (e > bias) return sign | infBits; // |x| >= 2^(bias+1): overflows even before rounding

  let result: number;
  let rem: number;
  let half: number;
  const minNormalExp = 1 - bias;
  if (e >= minNormalExp) {
    // Normal range of the narrow format: re-bias the exponent, truncate the
    // fraction. A rounding carry out of the fraction correctly increments the
    // exponent field (and turns the largest finite value into infinity).
    const drop = 20 - mantBits; // fraction bits of `hi` that are dropped
    result = ((e + bias) << mantBits) | (mantHi >>> drop);
    rem = mantHi & ((1 << drop) - 1);
    half = 1 << (drop - 1);
  } else {
    // Subnormal range: the value in units of the smallest subnormal
    // 2^(minNormalExp - mantBits) is sig * 2^-(shift), with sig = 1.f as a
    // 21-bit integer. A carry to 1 << mantBits yields the smallest normal.
    const shift = 20 - mantBits + (minNormalExp - e);
    // shift > 21: the value is below 2^-1 units, i.e. under half of the
    // smallest subnormal, so it rounds to zero. (Zero and float64 subnormals
    // have e = -1023 and land here too.)
    if (shift > 21) return sign;
    const sig = mantHi | 0x100000;
    result = sig >>> shift;
    rem = sig & ((1 << shift) - 1);
    half = 1 << (shift - 1);
  }
  if (rem > half || (rem === half && (lo !== 0 || (result & 1) !== 0))) result += 1;
  return sign | result;
}

/**
 * Encode a number as IEEE binary16 bits, rounding directly from its float64
 * value (single rounding, round-to-nearest-even). See the module comment for
 * why this differs from `f32ToF16Bits` in rare tie cases.
 */
export function f64ToF16Bits(x: number): number {
  scratchF64[0] = x;
  return roundF64BitsToNarrow(scratchU32[F64_HI], scratchU32[F64_LO], F16_MANT_BITS, F16_BIAS);
}

/**
 * Encode a number as bfloat16 bits, rounding directly from its float64 value
 * (single rounding, round-to-nearest-even).
 */
export function f64ToBf16Bits(x: number): number {
  scratchF64[0] = x;
  return roundF64BitsToNarrow(scratchU32[F64_HI], scratchU32[F64_LO], BF16_MANT_BITS, BF16_BIAS);
}

/**
 * Encode as IEEE binary16 bits. The argument is first treated as a float32:
 * the result is the correctly rounded (nearest-even) f16 of `Math.fround(x)`,
 * which is what converting float32 data (e.g. on a GPU) produces. Use
 * `f64ToF16Bits` to round a float64 value directly.
 *
 * Written with 32-bit integer operations only, mirroring the shader version.
 */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const expField = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;

  if (expField === 0xff) {
    // NaN → quiet NaN with sign and top payload bits; Inf → Inf.
    return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  }
  const e = expField - 127;
  if (e > 15) return sign | 0x7c00;

  let result: number;
  let rem: number;
  let half: number;
  if (e >= -14) {
    // Normal f16: keep 10 of the 23 fraction bits.
    result = ((e + 15) << 10) | (mant >>> 13);
    rem = mant & 0x1fff;
    half = 0x1000;
  } else {
    // Subnormal f16 (units of 2^-24): sig = 1.f as a 24-bit integer, scaled
    // by 2^(e+1) in those units. Below 2^-25 everything rounds to zero
    // (including float32 zeros and subnormals).
    const shift = -(e + 1);
    if (shift > 24) return sign;
    const sig = mant | 0x800000;
    result = sig >>> shift;
    rem = sig & ((1 << shift) - 1);
    half = 1 << (shift - 1);
  }
  if (rem > half || (rem === half && (result & 1) !== 0)) result += 1;
  return sign | result;
}

/**
 * Encode as bfloat16 bits. The argument is first treated as a float32
 * (`Math.fround(x)`) and then rounded to nearest-even to its upper 16 bits.
 * Use `f64ToBf16Bits` to round a float64 value directly.
 */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) {
    // NaN: keep sign and top payload bits, force the quiet bit so that
    // truncation can never produce an infinity.
    return (bits >>> 16) | 0x0040;
  }
  // Classic bias trick: adding 0x7fff plus the lowest kept bit rounds the
  // lower half to nearest with ties to even; a carry propagates naturally
  // into the exponent (and from the largest finite value to infinity).
  // The sum stays below 2^32 for every non-NaN pattern.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decode binary16 bits (low 16 bits of `h`) to a number. Exact. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const expField = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (expField === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (expField === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (0x400 | mant) * 2 ** (expField - 25);
}

/** Decode bfloat16 bits (low 16 bits of `h`) to a number. Exact. */
export function bf16BitsToF32(h: number): number {
  // bf16 is the upper half of a float32; widening is a shift.
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

// 65536-entry decode tables, built on first bulk decode (256 KiB each).
let f16Table: Float32Array | undefined;
let bf16Table: Float32Array | undefined;

function getF16Table(): Float32Array {
  if (f16Table === undefined) {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32(h);
    f16Table = table;
  }
  return f16Table;
}

function getBf16Table(): Float32Array {
  if (bf16Table === undefined) {
    // Fill through an integer view of the same memory: entry h has bits h << 16.
    const table = new Float32Array(65536);
    const tableBits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) tableBits[h] = h << 16;
    bf16Table = table;
  }
  return bf16Table;
}

function checkLengths(fn: string, srcLength: number, dstLength: number): void {
  if (dstLength < srcLength) {
    throw new Error(`${fn}: dst is too short (length ${dstLength}) for src (length ${srcLength})`);
  }
}

/**
 * Encode `src` into binary16 bits in `dst[0 .. src.length)`, rounding each
 * element directly from its float64 value (single rounding, nearest-even).
 * Returns `dst`.
 */
export function encodeF16(src: ArrayLike<number>, dst: Uint16Array): Uint16Array {
  const n = src.length;
  checkLengths('encodeF16', n, dst.length);
  for (let i = 0; i < n; i++) {
    scratchF64[0] = src[i];
    dst[i] = roundF64BitsToNarrow(scratchU32[F64_HI], scratchU32[F64_LO], F16_MANT_BITS, F16_BIAS);
  }
  return dst;
}

/**
 * Encode `src` into bfloat16 bits in `dst[0 .. src.length)`, rounding each
 * element directly from its float64 value (single rounding, nearest-even).
 * Returns `dst`.
 */
export function encodeBf16(src: ArrayLike<number>, dst: Uint16Array): Uint16Array {
  const n = src.length;
  checkLengths('encodeBf16', n, dst.length);
  for (let i = 0; i < n; i++) {
    scratchF64[0] = src[i];
    dst[i] = roundF64BitsToNarrow(scratchU32[F64_HI], scratchU32[F64_LO], BF16_MANT_BITS, BF16_BIAS);
  }
  return dst;
}

/** Decode binary16 bits from `src` into `dst[0 .. src.length)` via a lookup table. Returns `dst`. */
export function decodeF16<T extends Float32Array | Float64Array>(src: Uint16Array, dst: T): T {
  const n = src.length;
  checkLengths('decodeF16', n, dst.length);
  const table = getF16Table();
  for (let i = 0; i < n; i++) dst[i] = table[src[i]];
  return dst;
}

/** Decode bfloat16 bits from `src` into `dst[0 .. src.length)` via a lookup table. Returns `dst`. */
export function decodeBf16<T extends Float32Array | Float64Array>(src: Uint16Array, dst: T): T {
  const n = src.length;
  checkLengths('decodeBf16', n, dst.length);
  const table = getBf16Table();
  for (let i = 0; i < n; i++) dst[i] = table[src[i]];
  return dst;
}

/**
 * The value of `x` after a round trip through binary16 (rounded once, from
 * its float64 value). Used to emulate half-precision compute.
 */
export function roundToF16(x: number): number {
  return f16BitsToF32(f64ToF16Bits(x));
}

/**
 * The value of `x` after a round trip through bfloat16 (rounded once, from
 * its float64 value). Used to emulate bf16 compute.
 */
export function roundToBf16(x: number): number {
  return bf16BitsToF32(f64ToBf16Bits(x));
}
