/**
 * The shipped 8×8 digits decode to sklearn's `load_digits` (counts and
 * checksums from the source CSV), and a nabla-trained classifier reaches the
 * accuracy expected of this set; its sample scores behave on known inputs.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { digitsRaw, loadDigits, DIGITS_TRAIN, sampleBatch } from '../../src/zoo/data/digits.js';
import { trainClassifier, classifierScore } from '../../src/zoo/metrics/classifier.js';

describe('8×8 digits (UCI, CC BY 4.0)', () => {
  it('decode losslessly: 1797 images, sklearn’s class counts, pixel histogram and first image', () => {
    const { pixels, labels } = digitsRaw();
    expect(pixels.length).toBe(1797 * 64);
    const counts = new Array(10).fill(0);
    for (const l of labels) counts[l] += 1;
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    const hist = new Array(17).fill(0);
    for (const v of pixels) hist[v] += 1;
    // from numpy.bincount over sklearn's digits.csv.gz
    expect(hist).toEqual([56272, 4095, 3296, 2944, 3261, 2803, 2559, 2627, 3464, 2585, 2711, 2845, 3668, 3509, 3609, 4304, 10456]);
    expect(Array.from(pixels.subarray(0, 16))).toEqual([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]);
    expect(Array.from(labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  it('load as images or rows, scaled, in train/test splits; sampleBatch keeps rows and labels together', () => {
    const tr = loadDigits();
    expect(tr.x.shape).toEqual([DIGITS_TRAIN, 1, 8, 8]);
    expect(tr.x.dtype).toBe('f32');
    const te = loadDigits({ split: 'test', layout: 'flat', scale: 'counts', dtype: 'f64' });
    expect(te.x.shape).toEqual([297, 64]);
    expect(te.labels.length).toBe(297);
    expect(nb.max(te.x).item()).toBe(16);
    const sym = loadDigits({ split: 'all', scale: 'symmetric', layout: 'flat' });
    expect(nb.min(sym.x).item()).toBe(-1);
    expect(nb.max(sym.x).item()).toBe(1);
    const b = sampleBatch(nb.randomKey(1), te.x, 5, te.labels);
    const all = te.x.toF64();
    const bx = b.x.toF64();
    b.index.forEach((r, i) => {
      expect(Array.from(bx.subarray(i * 64, i * 64 + 64))).toEqual(Array.from(all.subarray(r * 64, r * 64 + 64)));
      expect(b.labels![i]).toBe(te.labels[r]);
    });
    expect(() => loadDigits({ split: 'dev' as 'train' })).toThrow(/split must be/);
  });

  it('a nabla-trained MLP classifier reaches ≥ 88% on the held-out split (measured 90.9%); scores of real vs constant images', () => {
    const tr = loadDigits({ layout: 'flat' });
    const te = loadDigits({ split: 'test', layout: 'flat' });
    const clf = trainClassifier(tr.x, tr.labels, { key: nb.randomKey(2), steps: 300 });
    const acc = clf.accuracy(te.x, te.labels);
    console.log(`digits classifier: held-out accuracy ${acc.toFixed(3)}`);
    expect(acc).toBeGreaterThan(0.88);
    const real = classifierScore(clf, te.x);
    const blank = classifierScore(clf, nb.full([297, 64], 0.3));
    // real digits: confident and spread over the ten classes (ln 10 = 2.30)
    expect(real.labelEntropy).toBeGreaterThan(2.2);
    expect(real.inceptionScore).toBeGreaterThan(7);
    // one constant image, 297 times: one label, IS = 1
    expect(blank.labelEntropy).toBe(0);
    expect(blank.inceptionScore).toBeCloseTo(1, 6);
    expect(real.histogram.reduce((a, b) => a + b)).toBe(297);
  });
});
