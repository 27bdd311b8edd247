/**
 * Property tests (fast-check) for reductions, softmax and scans: algebraic laws
 * that hold on any shape and any values, the gradient conventions at ties and
 * zeros, stability at large magnitudes, and bad input refused with clear errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';

const RUNS = { numRuns: 60 };
const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const vals = (t: nb.Tensor): number[] => Array.from(t.toF64());
/** A shape and that many float64 values in [-5, 5]. */
const shaped = dims.chain((s) => fc.tuple(fc.constant(s), fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: size(s), maxLength: size(s) })));
const f64 = (v: number[], s: number[]): nb.Tensor => nb.tensor(v, s, { dtype: 'f64' });
/** Two disjoint sets of axes of a rank-r tensor (each element goes to A, B or neither). */
const twoAxisSets = (r: number) => fc.array(fc.integer({ min: 0, max: 2 }), { minLength: r, maxLength: r }).map((tags) => [tags.flatMap((t, i) => (t === 1 ? [i] : [])), tags.flatMap((t, i) => (t === 2 ? [i] : []))] as const);

function close(a: number[], b: number[], tol = 1e-10): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!), `index ${i}: ${v} vs ${b[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!))));
}

describe('reduction laws', () => {
  it('sum over A then over B equals sum over A ∪ B (keepdim keeps axis numbers stable)', () => {
    fc.assert(
      fc.property(shaped.chain(([s, v]) => fc.tuple(fc.constant(s), fc.constant(v), twoAxisSets(s.length))), ([s, v, [A, B]]) =>
        nb.tidy(() => {
          const x = f64(v, s);
          const twoStep = nb.sum(nb.sum(x, A, true), B, true);
          const oneStep = nb.sum(x, [...A, ...B], true);
          expect(twoStep.shape).toEqual(oneStep.shape);
          close(vals(twoStep), vals(oneStep));
        }),
      ),
      RUNS,
    );
  });

  it('the sum of a concatenation is the sum of the parts; of a k-fold broadcast, k times the sum', () => {
    fc.assert(
      fc.property(shaped, fc.integer({ min: 1, max: 3 }), ([s, v], k) =>
        nb.tidy(() => {
          const x = f64(v, s);
          const y = nb.mul(x, 0.5);
          close(vals(nb.sum(nb.concat([x, y], 0), 0)), vals(nb.add(nb.sum(x, 0), nb.sum(y, 0))));
          close([nb.sum(nb.broadcastTo(x, [k, ...s])).item()], [k * nb.sum(x).item()]);
        }),
      ),
      RUNS,
    );
  });

  it('mean · n = sum over any axes', () => {
    fc.assert(
      fc.property(shaped.chain(([s, v]) => fc.tuple(fc.constant(s), fc.constant(v), twoAxisSets(s.length))), ([s, v, [A]]) =>
        nb.tidy(() => {
          const x = f64(v, s);
          const n = A.reduce((p, a) => p * s[a]!, 1);
          close(vals(nb.mul(nb.mean(x, A), n)), vals(nb.sum(x, A)));
        }),
      ),
      RUNS,
    );
  });

  it('max is ≥ every element and attained; argmax points at it (the first one); same for min', () => {
    const tieProne = dims.chain((s) => fc.tuple(fc.constant(s), fc.array(fc.integer({ min: -2, max: 2 }), { minLength: size(s), maxLength: size(s) }), fc.integer({ min: 0, max: s.length - 1 })));
    fc.assert(
      fc.property(tieProne, ([s, v, axis]) =>
        nb.tidy(() => {
          const x = f64(v, s);
          for (const [red, arg, cmp] of [[nb.max, nb.argmax, nb.ge], [nb.min, nb.argmin, nb.le]] as const) {
            const m = red(x, axis, true);
            expect(nb.all(cmp(m, x)).item()).toBe(1);
            expect(vals(nb.all(nb.any(nb.eq(x, m), axis), undefined))).toEqual([1]);
            const i = arg(x, axis, true);
            expect(i.dtype).toBe('i32');
            close(vals(nb.gather(x, axis, i)), vals(m));
            // first index on ties: nothing before the argmax along the axis equals the extremum
            const pos = nb.reshape(nb.arange(0, s[axis]!, 1, { dtype: 'i32' }), s.map((d, k) => (k === axis ? d : 1)));
            expect(nb.any(nb.logicalAnd(nb.eq(x, m), nb.lt(pos, i))).item()).toBe(0);
          }
        }),
      ),
      RUNS,
    );
  });

  it("cumsum's last element is the sum; reverse cumsum's first element is the sum; cumprod's last is the prod", () => {
    fc.assert(
      fc.property(shaped.chain(([s, v]) => fc.tuple(fc.constant(s), fc.constant(v), fc.integer({ min: 0, max: s.length - 1 }))), ([s, v, axis]) =>
        nb.tidy(() => {
          const x = f64(v, s);
          const n = s[axis]!;
          const at = (t: nb.Tensor, k: number): nb.Tensor => nb.squeeze(nb.slice(t, s.map((_, d) => (d === axis ? { start: k, stop: k + 1 } : {}))), axis);
          close(vals(at(nb.cumsum(x, axis), n - 1)), vals(nb.sum(x, axis)));
          close(vals(at(nb.cumsum(x, axis, { reverse: true }), 0)), vals(nb.sum(x, axis)));
          close(vals(at(nb.cumprod(x, axis), n - 1)), vals(nb.prod(x, axis)));
        }),
      ),
      RUNS,
    );
  });
});

describe('softmax and logsumexp laws', () => {
  it('logsumexp(x + c) = logsumexp(x) + c, even for c = ±1000', () => {
    fc.assert(
      fc.property(shaped, fc.double({ min: -1000, max: 1000, noNaN: true }), ([s, v], c) =>
        nb.tidy(() => {
          const x = f64(v, s);
          close(vals(nb.logsumexp(nb.add(x, c), -1)), vals(nb.add(nb.logsumexp(x, -1), c)), 1e-12);
        }),
      ),
      RUNS,
    );
  });

  it('softmax rows are positive and sum to 1, and adding a per-row constant changes nothing', () => {
    fc.assert(
      fc.property(shaped, fc.double({ min: -800, max: 800, noNaN: true }), ([s, v], c) =>
        nb.tidy(() => {
          const x = f64(v, s);
          const p = nb.softmax(x);
          expect(vals(p).every((q) => q > 0)).toBe(true);
          close(vals(nb.sum(p, -1)), new Array(size(s.slice(0, -1))).fill(1));
          const shift = nb.mul(nb.sum(x, -1, true), 0.3); // a different constant on every row
          close(vals(nb.softmax(nb.add(nb.add(x, shift), c))), vals(p), 1e-9);
          close(vals(nb.exp(nb.logSoftmax(x))), vals(p), 1e-12);
        }),
      ),
      RUNS,
    );
  });

  it('logsumexp and softmax stay finite where a naive exp overflows (f64 at 1000, f32 at 100)', () => {
    nb.tidy(() => {
      const big = nb.tensor([1000, 1001, 999], [3], { dtype: 'f64' });
      expect(Math.log(Math.exp(1000) + Math.exp(1001) + Math.exp(999))).toBe(Infinity); // the naive formula
      const expected = 1001 + Math.log(Math.exp(-1) + 1 + Math.exp(-2));
      close([nb.logsumexp(big).item()], [expected], 1e-14);
      const g = nb.grad((x: nb.Tensor) => nb.logsumexp(x))(big) as nb.Tensor;
      const z = Math.exp(-1) + 1 + Math.exp(-2);
      close(vals(g), [Math.exp(-1) / z, 1 / z, Math.exp(-2) / z], 1e-14);
      const f32 = nb.tensor([100, 101, 99], [3], { dtype: 'f32' });
      expect(nb.exp(f32).toF64()[0]).toBe(Infinity);
      close([nb.logsumexp(f32).item()], [expected - 900], 1e-6);
      close(vals(nb.softmax(f32)), vals(g), 1e-6);
    });
  });

  it('masked entries (−∞) get probability 0; a fully masked row has logsumexp −∞', () => {
    nb.tidy(() => {
      const x = nb.tensor([[0, -Infinity, 1], [-Infinity, -Infinity, -Infinity]], { dtype: 'f64' });
      const p = nb.softmax(nb.slice(x, [{ start: 0, stop: 1 }]));
      close(vals(p), [1 / (1 + Math.E), 0, Math.E / (1 + Math.E)]);
      expect(vals(nb.logsumexp(x, -1))[1]).toBe(-Infinity);
    });
  });
});

describe('gradient conventions', () => {
  const g = (f: (x: nb.Tensor) => nb.Tensor, v: number[], s = [v.length]): number[] => vals(nb.grad(f)(nb.tensor(v, s, { dtype: 'f64' })) as nb.Tensor);

  it('max/min split the gradient equally among ties (PyTorch amax/amin), in both modes', () => {
    nb.tidy(() => {
      expect(g((x) => nb.max(x), [1, 3, 3, 2])).toEqual([0, 0.5, 0.5, 0]);
      expect(g((x) => nb.min(x), [1, 3, 1, 1])).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
      // per group over axis 0 of [[5, 1], [5, 2]]: the first column ties, the second does not
      expect(g((x) => nb.sum(nb.mul(nb.max(x, 0), nb.tensor([1, 10], { dtype: 'f64' }))), [5, 1, 5, 2], [2, 2])).toEqual([0.5, 0, 0.5, 10]);
      const [, t] = nb.jvp((x: nb.Tensor) => nb.max(x), [nb.tensor([2, 7, 7], { dtype: 'f64' })], [nb.tensor([1, 4, 6], { dtype: 'f64' })]);
      expect(t.item()).toBe(5);
    });
  });

  it("prod's gradient is exact at zeros (the product of the others), to second order", () => {
    nb.tidy(() => {
      expect(g((x) => nb.prod(x), [2, 0, 3])).toEqual([0, 6, 0]);
      expect(g((x) => nb.prod(x), [0, 0, 3])).toEqual([0, 0, 0]);
      // ∂²(x0·x1·x2)/∂x0∂x1 = x2 = 3 even though x0 = x1 = 0 (a y/x formula would give NaN or 0)
      const hessRow0 = g((x) => nb.sum(nb.mul(nb.grad((y: nb.Tensor) => nb.prod(y))(x) as nb.Tensor, nb.tensor([1, 0, 0], { dtype: 'f64' }))), [0, 0, 3]);
      expect(hessRow0).toEqual([0, 3, 0]);
    });
  });

  it("cumprod's gradient is exact at zeros: Σ_{i≥k} g_i ∏_{j≤i, j≠k} x_j", () => {
    nb.tidy(() => {
      const x = [2, 0, 3, 0, 5];
      const c = [1, -1, 2, 0.5, 3];
      const naive = x.map((_, k) => c.reduce((s, ci, i) => (i < k ? s : s + ci * x.slice(0, i + 1).reduce((p, xj, j) => (j === k ? p : p * xj), 1)), 0));
      expect(g((t) => nb.sum(nb.mul(nb.cumprod(t, 0), nb.tensor(c, { dtype: 'f64' }))), x)).toEqual(naive);
    });
  });
});

describe('memory', () => {
  it('composites leave only their result alive (forward, backward and forward-mode)', () => {
    const logits = nb.tensor([[1, 2, 3], [0, -1, 4]], { dtype: 'f64' });
    const target = nb.tensor([2, 0], { dtype: 'i32' });
    const x = nb.tensor([0.5, 0, 2, 3], [2, 2], { dtype: 'f64' });
    const b = nb.tensor([1, 2], { dtype: 'f64' });
    const before = nb.memory().liveTensors;
    const fns: (() => nb.Tensor)[] = [
      () => nb.crossEntropy(logits, target, { labelSmoothing: 0.1 }),
      () => nb.logSoftmax(logits),
      () => nb.variance(logits, 1),
      () => nb.norm(x),
      () => nb.prod(x, 1),
      () => nb.exclusiveProd(x, [0, 1]),
      () => nb.linearRecurrence(x, b, 1),
    ];
    for (const f of fns) {
      const y = f();
      expect(nb.memory().liveTensors - before, f.toString()).toBe(1);
      y.dispose();
    }
    const g = nb.grad((l: nb.Tensor) => nb.crossEntropy(l, target))(logits) as nb.Tensor;
    g.dispose();
    const [y, t] = nb.jvp((z: nb.Tensor) => nb.cumprod(z, 1), [x], [x]);
    y.dispose();
    t.dispose();
    expect(nb.memory().liveTensors).toBe(before);
  });
});

describe('bad input', () => {
  const x = (): nb.Tensor => nb.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'f64' });

  it('axis out of range names the op, the axis and the rank', () => {
    expect(() => nb.max(x(), 2)).toThrow(/max: axis 2 is out of range for a tensor of rank 2/);
    expect(() => nb.argmax(x(), -3)).toThrow(/argmax: axis -3 is out of range/);
    expect(() => nb.cumsum(x(), 5)).toThrow(/cumsum: axis 5 is out of range/);
    expect(() => nb.softmax(x(), 2)).toThrow(/softmax: axis 2 is out of range/);
    expect(() => nb.crossEntropy(x(), nb.tensor([0, 1], { dtype: 'i32' }), { axis: 3 })).toThrow(/crossEntropy: axis 3 is out of range/);
    expect(() => nb.sum(x(), [1, -1])).toThrow(/repeated axis/);
  });

  it('reductions without an identity refuse empty groups', () => {
    const e = nb.zeros([2, 0], { dtype: 'f64' });
    expect(() => nb.max(e, 1)).toThrow(/max: cannot reduce over axis 1 of size 0 \(x is \[2,0\]\)/);
    expect(() => nb.argmin(e)).toThrow(/argmin: x is \[2,0\]: cannot take the argmin of an empty tensor/);
    expect(nb.sum(e, 1).toArray()).toEqual([0, 0]);
    expect(nb.prod(e, 1).toArray()).toEqual([1, 1]);
  });

  it('crossEntropy names a bad class index and the number of classes', () => {
    const logits = nb.zeros([3, 4], { dtype: 'f64' });
    expect(() => nb.crossEntropy(logits, nb.tensor([0, 4, 1], { dtype: 'i32' }))).toThrow(/class index 4 at flat position 1, but there are 4 classes/);
    expect(() => nb.crossEntropy(logits, nb.tensor([0, -1, 1], { dtype: 'i32' }))).toThrow(/class index -1 .* 4 classes/);
    expect(() => nb.nllLoss(logits, nb.tensor([9, 0, 0], { dtype: 'i32' }))).toThrow(/nllLoss: target has class index 9 .* 4 classes/);
    expect(() => nb.crossEntropy(logits, nb.tensor([0, 1], { dtype: 'i32' }))).toThrow(/target is \[2\] but the input \[3,4\] without its class axis 1 is \[3\]/);
    expect(() => nb.crossEntropy(logits, nb.zeros([3, 5], { dtype: 'f64' }))).toThrow(/probability target is \[3,5\] but logits are \[3,4\]/);
    expect(() => nb.crossEntropy(logits, nb.tensor([0, 1, 2], { dtype: 'i32' }), { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be in \[0, 1\], got 1.5/);
    expect(() => nb.crossEntropy(logits, nb.tensor([0, 1, 2], { dtype: 'i32' }), { reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'mean', 'sum' or 'none', got avg/);
  });

  it('losses refuse mismatched shapes instead of broadcasting silently; statistics check their options', () => {
    expect(() => nb.mseLoss(nb.zeros([3, 1], { dtype: 'f64' }), nb.zeros([3], { dtype: 'f64' }))).toThrow(/mseLoss: a is \[3,1\] but b is \[3\]/);
    expect(() => nb.binaryCrossEntropyWithLogits(nb.zeros([2], { dtype: 'f64' }), nb.zeros([3], { dtype: 'f64' }))).toThrow(/logits is \[2\] but target is \[3\]/);
    expect(() => nb.variance(x(), 0, { correction: -1 })).toThrow(/variance: correction must be a non-negative number, got -1/);
    expect(() => nb.norm(x(), 3)).toThrow(/norm: p must be 1, 2 or Infinity, got 3/);
    expect(() => nb.shiftAxis(x(), 0, 0.5)).toThrow(/shiftAxis: by must be an integer, got 0.5/);
    expect(() => nb.linearRecurrence(nb.zeros([2, 3]), nb.zeros([4, 3]), 1)).toThrow(/shapes do not broadcast/);
  });
});
