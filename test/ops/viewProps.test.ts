/**
 * Property tests (fast-check) for views and indexing: round trips, slicing
 * against Python's semantics, broadcasting laws, that views allocate nothing,
 * and that bad input is refused with a message naming the op and the argument.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';
import { broadcastShapes, shapeStr } from '../../src/core/shape.js';

const dims = (max = 4): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 1, max }), { minLength: 1, maxLength: 4 });
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
/** A tensor of distinct values, so equal arrays mean equal placements. */
const iota = (shape: number[]): nb.Tensor => nb.reshape(nb.arange(0, prod(shape), 1, { dtype: 'f64' }), shape);
const vals = (t: nb.Tensor): number[] => Array.from(t.toF64());
const permOf = (n: number): fc.Arbitrary<number[]> => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
const RUNS = { numRuns: 60 };

describe('view round trips', () => {
  it('permute then the inverse permutation is the identity', () => {
    fc.assert(
      fc.property(dims().chain((s) => fc.tuple(fc.constant(s), permOf(s.length))), ([s, p]) =>
        nb.tidy(() => {
          const x = iota(s);
          const y = nb.permute(x, p);
          expect(y.shape).toEqual(p.map((a) => s[a]));
          const back = nb.permute(y, nb.inversePermutation(p));
          expect(back.shape).toEqual(s);
          expect(vals(back)).toEqual(vals(x));
        }),
      ),
      RUNS,
    );
  });

  it('transpose twice is the identity; transpose moves element (i, j) to (j, i)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (m, n) =>
        nb.tidy(() => {
          const x = iota([m, n]);
          const t = x.t();
          expect(t.toArray()).toEqual((x.toArray() as number[][])[0]!.map((_, j) => (x.toArray() as number[][]).map((row) => row[j])));
          expect(vals(nb.transpose(t))).toEqual(vals(x));
        }),
      ),
      RUNS,
    );
  });

  it('reshape round trip through any factorisation', () => {
    fc.assert(
      fc.property(dims(), dims(), (a, b) =>
        nb.tidy(() => {
          const x = iota([...a, ...b]);
          const y = nb.reshape(nb.transpose(nb.reshape(x, [prod(a), prod(b)])), [prod(b), prod(a)]);
          const back = nb.reshape(nb.transpose(y), [...a, ...b]);
          expect(vals(back)).toEqual(vals(x));
        }),
      ),
      RUNS,
    );
  });

  it('split of a concat returns the parts', () => {
    const arb = fc.tuple(dims(3), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 })).chain(([s, sizes]) =>
      fc.tuple(fc.constant(s), fc.constant(sizes), fc.integer({ min: 0, max: s.length - 1 })),
    );
    fc.assert(
      fc.property(arb, ([s, sizes, axis]) =>
        nb.tidy(() => {
          const parts = sizes.map((n, k) => nb.add(iota(s.map((d, i) => (i === axis ? n : d))), 1000 * k));
          const back = nb.split(nb.concat(parts, axis), sizes, axis);
          back.forEach((b, k) => {
            expect(b.shape).toEqual(parts[k]!.shape);
            expect(vals(b)).toEqual(vals(parts[k]!));
          });
        }),
      ),
      RUNS,
    );
  });

  it('flip twice is the identity, and flip reverses', () => {
    fc.assert(
      fc.property(dims().chain((s) => fc.tuple(fc.constant(s), fc.subarray([...s.keys()]))), ([s, axes]) =>
        nb.tidy(() => {
          const x = iota(s);
          expect(vals(nb.flip(nb.flip(x, axes), axes))).toEqual(vals(x));
          if (s.length === 1 && axes.length === 1) expect(vals(nb.flip(x, axes))).toEqual(vals(x).reverse());
        }),
      ),
      RUNS,
    );
  });

  it('unsqueeze then squeeze of the same axis is the identity', () => {
    fc.assert(
      fc.property(dims().chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: -s.length - 1, max: s.length }))), ([s, ax]) =>
        nb.tidy(() => {
          const x = iota(s);
          const u = nb.unsqueeze(x, ax);
          const pos = ax < 0 ? ax + s.length + 1 : ax;
          expect(u.shape[pos]).toBe(1);
          expect(u.ndim).toBe(s.length + 1);
          const back = nb.squeeze(u, ax);
          expect(back.shape).toEqual(s);
          expect(vals(back)).toEqual(vals(x));
        }),
      ),
      RUNS,
    );
  });
});

