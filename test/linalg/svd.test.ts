import { describe, expect, it } from 'vitest';
import { eigh, matmulF64, qr, randomizedSvd, svd, transposeF64 } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';


/** max |XᵀX − I| for X rows×cols. */
function orthonormalityError(x: Float64Array, rows: number, cols: number): number {
  const gram = matmulF64(transposeF64(x, rows, cols), x, cols, rows, cols);
  let worst = 0;
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) worst = Math.max(worst, Math.abs(gram[i * cols + j] - (i === j ? 1 : 0)));
  return worst;
}
/** U·diag(s)·Vᵀ using the first s.length columns of U (m×uCols) and rows of Vᵀ (·×n). */
function reconstruct(u: Float64Array, s: Float64Array, vt: Float64Array, m: number, uCols: number, n: number): Float64Array {
  const k = s.length;
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) us[i * k + j] = u[i * uCols + j] * s[j];
  return matmulF64(us, vt.subarray(0, k * n), m, k, n);
}
/** Random m×r matrix with orthonormal columns. */
function randomOrthonormal(rng: () => number, m: number, r: number): Float64Array {
  return qr(randn(rng, m * r), m, r).q;
}
/** Q_U·diag(values)·Q_Vᵀ with random orthonormal factors: an m×n matrix with the given singular values. */
function withSingularValues(rng: () => number, m: number, n: number, values: number[]): Float64Array {
  const r = values.length;
  return reconstruct(randomOrthonormal(rng, m, r), Float64Array.from(values), transposeF64(randomOrthonormal(rng, n, r), n, r), m, r, n);
}

/** Full battery of checks on one factorization. */
function checkSvd(a: Float64Array, m: number, n: number, full: boolean): ReturnType<typeof svd> {
  const k = Math.min(m, n);
  const res = svd(a, m, n, { full });
  const uCols = full ? m : k;
  const vRows = full ? n : k;
  expect(res.u.length).toBe(m * uCols);
  expect(res.s.length).toBe(k);
  expect(res.vt.length).toBe(vRows * n);
  const label = `${m}x${n} full=${full}`;
  if (k > 0) expect(relDiff(reconstruct(res.u, res.s, res.vt, m, uCols, n), a), label).toBeLessThan(1e-10);
  expect(orthonormalityError(res.u, m, uCols), label).toBeLessThan(1e-10);
  expect(orthonormalityError(transposeF64(res.vt, vRows, n), n, vRows), label).toBeLessThan(1e-10);
  for (let j = 0; j < k; j++) {
    expect(res.s[j]).toBeGreaterThanOrEqual(0);
    if (j > 0) expect(res.s[j]).toBeLessThanOrEqual(res.s[j - 1]);
    let big = 0;
    for (let i = 1; i < m; i++) if (Math.abs(res.u[i * uCols + j]) > Math.abs(res.u[big * uCols + j])) big = i;
    expect(res.u[big * uCols + j], `${label}: sign of pair ${j}`).toBeGreaterThan(0);
  }
  return res;
}

const SHAPES: Array<[number, number]> = [
  [1, 1], [1, 5], [5, 1], [2, 2], [4, 4], [9, 4], [4, 9], [25, 25], [40, 13], [13, 40],
];

