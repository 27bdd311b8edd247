import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bernoulli,
  foldIn,
  gumbel,
  key,
  multinomial,
  mulhi32,
  normal,
  permutation,
  philox4x32,
  rademacher,
  randint,
  randomBits,
  split,
  truncatedNormal,
  uniform,
  type Key,
} from '../../src/core/random.js';

// ---------------------------------------------------------------------------
// Statistics helpers. All tests use fixed keys, so they are deterministic; the
// bands are wide enough (≈4σ) that a correct generator passes for any seed.
// ---------------------------------------------------------------------------

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function centralMoment(xs: ArrayLike<number>, p: number): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** p;
  return s / xs.length;
}

function variance(xs: ArrayLike<number>): number {
  return (centralMoment(xs, 2) * xs.length) / (xs.length - 1);
}

/**
 * Upper critical value of the χ² distribution with `df` degrees of freedom at
 * the one-sided standard-normal level z (z = 4: p ≈ 3e-5), via the
 * Wilson–Hilferty cube approximation.
 */
function chiSquareCritical(df: number, z = 4): number {
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}

function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < observed.length; i++) s += (observed[i] - expected[i]) ** 2 / expected[i];
  return s;
}

function expectChiSquareOk(observed: ArrayLike<number>, expected: ArrayLike<number>): void {
  const stat = chiSquare(observed, expected);
  expect(stat).toBeLessThan(chiSquareCritical(observed.length - 1));
}

function expectWithin(actual: number, target: number, band: number): void {
  expect(Math.abs(actual - target), `${actual} vs ${target} ± ${band}`).toBeLessThan(band);
}

const K = key(20240601);

// ---------------------------------------------------------------------------

describe('random: Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors (tests/kat_vectors, philox4x32 10)', () => {
    // Columns in kat_vectors: counter (4 words), key (2 words), expected output (4 words).
    expect(philox4x32([0, 0], 0, 0, 0, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32([0xffffffff, 0xffffffff], 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(philox4x32([0xa4093822, 0x299f31d0], 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344)).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it('randomBits block 0 of key(0) is the all-zero known-answer vector', () => {
    expect(Array.from(randomBits(key(0), 4))).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  });

  it('mulhi32 equals the high word of the exact 64-bit product', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
        expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
      }),
      { numRuns: 2000 },
    );
    expect(mulhi32(0xffffffff, 0xffffffff)).toBe(0xfffffffe);
    expect(mulhi32(0x10000, 0x10000)).toBe(1);
    expect(mulhi32(0, 0xffffffff)).toBe(0);
  });

  it('validates its arguments', () => {
    expect(() => philox4x32([0, 0], -1, 0, 0, 0)).toThrow('philox4x32: counter word c0 must be a uint32, got -1');
    expect(() => philox4x32([0, 2 ** 32] as unknown as Key, 0, 0, 0, 0)).toThrow(
      'philox4x32: key must be a pair of uint32 words, got [0,4294967296]',
    );
  });
});

