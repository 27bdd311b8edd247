/**
 * The WebAssembly elementwise kernels against the float64 reference kernels
 * (run by switching the native kernels off), on fresh random float32 inputs
 * of odd sizes, in contiguous, strided and transposed layouts, broadcast
 * against each other, with NaN, ±∞ and ±0 mixed in:
 * - correctly rounded ops (add, sub, mul, div, sqrt, max, min, comparisons,
 *   casts, ...) must equal the reference bit for bit;
 * - transcendental ones must be within a stated number of float32 ulps of
 *   the correctly rounded value at every element, and within 1e-6 in
 *   relative norm (for 33 elements or more).
 * Also: f16/bf16 conversions bit-exact on random bit patterns, threaded
 * results identical to single-threaded, and declining other dtypes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { DType } from '../../src/core/dtype.js';
import { setThreads, threadCount } from '../../src/backends/cpu/threads/index.js';
import { elementwiseKernel } from '../../src/backends/cpu/wasm/kernels/ew.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../src/core/float16.js';
import { be, freshSeed, laidOut, maxUlps, mulberry32, onReference, relNorm, sameValues, type Layout } from './kernelHelpers.js';

const seed = freshSeed();
const rng = mulberry32(seed);
const SIZES = [1, 7, 33, 257, 4099];
const LAYOUTS: Layout[] = ['contiguous', 'strided', 'transposed'];
const SPECIALS = [Number.NaN, Infinity, -Infinity, 0, -0];

/** n uniform values in [lo, hi], with specials sprinkled in when asked. */
function values(n: number, lo: number, hi: number, specials = false): number[] {
  const v = Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rng()));
  if (specials) for (let i = 0; i < n; i += 5) v[i] = SPECIALS[Math.floor(rng() * SPECIALS.length)]!;
  return v;
}

/** A 2-d shape of n elements (n × 1 when n is prime-ish), so the transposed layout means something. */
const shape2 = (n: number): number[] => (n % 7 === 0 ? [7, n / 7] : n % 3 === 0 ? [3, n / 3] : [n, 1]);

interface UnaryCase {
  op: string;
  f: (x: Tensor) => Tensor;
  range: [number, number];
  /** ulps allowed (0: bit-exact) */
  ulps: number;
  /** floor of the ulp scale, where the float64 reference itself loses relative accuracy */
  floor?: number;
}