/** Python's x[start:stop:step] on 0..n-1, by membership rather than by counting. */
function pythonSlice(n: number, start: number | undefined, stop: number | undefined, step: number): number[] {
  const norm = (v: number): number => (v < 0 ? v + n : v);
  const out: number[] = [];
  if (step > 0) {
    const lo = start === undefined ? 0 : Math.max(0, norm(start));
    const hi = stop === undefined ? n : Math.min(n, norm(stop));
    for (let i = 0; i < n; i++) if (i >= lo && i < hi && (i - lo) % step === 0) out.push(i);
  } else {
    const hi = start === undefined ? n - 1 : Math.min(n - 1, norm(start));
    const lo = stop === undefined ? -1 : Math.max(-1, norm(stop));
    for (let i = n - 1; i >= 0; i--) if (i <= hi && i > lo && (hi - i) % -step === 0) out.push(i);
  }
  return out;
}

describe('slice follows Python', () => {
  it('known answers', () =>
    nb.tidy(() => {
      const x = iota([10]);
      expect(vals(nb.slice(x, [{ start: -3, stop: 2, step: -1 }]))).toEqual([7, 6, 5, 4, 3]);
      expect(vals(nb.slice(x, [{ step: -4 }]))).toEqual([9, 5, 1]);
      expect(vals(nb.slice(x, [{ start: 100 }]))).toEqual([]);
      expect(vals(nb.slice(x, [{ start: 3, stop: -100, step: -1 }]))).toEqual([3, 2, 1, 0]);
      expect(nb.slice(iota([2, 3]), [-1, 1]).shape).toEqual([]);
    }));

  it('on random bounds and steps', () => {
    const bound = fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined });
    const step = fc.integer({ min: -4, max: 4 }).filter((k) => k !== 0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), bound, bound, step, (n, a, b, k) =>
        nb.tidy(() => {
          const y = nb.slice(iota([n]), [{ start: a, stop: b, step: k }]);
          expect(vals(y)).toEqual(pythonSlice(n, a, b, k));
        }),
      ),
      { numRuns: 300 },
    );
  });
});

describe('broadcasting laws', () => {
  /** a base shape with some axes 1 and a target it broadcasts to (extra leading axes, ones expanded) */
  const pair = fc
    .tuple(dims(3), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }))
    .chain(([full, lead]) => fc.tuple(fc.constant([...lead, ...full]), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length })).map(([t, ones]) => ({ target: t, base: full.map((d, i) => (ones[i] ? 1 : d)) })));

  it('sumTo(broadcastTo(x, S), shape of x) is x times the broadcast factor', () => {
    fc.assert(
      fc.property(pair, ({ target, base }) =>
        nb.tidy(() => {
          const x = iota(base);
          const y = nb.sumTo(nb.broadcastTo(x, target), base);
          const factor = prod(target) / prod(base);
          expect(y.shape).toEqual(base);
          expect(vals(y)).toEqual(vals(x).map((v) => v * factor));
        }),
      ),
      RUNS,
    );
  });

  /** shapes that broadcast together: suffixes of one full shape with random axes set to 1 */
  const compatible = dims(4).chain((full) => {
    const one = fc.tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length })).map(([cut, ones]) => full.slice(cut).map((d, i) => (ones[i + cut] ? 1 : d)));
    return fc.tuple(one, one, one);
  });

  it('broadcastShapes is commutative and associative', () => {
    fc.assert(
      fc.property(compatible, ([a, b, c]) => {
        const bs = (x: number[], y: number[]): number[] => broadcastShapes('test', [x, y]);
        expect(bs(a, b)).toEqual(bs(b, a));
        expect(bs(bs(a, b), c)).toEqual(bs(a, bs(b, c)));
        expect(broadcastShapes('test', [a, b, c])).toEqual(bs(bs(a, b), c));
      }),
      RUNS,
    );
  });

  it('incompatible shapes throw an error naming both shapes', () => {
    const arb = fc
      .tuple(fc.array(fc.integer({ min: 2, max: 5 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 3 }))
      .map(([a, pos, bump]) => {
        const b = a.slice();
        b[pos % a.length]! += bump;
        return [a, b] as const;
      });
    fc.assert(
      fc.property(arb, ([a, b]) => {
        expect(() => broadcastShapes('add', [a, b], ['a', 'b'])).toThrow(`a is ${shapeStr(a)}, b is ${shapeStr(b)}`);
        nb.tidy(() => {
          expect(() => nb.add(nb.zeros(a), nb.zeros(b))).toThrow(`add: shapes do not broadcast: a is ${shapeStr(a)}, b is ${shapeStr(b)}`);
        });
      }),
      RUNS,
    );
  });
});

