import { describe, expect, it } from 'vitest';
import { cholesky, choleskySolve, matmulF64, transposeF64 } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';

/** X·Xᵀ + shift·I: symmetric positive definite. */
function randomSpd(rng: () => number, n: number, shift: number): Float64Array {
  const x = randn(rng, n * n);
  const a = matmulF64(x, transposeF64(x, n, n), n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] += shift;
  return a;
}

describe('cholesky', () => {
  it('factors A = L·Lᵀ with L lower triangular and a positive diagonal', () => {
    const rng = normalRng(21);
    for (const n of [1, 2, 3, 7, 20, 60]) {
      const a = randomSpd(rng, n, 1e-3);
      const l = cholesky(a, n);
      for (let i = 0; i < n; i++) {
        expect(l[i * n + i]).toBeGreaterThan(0);
        for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
      }
      expect(relDiff(matmulF64(l, transposeF64(l, n, n), n, n, n), a)).toBeLessThan(1e-10);
    }
  });

  it('matches a hand-computed factor', () => {
    // [[4, 12, -16], [12, 37, -43], [-16, -43, 98]] = L·Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]].
    const l = cholesky(Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]), 3);
    expect(Array.from(l)).toEqual([2, 0, 0, 6, 1, 0, -8, 5, 3]);
  });

  it('reads only the lower triangle', () => {
    const rng = normalRng(22);
    const n = 6;
    const a = randomSpd(rng, n, 1);
    const garbage = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) garbage[i * n + j] = 1e6 * rng();
    expect(Array.from(cholesky(garbage, n))).toEqual(Array.from(cholesky(a, n)));
  });

  it('rejects matrices that are not positive definite, naming the pivot', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow('cholesky: matrix is not positive definite (pivot 1 is -3)');
    expect(() => cholesky(Float64Array.from([-0.2, 0, 0, 1]), 2)).toThrow('cholesky: matrix is not positive definite (pivot 0 is -0.2)');
    expect(() => cholesky(Float64Array.from([1, 1, 1, 1]), 2)).toThrow(/pivot 1 is 0/); // semidefinite
    expect(() => cholesky(Float64Array.from([NaN, 0, 0, 1]), 2)).toThrow(/pivot 0 is NaN/);
  });

  it('validates argument sizes', () => {
    expect(() => cholesky(new Float64Array(5), 2)).toThrow('cholesky: a must be 2x2 (length 4) but has length 5');
    expect(() => choleskySolve(Float64Array.from([1, 0, 0, 1]), 2, new Float64Array(6), 2)).toThrow(
      'choleskySolve: l is 2x2 but b has 3 rows (length 6 with m = 2 columns)',
    );
    expect(() => choleskySolve(Float64Array.from([1, 0, 0, -1]), 2, new Float64Array(2), 1)).toThrow(
      /choleskySolve: l is not a valid Cholesky factor \(diagonal entry 1 is -1\)/,
    );
  });
});

describe('choleskySolve', () => {
  it('solves A·X = B', () => {
    const rng = normalRng(23);
    for (const [n, m] of [[1, 1], [5, 3], [30, 4]]) {
      const a = randomSpd(rng, n, 0.5);
      const b = randn(rng, n * m);
      const x = choleskySolve(cholesky(a, n), n, b, m);
      expect(relDiff(matmulF64(a, x, n, n, m), b)).toBeLessThan(1e-11);
    }
  });
});
