/**
 * The parallel (associative) scan equals the sequential recurrence: real and
 * complex, any length (odd lengths pad), any axis, values and gradients; the
 * selective scan's parallel form equals its sequential twin; peak memory of
 * the parallel scan grows linearly in L.
 */
import { describe, expect, it } from 'vitest';
import { linearRecurrence, tidy, memory, resetPeakMemory, astype, exp, neg, slice, stack, add, sub, mul, type Tensor } from '../../src/index.js';
import { associativeScan, complexAssociativeScan, selectiveScanParallel } from '../../src/zoo/ssm/parallelScan.js';
import { selectiveScanRef } from '../../src/zoo/ssm/selectiveScan.ref.js';
import { expectRel, sampler, valuesAndGrads } from './helpers.js';

describe('associativeScan', () => {
  it.each([1, 2, 3, 8, 13, 37])('equals linearRecurrence for L = %i (values and gradients, float64)', (L) => {
    tidy(() => {
      const s = sampler(L);
      const a = s.uniform([2, L, 3], -1, 1);
      const b = s.normal([2, L, 3]);
      const w = [s.normal([2, L, 3])];
      const [got, gg] = valuesAndGrads((x, y) => [associativeScan(x, y, 1)], [a, b], w);
      const [want, wg] = valuesAndGrads((x, y) => [linearRecurrence(x, y, 1)], [a, b], w);
      expectRel(got[0]!, want[0]!, 1e-10, 'h');
      expectRel(gg[0]!, wg[0]!, 1e-10, 'da');
      expectRel(gg[1]!, wg[1]!, 1e-10, 'db');
    });
  });

  it('scans the last axis and the first axis too', () => {
    tidy(() => {
      const s = sampler(3);
      const a = s.uniform([5, 4, 11], -1, 1);
      const b = s.normal([5, 4, 11]);
      expectRel(associativeScan(a, b, -1), linearRecurrence(a, b, -1), 1e-10, 'last axis');
      expectRel(associativeScan(a, b, 0), linearRecurrence(a, b, 0), 1e-10, 'first axis');
    });
  });

  it('float32 agrees with the float64 loop to 1e-5', () => {
    tidy(() => {
      const s = sampler(4);
      const a = s.uniform([64, 8], 0.5, 1);
      const b = s.normal([64, 8]);
      expectRel(associativeScan(astype(a, 'f32'), astype(b, 'f32'), 0), linearRecurrence(a, b, 0), 1e-5, 'f32');
    });
  });

  it('rejects mismatched shapes, naming both', () => {
    tidy(() => {
      const s = sampler(5);
      expect(() => associativeScan(s.normal([3, 2]), s.normal([3, 3]), 0)).toThrow(/a is \[3,2\] but b is \[3,3\]/);
    });
  });

  it('peak memory grows linearly in L', () => {
    const peak = (L: number): number =>
      tidy(() => {
        const s = sampler(6);
        const a = astype(s.uniform([L, 64], 0.5, 1), 'f32');
        const b = astype(s.normal([L, 64]), 'f32');
        const before = memory().liveBytes;
        resetPeakMemory();
        associativeScan(a, b, 0).dispose();
        return memory().peakBytes - before;
      });
    const r = peak(4096) / peak(1024);
    expect(r).toBeGreaterThan(3);
    expect(r).toBeLessThan(5);
  });
});

describe('complexAssociativeScan', () => {
  it('equals the complex loop hₜ = aₜhₜ₋₁ + bₜ, values and gradients', () => {
    tidy(() => {
      const s = sampler(7);
      const L = 19;
      const xs = [s.uniform([L, 3], -0.7, 0.7), s.uniform([L, 3], -0.7, 0.7), s.normal([L, 3]), s.normal([L, 3])];
      const ws = [s.normal([L, 3]), s.normal([L, 3])];
      // the loop, one step at a time in tensor ops: (hr + i·hi) ← (ar + i·ai)(hr + i·hi) + (br + i·bi)
      const loop = (ar: Tensor, ai: Tensor, br: Tensor, bi: Tensor): Tensor[] => {
        const at = (x: Tensor, t: number) => slice(x, [t]);
        let hr = at(br, 0);
        let hi = at(bi, 0);
        const outR = [hr];
        const outI = [hi];
        for (let t = 1; t < L; t++) {
          const nr = add(sub(mul(at(ar, t), hr), mul(at(ai, t), hi)), at(br, t));
          const ni = add(add(mul(at(ar, t), hi), mul(at(ai, t), hr)), at(bi, t));
          [hr, hi] = [nr, ni];
          outR.push(hr);
          outI.push(hi);
        }
        return [stack(outR), stack(outI)];
      };
      const [got, gg] = valuesAndGrads((ar, ai, br, bi) => complexAssociativeScan(ar!, ai!, br!, bi!, 0), xs, ws);
      const [want, wg] = valuesAndGrads((ar, ai, br, bi) => loop(ar!, ai!, br!, bi!), xs, ws);
      expectRel(got[0]!, want[0]!, 1e-10, 'Re h');
      expectRel(got[1]!, want[1]!, 1e-10, 'Im h');
      gg.forEach((g, k) => expectRel(g, wg[k]!, 1e-10, `gradient ${k}`));
    });
  });
});

describe('selectiveScanParallel', () => {
  it('equals the sequential twin in values and all gradients (float64)', () => {
    tidy(() => {
      const s = sampler(8);
      const [b, L, d, N] = [2, 13, 3, 4];
      const xs = [s.normal([b, L, d]), s.normal([b, L, d], { scale: 0.5, shift: -1 }), neg(exp(s.normal([d, N]))), s.normal([b, L, N]), s.normal([b, L, N]), s.normal([d]), s.normal([b, L, d]), s.normal([d])];
      const ws = [s.normal([b, L, d]), s.normal([b, d, N])];
      const args = (ys: Tensor[]) => ({ u: ys[0]!, delta: ys[1]!, A: ys[2]!, B: ys[3]!, C: ys[4]!, D: ys[5]!, z: ys[6]!, deltaBias: ys[7]! });
      const [got, gg] = valuesAndGrads((...ys) => selectiveScanParallel(args(ys), { deltaSoftplus: true }), xs, ws);
      const [want, wg] = valuesAndGrads((...ys) => selectiveScanRef(args(ys), { deltaSoftplus: true }), xs, ws);
      got.forEach((g, k) => expectRel(g, want[k]!, 1e-10, `output ${k}`));
      gg.forEach((g, k) => expectRel(g, wg[k]!, 1e-10, `gradient ${k}`));
    });
  });
});
