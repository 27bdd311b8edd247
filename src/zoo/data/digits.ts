/**
 * The 8×8 handwritten digits: the test set of the UCI "Optical Recognition
 * of Handwritten Digits" data (E. Alpaydin and C. Kaynak, 1998; 1797 images
 * from 13 writers, 32×32 bitmaps counted in 4×4 blocks so each pixel is an
 * integer 0…16), as distributed with scikit-learn (`load_digits`).
 *
 * Why this set: it is small enough to ship inside the library (≈ 76 KB of
 * source, decoded losslessly here; no network, no npm install), large enough
 * to train a classifier to ≈ 97% and generative models whose samples are
 * recognisable, and fast at 64 dimensions on a CPU.
 *
 * Licence: the UCI Machine Learning Repository publishes the data under
 * Creative Commons Attribution 4.0 (CC BY 4.0); this is the attribution.
 * Citation: Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of
 * Handwritten Digits [Dataset]. UCI Machine Learning Repository.
 * https://doi.org/10.24432/C50P49. Packed by scripts/pack-digits.py.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { defaultFloat, tensor } from '../../ops/creation.js';
import { DIGITS_COUNT, DIGITS_LABELS, DIGITS_PIXELS, DIGITS_PIXEL_SUM } from './digitsData.js';

/** Largest pixel value (pixels are block counts 0…16). */
export const DIGITS_LEVELS = 17;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

let cache: { pixels: Uint8Array; labels: Int32Array } | null = null;

/** The raw data: pixels (1797·64 values 0…16, row-major images) and labels 0…9. Decoded once. */
export function digitsRaw(): { pixels: Uint8Array; labels: Int32Array } {
  if (cache) return cache;
  const pixels = new Uint8Array(DIGITS_COUNT * 64);
  let n = 0;
  for (const ch of DIGITS_PIXELS) {
    const k = ALPHABET.indexOf(ch);
    if (k < 17) pixels[n++] = k;
    else n += k - 15; // a run of zeros (already zero)
  }
  let sum = 0;
  for (const v of pixels) sum += v;
  if (n !== pixels.length || sum !== DIGITS_PIXEL_SUM) throw new Error(`digits: the packed data is corrupt (${n} pixels, sum ${sum})`);
  const labels = Int32Array.from(DIGITS_LABELS, (c) => c.charCodeAt(0) - 48);
  cache = { pixels, labels };
  return cache;
}

export interface DigitsOptions {
  /** 'unit' (default): v/16 in [0, 1]; 'symmetric': 2v/16 − 1 in [−1, 1]; 'counts': the integers 0…16 */
  scale?: 'unit' | 'symmetric' | 'counts';
  /** 'image' (default): (n, 1, 8, 8); 'flat': (n, 64) */
  layout?: 'image' | 'flat';
  /** 'train' (the first 1500, default), 'test' (the last 297) or 'all' */
  split?: 'train' | 'test' | 'all';
  dtype?: DType;
}

/** Number of training images; the rest are the held-out split. */
export const DIGITS_TRAIN = 1500;

/** The digits as a tensor with their labels. */
export function loadDigits(opts: DigitsOptions = {}): { x: Tensor; labels: Int32Array } {
  const { pixels, labels } = digitsRaw();
  const split = opts.split ?? 'train';
  const [lo, hi] = split === 'train' ? [0, DIGITS_TRAIN] : split === 'test' ? [DIGITS_TRAIN, DIGITS_COUNT] : split === 'all' ? [0, DIGITS_COUNT] : [-1, -1];
  if (lo < 0) throw new Error(`loadDigits: split must be 'train', 'test' or 'all', got '${String(split)}'`);
  const scale = opts.scale ?? 'unit';
  const f = scale === 'unit' ? (v: number): number => v / 16 : scale === 'symmetric' ? (v: number): number => v / 8 - 1 : scale === 'counts' ? (v: number): number => v : null;
  if (!f) throw new Error(`loadDigits: scale must be 'unit', 'symmetric' or 'counts', got '${String(scale)}'`);
  const n = hi - lo;
  const out = new Float64Array(n * 64);
  for (let i = 0; i < n * 64; i++) out[i] = f(pixels[lo * 64 + i]!);
  const layout = opts.layout ?? 'image';
  if (layout !== 'image' && layout !== 'flat') throw new Error(`loadDigits: layout must be 'image' or 'flat', got '${String(layout)}'`);
  const shape = layout === 'image' ? [n, 1, 8, 8] : [n, 64];
  return { x: tensor(out, shape, { dtype: opts.dtype ?? defaultFloat() }), labels: labels.slice(lo, hi) };
}

/** A random batch of b rows of x (with replacement), and their labels if given. */
export function sampleBatch(key: Key, x: Tensor, b: number, labels?: Int32Array): { x: Tensor; labels?: Int32Array; index: Int32Array } {
  const n = x.shape[0]!;
  const index = Int32Array.from(prng.randint(key, b, 0, n));
  const rowSize = x.size / n;
  const src = x.toF64();
  const out = new Float64Array(b * rowSize);
  index.forEach((r, i) => out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  const res: { x: Tensor; labels?: Int32Array; index: Int32Array } = { x: tensor(out, [b, ...x.shape.slice(1)], { dtype: x.dtype }), index };
  if (labels) res.labels = Int32Array.from(index, (r) => labels[r]!);
  return res;
}
