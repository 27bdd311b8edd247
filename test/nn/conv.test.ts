/**
 * The convolution functions beyond the op cases: the adjoint identity between
 * conv and convTranspose, a 1×1 convolution is a matmul over channels, the
 * output-length formula, argument errors that name the function, the
 * argument and the shapes, and no leaked tensors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';
import { expectClose } from '../helpers/check.js';

const key = nb.randomKey(21);
const k = (i: number): nb.Key => nb.foldIn(key, i);

describe('conv properties', () => {
  it('⟨conv(x, w), y⟩ = ⟨x, convTranspose(y, w)⟩ for random geometries', () => {
    fc.assert(
      fc.property(
        fc.record({ L: fc.integer({ min: 4, max: 12 }), kk: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 2 }), p0: fc.integer({ min: 0, max: 3 }), p1: fc.integer({ min: 0, max: 3 }), g: fc.constantFrom(1, 2), seed: fc.nat() }),
        ({ L, kk, s, d, p0, p1, g, seed }) => {
          const out = Math.floor((L + p0 + p1 - d * (kk - 1) - 1) / s) + 1;
          fc.pre(out >= 1);
          nb.tidy(() => {
            const x = nb.normal(k(seed), [2, 2 * g, L], { dtype: 'f64' });
            const w = nb.normal(k(seed + 1), [2 * g, 2, kk], { dtype: 'f64' });
            const opts = { stride: s, padding: [[p0, p1]] as [number, number][], dilation: d, groups: g };
            const y = nb.normal(k(seed + 2), [2, 2 * g, out], { dtype: 'f64' });
            const lhs = nb.sum(nb.mul(nb.conv1d(x, w, null, opts), y)).item();
            // the transpose reproduces length L when outputPadding makes up the stride's remainder
            const extra = L - ((out - 1) * s - p0 - p1 + d * (kk - 1) + 1);
            const xt = nb.convTranspose1d(y, w, null, { ...opts, outputPadding: extra });
            expect(xt.shape).toEqual([2, 2 * g, L]);
            const rhs = nb.sum(nb.mul(x, xt)).item();
            expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * (1 + Math.abs(lhs)));
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a 1×1 convolution is a matmul over channels', () => {
    nb.tidy(() => {
      const x = nb.normal(k(1), [2, 3, 4, 5], { dtype: 'f64' });
      const w = nb.normal(k(2), [6, 3, 1, 1], { dtype: 'f64' });
      const y = nb.conv2d(x, w);
      const viaMatmul = nb.matmul(nb.reshape(w, [6, 3]), nb.reshape(x, [2, 3, 20]));
      expectClose(y.toF64(), viaMatmul.toF64(), 1e-14, '1×1 conv');
    });
  });

  it('output length ⌊(L + p₀ + p₁ − d(k − 1) − 1)/s⌋ + 1; same and causal keep L', () => {
    nb.tidy(() => {
      const x = nb.zeros([1, 1, 10]);
      expect(nb.conv1d(x, nb.zeros([1, 1, 3]), null, { stride: 3, padding: [[2, 0]], dilation: 2 }).shape).toEqual([1, 1, 3]);
      expect(nb.conv1d(x, nb.zeros([1, 1, 4]), null, { padding: 'same', dilation: 3 }).shape).toEqual([1, 1, 10]);
      expect(nb.conv1d(x, nb.zeros([1, 1, 5]), null, { padding: 'causal' }).shape).toEqual([1, 1, 10]);
      expect(nb.conv1d(x, nb.zeros([1, 1, 5]), null, { padding: 'valid' }).shape).toEqual([1, 1, 6]);
      expect(nb.conv2d(nb.zeros([4, 6, 7]), nb.zeros([2, 4, 3, 3]), null, { stride: [1, 2] }).shape).toEqual([2, 4, 3]);
    });
  });

  it('leaves no tensors behind (forward and backward in tidy)', () => {
    const x = nb.normal(k(3), [2, 4, 9], { requiresGrad: true });
    const w = nb.normal(k(4), [4, 2, 3], { requiresGrad: true });
    const b = nb.zeros([4], { requiresGrad: true });
    const before = nb.memory().liveTensors;
    nb.tidy(() => nb.backward(nb.sum(nb.conv1d(x, w, b, { groups: 2, padding: 'same' }))));
    expect(nb.memory().liveTensors).toBe(before + 3); // the three gradients
    for (const t of [x, w, b]) t.dispose();
  });
});

describe('conv errors', () => {
  const x = nb.zeros([2, 4, 8]);
  it.each([
    ['channel mismatch', () => nb.conv1d(x, nb.zeros([3, 3, 2])), /conv: x \[2,4,8\] has 4 channels but w \[3,3,2\] expects 3 per group × 1 groups = 3/],
    ['groups not dividing', () => nb.conv1d(x, nb.zeros([3, 2, 2]), null, { groups: 2 }), /groups 2 must divide .* the output channels \(3, w \[3,2,2\]\)/],
    ['kernel too long', () => nb.conv1d(x, nb.zeros([2, 4, 9])), /spatial axis 0 of x \[2,4,8\] \(length 8, padded 8\) is shorter than the dilated kernel \(9\)/],
    ['wrong rank', () => nb.conv2d(nb.zeros([8]), nb.zeros([2, 4, 3, 3])), /x must be \(N, C, …\) or \(C, …\) with 2 spatial axes/],
    ['unbatched channel mismatch', () => nb.conv2d(x, nb.zeros([2, 4, 3, 3])), /x \[2,4,8\] is read as unbatched \(C, …\) with 2 channels, but w \[2,4,3,3\] with groups 1 expects 4/],
    ['conv1d given a 2-D kernel', () => nb.conv1d(x, nb.zeros([2, 4, 3, 3])), /conv1d: w is \[2,4,3,3\]; it must be \(C_out, C_in\/groups, k\)/],
    ["'same' with stride", () => nb.conv1d(x, nb.zeros([2, 4, 3]), null, { padding: 'same', stride: 2 }), /padding 'same' needs stride 1/],
    ['bad padding', () => nb.conv1d(x, nb.zeros([2, 4, 3]), null, { padding: 'full' as never }), /padding must be a non-negative integer/],
    ['bad stride', () => nb.conv1d(x, nb.zeros([2, 4, 3]), null, { stride: 0 }), /stride must be an integer ≥ 1/],
    ['bias length', () => nb.conv1d(x, nb.zeros([2, 4, 3]), nb.zeros([3])), /bias is \[3\] but the output has 2 channels/],
    ['integer input', () => nb.conv1d(nb.zeros([1, 4, 8], { dtype: 'i32' }), nb.zeros([2, 4, 3])), /x must be a floating tensor/],
    ['outputPadding too large', () => nb.convTranspose1d(x, nb.zeros([4, 2, 3]), null, { stride: 2, outputPadding: 2 }), /outputPadding 2 on axis 0 must be smaller than the stride \(2\)/],
    ['transpose channels', () => nb.convTranspose1d(x, nb.zeros([3, 2, 3])), /x \[2,4,8\] has 4 channels but w \[3,2,3\] expects 3/],
  ])('%s', (_n, f, msg) => {
    expect(f).toThrow(msg);
  });
});