describe('random: keys', () => {
  it('key() splits the seed into [hi, lo] words and validates it', () => {
    expect(key(0)).toEqual([0, 0]);
    expect(key(42)).toEqual([0, 42]);
    expect(key(2 ** 32 + 5)).toEqual([1, 5]);
    expect(key(2 ** 53 - 1)).toEqual([2 ** 21 - 1, 0xffffffff]);
    expect(() => key(-1)).toThrow('key: seed must be a non-negative integer, got -1');
    expect(() => key(1.5)).toThrow('key: seed must be a non-negative integer, got 1.5');
    expect(() => key(2 ** 53)).toThrow(/key: seed must be a non-negative integer/);
    expect(() => key(NaN)).toThrow('key: seed must be a non-negative integer, got NaN');
  });

  it('same key gives the same stream; different seeds differ', () => {
    expect(randomBits(key(7), 100)).toEqual(randomBits(key(7), 100));
    expect(randomBits(key(7), 100)).not.toEqual(randomBits(key(8), 100));
  });

  it('split children are deterministic, distinct, and give different streams', () => {
    const kids = split(K, 4);
    expect(kids).toEqual(split(K, 4));
    expect(split(K, 2)).toEqual(kids.slice(0, 2)); // children do not depend on n
    expect(split(K)).toHaveLength(2);
    expect(split(K, 0)).toEqual([]);
    const streams = [K, ...kids].map((k) => Array.from(randomBits(k, 8)).join(','));
    expect(new Set(streams).size).toBe(5);
    for (const kid of kids) {
      expect(kid).toHaveLength(2);
      for (const w of kid) expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
    }
    // Splitting is independent of the raw stream of the parent.
    const parentBits = Array.from(randomBits(K, 8));
    for (const kid of kids) expect(parentBits).not.toContain(kid[0]);
  });

  it('foldIn is deterministic, depends on data, and differs from split', () => {
    expect(foldIn(K, 3)).toEqual(foldIn(K, 3));
    const folded = [0, 1, 2, 3, 2 ** 40].map((d) => foldIn(K, d).join(','));
    expect(new Set(folded).size).toBe(5);
    expect(foldIn(K, 0)).not.toEqual(split(K, 1)[0]);
    expect(() => foldIn(K, -2)).toThrow('foldIn: data must be a non-negative integer, got -2');
  });

  it('split keys are statistically independent (no correlation between children)', () => {
    const [a, b] = split(K);
    const x = uniform(a, 50000);
    const y = uniform(b, 50000);
    let cov = 0;
    for (let i = 0; i < x.length; i++) cov += (x[i] - 0.5) * (y[i] - 0.5);
    const corr = cov / x.length / (1 / 12);
    expectWithin(corr, 0, 4 / Math.sqrt(x.length));
  });

  it('rejects malformed keys and counts with clear messages', () => {
    expect(() => randomBits([1, -1] as unknown as Key, 3)).toThrow('randomBits: key must be a pair of uint32 words, got [1,-1]');
    expect(() => randomBits(K, -1)).toThrow('randomBits: n must be a non-negative integer, got -1');
    expect(() => uniform(K, 2.5)).toThrow('uniform: n must be a non-negative integer, got 2.5');
    expect(() => split(K, -1)).toThrow('split: n must be a non-negative integer, got -1');
  });
});

describe('random: prefix property', () => {
  const cases: Array<[string, (n: number) => ArrayLike<number>]> = [
    ['randomBits', (n) => randomBits(K, n)],
    ['uniform', (n) => uniform(K, n, -2, 3)],
    ['normal', (n) => normal(K, n, 1, 2)],
    ['bernoulli', (n) => bernoulli(K, n, 0.4)],
    ['randint', (n) => randint(K, n, -5, 1000003)],
    ['gumbel', (n) => gumbel(K, n)],
    ['rademacher', (n) => rademacher(K, n)],
    ['truncatedNormal', (n) => truncatedNormal(K, n, 1, 2)],
    ['multinomial', (n) => multinomial(K, new Float64Array([1, 2, 3]), n)],
  ];
  for (const [name, draw] of cases) {
    it(`${name}(k, n) is a prefix of ${name}(k, n') for n' > n`, () => {
      const long = Array.from(draw(37));
      for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 13, 36]) expect(Array.from(draw(n))).toEqual(long.slice(0, n));
    });
  }
});