const UNARY: UnaryCase[] = [
  { op: 'neg', f: nb.neg, range: [-5, 5], ulps: 0 },
  { op: 'abs', f: nb.abs, range: [-5, 5], ulps: 0 },
  { op: 'square', f: nb.square, range: [-5, 5], ulps: 0 },
  { op: 'sqrt', f: nb.sqrt, range: [-1, 100], ulps: 0 },
  { op: 'reciprocal', f: nb.reciprocal, range: [-5, 5], ulps: 0 },
  { op: 'rsqrt', f: nb.rsqrt, range: [0, 100], ulps: 1 },
  { op: 'relu', f: nb.relu, range: [-5, 5], ulps: 0 },
  { op: 'floor', f: nb.floor, range: [-5, 5], ulps: 0 },
  { op: 'ceil', f: nb.ceil, range: [-5, 5], ulps: 0 },
  { op: 'round', f: nb.round, range: [-5, 5], ulps: 0 },
  { op: 'trunc', f: nb.trunc, range: [-5, 5], ulps: 0 },
  { op: 'sign', f: nb.sign, range: [-5, 5], ulps: 0 },
  { op: 'clamp', f: (x) => nb.clamp(x, -1, 2), range: [-5, 5], ulps: 0 },
  { op: 'clamp', f: (x) => nb.clamp(x, undefined, 0.5), range: [-5, 5], ulps: 0 },
  { op: 'exp', f: nb.exp, range: [-105, 90], ulps: 1 },
  { op: 'exp', f: nb.exp, range: [-2, 2], ulps: 1 },
  { op: 'expm1', f: nb.expm1, range: [-3, 3], ulps: 3 },
  { op: 'log', f: nb.log, range: [-1, 50], ulps: 1 },
  { op: 'log', f: nb.log, range: [0, 1e-37], ulps: 1 },
  { op: 'log1p', f: nb.log1p, range: [-1, 3], ulps: 2 },
  { op: 'tanh', f: nb.tanh, range: [-10, 10], ulps: 1 },
  { op: 'tanh', f: nb.tanh, range: [-1, 1], ulps: 1 },
  { op: 'sigmoid', f: nb.sigmoid, range: [-90, 30], ulps: 2 },
  { op: 'silu', f: nb.silu, range: [-20, 20], ulps: 3 },
  { op: 'softplus', f: (x) => nb.softplus(x), range: [-30, 30], ulps: 5 },
  // with β ≠ 1, βx is rounded to float32 first: e^{βx} inherits |βx|·2⁻²⁴ relative error in the tail
  { op: 'softplus', f: (x) => nb.softplus(x, 1.5), range: [-30, 30], ulps: 5, floor: 1e-2 },
  { op: 'elu', f: (x) => nb.elu(x, 0.7), range: [-10, 10], ulps: 3 },
  // u is rounded to float32, so σ(2u) inherits ~|2u|·2⁻²⁴ relative error for x < 0 (errors are
  // measured against max(|y|, 2⁻⁴) there); the float64 reference ½x(1 + tanh u) itself cancels below −5
  { op: 'gelu', f: (x) => nb.gelu(x, 'tanh'), range: [-5, 8], ulps: 6, floor: 2 ** -4 },
  { op: 'gelu', f: (x) => nb.gelu(x, 'tanh'), range: [-1, 8], ulps: 3 },
  { op: 'geluErf', f: (x) => nb.gelu(x), range: [-5.5, 8], ulps: 6 },
  { op: 'geluErf', f: (x) => nb.gelu(x), range: [-2, 2], ulps: 5 },
  { op: 'erf', f: nb.erf, range: [-5, 5], ulps: 2 },
  { op: 'erf', f: nb.erf, range: [-1.2, 1.2], ulps: 2 },
];

