/**
 * NICE, Real NVP and Glow as whole models: decode(encode(x)) = x; the exact
 * log-likelihood equals log p_Z(latents) + log|det| of the whole map computed
 * from the autodiff Jacobian; sampling with temperature; argument errors.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { Flow, glow, nice, realNVP, type Flow as FlowT } from '../../src/zoo/flows/index.js';
import { autodiffLogdet, f64, k, relErr } from './helpers.js';

type Maker = { name: string; shape: number[]; make: () => FlowT; prior: 'gaussian' | 'logistic' };

const MODELS: Maker[] = [
  { name: 'NICE (vectors)', shape: [4], prior: 'logistic', make: () => nice({ key: k(1), eventShape: [4], couplings: 4, hidden: [8], dtype: 'f64' }) },
  { name: 'Real NVP (vectors)', shape: [3], prior: 'gaussian', make: () => realNVP({ key: k(2), eventShape: [3], couplings: 4, hidden: [8], actnorm: true, dtype: 'f64' }) },
  { name: 'Glow (vectors)', shape: [2], prior: 'gaussian', make: () => glow({ key: k(3), eventShape: [2], steps: 3, hidden: [8], dtype: 'f64' }) },
  { name: 'Real NVP (images, 2 scales)', shape: [1, 4, 4], prior: 'gaussian', make: () => realNVP({ key: k(4), eventShape: [1, 4, 4], scales: 2, hidden: 4, dtype: 'f64' }) },
  { name: 'Glow (images, 2 levels)', shape: [1, 4, 4], prior: 'gaussian', make: () => glow({ key: k(5), eventShape: [1, 4, 4], levels: 2, steps: 2, hidden: 4, dtype: 'f64' }) },
];

/** Leave the identity initialisation (but keep the Split priors at N(0, I), so every latent is standard normal). */
function perturb(m: nn.Module, seed: number): void {
  Object.entries(nn.trainableParameters(m)).forEach(([name, p], i) => {
    if (name.includes('prior')) return;
    nb.tidy(() => nb.optim.addInto(p, nb.normal(nb.foldIn(k(seed), i), p.shape as number[], { dtype: p.dtype, std: 0.2 })));
  });
}

/** All latents of one example as a (1, D) row: the top z then the factored-out ones. */
function allLatents(flow: FlowT, x: Tensor): Tensor {
  const { z, latents } = flow.encode(x);
  return nb.concat([z, ...latents].map((t) => nb.reshape(t, [1, t.size])), 1);
}

function priorLogDensity(v: Float64Array, prior: 'gaussian' | 'logistic'): number {
  let s = 0;
  for (const t of v) s += prior === 'gaussian' ? -0.5 * t * t - 0.5 * Math.log(2 * Math.PI) : -Math.log1p(Math.exp(t)) - Math.log1p(Math.exp(-t));
  return s;
}

describe.each(MODELS)('$name', ({ shape, make, prior }) => {
  it('decode(encode(x)) = x (float64, 1e-10) and the latent shapes add up to the data size', () => {
    const flow = make();
    flow.initialize(nb.normal(k(10), [16, ...shape], f64));
    perturb(flow, 11);
    nb.tidy(() => {
      const x = nb.normal(k(12), [3, ...shape], f64);
      const { z, latents, logProb } = flow.encode(x);
      expect(z.shape).toEqual([3, ...flow.config.latentShape]);
      expect(logProb.shape).toEqual([3]);
      expect([z, ...latents].reduce((s, t) => s + t.size, 0)).toBe(x.size);
      expect(relErr(flow.decode(z, latents), x)).toBeLessThan(1e-10);
      expect(relErr(logProb, flow.logProb(x))).toBeLessThan(1e-12);
    });
    nn.dispose(flow);
  });

  it('log p(x) = log p_Z(all latents) + log|det ∂latents/∂x| from the autodiff Jacobian', () => {
    const flow = make();
    flow.initialize(nb.normal(k(13), [16, ...shape], f64));
    perturb(flow, 14);
    nb.tidy(() => {
      const x = nb.normal(k(15), [1, ...shape], f64);
      const lat = allLatents(flow, x).toF64();
      const want = priorLogDensity(lat, prior) + autodiffLogdet((xx) => allLatents(flow, xx), x);
      expect(Math.abs(flow.logProb(x).item() - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
    });
    nn.dispose(flow);
  });

  it('samples have the data shape; temperature 0 gives f⁻¹(0) whatever the key', () => {
    const flow = make();
    flow.initialize(nb.normal(k(16), [16, ...shape], f64));
    nb.tidy(() => {
      const s = flow.sample(k(17), 5);
      expect(s.shape).toEqual([5, ...shape]);
      expect(s.toF64().every(Number.isFinite)).toBe(true);
      const a = flow.sample(k(18), 2, { temperature: 0 });
      const b = flow.sample(k(19), 2, { temperature: 0 });
      expect(relErr(a, b)).toBe(0);
      const zeros = nb.zeros([2, ...flow.config.latentShape], f64);
      if (prior === 'gaussian' && shape.length === 1) expect(relErr(a, flow.decode(zeros))).toBeLessThan(1e-12);
    });
    nn.dispose(flow);
  });
});

describe('argument errors', () => {
  it('name the model, the argument and the shapes', () => {
    const flow = realNVP({ key: k(20), eventShape: [2], couplings: 2, hidden: [4] });
    expect(() => flow.logProb(nb.zeros([3, 3]))).toThrow('Flow.forward: x is [3,3] but the flow models examples of shape [2] (with a leading batch axis)');
    expect(() => nice({ key: k(21), eventShape: [1, 4, 4] })).toThrow(/NICE models vectors/);
    expect(() => glow({ key: k(22), eventShape: [1, 6, 6], levels: 2 })).toThrow(/2 levels need h and w divisible by 4/);
    expect(() => realNVP({ key: k(23), eventShape: [2, 2] })).toThrow(/eventShape must be \(d\) or \(c, h, w\)/);
    expect(() => flow.sample(k(24), 0)).toThrow(/n must be a positive integer/);
    expect(() => new Flow([], { eventShape: [2], prior: 'cauchy' as never })).toThrow(/unknown prior 'cauchy'/);
    nn.dispose(flow);
  });
});
