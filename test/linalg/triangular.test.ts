import { describe, expect, it } from 'vitest';
import { matmulF64, triangularSolve } from '../../src/linalg/index.js';
import { normalRng, randn, relDiff } from './data.js';


describe('triangularSolve', () => {
  it('solves op(T)·X = B for every triangle / unit / transpose combination, reading only the chosen triangle', () => {
    const rng = normalRng(11);
    for (const [n, m] of [[1, 1], [4, 2], [13, 5], [40, 3]]) {
      for (const lower of [true, false]) {
        for (const unit of [false, true]) {
          for (const transpose of [false, true]) {
            // Stored matrix: garbage outside the chosen triangle (and on the diagonal when unit).
            const stored = randn(rng, n * n);
            const effective = new Float64Array(n * n); // the triangular matrix actually meant
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < n; j++) {
                const inTriangle = lower ? j < i : j > i;
                if (i === j) {
                  if (!unit) stored[i * n + i] = (stored[i * n + i] >= 0 ? 1 : -1) * (1 + Math.abs(stored[i * n + i]));
                  effective[i * n + i] = unit ? 1 : stored[i * n + i];
                } else if (inTriangle) {
                  stored[i * n + j] /= Math.sqrt(n); // keep the conditioning modest
                  effective[i * n + j] = stored[i * n + j];
                }
              }
            }
            const op = new Float64Array(n * n);
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) op[i * n + j] = transpose ? effective[j * n + i] : effective[i * n + j];
            const b = randn(rng, n * m);
            const x = triangularSolve(stored, n, b, m, { lower, unit, transpose });
            expect(relDiff(matmulF64(op, x, n, n, m), b), `n=${n} lower=${lower} unit=${unit} transpose=${transpose}`).toBeLessThan(1e-12);
          }
        }
      }
    }
  });

  it('does not modify b', () => {
    const b = Float64Array.from([1, 2]);
    triangularSolve(Float64Array.from([2, 0, 1, 4]), 2, b, 1, { lower: true });
    expect(Array.from(b)).toEqual([1, 2]);
  });

  it('rejects singular and malformed input with clear messages', () => {
    expect(() => triangularSolve(Float64Array.from([1, 0, 5, 0]), 2, new Float64Array(2), 1, { lower: true })).toThrow(
      'triangularSolve: t is singular (diagonal entry 1 is 0)',
    );
    // A zero diagonal is fine with unit: true.
    expect(Array.from(triangularSolve(Float64Array.from([0, 0, 5, 0]), 2, Float64Array.from([1, 7]), 1, { lower: true, unit: true }))).toEqual([1, 2]);
    expect(() => triangularSolve(new Float64Array(4), 2, new Float64Array(3), 1, { lower: true })).toThrow(
      'triangularSolve: t is 2x2 but b has 3 rows',
    );
    expect(() => triangularSolve(new Float64Array(5), 2, new Float64Array(2), 1, { lower: true })).toThrow(/triangularSolve: t must be 2x2/);
    expect(() => triangularSolve(Float64Array.from([1, 0, 0, 1]), 2, new Float64Array(2), 1, {} as never)).toThrow(/triangularSolve: options.lower/);
  });
});