describe('random: uniform', () => {
  it('has the mean and variance of U[0, 1) (4σ bands, n = 100k)', () => {
    const n = 100_000;
    const u = uniform(K, n);
    for (const x of u) if (!(x >= 0 && x < 1)) throw new Error(`out of range: ${x}`);
    expectWithin(mean(u), 0.5, 4 * Math.sqrt(1 / 12 / n));
    // Var[(U − 1/2)²] = 1/80 − 1/144 = 1/180.
    expectWithin(variance(u), 1 / 12, 4 * Math.sqrt(1 / 180 / n));
  });

  it('maps to [lo, hi) and never returns hi, even when rounding would', () => {
    const u = uniform(K, 10_000, -3, 5);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(5);
    // Only one double lies in [1, 1 + 2^-52): everything must be exactly 1.
    const narrow = uniform(K, 10_000, 1, 1 + 2 ** -52);
    for (const x of narrow) expect(x).toBe(1);
    const neg = uniform(K, 1000, -1 - 2 ** -52, -1);
    for (const x of neg) expect(x < -1 && x >= -1 - 2 ** -52).toBe(true);
  });

  it('has a 10-bin histogram consistent with uniformity (χ²)', () => {
    const n = 100_000;
    const counts = new Array(10).fill(0);
    for (const x of uniform(K, n)) counts[Math.floor(x * 10)]++;
    expectChiSquareOk(counts, new Array(10).fill(n / 10));
  });

  it('validates lo and hi', () => {
    expect(() => uniform(K, 3, 2, 1)).toThrow('uniform: lo (2) must be less than hi (1)');
    expect(() => uniform(K, 3, 0, Infinity)).toThrow('uniform: hi must be a finite number, got Infinity');
    expect(() => uniform(K, 3, -1e308, 1e308)).toThrow(/uniform: hi − lo overflows/);
  });
});

describe('random: normal', () => {
  it('has mean 0, variance 1 and kurtosis 3 (4σ bands, n = 100k)', () => {
    const n = 100_000;
    const z = normal(key(99), n);
    expectWithin(mean(z), 0, 4 / Math.sqrt(n));
    expectWithin(variance(z), 1, 4 * Math.sqrt(2 / n));
    const kurtosis = centralMoment(z, 4) / centralMoment(z, 2) ** 2;
    expectWithin(kurtosis, 3, 4 * Math.sqrt(24 / n));
    const skew = centralMoment(z, 3) / centralMoment(z, 2) ** 1.5;
    expectWithin(skew, 0, 4 * Math.sqrt(6 / n));
    for (const x of z) if (!Number.isFinite(x)) throw new Error('non-finite normal sample');
  });

  it('applies mean and std', () => {
    const n = 50_000;
    const z = normal(K, n, 10, 3);
    expectWithin(mean(z), 10, (4 * 3) / Math.sqrt(n));
    expectWithin(variance(z), 9, 4 * 9 * Math.sqrt(2 / n));
    expect(Array.from(normal(K, 5, 2, 0))).toEqual([2, 2, 2, 2, 2]);
  });

  it('validates std', () => {
    expect(() => normal(K, 3, 0, -1)).toThrow('normal: std must be non-negative, got -1');
    expect(() => normal(K, 3, NaN)).toThrow('normal: mean must be a finite number, got NaN');
  });
});

describe('random: bernoulli, rademacher, gumbel', () => {
  it('bernoulli frequency matches p', () => {
    const n = 100_000;
    const p = 0.3;
    const b = bernoulli(K, n, p);
    expect(b).toBeInstanceOf(Uint8Array);
    for (const x of b) if (x !== 0 && x !== 1) throw new Error(`bad value ${x}`);
    expectWithin(mean(b), p, 4 * Math.sqrt((p * (1 - p)) / n));
    expect(bernoulli(K, 1000, 0).every((x) => x === 0)).toBe(true);
    expect(bernoulli(K, 1000, 1).every((x) => x === 1)).toBe(true);
    expect(() => bernoulli(K, 3, 1.5)).toThrow('bernoulli: p must be a probability in [0, 1], got 1.5');
    expect(() => bernoulli(K, 3, NaN)).toThrow('bernoulli: p must be a probability in [0, 1], got NaN');
  });

  it('rademacher gives ±1 with mean 0', () => {
    const n = 100_000;
    const r = rademacher(K, n);
    for (const x of r) if (x !== 1 && x !== -1) throw new Error(`bad value ${x}`);
    expectWithin(mean(r), 0, 4 / Math.sqrt(n));
  });

  it('gumbel has mean γ and variance π²/6', () => {
    const n = 100_000;
    const g = gumbel(K, n);
    const varG = Math.PI ** 2 / 6;
    for (const x of g) if (!Number.isFinite(x)) throw new Error('non-finite gumbel sample');
    expectWithin(mean(g), 0.5772156649015329, 4 * Math.sqrt(varG / n));
    // Excess kurtosis of the Gumbel distribution is 12/5, so Var[s²] ≈ σ⁴(2 + 12/5)/n.
    expectWithin(variance(g), varG, 4 * varG * Math.sqrt(4.4 / n));
  });
});

