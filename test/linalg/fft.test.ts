import { describe, expect, it } from 'vitest';
import { fft, irfft, rfft } from '../../src/linalg/index.js';
import { normalRng, randn } from './data.js';


/** Reference O(n²) DFT; the exponent index jk mod n is exact, so the twiddles are as accurate as cos/sin. */
function naiveDft(re: Float64Array, im: Float64Array, inverse: boolean): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const sign = inverse ? 1 : -1;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const angle = (2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(angle);
      const s = sign * Math.sin(angle);
      sr += re[j] * c - im[j] * s;
      si += re[j] * s + im[j] * c;
    }
    outRe[k] = inverse ? sr / n : sr;
    outIm[k] = inverse ? si / n : si;
  }
  return { re: outRe, im: outIm };
}
/** ‖(ar, ai) − (br, bi)‖₂ / ‖(br, bi)‖₂ */
function complexRelErr(ar: Float64Array, ai: Float64Array, br: Float64Array, bi: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < br.length; i++) {
    num += (ar[i] - br[i]) ** 2 + (ai[i] - bi[i]) ** 2;
    den += br[i] ** 2 + bi[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, Number.MIN_VALUE));
}
function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const LENGTHS = [
  ...Array.from({ length: 70 }, (_, i) => i + 1),
  97, 101, 127, 128, 256, 257, 509, 512, 1000, 1009, 1024,
];

describe('fft', () => {
  it('matches the naive DFT (forward and inverse) for every length 1..70, primes and powers of two up to 1024', () => {
    const rng = normalRng(71);
    for (const n of LENGTHS) {
      const re = randn(rng, n);
      const im = randn(rng, n);
      for (const inverse of [false, true]) {
        const fast = fft(re, im, inverse);
        const slow = naiveDft(re, im, inverse);
        expect(complexRelErr(fast.re, fast.im, slow.re, slow.im), `n=${n} inverse=${inverse}`).toBeLessThan(1e-10);
      }
    }
  });

  it('round-trips: ifft(fft(x)) = x', () => {
    const rng = normalRng(72);
    for (const n of [1, 2, 3, 16, 45, 97, 1024, 4095]) {
      const re = randn(rng, n);
      const im = randn(rng, n);
      const f = fft(re, im);
      const back = fft(f.re, f.im, true);
      expect(maxAbsDiff(back.re, re), `n=${n}`).toBeLessThan(1e-12);
      expect(maxAbsDiff(back.im, im), `n=${n}`).toBeLessThan(1e-12);
    }
  });

  it('satisfies Parseval: Σ|x|² = (1/n)·Σ|X|²', () => {
    const rng = normalRng(73);
    for (const n of [5, 64, 99, 500]) {
      const re = randn(rng, n);
      const im = randn(rng, n);
      const f = fft(re, im);
      let timeEnergy = 0;
      let freqEnergy = 0;
      for (let i = 0; i < n; i++) {
        timeEnergy += re[i] ** 2 + im[i] ** 2;
        freqEnergy += f.re[i] ** 2 + f.im[i] ** 2;
      }
      expect(Math.abs(timeEnergy - freqEnergy / n) / timeEnergy).toBeLessThan(1e-12);
    }
  });

  it('transforms known signals exactly as numpy does', () => {
    // Impulse → all ones; constant → n·δ.
    const impulse = fft(Float64Array.from([1, 0, 0, 0, 0]), new Float64Array(5));
    expect(maxAbsDiff(impulse.re, new Float64Array(5).fill(1))).toBeLessThan(1e-15);
    expect(maxAbsDiff(impulse.im, new Float64Array(5))).toBeLessThan(1e-15);
    const constant = fft(new Float64Array(6).fill(2), new Float64Array(6));
    expect(maxAbsDiff(constant.re, Float64Array.from([12, 0, 0, 0, 0, 0]))).toBeLessThan(1e-14);
    // numpy.fft.fft([1, 2, 3, 4]) = [10, -2+2j, -2, -2-2j]; the sign of the exponent matters.
    const four = fft(Float64Array.from([1, 2, 3, 4]), new Float64Array(4));
    expect(Array.from(four.re)).toEqual([10, -2, -2, -2]);
    expect(Array.from(four.im)).toEqual([0, 2, 0, -2]);
    // e^(2πi·3j/n) puts all its energy in bin 3.
    const n = 12;
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      re[j] = Math.cos((2 * Math.PI * 3 * j) / n);
      im[j] = Math.sin((2 * Math.PI * 3 * j) / n);
    }
    const tone = fft(re, im);
    for (let k = 0; k < n; k++) expect(Math.abs(tone.re[k] - (k === 3 ? n : 0))).toBeLessThan(1e-13);
  });

  it('does not modify its inputs', () => {
    const re = Float64Array.from([1, 2, 3]);
    const im = Float64Array.from([4, 5, 6]);
    fft(re, im, true);
    expect(Array.from(re)).toEqual([1, 2, 3]);
    expect(Array.from(im)).toEqual([4, 5, 6]);
  });
});

