/**
 * Dynamic loss scaling: the exact skip/grow schedule of SPEC §4 (start 2^16,
 * halve and skip on inf/NaN, double after 2000 consecutive clean steps),
 * in-place unscaling, a serialisable state, and gradients that underflow
 * float16 without scaling but survive with it.
 */
import { describe, expect, it } from 'vitest';
import { astype, mul, sum, tensor, valueAndGrad, type Tensor } from '../../src/index.js';
import { dynamicLossScale, type LossScaleState } from '../../src/train/lossScale.js';

describe('dynamic loss scaling', () => {
  it('starts at 2^16, halves and skips on overflow, doubles after exactly 2000 clean steps', () => {
    const ls = dynamicLossScale();
    let s = ls.init();
    expect(s).toEqual({ scale: 65536, goodSteps: 0, skipped: 0 });
    const run = (finite: boolean, n = 1): void => {
      for (let i = 0; i < n; i++) s = ls.update(s, finite);
    };
    run(true, 1999);
    expect(s.scale).toBe(65536);
    expect(s.goodSteps).toBe(1999);
    run(true);
    expect(s).toEqual({ scale: 131072, goodSteps: 0, skipped: 0 });
    run(true, 1500);
    run(false); // an overflow halves the scale and restarts the count
    expect(s).toEqual({ scale: 65536, goodSteps: 0, skipped: 1 });
    run(false, 2);
    expect(s).toEqual({ scale: 16384, goodSteps: 0, skipped: 3 });
    run(true, 1999);
    expect(s.scale).toBe(16384);
    run(true);
    expect(s.scale).toBe(32768);
    run(true, 4000);
    expect(s).toEqual({ scale: 131072, goodSteps: 0, skipped: 3 });
  });

  it('follows the same rule for any configuration, within its bounds', () => {
    const ls = dynamicLossScale({ initScale: 8, growthInterval: 3, growthFactor: 4, backoffFactor: 0.25, minScale: 1, maxScale: 64 });
    let s = ls.init();
    const seen: number[] = [];
    for (const finite of [true, true, true, false, false, false, true, true, true, true, true, true, true, true, true]) {
      s = ls.update(s, finite);
      seen.push(s.scale);
    }
    expect(seen).toEqual([8, 8, 32, 8, 2, 1, 1, 1, 4, 4, 4, 16, 16, 16, 64]);
    expect(s.skipped).toBe(3);
  });

  it('unscales in place, reports inf and NaN, and skips the update', () => {
    const ls = dynamicLossScale();
    const s = ls.init();
    const a = tensor([65536, -131072, 32768], [3]);
    const b = tensor([2 ** 15], [1], { dtype: 'f16' });
    expect(ls.unscale({ a, b, c: null }, s)).toBe(true);
    expect([...a.toF64()]).toEqual([1, -2, 0.5]);
    expect(b.item()).toBe(0.5);
    for (const bad of [Infinity, -Infinity, NaN]) {
      let applied = false;
      const r = ls.step(s, [tensor([1, bad], [2]), tensor([3], [1])], () => (applied = true));
      expect(applied).toBe(false);
      expect(r).toEqual({ skipped: true, state: { scale: 32768, goodSteps: 0, skipped: 1 } });
    }
    let applied = false;
    const r = ls.step(s, [tensor([1, 2], [2])], () => (applied = true));
    expect(applied).toBe(true);
    expect(r.state.goodSteps).toBe(1);
  });

  it('has a JSON-serialisable state', () => {
    const ls = dynamicLossScale();
    let s: LossScaleState = ls.init();
    s = ls.update(ls.update(s, false), true);
    const back = ls.fromJSON(JSON.parse(JSON.stringify(s)));
    expect(back).toEqual(s);
    expect(() => ls.fromJSON({ scale: -1, goodSteps: 0, skipped: 0 })).toThrow(/expected \{scale > 0/);
    expect(() => ls.fromJSON(null)).toThrow(/lossScale.fromJSON/);
    expect(() => dynamicLossScale({ growthInterval: 0 })).toThrow('growthInterval must be a positive integer, got 0');
    expect(() => dynamicLossScale({ backoffFactor: 1 })).toThrow('backoffFactor must be < 1, got 1');
  });

  it('keeps float16 gradients that would underflow without it, backing off where 2^16 overflows', () => {
    // loss = Σ 2^-14·(w16·x) with x = 2^-12, reduced in float16 and cast to float32:
    // ∂loss/∂w16 = 2^-26, below float16's smallest subnormal 2^-24
    const x = tensor([2 ** -12, 2 ** -12], [2], { dtype: 'f16' });
    const w = tensor([1, 1], [2]); // float32 master weights
    const loss = (scale: number) => (wm: Tensor) => mul(astype(sum(mul(mul(astype(wm, 'f16'), x), 2 ** -14)), 'f32'), scale);
    const [, [plain]] = valueAndGrad(loss(1))(w);
    expect([...plain!.toF64()]).toEqual([0, 0]); // underflowed in the float16 backward pass
    const ls = dynamicLossScale();
    let s = ls.init();
    const tried: number[] = [];
    let skipped = true;
    let g = plain!;
    while (skipped) {
      tried.push(s.scale);
      g = valueAndGrad(loss(s.scale))(w)[1][0]!;
      ({ state: s, skipped } = ls.step(s, [g], () => {}));
    }
    // 2^16 itself overflows float16 (max 65504) where the cotangent enters the float16 graph: skipped, then halved
    expect(tried).toEqual([65536, 32768]);
    expect([...g.toF64()]).toEqual([2 ** -26, 2 ** -26]); // exact, in the float32 master gradient
  });
});
