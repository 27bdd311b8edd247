/**
 * Float64 fast Fourier transforms of any length: iterative radix-2 for powers
 * of two, Bluestein's chirp-z algorithm (via a power-of-two FFT) otherwise.
 * Conventions follow numpy.fft: forward X_k = Σ_j x_j·exp(−2πi·jk/n), unscaled;
 * the inverse carries the 1/n factor.
 */
import { checkFloat64 } from './validate.js';

/** A complex vector as separate real and imaginary parts of equal length. */
export interface ComplexArrays {
  re: Float64Array;
  im: Float64Array;
}

/**
 * Discrete Fourier transform of the complex vector (re, im) of any length n ≥ 1.
 *
 * Forward (default): X_k = Σ_j x_j·e^(−2πi·jk/n), unscaled, like numpy.fft.fft.
 * `inverse = true`: x_j = (1/n)·Σ_k X_k·e^(+2πi·jk/n), like numpy.fft.ifft.
 *
 * Powers of two use the iterative radix-2 Cooley–Tukey algorithm (Van Loan,
 * "Computational Frameworks for the Fast Fourier Transform", 1992, §1.7);
 * other lengths use Bluestein's algorithm (Bluestein 1970; Rabiner, Schafer &
 * Rader 1969), which rewrites the DFT as a circular convolution of length
 * M ≥ 2n − 1, M a power of two. Both are O(n log n); twiddle factors are
 * evaluated directly with cos/sin (never by recurrence) so the error stays
 * O(ε·log n). Inputs are not modified.
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): ComplexArrays {
  checkFloat64('fft', 're', re);
  checkFloat64('fft', 'im', im);
  if (re.length !== im.length) {
    throw new Error(`fft: re and im must have the same length, got ${re.length} and ${im.length}`);
  }
  if (re.length === 0) throw new Error('fft: input length must be at least 1, got 0');
  if (typeof inverse !== 'boolean') throw new Error(`fft: inverse must be a boolean, got ${String(inverse)}`);
  const n = re.length;
  const outRe = Float64Array.from(re);
  const outIm = Float64Array.from(im);
  transformInPlace(outRe, outIm, inverse ? 1 : -1);
  if (inverse) {
    const inv = 1 / n;
    for (let i = 0; i < n; i++) {
      outRe[i] *= inv;
      outIm[i] *= inv;
    }
  }
  return { re: outRe, im: outIm };
}

/**
 * DFT of a real vector of length n ≥ 1, returning only the non-negative
 * frequencies 0…⌊n/2⌋ (length ⌊n/2⌋ + 1), like numpy.fft.rfft. The rest of
 * the spectrum follows from Hermitian symmetry X_{n−k} = conj(X_k). Computed
 * as a complex {@link fft} with zero imaginary part; the imaginary parts of
 * the DC term (and the Nyquist term for even n), zero in exact arithmetic, are
 * set to exactly 0.
 */
export function rfft(x: Float64Array): ComplexArrays {
  checkFloat64('rfft', 'x', x);
  const n = x.length;
  if (n === 0) throw new Error('rfft: input length must be at least 1, got 0');
  const re = Float64Array.from(x);
  const im = new Float64Array(n);
  transformInPlace(re, im, -1);
  const half = Math.floor(n / 2) + 1;
  const outIm = im.slice(0, half);
  outIm[0] = 0;
  if (n % 2 === 0) outIm[half - 1] = 0;
  return { re: re.slice(0, half), im: outIm };
}

/**
 * Inverse of {@link rfft}: the real length-n signal whose non-negative
 * frequencies are (re, im), like numpy.fft.irfft. `n` defaults to
 * 2·(len − 1); the input is truncated or zero-padded to ⌊n/2⌋ + 1 entries, the
 * negative frequencies are taken as conjugates (Hermitian symmetry), and the
 * imaginary parts of the DC term and, for even n, the Nyquist term are
 * ignored. Includes the 1/n scaling, so irfft(rfft(x), x.length) = x.
 */
export function irfft(re: Float64Array, im: Float64Array, n?: number): Float64Array {
  checkFloat64('irfft', 're', re);
  checkFloat64('irfft', 'im', im);
  if (re.length !== im.length) {
    throw new Error(`irfft: re and im must have the same length, got ${re.length} and ${im.length}`);
  }
  if (re.length === 0) throw new Error('irfft: input length must be at least 1, got 0');
  const len = n ?? 2 * (re.length - 1);
  if (!Number.isSafeInteger(len) || len < 1) {
    const why = n === undefined ? ` (the default 2*(len-1) for input length ${re.length})` : '';
    throw new Error(`irfft: n must be a positive integer, got ${String(len)}${why}`);
  }
  const half = Math.floor(len / 2);
  const specRe = new Float64Array(len);
  const specIm = new Float64Array(len);
  const available = Math.min(half + 1, re.length);
  for (let k = 0; k < available; k++) {
    specRe[k] = re[k];
    specIm[k] = im[k];
  }
  specIm[0] = 0;
  if (len % 2 === 0) specIm[half] = 0;
  for (let k = half + 1; k < len; k++) {
    specRe[k] = specRe[len - k];
    specIm[k] = -specIm[len - k];
  }
  transformInPlace(specRe, specIm, 1);
  const inv = 1 / len;
  for (let i = 0; i < len; i++) specRe[i] *= inv;
  return specRe;
}

