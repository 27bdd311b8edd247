/**
 * float16 and bfloat16 at the tensor level: storage holds 16-bit patterns,
 * values round to nearest-even once (on creation and after every op, whose
 * reference kernel computes in float64), NaN and ±inf survive, overflow gives
 * ±inf, and astype round-trips.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { bf16BitsToF32, f16BitsToF32 } from '../../src/core/float16.js';

/** The raw 16-bit patterns of a contiguous f16/bf16 tensor, read straight from the heap. */
function bits(t: Tensor): number[] {
  expect(t.dtype === 'f16' || t.dtype === 'bf16').toBe(true);
  const raw = nb.cpu().raw(t.storage);
  expect(raw).toBeInstanceOf(Uint16Array);
  return Array.from(raw.subarray(t.offset, t.offset + t.size));
}

const isNaNBits = (b: number, kind: 'f16' | 'bf16'): boolean =>
  kind === 'f16' ? (b & 0x7c00) === 0x7c00 && (b & 0x03ff) !== 0 : (b & 0x7f80) === 0x7f80 && (b & 0x007f) !== 0;

describe('f16/bf16 tensors store 16-bit patterns', () => {
  it('storage is 2 bytes per element holding the IEEE patterns', () => {
    nb.tidy(() => {
      const h = nb.tensor([1, 2.5, -0.5, 0], { dtype: 'f16' });
      expect(h.storage.byteLength).toBe(8);
      expect(bits(h)).toEqual([0x3c00, 0x4100, 0xb800, 0x0000]);
      const b = nb.tensor([1, 2.5, -0.5, 0], { dtype: 'bf16' });
      expect(bits(b)).toEqual([0x3f80, 0x4020, 0xbf00, 0x0000]);
      expect(Array.from(h.dataSync())).toEqual([1, 2.5, -0.5, 0]);
      expect(h.dataSync()).toBeInstanceOf(Float32Array);
    });
  });

  it('creation rounds to nearest, ties to even (normal and subnormal)', () => {
    nb.tidy(() => {
      // f16 has 10 mantissa bits: the spacing above 1 is 2^-10
      const h = nb.tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -30, 2 ** -24, 2 ** -25, 3 * 2 ** -25], { dtype: 'f16' });
      expect(bits(h)).toEqual([0x3c00, 0x3c02, 0x3c01, 0x0001, 0x0000, 0x0002]);
      // bf16 has 7 mantissa bits: the spacing above 1 is 2^-7
      const b = nb.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -30], { dtype: 'bf16' });
      expect(bits(b)).toEqual([0x3f80, 0x3f82, 0x3f81]);
    });
  });

  it('op results round once to the output dtype, ties to even', () => {
    nb.tidy(() => {
      const one = nb.tensor([1, 1, 1 + 2 ** -10], { dtype: 'f16' });
      const d = nb.tensor([2 ** -11, 3 * 2 ** -11, 1 + 2 ** -10], { dtype: 'f16' });
      const s = nb.add(one, d);
      expect(s.dtype).toBe('f16');
      // 1 + 2^-11 → 1 (even); 1 + 3·2^-11 → 1 + 2^-9 (even); 2 + 2^-9 exactly representable
      expect(bits(s)).toEqual([0x3c00, 0x3c02, 0x4001]);
      const p = nb.mul(nb.tensor([1 + 2 ** -10], { dtype: 'f16' }), nb.tensor([1 + 2 ** -10], { dtype: 'f16' }));
      expect(bits(p)).toEqual([0x3c02]); // 1 + 2^-9 + 2^-20 rounds down to 1 + 2^-9
      const b = nb.add(nb.tensor([1, 1], { dtype: 'bf16' }), nb.tensor([2 ** -8, 3 * 2 ** -8], { dtype: 'bf16' }));
      expect(b.dtype).toBe('bf16');
      expect(bits(b)).toEqual([0x3f80, 0x3f82]);
      expect(nb.add(nb.ones([1], { dtype: 'f16' }), nb.ones([1], { dtype: 'bf16' })).dtype).toBe('f32');
    });
  });

  it('NaN and ±inf are kept; overflow gives ±inf; the largest finite values survive', () => {
    nb.tidy(() => {
      const h = nb.tensor([NaN, Infinity, -Infinity, 70000, -70000, 65504, 65519, 65520], { dtype: 'f16' });
      const hb = bits(h);
      expect(isNaNBits(hb[0]!, 'f16')).toBe(true);
      expect(hb.slice(1)).toEqual([0x7c00, 0xfc00, 0x7c00, 0xfc00, 0x7bff, 0x7bff, 0x7c00]);
      expect(nb.tensor([70000], { dtype: 'f16' }).item()).toBe(Infinity);
      const b = nb.tensor([NaN, Infinity, -Infinity, 3.4028234663852886e38, 3.3895313892515355e38, 1e39], { dtype: 'bf16' });
      const bb = bits(b);
      expect(isNaNBits(bb[0]!, 'bf16')).toBe(true);
      expect(bb.slice(1)).toEqual([0x7f80, 0xff80, 0x7f80, 0x7f7f, 0x7f80]);
      // ops overflow too: 300 · 300 = 90000 > 65504
      expect(nb.mul(nb.tensor([300], { dtype: 'f16' }), 300).item()).toBe(Infinity);
      const n = nb.sqrt(nb.tensor([-1], { dtype: 'f16' }));
      expect(isNaNBits(bits(n)[0]!, 'f16')).toBe(true);
    });
  });

  it('astype f16/bf16 → f32/f64 → back is bit-exact for every finite and infinite pattern', () => {
    for (const kind of ['f16', 'bf16'] as const) {
      nb.tidy(() => {
        const patterns = Array.from({ length: 65536 }, (_, i) => i);
        const decode = kind === 'f16' ? f16BitsToF32 : bf16BitsToF32;
        const t = nb.tensor(patterns.map(decode), [65536], { dtype: kind });
        const tb = bits(t);
        patterns.forEach((p, i) => {
          if (isNaNBits(p, kind)) expect(isNaNBits(tb[i]!, kind)).toBe(true);
          else if (tb[i] !== p) expect.fail(`${kind}: pattern ${p.toString(16)} stored as ${tb[i]!.toString(16)}`);
        });
        for (const wide of ['f32', 'f64'] as const) {
          const back = nb.astype(nb.astype(t, wide), kind);
          const bb = bits(back);
          const bad = patterns.filter((p, i) => (isNaNBits(p, kind) ? !isNaNBits(bb[i]!, kind) : bb[i] !== p));
          expect(bad, `${kind} → ${wide} → ${kind}`).toEqual([]);
        }
      });
    }
  });

  it('astype to f16/bf16 rounds to nearest even; f16 → bf16 goes through the value', () => {
    nb.tidy(() => {
      const x = nb.tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1 / 3], { dtype: 'f64' });
      expect(bits(nb.astype(x, 'f16'))).toEqual([0x3c00, 0x3c02, 0x7c00, 0x3555]);
      expect(bits(nb.astype(x, 'bf16'))).toEqual([0x3f80, 0x3f80, 0x4789, 0x3eab]);
      const h = nb.tensor([1 / 3], { dtype: 'f16' });
      // f16(1/3) = 0.333251953125 → bf16 rounds that value: 0x3eab
      expect(bits(nb.astype(h, 'bf16'))).toEqual([0x3eab]);
      expect(nb.astype(h, 'f32').item()).toBe(0.333251953125);
    });
  });
});
