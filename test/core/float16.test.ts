import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bf16BitsToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  f64ToBf16Bits,
  f64ToF16Bits,
  roundToBf16,
  roundToF16,
} from '../../src/core/float16.js';

// ---------------------------------------------------------------------------
// Slow, independent reference: nearest-neighbour search over every finite
// value of the format, written from the format definition only.
// ---------------------------------------------------------------------------

interface Format {
  name: string;
  mantBits: number;
  bias: number;
  /** Sorted non-negative finite values, index = bit pattern (0 .. maxFiniteBits). */
  values: number[];
  infBits: number;
  /** 2^(emax+1): where the next value would be with an unbounded exponent. */
  overflowValue: number;
}

function makeFormat(name: string, mantBits: number, expBits: number): Format {
  const bias = (1 << (expBits - 1)) - 1;
  const infBits = ((1 << expBits) - 1) << mantBits;
  const values: number[] = [];
  // Bit patterns 0 .. infBits-1 are exactly the non-negative finite values, in increasing order.
  for (let bits = 0; bits < infBits; bits++) {
    const e = bits >> mantBits;
    const m = bits & ((1 << mantBits) - 1);
    values.push(e === 0 ? m * 2 ** (1 - bias - mantBits) : (2 ** mantBits + m) * 2 ** (e - bias - mantBits));
  }
  return { name, mantBits, bias, values, infBits, overflowValue: 2 ** (bias + 1) };
}

const F16 = makeFormat('f16', 10, 5);
const BF16 = makeFormat('bf16', 7, 8);

function isNaNBits(fmt: Format, bits: number): boolean {
  return (bits & 0x7fff) > fmt.infBits;
}

/**
 * Correctly rounded encoding by exhaustive search: scan every finite value for
 * the neighbours lo <= |x| < hi, then compare |x| with their midpoint (the
 * midpoint of two values of a 16-bit format is exact in float64, so this is an
 * exact comparison), ties to the even bit pattern. With an unbounded exponent
 * the value after the largest finite one is 2^(emax+1) (pattern = infBits,
 * which is even), and rounding there means overflow to infinity.
 */
function referenceEncode(fmt: Format, x: number): number {
  if (Number.isNaN(x)) return -1; // callers check NaN separately
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | fmt.infBits;
  let loBits = 0;
  for (let bits = 0; bits < fmt.values.length; bits++) {
    if (fmt.values[bits] <= a) loBits = bits;
    else break;
  }
  const hiBits = loBits + 1;
  const lo = fmt.values[loBits];
  const hi = hiBits < fmt.values.length ? fmt.values[hiBits] : fmt.overflowValue;
  if (a === lo) return sign | loBits;
  const mid = (lo + hi) / 2;
  let chosen: number;
  if (a < mid) chosen = loBits;
  else if (a > mid) chosen = hiBits;
  else chosen = (loBits & 1) === 0 ? loBits : hiBits;
  return sign | chosen; // hiBits === infBits encodes the overflow to infinity
}

function bitsToF64(hi: number, lo: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return view.getFloat64(0);
}

function hex(bits: number): string {
  return '0x' + bits.toString(16).padStart(4, '0');
}

// ---------------------------------------------------------------------------

