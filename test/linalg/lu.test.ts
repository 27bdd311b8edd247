import { describe, expect, it } from 'vitest';
import { det, eigh, inverse, lu, luSolve, matmulF64, slogdet, solve } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';

/** Unpacks L (unit lower) and U from the packed factor. */
function unpack(f: Float64Array, n: number): { l: Float64Array; u: Float64Array } {
  const l = new Float64Array(n * n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j < i) l[i * n + j] = f[i * n + j];
      else u[i * n + j] = f[i * n + j];
    }
    l[i * n + i] = 1;
  }
  return { l, u };
}

/** Sign of a permutation by counting cycles. */
function permutationSign(p: Int32Array): number {
  const seen = new Uint8Array(p.length);
  let sign = 1;
  for (let i = 0; i < p.length; i++) {
    if (seen[i]) continue;
    let len = 0;
    for (let j = i; !seen[j]; j = p[j]) {
      seen[j] = 1;
      len++;
    }
    if (len % 2 === 0) sign = -sign;
  }
  return sign;
}

describe('lu', () => {
  it('reconstructs P·A = L·U with bounded multipliers', () => {
    const rng = normalRng(1);
    for (const n of [1, 2, 3, 5, 8, 17, 40, 64]) {
      const a = randn(rng, n * n);
      const { lu: f, piv, sign, singular } = lu(a, n);
      expect(singular).toBe(false);
      const { l, u } = unpack(f, n);
      const pa = new Float64Array(n * n);
      for (let i = 0; i < n; i++) pa.set(a.subarray(piv[i] * n, piv[i] * n + n), i * n);
      expect(relDiff(matmulF64(l, u, n, n, n), pa)).toBeLessThan(1e-10);
      expect(sign).toBe(permutationSign(piv));
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(Math.abs(l[i * n + j])).toBeLessThanOrEqual(1);
    }
  });

  it('does not modify its input', () => {
    const a = Float64Array.from([0, 1, 2, 3]);
    lu(a, 2);
    expect(Array.from(a)).toEqual([0, 1, 2, 3]);
  });

  it('flags exactly singular matrices', () => {
    expect(lu(Float64Array.from([1, 2, 2, 4]), 2).singular).toBe(true);
    // Second row is twice the first; pivoting makes the cancellation exact.
    const a = Float64Array.from([1, 2, 3, 4, 2, 4, 6, 8, 0, 1, 0, 1, 1, 0, 0, 0]);
    expect(lu(a, 4).singular).toBe(true);
    expect(lu(Float64Array.from([0, 1, 0, 2, 0, 3, 0, 4, 0]), 3).singular).toBe(true); // zero column
    expect(lu(Float64Array.from([0, 1, 1, 0]), 2).singular).toBe(false);
  });
});

describe('solve / luSolve / inverse', () => {
  it('solves A·X = B with a small residual', () => {
    const rng = normalRng(2);
    for (const [n, m] of [[1, 1], [3, 1], [6, 4], [25, 3], [50, 50]]) {
      const a = randn(rng, n * n);
      const b = randn(rng, n * m);
      const x = solve(a, n, b, m);
      const residual = relDiff(matmulF64(a, x, n, n, m), b);
      expect(residual).toBeLessThan(1e-11);
      const f = lu(a, n);
      expect(relDiff(luSolve(f.lu, f.piv, n, b, m), x)).toBeLessThan(1e-14);
    }
  });

  it('recovers a known solution of a well-conditioned system', () => {
    const rng = normalRng(3);
    const n = 30;
    const a = randn(rng, n * n);
    for (let i = 0; i < n; i++) a[i * n + i] += 2 * n; // diagonally dominant
    const x0 = randn(rng, n * 2);
    expect(relDiff(solve(a, n, matmulF64(a, x0, n, n, 2), 2), x0)).toBeLessThan(1e-13);
  });

  it('inverts: A·A⁻¹ = I', () => {
    const rng = normalRng(4);
    for (const n of [1, 4, 20]) {
      const a = randn(rng, n * n);
      const eye = new Float64Array(n * n);
      for (let i = 0; i < n; i++) eye[i * n + i] = 1;
      expect(relDiff(matmulF64(a, inverse(a, n), n, n, n), eye)).toBeLessThan(1e-10);
    }
  });

  it('throws clearly for singular systems', () => {
    const a = Float64Array.from([1, 2, 2, 4]);
    expect(() => solve(a, 2, Float64Array.from([1, 1]), 1)).toThrow(/solve: matrix a is singular/);
    expect(() => inverse(a, 2)).toThrow(/inverse: matrix a is singular/);
    const f = lu(a, 2);
    expect(() => luSolve(f.lu, f.piv, 2, Float64Array.from([1, 1]), 1)).toThrow(/luSolve: matrix is singular/);
  });
});

