/**
 * Random tensors (src/ops/random.ts): reproducibility, key splitting, dtype
 * independence, moments and goodness of fit, argument validation.
 *
 * Keys are fixed, so every test is deterministic; statistical bands are ≈4σ
 * wide, so a correct sampler passes for any key while a biased one (a wrong
 * scale, a dropped category, an off-by-one range) fails.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as prng from '../../src/core/random.js';
import { erf } from '../../src/core/special.js';
import { roundToBf16, roundToF16 } from '../../src/core/float16.js';

const K = nb.randomKey(20240601);

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}
function variance(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return s / xs.length;
}
/** χ² statistic of observed counts against expected counts. */
function chiSquare(counts: number[], expected: number[]): number {
  return counts.reduce((s, c, i) => s + (c - expected[i]!) ** 2 / expected[i]!, 0);
}
/** A generous upper band for χ² with `dof` degrees of freedom: mean + 4·sd. */
function chiBand(dof: number): number {
  return dof + 4 * Math.sqrt(2 * dof);
}
function histogram(xs: ArrayLike<number>, bins: number, offset = 0): number[] {
  const c = new Array<number>(bins).fill(0);
  for (let i = 0; i < xs.length; i++) c[xs[i]! - offset]!++;
  return c;
}
const Phi = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
const phi = (x: number): number => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);

describe('random tensors: keys and reproducibility', () => {
  it('the same key gives the same values on every call, for every sampler', () => {
    const draws = (): number[][] =>
      nb.tidy(() => [
        nb.uniform(K, [5]).toF64(),
        nb.normal(K, [5]).toF64(),
        nb.truncatedNormal(K, [5]).toF64(),
        nb.bernoulli(K, 0.3, [20]).toF64(),
        nb.randint(K, [5], -3, 9).toF64(),
        nb.permutation(K, 8).toF64(),
        nb.multinomial(K, nb.tensor([[1, 2, 3], [3, 0, 1]]), 6).toF64(),
      ].map((a) => Array.from(a)));
    expect(draws()).toEqual(draws());
  });

  it('tensor values are the core Philox streams, reshaped (element i depends only on key and i)', () => {
    nb.tidy(() => {
      const u = nb.uniform(K, [2, 3], { dtype: 'f64', lo: -1, hi: 2 });
      expect(u.shape).toEqual([2, 3]);
      expect(Array.from(u.toF64())).toEqual(Array.from(prng.uniform(K, 6, -1, 2)));
      // prefix property: a smaller draw is the start of a larger one, whatever the shape
      const big = nb.normal(K, [4, 5], { dtype: 'f64' }).toF64();
      const small = nb.normal(K, [7], { dtype: 'f64' }).toF64();
      expect(Array.from(small)).toEqual(Array.from(big.subarray(0, 7)));
      expect(Array.from(nb.randint(K, [3, 3], 0, 10).toF64())).toEqual(Array.from(prng.randint(K, 9, 0, 10)));
    });
  });

  it('values do not depend on the dtype beyond one rounding of the float64 draw', () => {
    nb.tidy(() => {
      const u64 = nb.uniform(K, [1000], { dtype: 'f64' }).toF64();
      const n64 = nb.normal(K, [1000], { dtype: 'f64', mean: 3, std: 2 }).toF64();
      const u32 = nb.uniform(K, [1000], { dtype: 'f32' }).toF64();
      const n16 = nb.normal(K, [1000], { dtype: 'f16', mean: 3, std: 2 }).toF64();
      const nbf = nb.normal(K, [1000], { dtype: 'bf16', mean: 3, std: 2 }).toF64();
      for (let i = 0; i < 1000; i++) {
        expect(u32[i]).toBe(Math.fround(u64[i]!) < 1 ? Math.fround(u64[i]!) : 1 - 2 ** -24);
        expect(n16[i]).toBe(roundToF16(n64[i]!));
        expect(nbf[i]).toBe(roundToBf16(n64[i]!));
      }
      expect(nb.uniform(K, [3]).dtype).toBe('f32'); // the default float dtype
    });
  });

  it('split keys are distinct and their streams uncorrelated; foldIn differs from split', () => {
    const kids = nb.splitKey(K, 4);
    expect(kids).toHaveLength(4);
    const all = [K, ...kids, nb.foldIn(K, 0), nb.foldIn(K, 1)].map((k) => k.join(':'));
    expect(new Set(all).size).toBe(all.length);
    expect(nb.splitKey(K, 4)).toEqual(kids); // splitting is itself deterministic
    const n = 20000;
    nb.tidy(() => {
      const a = nb.normal(kids[0]!, [n], { dtype: 'f64' }).toF64();
      const b = nb.normal(kids[1]!, [n], { dtype: 'f64' }).toF64();
      const p = nb.normal(K, [n], { dtype: 'f64' }).toF64();
      const corr = (x: Float64Array, y: Float64Array): number => {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i]! * y[i]!;
        return s / n;
      };
      // the sample correlation of independent N(0,1) streams has sd 1/√n
      expect(Math.abs(corr(a, b))).toBeLessThan(4 / Math.sqrt(n));
      expect(Math.abs(corr(a, p))).toBeLessThan(4 / Math.sqrt(n));
    });
  });
});