describe('float16: decoding', () => {
  for (const [fmt, decodeOne, decodeBulk] of [
    [F16, f16BitsToF32, decodeF16],
    [BF16, bf16BitsToF32, decodeBf16],
  ] as const) {
    it(`decodes every ${fmt.name} pattern to the value given by the format definition`, () => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const bulk64 = decodeBulk(all, new Float64Array(65536));
      const bulk32 = decodeBulk(all, new Float32Array(65536));
      const mismatches: string[] = [];
      for (let h = 0; h < 65536; h++) {
        const v = decodeOne(h);
        const mag = h & 0x7fff;
        let ok: boolean;
        if (mag > fmt.infBits) {
          ok = Number.isNaN(v);
        } else {
          const expected = mag === fmt.infBits ? Infinity : fmt.values[mag];
          ok = Object.is(v, h & 0x8000 ? -expected : expected); // Object.is distinguishes -0
        }
        if (!ok || !Object.is(bulk64[h], v) || !Object.is(bulk32[h], v)) {
          mismatches.push(`${hex(h)}: ${v} / ${bulk64[h]} / ${bulk32[h]}`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});

describe('float16: exhaustive round trips', () => {
  const all = new Uint16Array(65536).map((_, i) => i);

  it('every f16 pattern survives decode → encode bit-exactly (NaNs stay NaN)', () => {
    const decoded = decodeF16(all, new Float64Array(65536));
    const bulk = encodeF16(decoded, new Uint16Array(65536));
    for (let h = 0; h < 65536; h++) {
      const v = decoded[h];
      const encoders = [f32ToF16Bits(v), f64ToF16Bits(v), bulk[h]];
      for (const back of encoders) {
        if (isNaNBits(F16, h)) {
          if (!isNaNBits(F16, back)) throw new Error(`NaN ${hex(h)} encoded as non-NaN ${hex(back)}`);
        } else if (back !== h) {
          throw new Error(`f16 ${hex(h)} round-tripped to ${hex(back)}`);
        }
      }
      if (!(Object.is(roundToF16(v), v) || Number.isNaN(v))) throw new Error(`roundToF16 moved ${v}`);
    }
  });

  it('every bf16 pattern survives decode → encode bit-exactly (NaNs stay NaN)', () => {
    const decoded = decodeBf16(all, new Float64Array(65536));
    const bulk = encodeBf16(decoded, new Uint16Array(65536));
    for (let h = 0; h < 65536; h++) {
      const v = decoded[h];
      const encoders = [f32ToBf16Bits(v), f64ToBf16Bits(v), bulk[h]];
      for (const back of encoders) {
        if (isNaNBits(BF16, h)) {
          if (!isNaNBits(BF16, back)) throw new Error(`NaN ${hex(h)} encoded as non-NaN ${hex(back)}`);
        } else if (back !== h) {
          throw new Error(`bf16 ${hex(h)} round-tripped to ${hex(back)}`);
        }
      }
      if (!(Object.is(roundToBf16(v), v) || Number.isNaN(v))) throw new Error(`roundToBf16 moved ${v}`);
    }
  });
});

describe('float16: known values', () => {
  const f16Cases: Array<[string, number, number]> = [
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['max finite 65504', 65504, 0x7bff],
    ['65519 (below the overflow tie) → 65504', 65519, 0x7bff],
    ['65520 (tie between 65504 and 2^16, odd mantissa) → +inf', 65520, 0x7c00],
    ['-65520 → -inf', -65520, 0xfc00],
    ['1e10 → +inf', 1e10, 0x7c00],
    ['+inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
    ['smallest normal 2^-14', 2 ** -14, 0x0400],
    ['largest subnormal 1023·2^-24', 1023 * 2 ** -24, 0x03ff],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['2^-25 (tie between 0 and 2^-24) → 0', 2 ** -25, 0x0000],
    ['-2^-25 → -0', -(2 ** -25), 0x8000],
    ['just above 2^-25 → 2^-24', 2 ** -25 * (1 + 2 ** -23), 0x0001],
    ['3·2^-25 (tie between 2^-24 and 2^-23) → 2^-23', 3 * 2 ** -25, 0x0002],
    ['5·2^-25 (tie between 2·2^-24 and 3·2^-24) → 2·2^-24', 5 * 2 ** -25, 0x0002],
    ['1 + 2^-11 (tie) → 1', 1 + 2 ** -11, 0x3c00],
    ['1 + 3·2^-11 (tie) → 1 + 2^-9', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2^-10 exact', 1 + 2 ** -10, 0x3c01],
    ['2 - 2^-12 → 2 (carry into the exponent)', 2 - 2 ** -12, 0x4000],
    ['(2^-14) - 2^-25 (tie at the subnormal/normal boundary) → 2^-14', 2 ** -14 - 2 ** -25, 0x0400],
    ['1e-10 → 0', 1e-10, 0x0000],
    ['float32 min subnormal → 0', 2 ** -149, 0x0000],
    ['float64 min subnormal → 0', Number.MIN_VALUE, 0x0000],
    ['0.1', 0.1, 0x2e66],
    ['pi', Math.PI, 0x4248],
  ];
  for (const [label, x, bits] of f16Cases) {
    it(`f16: ${label}`, () => {
      expect(hex(f64ToF16Bits(x))).toBe(hex(bits));
      expect(hex(f32ToF16Bits(x))).toBe(hex(bits));
      expect(hex(encodeF16([x], new Uint16Array(1))[0])).toBe(hex(bits));
    });
  }

  const bf16Cases: Array<[string, number, number]> = [
    ['1', 1, 0x3f80],
    ['-0', -0, 0x8000],
    ['1 + 2^-8 (tie) → 1', 1 + 2 ** -8, 0x3f80],
    ['1 + 3·2^-8 (tie) → 1 + 2^-6', 1 + 3 * 2 ** -8, 0x3f82],
    ['max finite', (2 - 2 ** -7) * 2 ** 127, 0x7f7f],
    ['(2 - 2^-8)·2^127 (overflow tie) → +inf', (2 - 2 ** -8) * 2 ** 127, 0x7f80],
    ['float32 max → +inf', 3.4028234663852886e38, 0x7f80],
    ['smallest subnormal 2^-133', 2 ** -133, 0x0001],
    ['2^-134 (tie) → 0', 2 ** -134, 0x0000],
    ['3·2^-134 (tie) → 2^-132', 3 * 2 ** -134, 0x0002],
    ['pi', Math.PI, 0x4049],
  ];
  for (const [label, x, bits] of bf16Cases) {
    it(`bf16: ${label}`, () => {
      expect(hex(f64ToBf16Bits(x))).toBe(hex(bits));
      expect(hex(f32ToBf16Bits(x))).toBe(hex(bits));
      expect(hex(encodeBf16([x], new Uint16Array(1))[0])).toBe(hex(bits));
    });
  }

  it('NaN encodes to a quiet NaN', () => {
    for (const enc of [f32ToF16Bits, f64ToF16Bits]) {
      const bits = enc(NaN);
      expect(isNaNBits(F16, bits)).toBe(true);
      expect(bits & 0x0200).toBe(0x0200);
    }
    for (const enc of [f32ToBf16Bits, f64ToBf16Bits]) {
      const bits = enc(NaN);
      expect(isNaNBits(BF16, bits)).toBe(true);
      expect(bits & 0x0040).toBe(0x0040);
    }
    // A signalling float64 NaN with payload only in the low word must still be a NaN.
    const snan = bitsToF64(0x7ff00000, 0x00000001);
    expect(Number.isNaN(snan)).toBe(true);
    expect(isNaNBits(F16, f64ToF16Bits(snan))).toBe(true);
    expect(isNaNBits(BF16, f64ToBf16Bits(snan))).toBe(true);
    expect(Number.isNaN(roundToF16(NaN))).toBe(true);
    expect(Number.isNaN(roundToBf16(NaN))).toBe(true);
  });

  it('roundToF16 / roundToBf16 return the rounded value', () => {
    expect(roundToF16(0.1)).toBe(0.0999755859375);
    expect(roundToF16(65520)).toBe(Infinity);
    expect(roundToF16(1 + 2 ** -11)).toBe(1);
    expect(roundToBf16(0.1)).toBe(0.10009765625);
    expect(Object.is(roundToF16(-1e-30), -0)).toBe(true);
  });

  it('bulk functions reject a short destination', () => {
    expect(() => encodeF16([1, 2, 3], new Uint16Array(2))).toThrow(/encodeF16: dst is too short/);
    expect(() => decodeBf16(new Uint16Array(3), new Float32Array(2))).toThrow(/decodeBf16/);
  });
});

describe('float16: single rounding from float64', () => {
  it('f64 → f16 differs from f64 → f32 → f16 where the float32 step creates a false tie', () => {
    // 1 + 2^-11 + 2^-40 lies just above the midpoint of 1 and 1 + 2^-10, so the
    // correctly rounded f16 is 1 + 2^-10. As a float32 it becomes exactly
    // 1 + 2^-11 (the 2^-40 is below float32 precision), a tie that rounds to 1.
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(Math.fround(x)).toBe(1 + 2 ** -11);
    expect(hex(f64ToF16Bits(x))).toBe('0x3c01');
    expect(hex(encodeF16([x], new Uint16Array(1))[0])).toBe('0x3c01');
    expect(hex(f32ToF16Bits(x))).toBe('0x3c00'); // float32 semantics, as documented
    expect(roundToF16(x)).toBe(1 + 2 ** -10);
    expect(hex(referenceEncode(F16, x))).toBe('0x3c01');
  });

  it('the same holds for bf16 and in the subnormal range', () => {
    const x = 1 + 2 ** -8 + 2 ** -40;
    expect(hex(f64ToBf16Bits(x))).toBe('0x3f81');
    expect(hex(f32ToBf16Bits(x))).toBe('0x3f80');
    // Subnormal f16: 2^-25 + 2^-60 is just above the tie between 0 and 2^-24.
    const y = 2 ** -25 + 2 ** -60;
    expect(hex(f64ToF16Bits(y))).toBe('0x0001');
    expect(hex(f32ToF16Bits(y))).toBe('0x0000');
  });
});

describe('float16: property tests against the exhaustive reference', () => {
  /** Doubles concentrated around the values of a format: exact values, midpoints, and their neighbours. */
  function nearValues(fmt: Format): fc.Arbitrary<number> {
    return fc
      .tuple(
        fc.integer({ min: 0, max: fmt.values.length - 1 }),
        fc.constantFrom(0, 0.5, 0.25, 0.75),
        fc.integer({ min: -3, max: 3 }),
        fc.boolean(),
      )
      .map(([bits, frac, ulps, negative]) => {
        const lo = fmt.values[bits];
        const hi = bits + 1 < fmt.values.length ? fmt.values[bits + 1] : fmt.overflowValue;
        let x = lo + (hi - lo) * frac; // exact: few significant bits
        // Nudge by a few float64 ulps to probe just either side of ties.
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, x);
        if (x > 0) {
          view.setBigUint64(0, view.getBigUint64(0) + BigInt(ulps));
          x = view.getFloat64(0);
        }
        return negative ? -x : x;
      });
  }

  /** Arbitrary float64 bit patterns with the exponent near the format's range. */
  function rawDoubles(fmt: Format): fc.Arbitrary<number> {
    const minExp = 1023 - fmt.bias - fmt.mantBits - 4;
    const maxExp = 1023 + fmt.bias + 2;
    return fc
      .tuple(fc.boolean(), fc.integer({ min: minExp, max: maxExp }), fc.integer({ min: 0, max: 0xfffff }), fc.nat({ max: 0xffffffff }))
      .map(([neg, exp, mhi, lo]) => bitsToF64(((neg ? 0x80000000 : 0) | (exp << 20) | mhi) >>> 0, lo));
  }

  function checkF64(fmt: Format, encode: (x: number) => number, bulk: (src: ArrayLike<number>, dst: Uint16Array) => Uint16Array) {
    return (x: number): void => {
      const got = encode(x);
      const gotBulk = bulk([x], new Uint16Array(1))[0];
      if (Number.isNaN(x)) {
        expect(isNaNBits(fmt, got)).toBe(true);
        expect(isNaNBits(fmt, gotBulk)).toBe(true);
        return;
      }
      const want = referenceEncode(fmt, x);
      expect(hex(got)).toBe(hex(want));
      expect(hex(gotBulk)).toBe(hex(want));
    };
  }

  function checkF32(fmt: Format, encode: (x: number) => number) {
    return (x: number): void => {
      const got = encode(x);
      if (Number.isNaN(x)) {
        expect(isNaNBits(fmt, got)).toBe(true);
        return;
      }
      expect(hex(got)).toBe(hex(referenceEncode(fmt, Math.fround(x))));
    };
  }

  const runs = { numRuns: 3000 };

  for (const [fmt, f64Enc, f32Enc, bulkEnc] of [
    [F16, f64ToF16Bits, f32ToF16Bits, encodeF16],
    [BF16, f64ToBf16Bits, f32ToBf16Bits, encodeBf16],
  ] as const) {
    it(`${fmt.name}: f64 encoders match the reference on random float64`, () => {
      fc.assert(fc.property(fc.double(), checkF64(fmt, f64Enc, bulkEnc)), runs);
      fc.assert(fc.property(rawDoubles(fmt), checkF64(fmt, f64Enc, bulkEnc)), runs);
      fc.assert(fc.property(nearValues(fmt), checkF64(fmt, f64Enc, bulkEnc)), runs);
    });

    it(`${fmt.name}: f32 encoder matches the reference on random float32 (and on float64, via fround)`, () => {
      fc.assert(fc.property(fc.float(), checkF32(fmt, f32Enc)), runs);
      fc.assert(fc.property(fc.double(), checkF32(fmt, f32Enc)), runs);
      fc.assert(fc.property(rawDoubles(fmt), checkF32(fmt, f32Enc)), runs);
      fc.assert(fc.property(nearValues(fmt).map(Math.fround), checkF32(fmt, f32Enc)), runs);
      // For float32 inputs the single- and double-rounding paths must agree.
      fc.assert(fc.property(fc.float({ noNaN: true }), (x) => f64Enc(x) === f32Enc(x)), runs);
    });
  }
});