describe('det / slogdet', () => {
  it('matches the product of the diagonal for triangular matrices, with row-swap signs', () => {
    const upper = Float64Array.from([2, 5, -1, 0, -3, 7, 0, 0, 0.5]);
    expect(det(upper, 3)).toBeCloseTo(-3, 14);
    const s = slogdet(upper, 3);
    expect(s.sign).toBe(-1);
    expect(s.logabsdet).toBeCloseTo(Math.log(3), 14);
    // Swapping two rows flips the sign.
    const swapped = Float64Array.from([0, -3, 7, 2, 5, -1, 0, 0, 0.5]);
    expect(det(swapped, 3)).toBeCloseTo(3, 14);
    expect(slogdet(swapped, 3).sign).toBe(1);
    const lower = Float64Array.from([4, 0, 9, 0.25]);
    expect(det(lower, 2)).toBeCloseTo(1, 14);
  });

  it('is multiplicative: det(A·B) = det(A)·det(B)', () => {
    const rng = normalRng(5);
    for (const n of [2, 5, 12]) {
      const a = randn(rng, n * n);
      const b = randn(rng, n * n);
      const sa = slogdet(a, n);
      const sb = slogdet(b, n);
      const sab = slogdet(matmulF64(a, b, n, n, n), n);
      expect(sab.sign).toBe(sa.sign * sb.sign);
      expect(Math.abs(sab.logabsdet - (sa.logabsdet + sb.logabsdet))).toBeLessThan(1e-10 * Math.max(1, Math.abs(sab.logabsdet)));
      const dab = det(matmulF64(a, b, n, n, n), n);
      expect(Math.abs(dab - det(a, n) * det(b, n))).toBeLessThan(1e-10 * Math.abs(dab));
    }
  });

  it('agrees with the eigenvalues of an SPD matrix', () => {
    const rng = normalRng(6);
    const n = 15;
    const x = randn(rng, n * n);
    const xt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) xt[j * n + i] = x[i * n + j];
    const spd = matmulF64(xt, x, n, n, n);
    for (let i = 0; i < n; i++) spd[i * n + i] += 0.1;
    let logSum = 0;
    for (const v of eigh(spd, n).values) logSum += Math.log(v);
    const s = slogdet(spd, n);
    expect(s.sign).toBe(1);
    expect(Math.abs(s.logabsdet - logSum)).toBeLessThan(1e-10 * Math.abs(logSum));
  });

  it('avoids overflow where det does not', () => {
    const n = 150;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) a[i * n + i] = i % 2 === 0 ? 1e3 : -1e3;
    expect(det(a, n)).toBe(-Infinity); // 75 negative entries
    const s = slogdet(a, n);
    expect(s.sign).toBe(-1);
    expect(s.logabsdet).toBeCloseTo(n * Math.log(1e3), 10);
  });

  it('reports singular matrices as sign 0, log|det| = -Infinity', () => {
    expect(slogdet(Float64Array.from([1, 2, 2, 4]), 2)).toEqual({ sign: 0, logabsdet: -Infinity });
    expect(det(Float64Array.from([1, 2, 2, 4]), 2)).toBe(0);
    expect(det(new Float64Array(0), 0)).toBe(1);
  });
});

describe('argument validation', () => {
  it('names the function, the argument and the sizes', () => {
    expect(() => lu(new Float64Array(8), 3)).toThrow('lu: a must be 3x3 (length 9) but has length 8');
    expect(() => lu(new Float64Array(4), -2)).toThrow(/lu: n must be a non-negative integer, got -2/);
    expect(() => lu(new Float64Array(4), 1.5)).toThrow(/lu: n must be a non-negative integer/);
    expect(() => lu([1, 2, 3, 4] as unknown as Float64Array, 2)).toThrow(/lu: a must be a Float64Array, got Array/);
    expect(() => solve(new Float64Array(9), 3, new Float64Array(8), 2)).toThrow(
      'solve: a is 3x3 but b has 4 rows (length 8 with m = 2 columns)',
    );
    expect(() => solve(new Float64Array(9), 3, new Float64Array(7), 2)).toThrow(/solve: b must be 3x2 \(length 6\)/);
    expect(() => det(new Float64Array(3), 2)).toThrow(/det: a must be 2x2/);
    expect(() => slogdet(new Float64Array(3), 2)).toThrow(/slogdet: a must be 2x2/);
    expect(() => inverse(new Float64Array(3), 2)).toThrow(/inverse: a must be 2x2/);
    const eye = Float64Array.from([1, 0, 0, 1]);
    expect(() => luSolve(eye, Int32Array.from([0, 0]), 2, new Float64Array(2), 1)).toThrow(
      /luSolve: piv is not a permutation of 0..1 \(piv\[1\] = 0\)/,
    );
    expect(() => luSolve(eye, Int32Array.from([0]), 2, new Float64Array(2), 1)).toThrow(/luSolve: piv must be an Int32Array of length 2/);
  });
});
