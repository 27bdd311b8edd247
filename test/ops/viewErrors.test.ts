/**
 * Bad input to views and indexing: each is refused before any kernel runs,
 * with a message that names the op, the argument and the values at fault,
 * and nothing is left allocated.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';

const x23 = (): nb.Tensor => nb.reshape(nb.arange(0, 6, 1, { dtype: 'f32' }), [2, 3]);
const idx = (v: number[], shape = [v.length]): nb.Tensor => nb.tensor(v, shape, { dtype: 'i32' });

/** [label, thunk, pattern]: every pattern starts with the op's name and names the argument. */
const cases: [string, () => unknown, RegExp][] = [
  ['permute: repeated axis', () => nb.permute(x23(), [0, 0]), /^permute: axes \[0,0\] repeat an axis \(x is \[2,3\]\)/],
  ['permute: wrong length', () => nb.permute(x23(), [1, 0, 2]), /^permute: axes \[1,0,2\] has 3 entries but x is \[2,3\]/],
  ['permute: axis out of range', () => nb.permute(x23(), [0, 2]), /^permute: axes entry 2 is out of range for a tensor of rank 2/],
  ['transpose: axis out of range', () => nb.transpose(x23(), 0, -3), /^transpose: b -3 is out of range/],
  ['transpose: not a tensor', () => nb.transpose([[1, 2]] as unknown as nb.Tensor), /^transpose: x must be a Tensor, got an array/],
  ['squeeze: axis of size 3', () => nb.squeeze(x23(), 1), /^squeeze: axis 1 of x \[2,3\] has size 3, not 1/],
  ['unsqueeze: axis out of range', () => nb.unsqueeze(x23(), 4), /^unsqueeze: axis 4 is out of range for a tensor of rank 3/],
  ['flip: repeated axis', () => nb.flip(x23(), [1, -1]), /^flip: axes contain a repeated axis/],
  ['slice: index out of range', () => nb.slice(x23(), [null, 3]), /^slice: index 3 in specs\[1\] is out of range for axis 1 of x \[2,3\] \(allowed -3\.\.2\)/],
  ['slice: step 0', () => nb.slice(x23(), [{ step: 0 }]), /^slice: step must not be 0/],
  ['slice: non-integer bound', () => nb.slice(x23(), [{ start: 0.5 }]), /^slice: specs\[0\]\.start must be an integer, got 0\.5/],
  ['slice: too many specs', () => nb.slice(x23(), [0, 0, 0]), /^slice: 3 specs for x \[2,3\] of rank 2/],
  ['split: sections do not divide', () => nb.split(x23(), 2, 1), /^split: 2 sections do not divide axis 1 of x \[2,3\] \(size 3\)/],
  ['split: sizes do not add up', () => nb.split(x23(), [1, 1], 1), /^split: sizes \[1,1\] add up to 2, but axis 1 of x \[2,3\] has size 3/],
  ['concat: mismatched shapes', () => nb.concat([x23(), nb.zeros([3, 3])], 1), /^concat: xs\[1\] is \[3,3\] but xs\[0\] is \[2,3\]; only axis 1 may differ/],
  ['concat: mismatched ranks', () => nb.concat([x23(), nb.zeros([2, 3, 1])]), /^concat: xs\[1\] is \[2,3,1\] \(rank 3\) but xs\[0\] is \[2,3\] \(rank 2\)/],
  ['concat: empty list', () => nb.concat([]), /^concat: xs must be a non-empty array/],
  ['concat: axis out of range', () => nb.concat([x23(), x23()], 2), /^concat: axis 2 is out of range for rank 2/],
  ['stack: mismatched shapes', () => nb.stack([x23(), nb.zeros([3, 2])]), /^stack: xs\[1\] is \[3,2\] but xs\[0\] is \[2,3\]/],
  ['pad: crops too much', () => nb.pad(x23(), [[-2, -1]]), /^pad: pads\[0\] = \[-2,-1\] crops more than axis 0 of x \[2,3\] holds \(2\)/],
  ['pad: not a pair', () => nb.pad(x23(), [[1] as unknown as [number, number]]), /^pad: pads\[0\] must be a pair of integers/],
  ['roll: shifts and axes differ in length', () => nb.roll(x23(), [1, 2], [0]), /^roll: shifts \[1,2\] and axes \[0\] must have the same length/],
  ['tril: a vector', () => nb.tril(nb.zeros([3])), /^tril: x must have at least 2 axes/],
  ['gather: index dtype', () => nb.gather(x23(), 1, nb.zeros([2, 3])), /^gather: index must be i32, got f32 \[2,3\]/],
  ['gather: index too large', () => nb.gather(x23(), 1, idx([0, 2, 7, 1], [2, 2])), /^gather: index holds 7 at \[1,0\], out of range for axis 1 of size 3 \(allowed 0\.\.2\)/],
  ['gather: negative index', () => nb.gather(x23(), 0, idx([0, -1, 1], [1, 3])), /^gather: index holds -1 at \[0,1\], out of range for axis 0 of size 2 \(allowed 0\.\.1\)/],
  ['gather: index rank', () => nb.gather(x23(), 0, idx([0, 1])), /^gather: index is \[2\] but x is \[2,3\]; index needs x's rank/],
  ['gather: axis out of range', () => nb.gather(x23(), 2, idx([0], [1, 1])), /^gather: axis 2 is out of range for x \[2,3\] of rank 2 \(allowed -2\.\.1\)/],
  ['scatter: src shape', () => nb.scatter(x23(), 0, idx([0, 1], [1, 2]), nb.zeros([2, 2])), /^scatter: src is \[2,2\] but index is \[1,2\]; they must match/],
  ['scatter: src dtype', () => nb.scatter(x23(), 0, idx([0, 1], [1, 2]), nb.zeros([1, 2], { dtype: 'f64' })), /^scatter: src is f64 but x is f32/],
  ['scatter: index out of range', () => nb.scatter(x23(), 0, idx([0, 5], [1, 2]), nb.zeros([1, 2])), /^scatter: index holds 5 at \[0,1\], out of range for axis 0 of size 2/],
  ['scatterAdd: index out of range', () => nb.scatterAdd(x23(), 1, idx([3], [1, 1]), nb.zeros([1, 1])), /^scatterAdd: index holds 3 at \[0,0\], out of range for axis 1 of size 3/],
  ['indexSelect: 2-D index', () => nb.indexSelect(x23(), 0, idx([0, 1], [1, 2])), /^indexSelect: index must be 1-D, got \[1,2\]/],
  ['indexSelect: index out of range', () => nb.indexSelect(x23(), -1, idx([1, 3])), /^indexSelect: index holds 3 at \[1\], out of range for axis 1 of size 3 \(allowed 0\.\.2\)/],
  ['indexSelect: index dtype', () => nb.indexSelect(x23(), 0, nb.tensor([true, false])), /^indexSelect: index must be i32, got bool \[2\]/],
  ['indexAdd: src shape', () => nb.indexAdd(x23(), 1, idx([0, 0]), nb.zeros([2, 3])), /^indexAdd: src is \[2,3\] but x \[2,3\] with 2 indices on axis 1 needs \[2,2\]/],
];

describe('bad input to views and indexing', () => {
  it.each(cases)('%s', (_label, thunk, pattern) => {
    const before = nb.memory();
    nb.tidy(() => {
      expect(thunk).toThrow(pattern);
    });
    const after = nb.memory();
    expect(after.liveBytes, 'bytes left after the error').toBe(before.liveBytes);
    expect(after.liveTensors, 'tensors left after the error').toBe(before.liveTensors);
  });

  it('an out-of-range index in a gradient pass is caught too (the VJP reuses the checked index)', () => {
    const x = nb.tensor([1, 2, 3], [3], { dtype: 'f64' }).requiresGrad_();
    const g = nb.grad((t: nb.Tensor) => nb.sum(nb.gather(t, 0, idx([2, 2, 0]))))(x) as nb.Tensor;
    expect(Array.from(g.toF64())).toEqual([1, 0, 2]);
    expect(() => nb.grad((t: nb.Tensor) => nb.sum(nb.gather(t, 0, idx([3]))))(x)).toThrow(/^gather: index holds 3/);
  });
});

describe('edge shapes', () => {
  it('scalars and empty axes', () =>
    nb.tidy(() => {
      const s = nb.scalar(3, { dtype: 'f64' });
      expect(nb.flip(s, 0).item()).toBe(3);
      expect(() => nb.squeeze(s, 0)).toThrow(/^squeeze: x is a scalar/);
      expect(nb.squeeze(s).item()).toBe(3);
      expect(nb.unsqueeze(s, 0).shape).toEqual([1]);
      expect(nb.permute(s, []).item()).toBe(3);
      const z = nb.zeros([0, 3]);
      expect(nb.concat([z, nb.ones([2, 3])]).toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
      expect(nb.pad(z, [[1, 1]], 2).toArray()).toEqual([[2, 2, 2], [2, 2, 2]]);
      expect(nb.flip(z).shape).toEqual([0, 3]);
      expect(nb.slice(nb.ones([3, 3]), [{ start: 2, stop: 1 }]).shape).toEqual([0, 3]);
      expect(nb.diagonal(nb.ones([2, 3]), 5).shape).toEqual([0]);
    }));

  it('a gradient through a flip of a slice of a transpose lands on the right entries', () => {
    const x = nb.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'f64' }).requiresGrad_();
    nb.tidy(() => {
      const y = nb.flip(nb.slice(x.t(), [{ step: 2 }]), 0); // [[3, 6], [1, 4]]
      expect(y.toArray()).toEqual([[3, 6], [1, 4]]);
      nb.sum(nb.mul(y, nb.tensor([[1, 10], [100, 1000]], { dtype: 'f64' }))).backward();
    });
    expect(x.grad!.toArray()).toEqual([[100, 0, 1], [1000, 0, 10]]);
  });
});
