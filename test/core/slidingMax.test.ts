import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { slidingWindowMax, slidingWindowMin, type SlidingWindowStats } from '../../src/core/slidingMax.js';

/**
 * Naive O(n·k) reference with the documented conventions: first extremal
 * index on ties; NaN beats every number (so it propagates), first NaN wins.
 */
function naive(x: ArrayLike<number>, k: number, stride: number, wantMax: boolean) {
  const values: number[] = [];
  const argmax: number[] = [];
  for (let start = 0; start + k <= x.length; start += stride) {
    let best = start;
    for (let j = start + 1; j < start + k; j++) {
      const a = x[j];
      const b = x[best];
      if (Number.isNaN(b)) break; // first NaN is final
      if (Number.isNaN(a) || (wantMax ? a > b : a < b)) best = j;
    }
    values.push(x[best]);
    argmax.push(best);
  }
  return { values, argmax };
}

/** Deterministic small-integer data (many ties), optionally with NaNs. */
function makeData(n: number, seed: number, levels: number, nanRate = 0): Float64Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: enough for test data.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = next() < nanRate ? NaN : Math.floor(next() * levels) - Math.floor(levels / 2);
  return x;
}

function expectMatchesNaive(x: Float64Array | Float32Array, k: number, stride: number): void {
  for (const [fn, wantMax] of [
    [slidingWindowMax, true],
    [slidingWindowMin, false],
  ] as const) {
    const got = fn(x, k, stride);
    const want = naive(x, k, stride, wantMax);
    expect(Array.from(got.argmax), `${fn.name} argmax n=${x.length} k=${k} stride=${stride}`).toEqual(want.argmax);
    // toEqual treats NaN as equal to NaN.
    expect(Array.from(got.values), `${fn.name} values n=${x.length} k=${k} stride=${stride}`).toEqual(want.values);
  }
}

describe('slidingWindowMax / slidingWindowMin', () => {
  it('matches the naive result for every k from 1 to n and several strides (ties from small integers)', () => {
    for (const [n, seed, levels] of [
      [1, 1, 3],
      [2, 2, 2],
      [17, 3, 3],
      [40, 4, 4],
      [64, 5, 10],
      [33, 6, 1], // all equal: ties everywhere
    ]) {
      const x = makeData(n, seed, levels);
      for (let k = 1; k <= n; k++) {
        for (const stride of [1, 2, 3, 5, 7, n + 3]) expectMatchesNaive(x, k, stride);
      }
    }
  });

  it('matches the naive result with NaNs present (NaN propagates, first NaN index)', () => {
    const x = makeData(50, 11, 4, 0.05);
    expect(x.some(Number.isNaN)).toBe(true);
    for (let k = 1; k <= x.length; k++) for (const stride of [1, 2, 4]) expectMatchesNaive(x, k, stride);
    const r = slidingWindowMax(new Float64Array([1, NaN, 5, NaN, 2, 3]), 3);
    expect(Array.from(r.values)).toEqual([NaN, NaN, NaN, NaN]);
    expect(Array.from(r.argmax)).toEqual([1, 1, 3, 3]);
    const m = slidingWindowMin(new Float64Array([1, NaN, 5, 4, 2, 3]), 2);
    expect(Array.from(m.values)).toEqual([NaN, NaN, 4, 2, 2]);
  });

  it('matches the naive result on random inputs (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double(), fc.constant(NaN)), { minLength: 1, maxLength: 60 }),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (arr, kSeed, stride) => {
          const x = Float64Array.from(arr);
          const k = 1 + (kSeed % x.length);
          expectMatchesNaive(x, k, stride);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts Float32Array input and an out buffer', () => {
    const x = Float32Array.from([3, 1, 4, 1, 5, 9, 2, 6]);
    expectMatchesNaive(x, 3, 1);
    const out = new Float64Array(3);
    const r = slidingWindowMax(x, 4, 2, out);
    expect(r.values).toBe(out);
    expect(Array.from(out)).toEqual([4, 9, 9]);
    expect(Array.from(r.argmax)).toEqual([2, 5, 5]);
  });

  it('resolves ties to the first maximal index', () => {
    const r = slidingWindowMax(new Float64Array([2, 2, 1, 2, 2]), 3);
    expect(Array.from(r.argmax)).toEqual([0, 1, 3]);
    const m = slidingWindowMin(new Float64Array([0, -0, 0]), 2);
    expect(Array.from(m.argmax)).toEqual([0, 1]);
  });

  it('rejects bad window sizes, strides and out buffers', () => {
    const x = new Float64Array(5);
    expect(() => slidingWindowMax(x, 6)).toThrow('slidingWindowMax: window size k (6) must be at most the input length (5)');
    expect(() => slidingWindowMax(x, 0)).toThrow('slidingWindowMax: window size k must be a positive integer, got 0');
    expect(() => slidingWindowMin(x, 1.5)).toThrow('slidingWindowMin: window size k must be a positive integer, got 1.5');
    expect(() => slidingWindowMax(x, 2, 0)).toThrow('slidingWindowMax: stride must be a positive integer, got 0');
    expect(() => slidingWindowMax(new Float64Array(0), 1)).toThrow(/must be at most the input length \(0\)/);
    expect(() => slidingWindowMax(x, 2, 1, new Float64Array(3))).toThrow(
      'slidingWindowMax: out has length 3, expected 4 windows',
    );
  });

  it('uses at most 3n value comparisons for any k (linear time, flat in k)', () => {
    const n = 20_000;
    const inputs: Record<string, Float64Array> = {
      random: makeData(n, 99, 1000),
      ties: makeData(n, 98, 3),
      increasing: Float64Array.from({ length: n }, (_, i) => i),
      decreasing: Float64Array.from({ length: n }, (_, i) => -i),
      sawtooth: Float64Array.from({ length: n }, (_, i) => i % 97),
      withNaN: makeData(n, 97, 50, 0.01),
    };
    for (const [name, x] of Object.entries(inputs)) {
      for (const k of [1, 2, 3, 10, 100, 1000, 10_000, n]) {
        for (const stride of [1, 3]) {
          for (const fn of [slidingWindowMax, slidingWindowMin]) {
            const stats: SlidingWindowStats = { comparisons: -1 };
            fn(x, k, stride, undefined, stats);
            expect(stats.comparisons, `${name} ${fn.name} k=${k} stride=${stride}`).toBeGreaterThanOrEqual(0);
            expect(stats.comparisons, `${name} ${fn.name} k=${k} stride=${stride}`).toBeLessThanOrEqual(3 * n);
            // The deque argument gives the tighter bound of fewer than 2n.
            expect(stats.comparisons).toBeLessThan(2 * n);
          }
        }
      }
    }
  });
});