describe('svd', () => {
  it('factors tall, wide and square matrices (reduced and full)', () => {
    const rng = normalRng(51);
    for (const [m, n] of SHAPES) {
      const a = randn(rng, m * n);
      const reduced = checkSvd(a, m, n, false);
      const full = checkSvd(a, m, n, true);
      expect(relDiff(full.s, reduced.s)).toBeLessThan(1e-14);
    }
  });

  it('singular values are the square roots of the eigenvalues of AᵀA', () => {
    const rng = normalRng(52);
    for (const [m, n] of [[12, 7], [7, 12], [20, 20]]) {
      const a = randn(rng, m * n);
      const { s } = svd(a, m, n);
      // Gram matrix of the smaller side, so it has exactly min(m, n) eigenvalues.
      const small = Math.min(m, n);
      const gram = m >= n ? matmulF64(transposeF64(a, m, n), a, n, m, n) : matmulF64(a, transposeF64(a, m, n), m, n, m);
      const lambda = eigh(gram, small).values; // ascending
      for (let j = 0; j < small; j++) {
        expect(Math.abs(s[j] - Math.sqrt(lambda[small - 1 - j]))).toBeLessThan(1e-10 * s[0]);
      }
    }
  });

  it('handles rank-deficient matrices, completing U to an orthonormal basis', () => {
    const rng = normalRng(53);
    for (const [m, n, rank] of [[10, 6, 3], [6, 10, 2], [8, 8, 1], [15, 15, 14]]) {
      const a = matmulF64(randn(rng, m * rank), randn(rng, rank * n), m, rank, n);
      for (const full of [false, true]) {
        const { s } = checkSvd(a, m, n, full);
        for (let j = rank; j < Math.min(m, n); j++) expect(s[j]).toBeLessThan(1e-13 * s[0]);
        expect(s[rank - 1]).toBeGreaterThan(1e-6 * s[0]);
      }
    }
    // Exact zero columns and the zero matrix.
    const withZeros = randn(rng, 6 * 4);
    for (let i = 0; i < 6; i++) withZeros[i * 4 + 1] = withZeros[i * 4 + 3] = 0;
    expect(Array.from(checkSvd(withZeros, 6, 4, false).s.subarray(2))).toEqual([0, 0]);
    for (const [m, n] of [[5, 3], [3, 5]]) {
      expect(Array.from(checkSvd(new Float64Array(m * n), m, n, true).s)).toEqual([0, 0, 0]);
      checkSvd(new Float64Array(m * n), m, n, false);
    }
  });

  it('converges on rank-one matrices whose columns cancel exactly (all ones)', () => {
    for (const [m, n] of [[40, 40], [30, 12], [12, 30]]) {
      const { s } = checkSvd(new Float64Array(m * n).fill(1), m, n, true);
      expect(s[0]).toBeCloseTo(Math.sqrt(m * n), 12);
      for (let j = 1; j < s.length; j++) expect(s[j]).toBeLessThan(1e-13);
    }
  });

  it('keeps high relative accuracy for graded diagonal matrices', () => {
    const values = [1, 1e-20, 1e-100, 1e-200, 1e-300];
    const n = values.length;
    const a = new Float64Array(n * n);
    values.forEach((v, i) => (a[i * n + i] = v));
    expect(Array.from(svd(a, n, n).s)).toEqual(values);
  });

  it('matches known singular values and a prescribed spectrum', () => {
    const diag = svd(Float64Array.from([0, -3, 0, 2, 0, 0]), 2, 3);
    expect(Array.from(diag.s)).toEqual([3, 2]);
    const rng = normalRng(54);
    const values = [1e3, 50, 1, 1, 1e-3, 1e-9];
    const a = withSingularValues(rng, 14, 9, values);
    const { s } = checkSvd(a, 14, 9, false);
    for (let j = 0; j < values.length; j++) expect(Math.abs(s[j] - values[j])).toBeLessThan(1e-12 * values[0]);
    for (let j = values.length; j < 9; j++) expect(s[j]).toBeLessThan(1e-12 * values[0]);
  });

  it('handles empty matrices', () => {
    const r = svd(new Float64Array(0), 3, 0, { full: true });
    expect(r.s.length).toBe(0);
    expect(orthonormalityError(r.u, 3, 3)).toBe(0);
    expect(svd(new Float64Array(0), 0, 4).vt.length).toBe(0);
  });

  it('is deterministic and scale-invariant', () => {
    const rng = normalRng(55);
    const a = randn(rng, 7 * 5);
    const x = svd(a, 7, 5);
    const y = svd(a.map((v) => v * 1e250), 7, 5);
    expect(relDiff(y.s.map((v) => v / 1e250), x.s)).toBeLessThan(1e-14);
    expect(relDiff(y.u, x.u)).toBeLessThan(1e-12);
    expect(relDiff(y.vt, x.vt)).toBeLessThan(1e-12);
  });

  it('validates its arguments', () => {
    expect(() => svd(new Float64Array(5), 2, 3)).toThrow('svd: a must be 2x3 (length 6) but has length 5');
    expect(() => svd(Float64Array.from([1, Infinity]), 1, 2)).toThrow('svd: a contains a non-finite value (Infinity at index 1)');
    expect(() => svd(new Float64Array(4), 2, -2)).toThrow(/svd: n must be a non-negative integer, got -2/);
  });
});

