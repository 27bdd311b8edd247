import { describe, expect, it } from 'vitest';
import { cholesky, matmulF64, qr, transposeF64 } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';

function identity(n: number): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return eye;
}
/** max |QᵀQ − I| over entries (Q is rows×cols). */
function orthonormalityError(q: Float64Array, rows: number, cols: number): number {
  const gram = matmulF64(transposeF64(q, rows, cols), q, cols, rows, cols);
  let worst = 0;
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) worst = Math.max(worst, Math.abs(gram[i * cols + j] - (i === j ? 1 : 0)));
  return worst;
}

const SHAPES: Array<[number, number]> = [
  [1, 1], [1, 6], [6, 1], [2, 2], [5, 5], [8, 3], [3, 8], [20, 7], [7, 20], [30, 30], [64, 17],
];

describe('qr', () => {
  for (const mode of ['reduced', 'complete'] as const) {
    it(`${mode}: Q·R = A, QᵀQ = I, R upper triangular with non-negative diagonal (tall, wide, square)`, () => {
      const rng = normalRng(31);
      for (const [m, n] of SHAPES) {
        const a = randn(rng, m * n);
        const k = Math.min(m, n);
        const qCols = mode === 'complete' ? m : k;
        const { q, r } = qr(a, m, n, mode);
        expect(q.length).toBe(m * qCols);
        expect(r.length).toBe(qCols * n);
        expect(relDiff(matmulF64(q, r, m, qCols, n), a), `${m}x${n}`).toBeLessThan(1e-10);
        expect(orthonormalityError(q, m, qCols), `${m}x${n}`).toBeLessThan(1e-10);
        for (let i = 0; i < qCols; i++) {
          for (let j = 0; j < Math.min(i, n); j++) expect(r[i * n + j]).toBe(0);
          if (i < k) expect(r[i * n + i]).toBeGreaterThanOrEqual(0);
        }
        if (mode === 'complete') {
          // Square Q: also Q·Qᵀ = I.
          expect(relDiff(matmulF64(q, transposeF64(q, m, m), m, m, m), identity(m))).toBeLessThan(1e-10);
        }
      }
    });
  }

  it('sign convention makes R the transposed Cholesky factor of AᵀA (uniqueness)', () => {
    const rng = normalRng(32);
    for (const [m, n] of [[10, 4], [6, 6], [40, 12]]) {
      const a = randn(rng, m * n);
      const { r } = qr(a, m, n);
      const l = cholesky(matmulF64(transposeF64(a, m, n), a, n, m, n), n);
      expect(relDiff(r, transposeF64(l, n, n))).toBeLessThan(1e-10);
    }
  });

  it('flips reflector signs: A = -I gives Q = -I, R = I', () => {
    const { q, r } = qr(Float64Array.from([-1, 0, 0, -1]), 2, 2);
    const plain = (x: Float64Array): number[] => Array.from(x, (v) => v + 0); // −0 → 0
    expect(plain(q)).toEqual([-1, 0, 0, -1]);
    expect(plain(r)).toEqual([1, 0, 0, 1]);
  });

  it('handles rank-deficient and zero matrices', () => {
    const rng = normalRng(33);
    const m = 9;
    const n = 5;
    // Column 3 = column 0 + column 1; column 4 = 0.
    const a = randn(rng, m * n);
    for (let i = 0; i < m; i++) {
      a[i * n + 3] = a[i * n + 0] + a[i * n + 1];
      a[i * n + 4] = 0;
    }
    for (const mode of ['reduced', 'complete'] as const) {
      const { q, r } = qr(a, m, n, mode);
      const qCols = mode === 'complete' ? m : n;
      expect(relDiff(matmulF64(q, r, m, qCols, n), a)).toBeLessThan(1e-10);
      expect(orthonormalityError(q, m, qCols)).toBeLessThan(1e-10);
    }
    const zero = qr(new Float64Array(12), 4, 3);
    expect(orthonormalityError(zero.q, 4, 3)).toBeLessThan(1e-15);
    expect(Array.from(zero.r).every((v) => v === 0)).toBe(true);
  });

  it('validates its arguments', () => {
    expect(() => qr(new Float64Array(5), 2, 3)).toThrow('qr: a must be 2x3 (length 6) but has length 5');
    expect(() => qr(new Float64Array(6), 2, 3, 'economic' as never)).toThrow(`qr: mode must be 'reduced' or 'complete', got "economic"`);
    expect(() => qr(new Float64Array(6), 2, NaN)).toThrow(/qr: n must be a non-negative integer, got NaN/);
  });
});