describe('random: randint', () => {
  it('is uniform over a small range (χ²)', () => {
    const n = 100_000;
    const r = randint(K, n, -3, 7);
    const counts = new Array(10).fill(0);
    for (const x of r) {
      if (!(Number.isInteger(x) && x >= -3 && x < 7)) throw new Error(`out of range: ${x}`);
      counts[x + 3]++;
    }
    expectChiSquareOk(counts, new Array(10).fill(n / 10));
  });

  it('is unbiased for a range that a plain multiply-shift would bias', () => {
    // range = 3·2^30: without rejection, floor(x·range / 2^32) = floor(3x/4)
    // hits residues 0, 1, 2 (mod 3) with probabilities 1/2, 1/4, 1/4.
    const lo = -(2 ** 31);
    const range = 3 * 2 ** 30;
    const n = 30_000;
    const r = randint(K, n, lo, lo + range);
    const counts = [0, 0, 0];
    for (const x of r) counts[(x - lo) % 3]++;
    expectChiSquareOk(counts, [n / 3, n / 3, n / 3]);
  });

  it('handles the full int32 range and a range of one', () => {
    const full = randint(K, 10_000, -(2 ** 31), 2 ** 31);
    expect(full.some((x) => x < 0) && full.some((x) => x > 0)).toBe(true);
    expect(Array.from(full)).toEqual(Array.from(randomBits(K, 10_000), (w) => w - 2 ** 31));
    expect(Array.from(randint(K, 4, 5, 6))).toEqual([5, 5, 5, 5]);
  });

  it('validates lo and hi', () => {
    expect(() => randint(K, 3, 5, 3)).toThrow('randint: lo (5) must be less than hi (3)');
    expect(() => randint(K, 3, 5, 5)).toThrow('randint: lo (5) must be less than hi (5)');
    expect(() => randint(K, 3, 0.5, 3)).toThrow('randint: lo must be an int32 integer, got 0.5');
    expect(() => randint(K, 3, 0, 2 ** 31 + 1)).toThrow(/randint: hi must be an integer in \(-2\^31, 2\^31\], got 2147483649/);
  });
});