describe('views share storage', () => {
  it('no new bytes for permute, transpose, slice, squeeze, unsqueeze, flip, broadcastTo, reshape, split', () => {
    fc.assert(
      fc.property(dims().chain((s) => fc.tuple(fc.constant(s), permOf(s.length))), ([s, p]) =>
        nb.tidy(() => {
          const x = iota([...s, 1]);
          const before = nb.memory().liveBytes;
          const views = [
            nb.permute(x, [...p, s.length]),
            nb.transpose(x, 0, -1),
            nb.slice(x, [{ step: -1 }, ...s.slice(1).map(() => ({ start: 0, step: 2 }))]),
            nb.squeeze(x),
            nb.unsqueeze(x, 0),
            nb.flip(x),
            nb.broadcastTo(x, [2, ...s, 3]),
            nb.reshape(x, [-1]),
            ...nb.split(x, [1, s[0]! - 1]),
          ];
          expect(nb.memory().liveBytes).toBe(before);
          for (const v of views) expect(v.storage).toBe(x.storage);
        }),
      ),
      RUNS,
    );
  });
});

describe('gather against a naive loop', () => {
  it('on random shapes, axes and indices', () => {
    const arb = dims(4).chain((s) =>
      fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc
          .tuple(...s.map((d, i) => fc.integer({ min: i === axis ? 1 : 1, max: i === axis ? 5 : d })))
          .chain((is) => fc.tuple(fc.constant(s), fc.constant(axis), fc.constant(is), fc.array(fc.integer({ min: 0, max: s[axis]! - 1 }), { minLength: prod(is), maxLength: prod(is) }))),
      ),
    );
    fc.assert(
      fc.property(arb, ([s, axis, is, idx]) =>
        nb.tidy(() => {
          const x = iota(s);
          const y = nb.gather(x, axis, nb.tensor(idx, is, { dtype: 'i32' }));
          const strides = s.map((_, i) => prod(s.slice(i + 1)));
          const istr = is.map((_, i) => prod(is.slice(i + 1)));
          const want = idx.map((v, k) => is.reduce((acc, _, d) => acc + (d === axis ? v : Math.floor(k / istr[d]!) % is[d]!) * strides[d]!, 0));
          expect(vals(y)).toEqual(want);
        }),
      ),
      RUNS,
    );
  });
});

describe('composites leave nothing behind', () => {
  it('roll, stack, split, transpose and an index slice return only their results', () => {
    const x = iota([3, 4]);
    const calls: [string, () => nb.Tensor | nb.Tensor[]][] = [
      ['roll', () => nb.roll(x, [1, 2], [0, 1])],
      ['roll flat', () => nb.roll(x, 5)],
      ['stack', () => nb.stack([x, x, x], -1)],
      ['split', () => nb.split(x, [1, 3], 1)],
      ['transpose', () => nb.transpose(x)],
      ['slice with an index', () => nb.slice(x, [1, { step: -1 }])],
    ];
    for (const [name, f] of calls) {
      const before = nb.memory().liveTensors;
      const r = f();
      const outs = Array.isArray(r) ? r : [r];
      expect(nb.memory().liveTensors - before, name).toBe(outs.length);
      outs.forEach((o) => o.dispose());
      expect(nb.memory().liveTensors, name).toBe(before);
    }
    x.dispose();
  });
});
