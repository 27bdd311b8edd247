/** Two-sample metrics against cases with known answers. */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { mmd, energyDistance, slicedWasserstein, wasserstein2, linearAssignment } from '../../src/zoo/metrics/index.js';
import { mulberry32 } from '../helpers/rng.js';

const f64 = { dtype: 'f64' as const };
const gauss = (seed: number, n: number, shift = 0): nb.Tensor => nb.add(nb.normal(nb.randomKey(seed), [n, 2], f64), shift);

describe('MMD, energy distance and sliced W2', () => {
  it('are near zero for two samples of one law and grow with a shift', () => {
    nb.tidy(() => {
      const a = gauss(1, 400);
      const b = gauss(2, 400);
      const c = gauss(3, 400, 0.5);
      const d = gauss(4, 400, 1.5);
      expect(Math.abs(mmd(a, b))).toBeLessThan(0.01);
      expect(mmd(a, c)).toBeGreaterThan(0.03);
      expect(mmd(a, d)).toBeGreaterThan(mmd(a, c));
      expect(Math.abs(energyDistance(a, b))).toBeLessThan(0.03);
      expect(energyDistance(a, d)).toBeGreaterThan(energyDistance(a, c));
      expect(energyDistance(a, c)).toBeGreaterThan(0.1);
    });
  });

  it('MMD² is the unbiased U-statistic: a 3-point hand computation, and mean ≈ 0 under the null', () => {
    nb.tidy(() => {
      const x = nb.tensor([[0, 0], [1, 0], [0, 2]], f64);
      const y = nb.tensor([[1, 1], [2, 0], [0, 1]], f64);
      const k = (p: number[], q: number[]): number => Math.exp(-((p[0]! - q[0]!) ** 2 + (p[1]! - q[1]!) ** 2) / 2);
      const X = x.toArray() as number[][];
      const Y = y.toArray() as number[][];
      let kxx = 0;
      let kyy = 0;
      let kxy = 0;
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          if (i !== j) {
            kxx += k(X[i]!, X[j]!) / 6;
            kyy += k(Y[i]!, Y[j]!) / 6;
          }
          kxy += k(X[i]!, Y[j]!) / 9;
        }
      expect(mmd(x, y, { bandwidth: 1 })).toBeCloseTo(kxx + kyy - 2 * kxy, 12);
      const vals = Array.from({ length: 30 }, (_, r) => mmd(gauss(100 + 2 * r, 60), gauss(101 + 2 * r, 60), { bandwidth: [0.5, 1, 2] }));
      const m = vals.reduce((p, q) => p + q, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((p, q) => p + (q - m) ** 2, 0) / (vals.length - 1));
      expect(Math.abs(m)).toBeLessThan((4 * sd) / Math.sqrt(vals.length));
    });
  });

  it('sliced W2 between N(0, I) and N(m, I) in 2-D is ‖m‖/√2 (the mean of (θ·m)² over directions is ‖m‖²/2)', () => {
    nb.tidy(() => {
      const m = [1.2, -0.9];
      const a = gauss(5, 3000);
      const b = nb.add(gauss(6, 3000), nb.tensor(m, [1, 2], f64));
      const sw = slicedWasserstein(a, b, { projections: 256 });
      expect(sw).toBeCloseTo(Math.hypot(...m) / Math.SQRT2, 1);
      // unequal sizes go through quantile functions
      expect(slicedWasserstein(a, nb.slice(b, [{ stop: 1000 }]), { projections: 256 })).toBeCloseTo(sw, 1);
    });
  });
});

describe('exact W2 by the Hungarian method', () => {
  it('matches brute force over all permutations on small random sets', () => {
    const rng = mulberry32(3);
    const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)])));
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + (trial % 6);
      const cost = Float64Array.from({ length: n * n }, () => Math.floor(rng() * 10));
      const best = Math.min(...perms(n).map((p) => p.reduce((s, j, i) => s + cost[i * n + j]!, 0)));
      const r = linearAssignment(cost, n);
      expect(r.cost).toBe(best);
      expect(new Set(r.assignment).size).toBe(n);
    }
  });

  it('W2 between a set and its translate by m is ‖m‖, matched point to point', () => {
    nb.tidy(() => {
      const a = gauss(8, 300);
      const m = [0.7, 2];
      const b = nb.add(a, nb.tensor(m, [1, 2], f64));
      const r = wasserstein2(a, b);
      expect(r.distance).toBeCloseTo(Math.hypot(...m), 9);
      expect(Array.from(r.assignment)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(() => wasserstein2(a, nb.slice(b, [{ stop: 10 }]))).toThrow(/equal size/);
    });
  });
});
