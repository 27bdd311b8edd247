/**
 * maxPool1d against the naive O(n·k) maximum over every window, for every
 * kernel width k from 1 to n, with strides and padding; its argmax against the
 * naive first maximum; its gradient against the naive scatter and against
 * central finite differences in float64 (at points without ties); its JVP
 * against the naive gather; and bad input.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { mulberry32 } from '../helpers/rng.js';

interface Naive {
  values: number[];
  index: number[];
}

/** Every window [j·s − p, j·s − p + k) of each row (length L) of x: its max and first argmax, −∞ outside the row. */
function naivePool(x: number[], L: number, k: number, s: number, p: number): Naive {
  const n = Math.floor((L + 2 * p - k) / s) + 1;
  const values: number[] = [];
  const index: number[] = [];
  for (let r = 0; r < x.length / L; r++) {
    for (let j = 0; j < n; j++) {
      let best = -Infinity;
      let at = -1;
      for (let q = j * s - p; q < j * s - p + k; q++) {
        if (q < 0 || q >= L) continue;
        const v = x[r * L + q]!;
        if (at < 0 || v > best) {
          best = v;
          at = q;
        }
      }
      values.push(best);
      index.push(at);
    }
  }
  return { values, index };
}

const f64 = (v: number[], s: number[]): nb.Tensor => nb.tensor(v, s, { dtype: 'f64' });

describe('maxPool1d equals the naive window maximum', () => {
  it('for every kernel width 1..n, strides 1..k+1 and padding 0..k/2 (continuous values, and tie-heavy integers)', () => {
    const rng = mulberry32(7);
    for (const n of [1, 2, 5, 9, 16]) {
      for (const ties of [false, true]) {
        const rows = 2;
        const x = Array.from({ length: rows * n }, () => (ties ? Math.floor(rng() * 3) : rng() * 4 - 2));
        for (let k = 1; k <= n; k++) {
          for (let s = 1; s <= k + 1; s++) {
            for (let p = 0; 2 * p <= k; p++) {
              nb.tidy(() => {
                const [v, i] = nb.maxPool1dWithIndices(f64(x, [rows, n]), k, { stride: s, padding: p });
                const want = naivePool(x, n, k, s, p);
                const what = `n=${n} k=${k} stride=${s} padding=${p}${ties ? ' ties' : ''}`;
                expect(v.shape, what).toEqual([rows, want.values.length / rows]);
                expect(Array.from(v.toF64()), what).toEqual(want.values);
                expect(i.dtype).toBe('i32');
                expect(Array.from(i.toF64()), what).toEqual(want.index);
              });
            }
          }
        }
      }
    }
  });

  it('works on leading batch axes and f32, and defaults stride to the kernel', () => {
    nb.tidy(() => {
      const x = Array.from({ length: 2 * 3 * 7 }, (_, i) => Math.sin(i * 1.3));
      const y = nb.maxPool1d(nb.tensor(x, [2, 3, 7], { dtype: 'f32' }), 3);
      expect(y.shape).toEqual([2, 3, 2]);
      expect(y.dtype).toBe('f32');
      const want = naivePool(x, 7, 3, 3, 0).values;
      Array.from(y.toF64()).forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 6));
    });
  });

  it('a window whose real elements are all −∞ points at a real element, not the padding', () => {
    nb.tidy(() => {
      const [v, i] = nb.maxPool1dWithIndices(f64([-Infinity, -Infinity, 1, 2], [4]), 2, { stride: 1, padding: 1 });
      expect(Array.from(v.toF64())).toEqual([-Infinity, -Infinity, 1, 2, 2]);
      expect(Array.from(i.toF64())).toEqual([0, 0, 2, 3, 3]);
    });
  });
});