describe('random: permutation', () => {
  it('returns a permutation of 0..n-1', () => {
    for (const n of [0, 1, 2, 10, 1000]) {
      const p = permutation(foldIn(K, n), n);
      expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(() => permutation(K, -3)).toThrow('permutation: n must be a non-negative integer, got -3');
  });

  it('makes every position uniform and every permutation of 5 equally likely (χ²)', () => {
    const n = 5;
    const draws = 60_000;
    const keys = split(K, draws);
    const positionCounts = Array.from({ length: n }, () => new Array(n).fill(0));
    const permCounts = new Map<string, number>();
    for (const k of keys) {
      const p = permutation(k, n);
      for (let pos = 0; pos < n; pos++) positionCounts[pos][p[pos]]++;
      const id = p.join('');
      permCounts.set(id, (permCounts.get(id) ?? 0) + 1);
    }
    for (const counts of positionCounts) expectChiSquareOk(counts, new Array(n).fill(draws / n));
    expect(permCounts.size).toBe(120);
    expectChiSquareOk(Array.from(permCounts.values()), new Array(120).fill(draws / 120));
  });
});

describe('random: multinomial', () => {
  it('with replacement: frequencies follow the normalised weights (χ²), zero weights never drawn', () => {
    const weights = new Float64Array([1, 0, 3, 6, 0.5, 0]);
    const n = 100_000;
    const s = multinomial(K, weights, n);
    const counts = new Array(weights.length).fill(0);
    for (const c of s) counts[c]++;
    expect(counts[1]).toBe(0);
    expect(counts[5]).toBe(0);
    const total = 10.5;
    const idx = [0, 2, 3, 4];
    expectChiSquareOk(
      idx.map((i) => counts[i]),
      idx.map((i) => (n * weights[i]) / total),
    );
  });

  it('without replacement: distinct categories, sequential-draw probabilities (χ²)', () => {
    const weights = new Float64Array([1, 0, 3, 6]);
    const p = [0.1, 0, 0.3, 0.6];
    const draws = 40_000;
    const first = [0, 0, 0, 0];
    const second = [0, 0, 0, 0];
    for (const k of split(K, draws)) {
      const s = multinomial(k, weights, 2, { replacement: false });
      expect(s[0]).not.toBe(s[1]);
      first[s[0]]++;
      second[s[1]]++;
    }
    expect(first[1] + second[1]).toBe(0);
    // P(second = j) = Σ_{i ≠ j} p_i · p_j / (1 − p_i).
    const pSecond = p.map((pj, j) => p.reduce((acc, pi, i) => (i === j ? acc : acc + (pi * pj) / (1 - pi)), 0));
    const idx = [0, 2, 3];
    expectChiSquareOk(
      idx.map((i) => first[i]),
      idx.map((i) => draws * p[i]),
    );
    expectChiSquareOk(
      idx.map((i) => second[i]),
      idx.map((i) => draws * pSecond[i]),
    );
    const all = multinomial(K, weights, 3, { replacement: false });
    expect(Array.from(all).sort()).toEqual([0, 2, 3]);
  });

  it('validates probs and numSamples', () => {
    expect(() => multinomial(K, new Float64Array([0.5, 0.4, -0.1]), 3)).toThrow(
      'multinomial: probs contains a negative value (-0.1 at index 2)',
    );
    expect(() => multinomial(K, new Float64Array([0.5, NaN]), 3)).toThrow(
      'multinomial: probs contains a non-finite value (NaN at index 1)',
    );
    expect(() => multinomial(K, new Float64Array([0, 0]), 3)).toThrow(
      'multinomial: probs must contain at least one positive weight',
    );
    expect(() => multinomial(K, new Float64Array([]), 3)).toThrow('multinomial: probs must not be empty');
    expect(() => multinomial(K, new Float64Array([1, 0, 2]), 3, { replacement: false })).toThrow(
      'multinomial: numSamples (3) exceeds the number of categories with positive weight (2) when sampling without replacement',
    );
    expect(() => multinomial(K, new Float64Array([1]), -1)).toThrow(
      'multinomial: numSamples must be a non-negative integer, got -1',
    );
    expect(Array.from(multinomial(K, new Float64Array([0, 2, 0]), 5))).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('random: truncatedNormal', () => {
  /**
   * Moments and quartiles of N(0,1) truncated to [lo, hi], by trapezoidal
   * integration of the unnormalised density, scaled to avoid underflow in the
   * tails: exp(−(z² − c²)/2) with c the point of the interval nearest 0.
   */
  function reference(lo: number, hi: number) {
    const c = lo > 0 ? lo : hi < 0 ? hi : 0;
    const L = Number.isFinite(lo) ? lo : Number.isFinite(hi) ? Math.min(hi, 0) - 40 : -40;
    const H = Number.isFinite(hi) ? hi : Number.isFinite(lo) ? Math.max(lo, 0) + 40 : 40;
    const N = 200_000;
    const h = (H - L) / N;
    const dens = (z: number) => Math.exp(-((z - c) * (z + c)) / 2);
    let mass = 0;
    let m1 = 0;
    let m2 = 0;
    const cdf = new Float64Array(N + 1);
    for (let j = 0; j < N; j++) {
      const z0 = L + j * h;
      const z1 = z0 + h;
      const w = ((dens(z0) + dens(z1)) / 2) * h;
      mass += w;
      m1 += (w * (z0 + z1)) / 2;
      m2 += (w * (z0 * z0 + z1 * z1)) / 2;
      cdf[j + 1] = mass;
    }
    const mu = m1 / mass;
    const quantile = (q: number) => {
      let j = 0;
      while (cdf[j + 1] < q * mass) j++;
      return L + (j + 1) * h;
    };
    return { mean: mu, variance: m2 / mass - mu * mu, quartiles: [0.25, 0.5, 0.75].map(quantile) };
  }

  const intervals: Array<[number, number]> = [
    [-Infinity, Infinity], // plain normal proposals
    [-1, 2], // contains 0, wide: normal proposals
    [-0.5, 1], // contains 0, narrow: uniform proposals
    [0, Infinity], // half-normal
    [0.5, 1.5], // uniform proposals, one side
    [3, Infinity], // exponential tail
    [-Infinity, -5], // mirrored exponential tail
    [10, 10.1], // far and narrow
    [40, Infinity], // beyond where Φ(40) is representable
    [-2.5, -2], // mirrored, narrow
  ];

  for (const [lo, hi] of intervals) {
    it(`[${lo}, ${hi}]: samples lie in the interval with the right mean, variance and quartiles`, () => {
      const n = 40_000;
      const x = truncatedNormal(foldIn(K, 1000 + intervals.findIndex((iv) => iv[0] === lo && iv[1] === hi)), n, lo, hi);
      for (const v of x) if (!(v >= lo && v <= hi)) throw new Error(`out of range: ${v}`);
      const ref = reference(lo, hi);
      const sd = Math.sqrt(ref.variance);
      expectWithin(mean(x), ref.mean, (4 * sd) / Math.sqrt(n));
      // Truncated normals have kurtosis ≤ 3, so Var[s²] ≤ 2σ⁴/n.
      expectWithin(variance(x), ref.variance, 4 * ref.variance * Math.sqrt(2 / n));
      ref.quartiles.forEach((q, j) => {
        const target = [0.25, 0.5, 0.75][j];
        let below = 0;
        for (const v of x) if (v <= q) below++;
        expectWithin(below / n, target, 4 * Math.sqrt((target * (1 - target)) / n) + 2e-4);
      });
    });
  }

  it('validates the bounds', () => {
    expect(() => truncatedNormal(K, 3, 2, 1)).toThrow('truncatedNormal: lo (2) must be less than hi (1)');
    expect(() => truncatedNormal(K, 3, 1, 1)).toThrow('truncatedNormal: lo (1) must be less than hi (1)');
    expect(() => truncatedNormal(K, 3, NaN, 1)).toThrow('truncatedNormal: lo must be a number, got NaN');
  });
});

describe('random: random walk (Donsker scaling)', () => {
  it('a ±1 walk scaled by 1/√n has W(1) ~ N(0, 1) and Var[W(t) − W(s)] ≈ t − s', () => {
    const steps = 10_000;
    const reps = 2_000;
    const times = [0.2, 0.5, 0.8, 1];
    const W = times.map(() => new Float64Array(reps));
    const scale = 1 / Math.sqrt(steps);
    split(key(314159), reps).forEach((k, r) => {
      const dx = rademacher(k, steps);
      let s = 0;
      let t = 0;
      for (let i = 0; i < steps; i++) {
        s += dx[i];
        if (i + 1 === Math.round(times[t] * steps)) W[t++][r] = s * scale;
      }
    });
    const endpoint = W[3];
    // sd of the mean is 1/√reps; sd of the sample variance is ≈ √(2/(reps−1)).
    expectWithin(mean(endpoint), 0, 4 / Math.sqrt(reps));
    expectWithin(variance(endpoint), 1, 4 * Math.sqrt(2 / (reps - 1)));
    for (const [si, ti] of [
      [0, 2],
      [1, 3],
    ]) {
      const inc = W[ti].map((w, r) => w - W[si][r]);
      const dt = times[ti] - times[si];
      expectWithin(mean(inc), 0, (4 * Math.sqrt(dt)) / Math.sqrt(reps));
      expectWithin(variance(inc), dt, 4 * dt * Math.sqrt(2 / (reps - 1)));
    }
  });
});