describe('randomizedSvd', () => {
  it('recovers an exactly rank-k matrix', () => {
    const rng = normalRng(61);
    for (const [m, n, k] of [[60, 40, 5], [30, 70, 4], [25, 25, 25]]) {
      const values = Array.from({ length: k }, (_, i) => 10 / (i + 1));
      const a = withSingularValues(rng, m, n, values);
      const r = randomizedSvd(a, m, n, k, { rng });
      expect(r.u.length).toBe(m * k);
      expect(r.vt.length).toBe(k * n);
      expect(relDiff(reconstruct(r.u, r.s, r.vt, m, k, n), a)).toBeLessThan(1e-8);
      expect(orthonormalityError(r.u, m, k)).toBeLessThan(1e-10);
      expect(orthonormalityError(transposeF64(r.vt, k, n), n, k)).toBeLessThan(1e-10);
      for (let j = 0; j < k; j++) expect(Math.abs(r.s[j] - values[j])).toBeLessThan(1e-8 * values[0]);
    }
  });

  it('matches the top-k singular values of the full SVD for a decaying spectrum', () => {
    const rng = normalRng(62);
    const m = 120;
    const n = 80;
    const k = 8;
    const values = Array.from({ length: n }, (_, i) => Math.exp(-i / 2));
    const a = withSingularValues(rng, m, n, values);
    const exact = svd(a, m, n);
    const approx = randomizedSvd(a, m, n, k, { rng, oversample: 10, powerIters: 2 });
    for (let j = 0; j < k; j++) expect(Math.abs(approx.s[j] - exact.s[j]) / exact.s[j]).toBeLessThan(1e-6);
    // Leading singular vectors agree too (same sign convention).
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += approx.u[i * k + j] * exact.u[i * n + j];
      expect(dot).toBeGreaterThan(1 - 1e-8);
    }
  });

  it('is reproducible with the same generator seed and honours the sign convention', () => {
    const a = randn(normalRng(63), 20 * 15);
    const x = randomizedSvd(a, 20, 15, 3, { rng: normalRng(7) });
    const y = randomizedSvd(a, 20, 15, 3, { rng: normalRng(7) });
    expect(Array.from(x.u)).toEqual(Array.from(y.u));
    expect(Array.from(x.s)).toEqual(Array.from(y.s));
    for (let j = 0; j < 3; j++) {
      let big = 0;
      for (let i = 1; i < 20; i++) if (Math.abs(x.u[i * 3 + j]) > Math.abs(x.u[big * 3 + j])) big = i;
      expect(x.u[big * 3 + j]).toBeGreaterThan(0);
    }
  });

  it('validates its arguments', () => {
    const rng = normalRng(64);
    const a = new Float64Array(12);
    expect(() => randomizedSvd(a, 3, 4, 4, { rng })).toThrow('randomizedSvd: k must be between 1 and min(m, n) = 3 for a 3x4 matrix, got 4');
    expect(() => randomizedSvd(a, 3, 4, 0, { rng })).toThrow(/randomizedSvd: k must be between 1 and min\(m, n\) = 3/);
    expect(() => randomizedSvd(a, 3, 4, 2, {} as never)).toThrow(/randomizedSvd: options.rng must be a function/);
    expect(() => randomizedSvd(a, 3, 4, 2, { rng, oversample: -1 })).toThrow(/randomizedSvd: options.oversample must be a non-negative integer, got -1/);
    expect(() => randomizedSvd(a, 3, 4, 2, { rng, powerIters: 0.5 })).toThrow(/randomizedSvd: options.powerIters must be/);
    expect(() => randomizedSvd(a, 3, 4, 2, { rng: () => NaN })).toThrow(/randomizedSvd: options.rng returned a non-finite value \(NaN\) at draw 0/);
    expect(() => randomizedSvd(new Float64Array(11), 3, 4, 2, { rng })).toThrow('randomizedSvd: a must be 3x4 (length 12) but has length 11');
  });
});
