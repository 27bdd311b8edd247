/**
 * Bad input gets a clear error that names the op, the argument and the
 * shapes or values at fault: never a crash deep in a kernel.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';

/** NumPy broadcasting, written independently of src/core/shape.ts: null when the shapes do not broadcast. */
function broadcastRef(a: number[], b: number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

const show = (s: number[]): string => `[${s.join(',')}]`;
const esc = (s: string): string => s.replace(/[[\]]/g, '\\$&');

describe('errors name the op and what is wrong', () => {
  it('use of a disposed tensor names the op, the argument and the tensor', () => {
    const w = nb.ones([2, 3]);
    w.name = 'weights';
    w.dispose();
    expect(() => nb.exp(w)).toThrow(/^exp: input 0 'weights' f32\[2,3\] was disposed$/);
    expect(() => nb.add(nb.ones([3]), w)).toThrow(/^add: input 1 'weights' f32\[2,3\] was disposed$/);
    expect(() => w.toArray()).toThrow(/^toF64: input 'weights' f32\[2,3\] was disposed$/);
    expect(() => nb.sum(w)).toThrow(/^sum: \w+ 'weights' f32\[2,3\] was disposed$/);
    expect(() => nb.backward(w)).toThrow(/^backward: tensor 'weights' f32\[2,3\] was disposed$/);
    expect(String(w)).toBe("Tensor(disposed 'weights' f32[2,3])");
  });

  it('a shape mismatch in add names both shapes and the dimension', () => {
    nb.tidy(() => {
      expect(() => nb.add(nb.zeros([2, 3]), nb.zeros([4]))).toThrow(/^add: shapes do not broadcast: a is \[2,3\], b is \[4\] \(dimension -1 is 3 vs 4\)$/);
      expect(() => nb.mul(nb.zeros([5, 1, 2]), nb.zeros([3, 3]))).toThrow(/^mul: shapes do not broadcast: a is \[5,1,2\], b is \[3,3\]/);
    });
  });

  it('a bad dtype names the function and the allowed dtypes', () => {
    nb.tidy(() => {
      const allowed = 'must be one of f64, f32, f16, bf16, i32, bool, got f8';
      expect(() => nb.zeros([2], { dtype: 'f8' as never })).toThrow(`full: dtype ${allowed}`);
      expect(() => nb.tensor([1, 2], { dtype: 'f8' as never })).toThrow(`tensor: dtype ${allowed}`);
      expect(() => nb.astype(nb.ones([2]), 'f8' as never)).toThrow(`astype: dtype ${allowed}`);
      expect(() => nb.where(nb.ones([2]), 1, 2)).toThrow(/^where: cond must be bool, got f32$/);
    });
  });

  it('an out-of-range or fractional axis names the op, the axis and the rank', () => {
    nb.tidy(() => {
      const x = nb.zeros([2, 3]);
      expect(() => nb.sum(x, 2)).toThrow(/^sum: axis 2 is out of range for a tensor of rank 2$/);
      expect(() => nb.sum(x, -3)).toThrow(/^sum: axis -3 is out of range for a tensor of rank 2$/);
      expect(() => nb.sum(x, 0.5)).toThrow(/^sum: axis must be an integer, got 0.5$/);
      expect(() => nb.sum(x, [0, -2])).toThrow(/^sum: axes contain a repeated axis: \[0,-2\]$/);
    });
  });

  it('backward on a non-scalar without a cotangent, or with a wrong one, says what to pass', () => {
    nb.tidy(() => {
      const x = nb.ones([3]).requiresGrad_();
      const y = nb.mul(x, 2);
      expect(() => y.backward()).toThrow(/^backward: tensor is f32\[3\]; pass a cotangent of the same shape, or reduce it to a scalar first$/);
      expect(() => y.backward(nb.ones([2]))).toThrow(/^backward: cotangent is \[2\] but the tensor is \[3\]$/);
      expect(() => nb.ones([3]).backward()).toThrow(/^backward: tensor f32\[3\] does not require grad/);
    });
  });

  it('requiresGrad on an integer tensor, or on a non-leaf, is refused', () => {
    nb.tidy(() => {
      const i = nb.tensor([1, 2], { dtype: 'i32' });
      expect(() => i.requiresGrad_()).toThrow(/^requiresGrad: only floating tensors can require gradients, this one is i32$/);
      expect(() => nb.tensor([1, 2], { dtype: 'bool', requiresGrad: true })).toThrow(/this one is bool/);
      const y = nb.exp(nb.ones([2]).requiresGrad_());
      expect(() => (y.requiresGrad = true)).toThrow(/^requiresGrad: can only be set on a leaf tensor; this one was produced by 'exp' \(use detach\(\)\)$/);
    });
  });

  it('ragged nested arrays and non-numbers in tensor() name the position', () => {
    expect(() => nb.tensor([[1, 2], [3]])).toThrow(/^tensor: ragged nested array: \[1\] should have length 2 \(shape \[2,2\]\)$/);
    expect(() => nb.tensor([[[1], [2]], [[3], [4, 5]]])).toThrow(/^tensor: ragged nested array: \[1\]\[1\] should have length 1 \(shape \[2,2,1\]\)$/);
    expect(() => nb.tensor([[1, 2], 3] as never)).toThrow(/^tensor: ragged nested array: \[1\] should have length 2/);
    expect(() => nb.tensor([1, 'a'] as never)).toThrow(/^tensor: element \[1\] is string, expected a number or boolean$/);
    expect(() => nb.tensor([1, 2, 3], [2, 2])).toThrow(/^tensor: data has 3 values but shape \[2,2\] needs 4$/);
  });

  it('property: two random shapes either broadcast (to the NumPy shape) or fail naming both shapes', () => {
    const shapeArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 4 });
    fc.assert(
      fc.property(shapeArb, shapeArb, (sa, sb) => {
        const expected = broadcastRef(sa, sb);
        nb.tidy(() => {
          const a = nb.zeros(sa);
          const b = nb.zeros(sb);
          if (expected) {
            expect(nb.add(a, b).shape).toEqual(expected);
          } else {
            expect(() => nb.add(a, b)).toThrow(new RegExp(`^add: shapes do not broadcast: a is ${esc(show(sa))}, b is ${esc(show(sb))} \\(dimension -\\d+ is \\d+ vs \\d+\\)$`));
          }
        });
      }),
      { numRuns: 400, seed: 7 },
    );
  });
});
