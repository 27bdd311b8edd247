import { describe, expect, it } from 'vitest';
import { key } from '../../src/core/random.js';
import { matmulF64, svd, transposeF64 } from '../../src/linalg/index.js';
import { csrFromDense, csrToDense, pmi, ppmi, sparseRandomizedSvd, svdEmbedding } from '../../src/zoo/text/index.js';
import { mulberry32, randn } from '../helpers/rng.js';

/** Naive PMI straight from the definition, α-smoothed contexts. */
function naivePmi(n: number[][], alpha: number): number[][] {
  const row = n.map((r) => r.reduce((a, b) => a + b, 0));
  const col = n[0].map((_, c) => n.reduce((s, r) => s + r[c], 0));
  const z = col.reduce((s, x) => s + x ** alpha, 0);
  return n.map((r, w) => r.map((x, c) => (x > 0 ? Math.log(x / (row[w] * (col[c] ** alpha / z))) : -Infinity)));
}

describe('PMI, PPMI and shifted PPMI', () => {
  const counts = [
    [0, 4, 1, 3],
    [4, 2, 0, 8],
    [1, 0, 6, 2],
    [3, 8, 2, 1],
  ];
  const m = csrFromDense(counts.flat(), 4, 4);

  for (const alpha of [1, 0.75]) {
    it(`matches the definition (alpha = ${alpha}), and the shift is log k`, () => {
      const expected = naivePmi(counts, alpha);
      if (alpha === 1) {
        // α = 1 is the textbook log(#(w,c)·|D| / (#(w)·#(c))).
        const total = counts.flat().reduce((a, b) => a + b, 0);
        expect(expected[1][3]).toBeCloseTo(Math.log((8 * total) / (14 * 14)), 12);
      }
      const p = csrToDense(pmi(m, { alpha }));
      for (const k of [1, 2, 5]) {
        const s = csrToDense(ppmi(m, { alpha, negatives: k }));
        for (let w = 0; w < 4; w++) {
          for (let c = 0; c < 4; c++) {
            const e = expected[w][c];
            expect(s[w * 4 + c]).toBeCloseTo(Math.max(e - Math.log(k), 0), 12);
            if (counts[w][c] > 0) expect(p[w * 4 + c]).toBeCloseTo(e, 12);
            else expect(p[w * 4 + c]).toBe(0);
          }
        }
      }
    });
  }

  it('the shift removes entries: shifted PPMI is sparser than PPMI', () => {
    expect(ppmi(m, { negatives: 5 }).data.length).toBeLessThan(ppmi(m).data.length);
  });

  it('bad arguments are named', () => {
    expect(() => ppmi(m, { negatives: 0.5 })).toThrow(/ppmi: negatives \(the shift k in log k\) must be a number ≥ 1, got 0.5/);
    expect(() => ppmi(m, { alpha: 0 })).toThrow(/ppmi: alpha must be in \(0, 1\], got 0/);
    expect(() => pmi(csrFromDense([0, 0, 0, 0], 2, 2))).toThrow(/pmi: counts has no non-zero entries/);
    expect(() => ppmi(csrFromDense([1, -1, 0, 0], 2, 2))).toThrow(/counts must be positive and finite, got -1/);
  });
});

describe('randomised truncated SVD of sparse matrices', () => {
  /** A sparse m×n test matrix: a rank-r part plus sparse noise, with about `density` of entries kept. */
  function testMatrix(seed: number, m: number, n: number, r: number, density: number): Float64Array {
    const rng = mulberry32(seed);
    const a = Float64Array.from({ length: m * r }, () => randn(rng));
    const b = Float64Array.from({ length: r * n }, () => randn(rng));
    const low = matmulF64(a, b, m, r, n);
    return low.map((x) => (rng() < density ? x + 0.01 * randn(rng) : 0));
  }

  const cases = [
    { m: 30, n: 20, k: 5, seed: 1 },
    { m: 12, n: 40, k: 8, seed: 2 },
    { m: 25, n: 25, k: 25, seed: 3 },
  ];
  for (const { m, n, k, seed } of cases) {
    it(`matches the dense Jacobi SVD on ${m}x${n}, k = ${k}`, () => {
      const dense = testMatrix(seed, m, n, 6, 0.5);
      const exact = svd(dense, m, n);
      const approx = sparseRandomizedSvd(csrFromDense(dense, m, n), k, { key: key(seed), powerIters: 8, oversample: 10 });
      const kExact = Math.min(m, n);
      for (let j = 0; j < k; j++) {
        expect(Math.abs(approx.s[j] - exact.s[j]) / exact.s[0]).toBeLessThan(1e-10);
        // Same sign convention: singular vectors agree entry by entry (the spectrum has no repeated values here).
        for (let i = 0; i < m; i++) expect(Math.abs(approx.u[i * k + j] - exact.u[i * kExact + j])).toBeLessThan(1e-7);
        for (let c = 0; c < n; c++) expect(Math.abs(approx.vt[j * n + c] - exact.vt[j * n + c])).toBeLessThan(1e-7);
      }
      // Orthonormal factors.
      const utu = matmulF64(transposeF64(approx.u, m, k), approx.u, k, m, k);
      const vvt = matmulF64(approx.vt, transposeF64(approx.vt, k, n), k, n, k);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          expect(Math.abs(utu[i * k + j] - (i === j ? 1 : 0))).toBeLessThan(1e-12);
          expect(Math.abs(vvt[i * k + j] - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    });
  }

  it('is exact for a matrix of rank below k + oversample even without power iterations', () => {
    const m = 40;
    const n = 30;
    const rng = mulberry32(9);
    const a = Float64Array.from({ length: m * 3 }, () => (rng() < 0.3 ? randn(rng) : 0));
    const b = Float64Array.from({ length: 3 * n }, () => (rng() < 0.3 ? randn(rng) : 0));
    const dense = matmulF64(a, b, m, 3, n);
    const exact = svd(dense, m, n);
    const approx = sparseRandomizedSvd(csrFromDense(dense, m, n), 3, { key: key(1), powerIters: 0, oversample: 2 });
    for (let j = 0; j < 3; j++) expect(approx.s[j]).toBeCloseTo(exact.s[j], 10);
  });

  it('embeddings are U·Σ^p', () => {
    const dense = testMatrix(4, 10, 8, 3, 0.7);
    const r = sparseRandomizedSvd(csrFromDense(dense, 10, 8), 3, { key: key(0) });
    for (const p of [0, 0.5, 1]) {
      const e = svdEmbedding(r, 10, p);
      for (let i = 0; i < 10; i++) for (let j = 0; j < 3; j++) expect(e[i * 3 + j]).toBeCloseTo(r.u[i * 3 + j] * r.s[j] ** p, 6);
    }
    expect(() => svdEmbedding(r, 10, -1)).toThrow(/power \(the eigenvalue-weighting exponent p\) must be a finite number ≥ 0/);
  });

  it('rejects k outside 1..min(rows, cols)', () => {
    const a = csrFromDense([1, 0, 0, 2, 3, 0], 2, 3);
    expect(() => sparseRandomizedSvd(a, 3, { key: key(0) })).toThrow(/k must be an integer between 1 and min\(rows, cols\) = 2 for a 2x3 matrix, got 3/);
    expect(() => sparseRandomizedSvd(a, 0, { key: key(0) })).toThrow(/got 0/);
  });
});