/** Unscaled in-place DFT with kernel e^(sign·2πi·jk/n), sign = ±1, any n ≥ 1. */
function transformInPlace(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  if (n === 1) return;
  if ((n & (n - 1)) === 0) {
    radix2InPlace(re, im, sign, twiddles(n));
    return;
  }
  // Bluestein is written for the forward kernel; the inverse kernel follows
  // from conj(DFT(conj(x))).
  if (sign === 1) for (let i = 0; i < n; i++) im[i] = -im[i];
  bluesteinForward(re, im);
  if (sign === 1) for (let i = 0; i < n; i++) im[i] = -im[i];
}

/**
 * cos(2πk/n) and sin(2πk/n) for k < n/2. When 4 divides n, only angles up to
 * π/4 are evaluated and the rest is filled by the exact symmetries
 * cos(π/2 − θ) = sin θ and cos(π − θ) = −cos θ: this keeps errors minimal and
 * makes the twiddles at π/4 multiples exact (e.g. cos(π/2) = 0, not 6e-17).
 */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  if (n % 4 !== 0) {
    for (let k = 0; k < half; k++) {
      const angle = (2 * Math.PI * k) / n;
      cos[k] = Math.cos(angle);
      sin[k] = Math.sin(angle);
    }
    return { cos, sin };
  }
  const quarter = n >> 2;
  for (let k = 0; k <= quarter; k++) {
    if (8 * k <= n) {
      const angle = (2 * Math.PI * k) / n;
      cos[k] = Math.cos(angle);
      sin[k] = Math.sin(angle);
    } else {
      const angle = (2 * Math.PI * (quarter - k)) / n; // π/2 − θ, in [0, π/4)
      cos[k] = Math.sin(angle);
      sin[k] = Math.cos(angle);
    }
  }
  for (let k = quarter + 1; k < half; k++) {
    cos[k] = -cos[half - k];
    sin[k] = sin[half - k];
  }
  return { cos, sin };
}

/**
 * Iterative radix-2 decimation-in-time FFT (Van Loan Alg. 1.6.2 structure):
 * bit-reversal permutation, then log₂n butterfly stages.
 */
function radix2InPlace(
  re: Float64Array,
  im: Float64Array,
  sign: 1 | -1,
  table: { cos: Float64Array; sin: Float64Array },
): void {
  const n = re.length;
  // Bit-reversal permutation, with j tracking the reverse of i incrementally.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const { cos, sin } = table;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size; // twiddle stride in the length-n table
    for (let k = 0; k < half; k++) {
      const wr = cos[k * step];
      const wi = sign * sin[k * step];
      for (let start = k; start < n; start += size) {
        const other = start + half;
        const tr = wr * re[other] - wi * im[other];
        const ti = wr * im[other] + wi * re[other];
        re[other] = re[start] - tr;
        im[other] = im[start] - ti;
        re[start] += tr;
        im[start] += ti;
      }
    }
  }
}

/**
 * Bluestein's chirp-z forward DFT for arbitrary n: with w_k = e^(−iπk²/n),
 * jk = (k² + j² − (k−j)²)/2 gives X_k = w_k·Σ_j (x_j·w_j)·conj(w_{k−j}),
 * a convolution evaluated with three power-of-two FFTs of length M ≥ 2n − 1.
 */
function bluesteinForward(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  let size = 1;
  while (size < 2 * n - 1) size <<= 1;

  // Chirp w_k = e^(−iπk²/n); k² is reduced mod 2n exactly (integers) so the
  // angle stays in [0, 2π) and loses no accuracy for large k.
  const chirpRe = new Float64Array(n);
  const chirpIm = new Float64Array(n);
  for (let k = 0, k2 = 0; k < n; k++) {
    const angle = (Math.PI * k2) / n;
    chirpRe[k] = Math.cos(angle);
    chirpIm[k] = -Math.sin(angle);
    k2 += 2 * k + 1; // (k+1)² − k²
    if (k2 >= 2 * n) k2 -= 2 * n;
  }

  const aRe = new Float64Array(size);
  const aIm = new Float64Array(size);
  for (let k = 0; k < n; k++) {
    aRe[k] = re[k] * chirpRe[k] - im[k] * chirpIm[k];
    aIm[k] = re[k] * chirpIm[k] + im[k] * chirpRe[k];
  }
  // Filter conj(w) at lags −(n−1)…(n−1), wrapped circularly.
  const bRe = new Float64Array(size);
  const bIm = new Float64Array(size);
  bRe[0] = chirpRe[0];
  bIm[0] = -chirpIm[0];
  for (let k = 1; k < n; k++) {
    bRe[k] = bRe[size - k] = chirpRe[k];
    bIm[k] = bIm[size - k] = -chirpIm[k];
  }

  const table = twiddles(size);
  radix2InPlace(aRe, aIm, -1, table);
  radix2InPlace(bRe, bIm, -1, table);
  for (let k = 0; k < size; k++) {
    const r = aRe[k] * bRe[k] - aIm[k] * bIm[k];
    aIm[k] = aRe[k] * bIm[k] + aIm[k] * bRe[k];
    aRe[k] = r;
  }
  radix2InPlace(aRe, aIm, 1, table);

  const inv = 1 / size;
  for (let k = 0; k < n; k++) {
    const cr = aRe[k] * inv;
    const ci = aIm[k] * inv;
    re[k] = cr * chirpRe[k] - ci * chirpIm[k];
    im[k] = cr * chirpIm[k] + ci * chirpRe[k];
  }
}