describe('rfft / irfft', () => {
  it('rfft equals the non-negative half of the complex fft, with real DC and Nyquist terms', () => {
    const rng = normalRng(74);
    for (const n of [1, 2, 3, 4, 7, 10, 33, 64, 101]) {
      const x = randn(rng, n);
      const half = rfft(x);
      expect(half.re.length).toBe(Math.floor(n / 2) + 1);
      const full = fft(x, new Float64Array(n));
      const h = half.re.length;
      expect(complexRelErr(half.re, half.im, full.re.subarray(0, h), full.im.subarray(0, h)), `n=${n}`).toBeLessThan(1e-13);
      expect(half.im[0]).toBe(0);
      if (n % 2 === 0) expect(half.im[h - 1]).toBe(0);
    }
  });

  it('irfft(rfft(x), n) = x for even and odd n', () => {
    const rng = normalRng(75);
    for (const n of [1, 2, 3, 4, 5, 8, 9, 31, 32, 100, 1001, 1024]) {
      const x = randn(rng, n);
      const f = rfft(x);
      const back = irfft(f.re, f.im, n);
      expect(back.length).toBe(n);
      expect(maxAbsDiff(back, x), `n=${n}`).toBeLessThan(1e-12);
      if (n % 2 === 0) expect(maxAbsDiff(irfft(f.re, f.im), x), `default n, n=${n}`).toBeLessThan(1e-12);
    }
  });

  it('follows numpy for irfft: default length, ignored DC/Nyquist imaginary parts, truncation and padding', () => {
    // numpy.fft.irfft([1, 2, 3]) = [2, -0.5, 0, -0.5]
    expect(maxAbsDiff(irfft(Float64Array.from([1, 2, 3]), new Float64Array(3)), Float64Array.from([2, -0.5, 0, -0.5]))).toBeLessThan(1e-15);
    // Imaginary parts of bins 0 and n/2 do not change the result.
    const withImag = irfft(Float64Array.from([1, 2, 3]), Float64Array.from([5, 0, -7]));
    expect(maxAbsDiff(withImag, Float64Array.from([2, -0.5, 0, -0.5]))).toBeLessThan(1e-15);
    // numpy.fft.irfft([1, 2+1j, 3], n=5): odd n keeps the imaginary part of the last bin.
    const odd = irfft(Float64Array.from([1, 2, 3]), Float64Array.from([0, 1, 0]), 5);
    const expected = new Float64Array(5);
    for (let j = 0; j < 5; j++) {
      const t = (2 * Math.PI * j) / 5;
      expected[j] = (1 + 2 * (2 * Math.cos(t) - Math.sin(t)) + 2 * 3 * Math.cos(2 * t)) / 5;
    }
    expect(maxAbsDiff(odd, expected)).toBeLessThan(1e-15);
    // n = 2: only bins 0 and 1 are used (bin 2 truncated); n = 8: missing bins are zero.
    expect(maxAbsDiff(irfft(Float64Array.from([1, 2, 3]), new Float64Array(3), 2), Float64Array.from([1.5, -0.5]))).toBeLessThan(1e-15);
    const padded = irfft(Float64Array.from([8]), new Float64Array(1), 8);
    expect(maxAbsDiff(padded, new Float64Array(8).fill(1))).toBeLessThan(1e-15);
  });
});

describe('argument validation', () => {
  it('names the argument and the sizes at fault', () => {
    expect(() => fft(new Float64Array(3), new Float64Array(4))).toThrow('fft: re and im must have the same length, got 3 and 4');
    expect(() => fft(new Float64Array(0), new Float64Array(0))).toThrow('fft: input length must be at least 1, got 0');
    expect(() => fft([1] as unknown as Float64Array, new Float64Array(1))).toThrow('fft: re must be a Float64Array, got Array');
    expect(() => rfft(new Float64Array(0))).toThrow('rfft: input length must be at least 1, got 0');
    expect(() => rfft(new Float32Array(4) as unknown as Float64Array)).toThrow('rfft: x must be a Float64Array, got Float32Array');
    expect(() => irfft(new Float64Array(2), new Float64Array(3))).toThrow('irfft: re and im must have the same length, got 2 and 3');
    expect(() => irfft(new Float64Array(1), new Float64Array(1))).toThrow(
      'irfft: n must be a positive integer, got 0 (the default 2*(len-1) for input length 1)',
    );
    expect(() => irfft(new Float64Array(3), new Float64Array(3), 2.5)).toThrow('irfft: n must be a positive integer, got 2.5');
  });
});
