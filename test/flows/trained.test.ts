/**
 * Flows trained on 2-D toys (seeded, CI-sized) approach the known entropy
 * floors from above: the held-out NLL (a cross-entropy) can never go below the
 * data's entropy, up to the sampling error of the evaluation set.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import * as fl from '../../src/zoo/flows/index.js';
import { eightGaussians } from '../../src/zoo/data/toy2d.js';

describe('flows on 2-D toys approach the entropy floor from above', () => {
  // docs/flows.md has longer runs of every model on more toys (Glow on the checkerboard, floor ln 32, among them)
  it('RealNVP on eight Gaussians: from 6 nats to within 0.85 of the floor 2.838 (measured 3.513), never below it', () => {
    const cases = [{ data: eightGaussians, model: fl.realNVP({ key: nb.randomKey(1), eventShape: [2], couplings: 4, hidden: [32, 32], prior: 'gaussian' }), bound: 0.85 }];
    for (const { data, model, bound } of cases) {
      const floor = data.entropy!;
      const evalKey = nb.randomKey(99);
      const before = fl.evalNll(model, data.sample, evalKey, 2000);
      const losses = fl.fitDensity(model, data.sample, { key: nb.randomKey(3), steps: 150, batch: 128, lr: 5e-3, init: (x) => model.initialize(x) });
      const after = fl.evalNll(model, data.sample, evalKey, 2000);
      console.log(`${data.name}: NLL ${before.toFixed(3)} → ${after.toFixed(3)} nats (floor ${floor.toFixed(3)}); last loss ${losses.at(-1)!.toFixed(3)}`);
      // a cross-entropy: ≥ the entropy, up to the error of a 2000-point mean (≈ 0.03 nats)
      expect(after).toBeGreaterThan(floor - 0.08);
      expect(after).toBeLessThan(floor + bound);
      expect(after).toBeLessThan(before - 0.5);
    }
  });
});
