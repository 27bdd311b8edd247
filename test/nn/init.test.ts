/**
 * Initialisers: gains and fans as PyTorch defines them, and each
 * distribution's support and variance on a large draw (fixed keys, so the
 * checks are deterministic; tolerances are many standard errors wide).
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { erf } from '../../src/core/special.js';

const { init } = nn;
const key = nb.randomKey(5);

/** min, max, mean and (population) variance of a tensor's values. */
function stats(t: nb.Tensor): { min: number; max: number; mean: number; variance: number } {
  const v = t.toF64();
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { min: Math.min(...v), max: Math.max(...v), mean, variance };
}

describe('gains and fans', () => {
  it('calculateGain matches torch.nn.init.calculate_gain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('swish' as never)).toThrow(/unknown nonlinearity 'swish'/);
  });

  it('fans of (out, in, k…) weights', () => {
    expect(init.fans([5, 3])).toEqual({ fanIn: 3, fanOut: 5 });
    expect(init.fans([8, 2, 3, 3])).toEqual({ fanIn: 18, fanOut: 72 });
    expect(() => init.fans([4])).toThrow(/rank ≥ 2/);
  });
});

describe('distributions', () => {
  const shape = [200, 300]; // fan_in 300, fan_out 200

  it('xavierUniform: U(±gain·√(6/(in + out)))', () => {
    const b = 2 * Math.sqrt(6 / 500);
    const s = stats(init.xavierUniform(nb.foldIn(key, 1), shape, { gain: 2, dtype: 'f64' }));
    expect(s.max).toBeLessThanOrEqual(b);
    expect(s.min).toBeGreaterThanOrEqual(-b);
    expect(s.max).toBeGreaterThan(0.99 * b);
    expect(Math.abs(s.variance / ((b * b) / 3) - 1)).toBeLessThan(0.03);
  });

  it('xavierNormal: std gain·√(2/(in + out))', () => {
    const s = stats(init.xavierNormal(nb.foldIn(key, 2), shape, { dtype: 'f64' }));
    expect(Math.abs(s.variance / (2 / 500) - 1)).toBeLessThan(0.03);
    expect(Math.abs(s.mean)).toBeLessThan(5 * Math.sqrt(2 / 500 / 6e4));
  });

  it('kaimingUniform: default a = 0 leaky_relu (gain √2), fan_in; fanOut mode', () => {
    const b = Math.sqrt(3) * (Math.SQRT2 / Math.sqrt(300));
    const s = stats(init.kaimingUniform(nb.foldIn(key, 3), shape, { dtype: 'f64' }));
    expect(s.max).toBeLessThanOrEqual(b);
    expect(s.max).toBeGreaterThan(0.99 * b);
    const bOut = Math.sqrt(3) * Math.sqrt(2 / 200);
    const so = stats(init.kaimingUniform(nb.foldIn(key, 4), shape, { mode: 'fanOut', nonlinearity: 'relu', dtype: 'f64' }));
    expect(so.max).toBeLessThanOrEqual(bOut);
    expect(so.max).toBeGreaterThan(0.99 * bOut);
    expect(() => init.kaimingUniform(key, shape, { mode: 'fan_in' as never })).toThrow(/mode must be 'fanIn' or 'fanOut'/);
  });

  it('kaimingNormal: std gain/√fan', () => {
    const s = stats(init.kaimingNormal(nb.foldIn(key, 5), [300, 100, 2], { nonlinearity: 'tanh', dtype: 'f64' }));
    expect(Math.abs(s.variance / ((5 / 3) ** 2 / 200) - 1)).toBeLessThan(0.03);
  });

  it("PyTorch's layer defaults: U(±1/√fan_in) for weights (kaiming a = √5) and biases", () => {
    const w = stats(init.torchDefaultWeight(nb.foldIn(key, 6), [64, 16, 3], { dtype: 'f64' }));
    expect(w.max).toBeLessThanOrEqual(1 / Math.sqrt(48));
    expect(w.max).toBeGreaterThan(0.98 / Math.sqrt(48));
    const b = stats(init.torchDefaultBias(nb.foldIn(key, 7), [5000], 48, { dtype: 'f64' }));
    expect(b.max).toBeLessThanOrEqual(1 / Math.sqrt(48));
    expect(Math.abs(b.variance / (1 / 48 / 3) - 1)).toBeLessThan(0.05);
  });

  it('truncatedNormal: bounds in absolute units (trunc_normal_), mean of the truncated law', () => {
    // N(1, 2²) truncated to [0, 3]: standard bounds α = −0.5, β = 1; mean μ + σ·(φ(α) − φ(β))/(Φ(β) − Φ(α))
    const s = stats(init.truncatedNormal(nb.foldIn(key, 8), [50000], { mean: 1, std: 2, a: 0, b: 3, dtype: 'f64' }));
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(3);
    const phi = (z: number): number => Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI);
    const Phi = (z: number): number => 0.5 * (1 + erf(z / Math.SQRT2));
    expect(Math.abs(s.mean - (1 + (2 * (phi(-0.5) - phi(1))) / (Phi(1) - Phi(-0.5))))).toBeLessThan(0.02);
    // one-sided: N(0, 1) on [0, ∞) has mean √(2/π)
    const h = stats(init.truncatedNormal(nb.foldIn(key, 9), [50000], { a: 0, b: Infinity, dtype: 'f64' }));
    expect(h.min).toBeGreaterThanOrEqual(0);
    expect(Math.abs(h.mean - Math.sqrt(2 / Math.PI))).toBeLessThan(0.02);
    expect(() => init.truncatedNormal(key, [2], { a: 1, b: 1 })).toThrow(/need a < b/);
  });

  it('same key, same values; dtype honoured; constants', () => {
    const a = init.normal(nb.foldIn(key, 10), [3, 4], { std: 0.02 });
    const b = init.normal(nb.foldIn(key, 10), [3, 4], { std: 0.02 });
    expect(a.dtype).toBe('f32');
    expect(a.toF64()).toEqual(b.toF64());
    expect(init.uniform(nb.foldIn(key, 11), [2], { a: 3, b: 4, dtype: 'f16' }).dtype).toBe('f16');
    expect(init.ones([2, 2]).toArray()).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expect(init.constant([2], 0.5).toArray()).toEqual([0.5, 0.5]);
    expect(init.zeros([3]).toArray()).toEqual([0, 0, 0]);
  });
});
