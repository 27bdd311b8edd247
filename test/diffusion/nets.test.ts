/**
 * The image networks: GroupNorm against its definition, the U-Net and DiT
 * contracts (shapes, zero output at initialisation, time conditioning,
 * gradients reaching every parameter) and a few steps of flow matching on
 * the digits that lower the loss.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { loadDigits, sampleBatch } from '../../src/zoo/data/digits.js';
import { fillInPlace } from '../../src/optim/inplace.js';

const f64 = { dtype: 'f64' as const };

describe('groupNorm (Wu & He, arXiv 1803.08494)', () => {
  it('each group of channels has zero mean and unit variance; G = 1 is a layer norm over (c, h, w); affine per channel', () => {
    const x = nb.add(nb.mul(nb.normal(nb.randomKey(1), [2, 6, 3, 3], f64), 3), 1);
    const y = df.groupNorm(x, 3, null, null, 0).toF64();
    for (let b = 0; b < 2; b++)
      for (let g = 0; g < 3; g++) {
        const vals = Array.from(y.subarray(b * 54 + g * 18, b * 54 + g * 18 + 18));
        const m = vals.reduce((s, v) => s + v) / 18;
        const v = vals.reduce((s, u) => s + (u - m) ** 2, 0) / 18;
        expect(Math.abs(m)).toBeLessThan(1e-12);
        expect(Math.abs(v - 1)).toBeLessThan(1e-10);
      }
    const ln = nb.nn.layerNorm(nb.reshape(x, [2, 54]), 54, null, null, 1e-5);
    expect(nb.max(nb.abs(nb.sub(nb.reshape(df.groupNorm(x, 1), [2, 54]), ln))).item()).toBeLessThan(1e-12);
    const w = nb.tensor([1, 2, 3, 4, 5, 6], undefined, f64);
    const bias = nb.tensor([0, 0, 0, 0, 0, 1], undefined, f64);
    const ya = df.groupNorm(x, 3, w, bias).toF64();
    const y0 = df.groupNorm(x, 3).toF64();
    expect(ya[5 * 9]! - (6 * y0[5 * 9]! + 1)).toBeCloseTo(0, 12);
    expect(() => df.groupNorm(x, 4)).toThrow(/6 channels do not split into 4 groups/);
  });
});

/** Every trainable parameter's gradient of a scalar loss. */
function gradNorms(m: nb.nn.Layer | df.UNet | df.DiT, loss: () => Tensor): Record<string, number> {
  const params = nb.nn.trainableParameters(m);
  const names = Object.keys(params);
  const gs = nb.gradients([loss()], names.map((n) => params[n]!));
  return Object.fromEntries(names.map((n, i) => [n, gs[i] ? nb.sum(nb.abs(gs[i]!)).item() : 0]));
}

describe.each([
  ['UNet', (): df.UNet | df.DiT => new df.UNet(1, { key: nb.randomKey(2), channels: 16, mults: [1, 2], heads: 2, groups: 4 })],
  ['DiT', (): df.UNet | df.DiT => new df.DiT(1, { key: nb.randomKey(3), patch: 2, dim: 32, depth: 2, heads: 4 })],
] as const)('%s', (name, make) => {
  it('maps (b, c, h, w) to itself, predicts exactly 0 at initialisation, and rejects bad shapes', () => {
    const m = make();
    const x = nb.normal(nb.randomKey(4), [3, 1, 8, 8]);
    const y = m.forward(x, nb.tensor([0.1, 0.5, 0.9]));
    expect(y.shape).toEqual([3, 1, 8, 8]);
    expect(nb.max(nb.abs(y)).item()).toBe(0);
    expect(() => m.forward(nb.zeros([1, 2, 8, 8]), nb.zeros([1]))).toThrow(new RegExp(`${name}: x must be`));
    expect(() => m.forward(nb.zeros([1, 1, 7, 8]), nb.zeros([1]))).toThrow(/divisible/);
  });

  it('once its zero-initialised output layers move, every parameter gets a gradient and the time changes the output', () => {
    const m = make();
    // what the first optimiser steps do: move the zero-initialised layers off zero
    const params = nb.nn.trainableParameters(m);
    for (const [n, p] of Object.entries(params)) if (/(outConv|^out|ada|finalAda)\.weight$|\.ada\.weight$/.test(n)) fillInPlace(p, 0.01);
    const x = nb.normal(nb.randomKey(5), [2, 1, 8, 8]);
    const c = nb.tensor([0.2, 0.7]);
    const g = gradNorms(m, () => nb.sum(nb.square(m.forward(x, c))));
    const dead = Object.entries(g).filter(([, v]) => !(v > 0)).map(([k]) => k);
    expect(dead).toEqual([]);
    const a = m.forward(x, nb.tensor([0.2, 0.2])).toF64();
    const b = m.forward(x, nb.tensor([0.9, 0.9])).toF64();
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-4);
  });
});

describe('training on the digits (seeded, a few steps on one batch)', () => {
  it('flow matching on a fixed batch, noise and times: the loss falls for both networks', () => {
    const { x } = loadDigits({ scale: 'symmetric' });
    const batch = sampleBatch(nb.randomKey(9), x, 8).x;
    for (const m of [new df.UNet(1, { key: nb.randomKey(6), channels: 16, mults: [1, 2], groups: 4, cScale: 1000 }), new df.DiT(1, { key: nb.randomKey(7), dim: 32, depth: 2, heads: 4, cScale: 1000 })]) {
      const f: df.Net = (xt, c) => m.forward(xt, c);
      const loss = (): Tensor => df.flowMatchingLoss(f, batch, { key: nb.randomKey(10) });
      const before = nb.noGrad(() => nb.tidy(() => loss().item()));
      df.fit(m, () => loss(), { steps: 6, key: nb.randomKey(8), lr: 3e-3, warmup: 0 });
      const after = nb.noGrad(() => nb.tidy(() => loss().item()));
      console.log(`${m.constructor.name}: flow-matching loss on one batch ${before.toFixed(3)} → ${after.toFixed(3)} in 6 steps`);
      expect(after).toBeLessThan(0.9 * before);
    }
  });
});
