import { describe, expect, it } from 'vitest';
import { eigh, frobeniusNormF64, matmulF64, qr, transposeF64 } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';

function randomSymmetric(rng: () => number, n: number): Float64Array {
  const a = randn(rng, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}
/** Random orthogonal n×n matrix (Q factor of a Gaussian matrix). */
function randomOrthogonal(rng: () => number, n: number): Float64Array {
  return qr(randn(rng, n * n), n, n).q;
}
/** Q·diag(values)·Qᵀ */
function withSpectrum(q: Float64Array, values: number[], n: number): Float64Array {
  const qd = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qd[i * n + j] = q[i * n + j] * values[j];
  const a = matmulF64(qd, transposeF64(q, n, n), n, n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]; // exact symmetry
  return a;
}

/** Checks A·V = V·Λ and VᵀV = I (relative to ‖A‖), ascending values and the sign convention. */
function checkDecomposition(a: Float64Array, n: number, tol = 1e-10): { values: Float64Array; vectors: Float64Array } {
  const { values, vectors } = eigh(a, n);
  expect(values.length).toBe(n);
  expect(vectors.length).toBe(n * n);
  const vl = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vl[i * n + j] = vectors[i * n + j] * values[j];
  const av = matmulF64(a, vectors, n, n, n);
  const diff = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) diff[i] = av[i] - vl[i];
  const aNorm = Math.max(frobeniusNormF64(a), Number.MIN_VALUE);
  expect(frobeniusNormF64(diff) / aNorm, `A·V = V·Λ, n=${n}`).toBeLessThan(tol);
  const gram = matmulF64(transposeF64(vectors, n, n), vectors, n, n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(gram[i * n + j] - (i === j ? 1 : 0))).toBeLessThan(tol);
  for (let j = 1; j < n; j++) expect(values[j]).toBeGreaterThanOrEqual(values[j - 1]);
  for (let j = 0; j < n; j++) {
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(vectors[i * n + j]) > Math.abs(vectors[big * n + j])) big = i;
    expect(vectors[big * n + j]).toBeGreaterThan(0);
  }
  return { values, vectors };
}

describe('eigh', () => {
  it('decomposes random symmetric matrices: A·V = V·Λ, VᵀV = I, ascending values', () => {
    const rng = normalRng(41);
    for (const n of [1, 2, 3, 4, 5, 10, 31, 64, 100]) {
      const a = randomSymmetric(rng, n);
      const { values } = checkDecomposition(a, n);
      let trace = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        trace += a[i * n + i];
        sum += values[i];
      }
      expect(Math.abs(trace - sum)).toBeLessThan(1e-10 * n);
    }
  });

  it('handles n = 1 and n = 0', () => {
    const one = eigh(Float64Array.from([-3.5]), 1);
    expect(Array.from(one.values)).toEqual([-3.5]);
    expect(Array.from(one.vectors)).toEqual([1]);
    const empty = eigh(new Float64Array(0), 0);
    expect(empty.values.length).toBe(0);
  });

  it('recovers a prescribed spectrum with repeated eigenvalues', () => {
    const rng = normalRng(42);
    const n = 9;
    const spectrum = [5, 1, 2, 1, -3, 2, 1, 0, 5];
    const a = withSpectrum(randomOrthogonal(rng, n), spectrum, n);
    const { values } = checkDecomposition(a, n);
    const sorted = [...spectrum].sort((x, y) => x - y);
    for (let i = 0; i < n; i++) expect(Math.abs(values[i] - sorted[i])).toBeLessThan(1e-12);
  });

  it('handles identity, zero, diagonal and all-equal matrices', () => {
    const n = 6;
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    const { values, vectors } = checkDecomposition(eye, n);
    expect(Array.from(values)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(vectors)).toEqual(Array.from(eye));
    expect(Array.from(checkDecomposition(new Float64Array(n * n), n).values)).toEqual([0, 0, 0, 0, 0, 0]);
    const diag = new Float64Array(n * n);
    [3, -1, 4, 1, -5, 9].forEach((v, i) => (diag[i * n + i] = v));
    expect(Array.from(checkDecomposition(diag, n).values)).toEqual([-5, -1, 1, 3, 4, 9]);
    // All-ones: eigenvalues 0 (n−1 times) and n.
    const ones = new Float64Array(n * n).fill(1);
    const v = checkDecomposition(ones, n).values;
    for (let i = 0; i < n - 1; i++) expect(Math.abs(v[i])).toBeLessThan(1e-14);
    expect(v[n - 1]).toBeCloseTo(n, 13);
  });

  it('matches the known spectrum of the 1-D Laplacian (already tridiagonal)', () => {
    const n = 50;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    const { values } = checkDecomposition(a, n);
    for (let k = 1; k <= n; k++) {
      expect(Math.abs(values[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1))))).toBeLessThan(1e-13);
    }
  });

  it('matches the closed form for 2x2 and fixes eigenvector signs', () => {
    const { values, vectors } = eigh(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(1, 15);
    expect(values[1]).toBeCloseTo(3, 14);
    const h = Math.SQRT1_2;
    // Column 0 ∝ (1, −1): first component wins the tie and is positive.
    expect(vectors[0]).toBeCloseTo(h, 15);
    expect(vectors[2]).toBeCloseTo(-h, 15);
    expect(vectors[1]).toBeCloseTo(h, 15);
    expect(vectors[3]).toBeCloseTo(h, 15);
  });

  it('reads only the lower triangle', () => {
    const rng = normalRng(43);
    const n = 7;
    const a = randomSymmetric(rng, n);
    const lowerOnly = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) lowerOnly[i * n + j] = 99;
    const x = eigh(a, n);
    const y = eigh(lowerOnly, n);
    expect(relDiff(y.values, x.values)).toBeLessThan(1e-15);
    expect(relDiff(y.vectors, x.vectors)).toBeLessThan(1e-15);
  });

  it('is accurate for badly scaled matrices (no overflow/underflow)', () => {
    const rng = normalRng(44);
    const n = 8;
    for (const scale of [1e-200, 1e200]) {
      const base = randomSymmetric(rng, n);
      const a = base.map((v) => v * scale);
      const { values } = checkDecomposition(a, n);
      const ref = eigh(base, n).values;
      for (let i = 0; i < n; i++) expect(Math.abs(values[i] / scale - ref[i])).toBeLessThan(1e-12);
    }
  });

  it('resolves widely spread eigenvalues', () => {
    const rng = normalRng(45);
    const n = 12;
    const spectrum = Array.from({ length: n }, (_, i) => 10 ** (i - 6));
    const a = withSpectrum(randomOrthogonal(rng, n), spectrum, n);
    const { values } = checkDecomposition(a, n);
    // Backward stability bounds each error by about ε·‖A‖ ≈ 2e-11 (Weyl).
    for (let i = 0; i < n; i++) expect(Math.abs(values[i] - spectrum[i])).toBeLessThan(1e-10);
  });

  it('validates its arguments', () => {
    expect(() => eigh(new Float64Array(5), 2)).toThrow('eigh: a must be 2x2 (length 4) but has length 5');
    expect(() => eigh(Float64Array.from([1, NaN, NaN, 1]), 2)).toThrow('eigh: a contains a non-finite value (NaN at index 1)');
  });
});