describe('maxPool1d derivatives', () => {
  /** Σ_j c_j at each window's argmax: the exact VJP, written out. */
  function naiveGrad(c: number[], idx: number[], L: number, n: number): number[] {
    const g = new Array<number>((c.length / n) * L).fill(0);
    c.forEach((cj, j) => (g[Math.floor(j / n) * L + idx[j]!]! += cj));
    return g;
  }

  it('the gradient scatters the cotangent to the argmax (overlapping windows add up), and equals finite differences', () => {
    const rng = mulberry32(11);
    const L = 12;
    for (const [k, s, p] of [[1, 1, 0], [3, 1, 1], [3, 2, 0], [4, 3, 2], [5, 5, 0], [12, 1, 0], [2, 4, 1]] as const) {
      nb.tidy(() => {
        // distinct values: no ties, so the function is differentiable at x
        const x = Array.from({ length: 2 * L }, (_, i) => i * 0.37 - Math.floor(i * 0.37) + rng() * 1e-3 + (i % 5) * 0.11);
        const want = naivePool(x, L, k, s, p);
        const n = want.values.length / 2;
        const c = Array.from({ length: 2 * n }, () => rng() * 2 - 1);
        const loss = (t: nb.Tensor): nb.Tensor => nb.sum(nb.mul(nb.maxPool1d(t, k, { stride: s, padding: p }), f64(c, [2, n])));
        const g = Array.from((nb.grad(loss)(f64(x, [2, L])) as nb.Tensor).toF64());
        expect(g, `k=${k} s=${s} p=${p}`).toEqual(naiveGrad(c, want.index, L, n));
        const eps = 1e-6;
        const fd = x.map((_, j) => {
          const up = x.slice();
          const dn = x.slice();
          up[j]! += eps;
          dn[j]! -= eps;
          return (loss(f64(up, [2, L])).item() - loss(f64(dn, [2, L])).item()) / (2 * eps);
        });
        fd.forEach((d, j) => expect(Math.abs(d - g[j]!), `k=${k} s=${s} p=${p} d/dx[${j}]`).toBeLessThan(1e-7));
      });
    }
  });

  it('the JVP gathers the tangent at the argmax', () => {
    nb.tidy(() => {
      const x = [0.3, 2, -1, 4, 4.5, 0, 1, 7];
      const t = [1, 2, 3, 4, 5, 6, 7, 8];
      const [y, ty] = nb.jvp((z: nb.Tensor) => nb.maxPool1d(z, 3, { stride: 2, padding: 1 }), [f64(x, [8])], [f64(t, [8])]);
      const idx = naivePool(x, 8, 3, 2, 1).index;
      expect(Array.from(y.toF64())).toEqual(naivePool(x, 8, 3, 2, 1).values);
      expect(Array.from(ty.toF64())).toEqual(idx.map((i) => t[i]!));
    });
  });
});

describe('maxPool1d bad input', () => {
  const x = (): nb.Tensor => nb.zeros([2, 5], { dtype: 'f64' });
  it('a kernel larger than the input names the kernel and the length', () => {
    expect(() => nb.maxPool1d(x(), 6)).toThrow(/maxPool1d: kernel 6 is larger than the input: the last axis of x \[2,5\] has length 5/);
    expect(() => nb.maxPool1d(x(), 8, { padding: 1 })).toThrow(/kernel 8 is larger than the input.*\(7 with padding 1 on each side\)/);
  });
  it('kernel, stride and padding are checked', () => {
    expect(() => nb.maxPool1d(x(), 0)).toThrow(/maxPool1d: kernel must be an integer ≥ 1, got 0/);
    expect(() => nb.maxPool1d(x(), 2, { stride: 0 })).toThrow(/maxPool1d: stride must be an integer ≥ 1, got 0/);
    expect(() => nb.maxPool1d(x(), 2, { padding: 2 })).toThrow(/maxPool1d: padding 2 must be at most half the kernel 2/);
    expect(() => nb.maxPool1d(x(), 1.5)).toThrow(/kernel must be an integer/);
  });
  it('x must be a floating tensor with an axis', () => {
    expect(() => nb.maxPool1d(nb.zeros([4], { dtype: 'i32' }), 2)).toThrow(/maxPool1d: x must be a floating tensor, got i32\[4\]/);
    expect(() => nb.maxPool1d(nb.scalar(1, { dtype: 'f64' }), 1)).toThrow(/maxPool1d: x must have at least one axis/);
  });
});