describe(`elementwise kernels vs the float64 reference (seed ${seed})`, () => {
  it.each(UNARY.map((c) => [`${c.op} on [${c.range}]`, c] as const))('%s', (_name, c) => {
    for (const n of SIZES) {
      const v = values(n, c.range[0], c.range[1], n > 7);
      for (const layout of LAYOUTS) {
        nb.tidy(() => {
          const x = laidOut(v, shape2(n), 'f32', layout);
          const fast = c.f(x).toF64();
          const ref = onReference(() => c.f(x).toF64());
          const { ulps, at } = maxUlps(fast, ref, c.floor);
          const what = `${c.op} n=${n} ${layout}: x=${v[at]} gives ${fast[at]}, reference ${ref[at]}`;
          expect(ulps, what).toBeLessThanOrEqual(c.ulps);
          if (n >= 33) expect(relNorm(fast, ref), what).toBeLessThanOrEqual(1e-6);
        });
      }
    }
  });

  const BIN: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', nb.add], ['sub', nb.sub], ['mul', nb.mul], ['div', nb.div], ['maximum', nb.maximum], ['minimum', nb.minimum],
    ['eq', nb.eq], ['ne', nb.ne], ['lt', nb.lt], ['le', nb.le], ['gt', nb.gt], ['ge', nb.ge],
  ];
  /** shape pairs: equal, row/column broadcast, scalar, rank-changing, and one that needs more than three axes */
  const PAIRS: [number[], number[]][] = [
    [[7, 33], [7, 33]], [[257], [257]], [[7, 33], [33]], [[7, 1], [1, 33]], [[33, 7], [33, 1]], [[257], []], [[], [1]],
    [[3, 1, 5], [4, 1]], [[2, 1, 4, 1, 3], [3, 1, 5, 1]], [[1], [7, 1]], [[0, 3], [3]],
  ];
  it.each(BIN.map(([n, f]) => [n, f] as const))('%s: bit-exact, broadcast, all layouts', (_name, f) => {
    for (const [sa, sb] of PAIRS) {
      const va = values(sa.reduce((p, d) => p * d, 1), -3, 3, true);
      const vb = values(sb.reduce((p, d) => p * d, 1), -3, 3, true);
      for (const la of LAYOUTS) {
        for (const lb of LAYOUTS) {
          nb.tidy(() => {
            const a = laidOut(va, sa, 'f32', la);
            const b = laidOut(vb, sb, 'f32', lb);
            const fast = f(a, b).toF64();
            const ref = onReference(() => f(a, b).toF64());
            expect(sameValues(fast, ref), `[${sa}] ${la} with [${sb}] ${lb}`).toBe(-1);
          });
        }
      }
    }
  });

  it('logical ops on bool masks, logicalNot of floats (NaN is falsy) and of bools, isnan, isfinite', () => {
    for (const n of SIZES) {
      nb.tidy(() => {
        const x = laidOut(values(n, -1, 1, true).map((v, i) => (i % 3 === 0 ? 0 : v)), [n], 'f32', 'strided');
        const y = laidOut(values(n, -1, 1, true), [n], 'f32', 'contiguous');
        const cases: (() => Tensor)[] = [
          () => nb.logicalAnd(nb.gt(x, 0), nb.lt(y, 0.5)),
          () => nb.logicalOr(nb.gt(x, 0), nb.lt(y, 0.5)),
          () => nb.logicalXor(nb.gt(x, 0), nb.lt(y, 0.5)),
          () => nb.logicalNot(x),
          () => nb.logicalNot(nb.gt(y, 0)),
          () => nb.isnan(x),
          () => nb.isfinite(y),
        ];
        cases.forEach((c, k) => expect(sameValues(c().toF64(), onReference(() => c().toF64())), `case ${k}, n=${n}`).toBe(-1));
      });
    }
  });

  it('where with a broadcast condition and broadcast branches', () => {
    const shapes: [number[], number[], number[]][] = [[[7, 33], [7, 33], [7, 33]], [[33], [7, 33], []], [[7, 1], [1, 33], [7, 33]], [[257], [257], [1]]];
    for (const [sc, sa, sb] of shapes) {
      for (const layout of LAYOUTS) {
        nb.tidy(() => {
          const size = (s: number[]): number => s.reduce((p, d) => p * d, 1);
          const c = nb.gt(laidOut(values(size(sc), -1, 1), sc, 'f32', layout), 0);
          const a = laidOut(values(size(sa), -3, 3, true), sa, 'f32', layout);
          const b = laidOut(values(size(sb), -3, 3, true), sb, 'f32', 'contiguous');
          expect(sameValues(nb.where(c, a, b).toF64(), onReference(() => nb.where(c, a, b).toF64())), `${sc} ${sa} ${sb} ${layout}`).toBe(-1);
        });
      }
    }
  });
});