describe('random tensors: distributions', () => {
  const n = 40000;

  it('uniform on [lo, hi): mean and variance within 4σ, never hi', () => {
    nb.tidy(() => {
      const [lo, hi] = [-2, 5];
      const x = nb.uniform(K, [n], { lo, hi, dtype: 'f64' }).toF64();
      const w = hi - lo;
      const varTrue = (w * w) / 12;
      expect(Math.abs(mean(x) - (lo + hi) / 2)).toBeLessThan(4 * Math.sqrt(varTrue / n));
      // sd of the sample variance: √((μ4 − σ⁴)/n), μ4 = w⁴/80 for the uniform
      expect(Math.abs(variance(x) - varTrue)).toBeLessThan(4 * Math.sqrt((w ** 4 / 80 - varTrue ** 2) / n));
      expect(Math.min(...x)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...x)).toBeLessThan(hi);
    });
  });

  it('uniform in bf16/f16: draws that would round up to hi become the largest value below hi', () => {
    nb.tidy(() => {
      const b = nb.uniform(K, [n], { dtype: 'bf16' }).toF64();
      // bf16 spacing just below 1 is 2^-8: about n·2^-9 draws land in the rounding-up zone
      expect(Math.max(...b)).toBe(1 - 2 ** -8);
      expect(b.filter((v) => v === 1 - 2 ** -8).length).toBeGreaterThan(0);
      const h = nb.uniform(K, [n], { dtype: 'f16', lo: 10, hi: 11 }).toF64();
      expect(Math.max(...h)).toBe(11 - 2 ** -7); // f16 spacing in [8, 16) is 2^-7
      expect(Math.min(...h)).toBeGreaterThanOrEqual(10);
    });
  });

  it('normal(mean, std): mean and variance within 4σ', () => {
    nb.tidy(() => {
      const [mu, sd] = [1.5, 3];
      const x = nb.normal(K, [n], { mean: mu, std: sd, dtype: 'f64' }).toF64();
      expect(Math.abs(mean(x) - mu)).toBeLessThan((4 * sd) / Math.sqrt(n));
      expect(Math.abs(variance(x) - sd * sd)).toBeLessThan(4 * sd * sd * Math.sqrt(2 / n));
    });
  });

  it('truncatedNormal: inside [mean + lo·std, mean + hi·std], moments of the truncated law', () => {
    nb.tidy(() => {
      const [mu, sd, a, b] = [-1, 2, -0.5, 2.5];
      const x = nb.truncatedNormal(K, [n], { mean: mu, std: sd, lo: a, hi: b, dtype: 'f64' }).toF64();
      expect(Math.min(...x)).toBeGreaterThanOrEqual(mu + a * sd);
      expect(Math.max(...x)).toBeLessThanOrEqual(mu + b * sd);
      // moments of the standard normal truncated to [a, b]
      const Z = Phi(b) - Phi(a);
      const m1 = (phi(a) - phi(b)) / Z;
      const v1 = 1 + (a * phi(a) - b * phi(b)) / Z - m1 * m1;
      expect(Math.abs(mean(x) - (mu + sd * m1))).toBeLessThan(4 * sd * Math.sqrt(v1 / n));
      expect(Math.abs(variance(x) / (sd * sd) - v1)).toBeLessThan(4 * v1 * Math.sqrt(2 / n));
      // defaults: ±2 standard deviations
      const d = nb.truncatedNormal(K, [1000], { dtype: 'f64' }).toF64();
      expect(Math.max(...d.map(Math.abs))).toBeLessThanOrEqual(2);
    });
  });

  it('bernoulli with a number p: frequency within 4σ; p = 0 and p = 1 are exact', () => {
    nb.tidy(() => {
      const p = 0.3;
      const x = nb.bernoulli(K, p, [n]);
      expect(x.dtype).toBe('bool');
      expect(Math.abs(mean(x.toF64()) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      expect(mean(nb.bernoulli(K, 0, [100]).toF64())).toBe(0);
      expect(mean(nb.bernoulli(K, 1, [100]).toF64())).toBe(1);
      expect(nb.bernoulli(K, 0.5).shape).toEqual([]);
    });
  });

  it('bernoulli with a tensor p broadcast per element; a constant tensor p equals the number p', () => {
    nb.tidy(() => {
      const ps = [0.1, 0.5, 0.9];
      const m = 20000;
      const x = nb.bernoulli(K, nb.tensor([[0.1], [0.5], [0.9]], { dtype: 'f64' }), [3, m]).toF64();
      ps.forEach((p, r) => {
        expect(Math.abs(mean(x.subarray(r * m, (r + 1) * m)) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / m));
      });
      const same = nb.bernoulli(K, nb.full([4, 50], 0.37, { dtype: 'f64' })).toF64();
      expect(Array.from(same)).toEqual(Array.from(nb.bernoulli(K, 0.37, [4, 50]).toF64()));
    });
  });

  it('randint: all values in [lo, hi), i32, uniform by χ²', () => {
    nb.tidy(() => {
      const [lo, hi] = [-4, 6];
      const x = nb.randint(K, [n], lo, hi);
      expect(x.dtype).toBe('i32');
      const v = x.toF64();
      expect(Math.min(...v)).toBe(lo);
      expect(Math.max(...v)).toBe(hi - 1);
      const counts = histogram(v, hi - lo, lo);
      expect(chiSquare(counts, counts.map(() => n / (hi - lo)))).toBeLessThan(chiBand(hi - lo - 1));
    });
  });

  it('permutation: a permutation of 0..n−1; all 24 orders of 4 items equally likely (χ²)', () => {
    nb.tidy(() => {
      const p = nb.permutation(K, 50);
      expect(p.dtype).toBe('i32');
      expect(Array.from(p.toF64()).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(nb.permutation(K, 0).shape).toEqual([0]);
    });
    const draws = 12000;
    const counts = new Map<string, number>();
    for (let t = 0; t < draws; t++) {
      const q = nb.permutation(nb.foldIn(K, t), 4);
      const s = Array.from(q.toF64()).join('');
      q.dispose();
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    const c = [...counts.values()];
    expect(chiSquare(c, c.map(() => draws / 24))).toBeLessThan(chiBand(23));
  });

  it('multinomial: batched rows match their own weights (χ²); zero weights never drawn; rows independent of the batch', () => {
    nb.tidy(() => {
      const w = [
        [1, 2, 0, 5],
        [4, 4, 1, 1],
      ];
      const m = 30000;
      const s = nb.multinomial(K, nb.tensor(w), m);
      expect(s.shape).toEqual([2, m]);
      expect(s.dtype).toBe('i32');
      const v = s.toF64();
      w.forEach((row, r) => {
        const total = row.reduce((a, b) => a + b, 0);
        const counts = histogram(v.subarray(r * m, (r + 1) * m), 4);
        const nz = row.map((x, i) => [x, i] as const).filter(([x]) => x > 0);
        for (const [x, i] of row.map((x, i) => [x, i] as const)) if (x === 0) expect(counts[i]).toBe(0);
        expect(chiSquare(nz.map(([, i]) => counts[i]!), nz.map(([x]) => (m * x) / total))).toBeLessThan(chiBand(nz.length - 1));
      });
      // row r uses foldIn(key, r): the first row of a batch equals a 1-D draw
      const one = nb.multinomial(K, nb.tensor(w[0]!), 100).toF64();
      expect(Array.from(one)).toEqual(Array.from(v.subarray(0, 100)));
      // leading axes are kept: [2, 1, 4] → [2, 1, k]
      expect(nb.multinomial(K, nb.tensor([[w[0]!], [w[1]!]]), 3).shape).toEqual([2, 1, 3]);
    });
  });

  it('multinomial without replacement: distinct categories with positive weight in every row', () => {
    nb.tidy(() => {
      const probs = nb.tensor([
        [0.1, 0, 0.5, 0.2, 0.2],
        [1, 1, 1, 1, 0],
      ]);
      for (let t = 0; t < 50; t++) {
        const v = nb.multinomial(nb.foldIn(K, t), probs, 4, { replacement: false }).toF64();
        for (let r = 0; r < 2; r++) {
          const row = Array.from(v.subarray(r * 4, r * 4 + 4));
          expect(new Set(row).size).toBe(4);
          expect(row).not.toContain(r === 0 ? 1 : 4);
        }
      }
    });
  });

  it('creates exactly one tensor per call and leaks nothing', () => {
    const before = nb.memory();
    const ts = [nb.uniform(K, [100]), nb.normal(K, [3, 3]), nb.bernoulli(K, nb.full([10], 0.5)), nb.multinomial(K, nb.ones([2, 3]), 4)];
    expect(nb.memory().liveTensors).toBe(before.liveTensors + ts.length + 2); // + the two inputs
    ts.forEach((t) => t.dispose());
    expect(nb.memory().liveTensors).toBe(before.liveTensors + 2);
  });
});

describe('random tensors: argument validation', () => {
  it('rejects bad keys, naming the sampler and the key', () => {
    for (const bad of [[1], [1, -1], [2 ** 32, 0], [0.5, 1], 'key', null, nb.scalar(1)]) {
      expect(() => nb.uniform(bad as never, [2])).toThrow(/^uniform: key must be a pair of uint32 words/);
    }
    expect(() => nb.multinomial([1, 2, 3] as never, nb.ones([3]), 1)).toThrow(/^multinomial: key/);
    expect(() => nb.randomKey(-1)).toThrow(/seed must be a non-negative integer/);
  });

  it('rejects bad shapes, dtypes and bounds', () => {
    expect(() => nb.normal(K, [2, -1])).toThrow(/^normal: shape must contain non-negative integers, got \[2,-1\]/);
    expect(() => nb.uniform(K, [2], { dtype: 'i32' })).toThrow(/^uniform: dtype must be a floating type .* got i32/);
    expect(() => nb.uniform(K, [2], { dtype: 'f8' as never })).toThrow(/^uniform: dtype must be a floating type/);
    expect(() => nb.uniform(K, [2], { lo: 1, hi: 1 })).toThrow(/^uniform: lo \(1\) must be less than hi \(1\)/);
    expect(() => nb.uniform(K, [2], { hi: Infinity })).toThrow(/^uniform: hi must be a finite number/);
    expect(() => nb.normal(K, [2], { std: -1 })).toThrow(/^normal: std must be non-negative, got -1/);
    expect(() => nb.truncatedNormal(K, [2], { lo: 1, hi: -1 })).toThrow(/^truncatedNormal: need lo < hi/);
    expect(() => nb.randint(K, [2], 5, 5)).toThrow(/^randint: lo \(5\) must be less than hi \(5\)/);
    expect(() => nb.randint(K, [2], 0.5, 5)).toThrow(/^randint: lo must be an int32 integer/);
    expect(() => nb.permutation(K, -3)).toThrow(/^permutation: n must be a non-negative integer, got -3/);
  });

  it('bernoulli: p out of [0, 1] (naming the element) or not broadcastable to shape', () => {
    expect(() => nb.bernoulli(K, 1.5, [2])).toThrow(/^bernoulli: p must be a probability in \[0, 1\], got 1.5/);
    expect(() => nb.bernoulli(K, NaN, [2])).toThrow(/^bernoulli: p must be a probability/);
    const p = nb.tensor([0.2, -0.1, 0.5]);
    expect(() => nb.bernoulli(K, p)).toThrow(/^bernoulli: p must hold probabilities in \[0, 1\], got -0\.1\d* at flat index 1/);
    const q = nb.tensor([0.2, 0.1, 0.5]);
    expect(() => nb.bernoulli(K, q, [2, 2])).toThrow(/^bernoulli: shapes do not broadcast: p is \[3\], shape is \[2,2\]/);
    expect(() => nb.bernoulli(K, q, [1])).toThrow(/^bernoulli: p is \[3\], which does not broadcast to shape \[1\]/);
    p.dispose();
    q.dispose();
    expect(() => nb.bernoulli(K, q, [3])).toThrow(/^bernoulli: p f32\[3\] was disposed/);
  });

  it('multinomial: bad probs name the row and the tensor', () => {
    nb.tidy(() => {
      expect(() => nb.multinomial(K, nb.scalar(1), 2)).toThrow(/^multinomial: probs must have at least one axis/);
      expect(() => nb.multinomial(K, nb.zeros([2, 0]), 2)).toThrow(/^multinomial: probs f32\[2,0\] has no categories/);
      expect(() => nb.multinomial(K, nb.tensor([[1, 1], [1, -2]]), 2)).toThrow(/negative value \(-2 at index 1\) \(row 1 of probs f32\[2,2\]\)/);
      expect(() => nb.multinomial(K, nb.tensor([0, 0, 0]), 2)).toThrow(/at least one positive weight \(probs f32\[3\]\)/);
      expect(() => nb.multinomial(K, nb.tensor([1, 0, 1]), 3, { replacement: false })).toThrow(/numSamples \(3\) exceeds the number of categories with positive weight \(2\)/);
      expect(() => nb.multinomial(K, nb.tensor([1, 1]), -1)).toThrow(/^multinomial: numSamples must be a non-negative integer, got -1/);
    });
  });
});
