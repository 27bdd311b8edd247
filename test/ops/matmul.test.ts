/**
 * matmul and einsum beyond the op suite: exact error messages for bad shapes
 * and bad specs, the method form, agreement of einsum with matmul and with
 * the naive loops on random shapes (fast-check), and no leaked intermediates.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/check.js';
import { naiveMatmul } from './cases/matmul.js';

const f64 = { dtype: 'f64' as const };
const filled = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((p, q) => p * q, 1);
  return nb.tensor(Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7)), shape, f64);
};

describe('matmul errors', () => {
  it.each([
    ['inner dimensions', () => nb.matmul(nb.zeros([2, 3]), nb.zeros([4, 5])), 'matmul: a is [2,3], b is [4,5]: inner dimensions 3 and 4 differ'],
    ['vector inner dimension', () => nb.matmul(nb.zeros([3]), nb.zeros([2, 4])), 'matmul: a is [3], b is [2,4]: inner dimensions 3 and 2 differ'],
    ['batch axes', () => nb.matmul(nb.zeros([2, 3, 4]), nb.zeros([5, 4, 6])), 'matmul: a is [2,3,4], b is [5,4,6]: batch axes [2] and [5] do not broadcast'],
    ['0-d operand', () => nb.matmul(nb.scalar(2), nb.zeros([2])), 'matmul: a is a 0-d tensor []; matmul needs operands of rank ≥ 1 (use mul to scale by a scalar)'],
    ['not a tensor', () => nb.matmul(nb.zeros([2]), [1, 2] as never), 'matmul: b must be a Tensor, got object'],
    ['dot of matrices', () => nb.dot(nb.zeros([2, 2]), nb.zeros([2])), 'dot: a is [2,2], b is [2]: both must be 1-D (use matmul or einsum for higher ranks)'],
    ['dot lengths', () => nb.dot(nb.zeros([2]), nb.zeros([3])), 'dot: a is [2], b is [3]: lengths 2 and 3 differ'],
    ['outer of a matrix', () => nb.outer(nb.zeros([2, 2]), nb.zeros([2])), 'outer: a is [2,2], b is [2]: both must be 1-D'],
  ])('%s', (_name, f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('einsum errors', () => {
  const a = nb.zeros([2, 3]);
  const b = nb.zeros([3, 4]);
  it.each([
    ['operand count', () => nb.einsum('ij,jk->ik', a), "einsum: 'ij,jk->ik' names 2 operands but 1 tensor was given"],
    ['rank', () => nb.einsum('ijk,jk->i', a, b), "einsum: 'ijk,jk->i': operand 0 has subscripts 'ijk' (3 indices) but is [2,3] (rank 2)"],
    ['size', () => nb.einsum('ij,kj->ik', a, b), "einsum: 'ij,kj->ik': index 'j' has size 3 in operand 0 but 4 in operand 1 ([3,4])"],
    ['repeated index', () => nb.einsum('ii->i', nb.zeros([3, 3])), "einsum: 'ii->i': operand 0 subscripts 'ii' repeats index 'i'"],
    ['bad character', () => nb.einsum('i1,j->ij', a, b), "einsum: 'i1,j->ij': invalid character '1' in operand 0 subscripts 'i1'"],
    ['unknown output index', () => nb.einsum('ij,jk->iz', a, b), "einsum: 'ij,jk->iz': output index 'z' does not appear in any operand"],
    ['repeated output index', () => nb.einsum('ij,jk->ii', a, b), "einsum: 'ij,jk->ii': output 'ii' repeats index 'i'"],
    ['two arrows', () => nb.einsum('ij->j->i', a), "einsum: 'ij->j->i' has more than one '->'"],
    ['two ellipses', () => nb.einsum('...i...->i', a), "einsum: '...i...->i': operand 0 subscripts '...i...' has more than one '...'"],
    ['ellipsis dropped', () => nb.einsum('...j->j', a), "einsum: '...j->j': the operands have '...' axes but the output 'j' has no '...'"],
    ['ellipsis broadcast', () => nb.einsum('...j,...j->...j', nb.zeros([2, 3]), nb.zeros([4, 3])), "einsum: '...j,...j->...j': the '...' axes do not broadcast"],
    ['spec type', () => nb.einsum(3 as never, a), 'einsum: spec must be a string, got number'],
  ])('%s', (_name, f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('matmul and einsum values', () => {
  it('x.matmul(y) is matmul(x, y)', () => {
    nb.tidy(() => {
      const x = filled([2, 3, 4], 1);
      const y = filled([4, 2], 2);
      expectClose(x.matmul(y).toF64(), nb.matmul(x, y).toF64(), 0, 'method');
    });
  });

  it('implicit output takes the indices seen once in ASCII order (upper case first)', () => {
    nb.tidy(() => {
      // 'bA,Ac': A is summed, output 'bc'; 'ba,cb': output 'ac'; 'Ba,a': output 'B'
      expect(nb.einsum('bA,Ac', filled([2, 3], 1), filled([3, 4], 2)).shape).toEqual([2, 4]);
      const ac = nb.einsum('ba,cb', filled([3, 2], 3), filled([4, 3], 4));
      expectClose(ac.toF64(), nb.matmul(nb.transpose(filled([3, 2], 3)), nb.transpose(filled([4, 3], 4))).toF64(), 1e-12, "'ba,cb' = aᵀ·bᵀ");
      expect(nb.einsum('AbB,bc', filled([2, 3, 5], 1), filled([3, 4], 2)).shape).toEqual([2, 5, 4]); // 'ABc'
      expect(nb.einsum('Ba,a', filled([2, 3], 5), filled([3], 6)).shape).toEqual([2]);
    });
  });

  it('property: matmul equals the naive triple loop, and einsum equals matmul, on random broadcast shapes', () => {
    const dim = fc.integer({ min: 1, max: 4 });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.array(fc.constantFrom(1, 2), { maxLength: 2 }), dim, dim, dim, (ba, bbRaw, m, k, n) => {
        // b's batch axes: a broadcast-compatible variant of a's (some axes set to 1, maybe fewer)
        const bb = ba.slice(ba.length - bbRaw.length).map((d, i) => (bbRaw[i] === 1 ? 1 : d));
        nb.tidy(() => {
          const a = filled([...ba, m, k], m + 2 * k);
          const b = filled([...bb, k, n], n + 3 * k);
          const c = nb.matmul(a, b);
          expectClose(c.toF64(), naiveMatmul(a.toF64(), a.shape.slice(), b.toF64(), b.shape.slice()), 1e-12, 'matmul vs naive');
          expectClose(nb.einsum('...ij,...jk->...ik', a, b).toF64(), c.toF64(), 1e-12, 'einsum vs matmul');
        });
      }),
      { numRuns: 60 },
    );
  });

  it('einsum and matmul leave no intermediates alive', () => {
    const a = filled([2, 3, 4], 1);
    const b = filled([2, 4, 5], 2);
    const bt = nb.transpose(b);
    const v = filled([4], 3);
    const before = nb.memory().liveTensors;
    const y = nb.einsum('bij,bjk,bkl->il', a, b, bt);
    const z = nb.matmul(v, b);
    expect(nb.memory().liveTensors).toBe(before + 2); // only the two results
    for (const t of [a, b, bt, v, y, z]) t.dispose();
  });
});