describe(`conversions (seed ${seed})`, () => {
  /** Random float32 bit patterns (every exponent, NaNs, subnormals) plus the rounding edges. */
  function patterns(n: number): Float32Array {
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = (rng() * 2 ** 32) >>> 0;
    const f = new Float32Array(bits.buffer);
    const edges = [65504, 65519.99, 65520, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3.4e38, 1e-40, -0, 0, Infinity, -Infinity, Number.NaN];
    edges.forEach((e, i) => (f[i] = i % 2 ? e : -e));
    return f;
  }

  it('f32 → f16 and f32 → bf16 round to nearest even, bit-exact with core/float16', () => {
    const v = patterns(20001);
    for (const [dtype, enc] of [['f16', f32ToF16Bits], ['bf16', f32ToBf16Bits]] as const) {
      nb.tidy(() => {
        const y = nb.astype(nb.tensor(Array.from(v), [v.length], { dtype: 'f32' }), dtype);
        const bits = be.raw(y.storage) as Uint16Array;
        for (let i = 0; i < v.length; i++) {
          if (Number.isNaN(v[i]!)) expect(Number.isNaN(y.toF64()[i]!), `${dtype} NaN at ${i}`).toBe(true);
          else if (bits[i] !== enc(v[i]!)) expect(bits[i], `${dtype}: ${v[i]} (bits ${new Uint32Array(new Float32Array([v[i]!]).buffer)[0]!.toString(16)})`).toBe(enc(v[i]!));
        }
      });
    }
  });

  it('f16/bf16 → f32, f16 ↔ bf16, bool ↔ f32 equal the reference on every 16-bit pattern', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h);
    for (const [from, to] of [['f16', 'f32'], ['bf16', 'f32'], ['f16', 'bf16'], ['bf16', 'f16']] as const) {
      nb.tidy(() => {
        const s = be.alloc(from, all.length);
        (be.raw(s) as Uint16Array).set(all);
        const x = new nb.Tensor({ storage: s, shape: [all.length], dtype: from });
        expect(sameValues(nb.astype(x, to).toF64(), onReference(() => nb.astype(x, to).toF64())), `${from} → ${to}`).toBe(-1);
      });
    }
    nb.tidy(() => {
      const x = laidOut(values(257, -1, 1, true), [257], 'f32', 'strided');
      const m = nb.astype(x, 'bool');
      expect(sameValues(m.toF64(), onReference(() => nb.astype(x, 'bool').toF64()))).toBe(-1);
      expect(sameValues(nb.astype(m, 'f32').toF64(), onReference(() => nb.astype(m, 'f32').toF64()))).toBe(-1);
    });
  });
});

describe('threads and declining', () => {
  const before = threadCount();
  afterAll(() => setThreads(before));

  it('a split over two threads gives the same bits as one thread (rows, one long row, broadcast)', () => {
    const cases: [string, () => Tensor][] = [];
    nb.tidy(() => {
      const big = nb.tensor(values(300_001, -4, 4), [300_001], { dtype: 'f32' });
      const m = nb.tensor(values(512 * 300, -4, 4), [512, 300], { dtype: 'f32' });
      const row = nb.tensor(values(300, -4, 4), [300], { dtype: 'f32' });
      cases.push(['geluErf long row', () => nb.gelu(big)], ['exp rows', () => nb.exp(m)], ['add broadcast', () => nb.add(m, row)], ['tanh transposed', () => nb.tanh(m.transpose())]);
      for (const [name, f] of cases) {
        setThreads(1);
        const one = f().toF64();
        setThreads(2);
        const two = f().toF64();
        expect(sameValues(two, one), name).toBe(-1);
      }
    });
  });

  it('declines dtypes it has no kernel for (the reference runs)', () => {
    nb.tidy(() => {
      const x = nb.tensor([1, 2, 3], [3], { dtype: 'f64' });
      const i = nb.tensor([1, 2, 3], [3], { dtype: 'i32' });
      const k = elementwiseKernel(be, 'exp');
      expect(k([x], {}, [{ shape: [3], dtype: 'f64' }])).toBeUndefined();
      expect(elementwiseKernel(be, 'add')([i, i], undefined, [{ shape: [3], dtype: 'i32' }])).toBeUndefined();
      expect(Array.from(nb.exp(x).toF64())).toEqual([Math.exp(1), Math.exp(2), Math.exp(3)]);
    });
  });

  it('every elementwise kernel declares the dtypes it runs natively in backendOps()', () => {
    const table = nb.backendOps().find((t) => t.backend === 'cpu')!;
    const row = (op: string) => table.rows.find((r) => r.op === op)!.paths;
    expect(row('add').f32).toBe('native');
    expect(row('add').f64).toBe('reference');
    expect(row('geluErf').f32).toBe('native');
    expect(row('astype').f16).toBe('native');
  });
});

export type { DType };
