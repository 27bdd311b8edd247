/**
 * The LRU: the parallel (complex associative) scan equals the step-by-step
 * loop in outputs and in the gradients of every parameter; |λ| < 1 for every
 * parameter value (a property test over ν_log, θ_log); the initialisation
 * puts |λ| on the ring [r_min, r_max] and γ = √(1 − |λ|²).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tidy, randomKey, nn, sum, mul, tensor, astype } from '../../src/index.js';
import { LRU, lruLoop } from '../../src/zoo/ssm/lru.js';
import { createMixer } from '../../src/zoo/mixer.js';
import { expectRel, paramGrads, sampler } from './helpers.js';

describe('LRU', () => {
  it('parallel scan equals the loop: outputs and every parameter gradient (float64); float32 to 1e-5', () => {
    tidy(() => {
      const m = new LRU(4, { key: randomKey(1), dState: 6, dtype: 'f64' });
      const u = sampler(2).normal([2, 13, 4]);
      const w = sampler(3).normal([2, 13, 4]);
      expectRel(m.forward(u), lruLoop(m, u), 1e-10, 'outputs');
      const gp = paramGrads(m, () => sum(mul(m.forward(u), w)));
      const gl = paramGrads(m, () => sum(mul(lruLoop(m, u), w)));
      expect(Object.keys(gp)).toEqual(['nu_log', 'theta_log', 'gamma_log', 'B_re', 'B_im', 'C_re', 'C_im', 'D']);
      for (const name of Object.keys(gp)) expectRel(gp[name]!, gl[name]!, 1e-10, `d${name}`);
      const m32 = new LRU(4, { key: randomKey(1), dState: 6 });
      expectRel(m32.forward(astype(u, 'f32')), lruLoop(m, u), 1e-5, 'float32');
      nn.dispose(m);
      nn.dispose(m32);
    });
  });

  it('|λ| < 1 for every ν_log, θ_log (|λ| = exp(−exp(ν_log)))', () => {
    const m = new LRU(2, { key: randomKey(1), dState: 1, dtype: 'f64' });
    fc.assert(
      fc.property(fc.double({ min: -30, max: 10, noNaN: true }), fc.double({ min: -30, max: 10, noNaN: true }), (nu, th) =>
        tidy(() => {
          nn.loadStateDict(m, { nu_log: tensor([nu], [1], { dtype: 'f64' }), theta_log: tensor([th], [1], { dtype: 'f64' }) }, { strict: false });
          const [r, i] = m.lambda().map((t) => t.item());
          return Math.hypot(r!, i!) < 1;
        }),
      ),
      { numRuns: 200 },
    );
    nn.dispose(m);
  });

  it('initialisation: |λ| in [r_min, r_max], γ = √(1 − |λ|²); registered as "lru"', () => {
    tidy(() => {
      const m = new LRU(3, { key: randomKey(5), dState: 64, rMin: 0.5, rMax: 0.9, dtype: 'f64' });
      const [r, i] = m.lambda().map((t) => t.toF64());
      const gamma = m.gamma_log.toF64().map(Math.exp);
      for (let k = 0; k < 64; k++) {
        const mod = Math.hypot(r![k]!, i![k]!);
        expect(mod).toBeGreaterThanOrEqual(0.5 - 1e-12);
        expect(mod).toBeLessThanOrEqual(0.9 + 1e-12);
        expect(gamma[k]).toBeCloseTo(Math.sqrt(1 - mod * mod), 12);
      }
      nn.dispose(m);
      const mx = createMixer(4, { kind: 'lru' }, randomKey(1));
      expect(mx).toBeInstanceOf(LRU);
      nn.dispose(mx);
    });
  });
});
