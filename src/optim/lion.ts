/**
 * Lion, "EvoLved Sign Momentum" (Chen et al., "Symbolic Discovery of
 * Optimization Algorithms", arXiv 2302.06675, algorithm 2), with decoupled
 * weight decay:
 *
 *   c ← β₁·m + (1 − β₁)·g
 *   p ← p·(1 − η·λ) − η·sign(c)
 *   m ← β₂·m + (1 − β₂)·g
 *
 * The update has the same magnitude in every coordinate, so Lion wants a
 * learning rate 3–10× smaller and a weight decay 3–10× larger than AdamW.
 */
import { makeOptimizer, type Optimizer, type OptimizerOptions, type RuleArgs, type TensorRuleArgs, type UpdateRule } from './optimizer.js';
import { add, mul, sign, sub } from '../ops/elementwise.js';

export interface LionHyper {
  betas: readonly [number, number];
  weightDecay: number;
}

export const lionRule: UpdateRule<LionHyper> = {
  kind: 'lion',
  lr: 1e-4,
  defaults: { betas: [0.9, 0.99], weightDecay: 0 },
  validate(h, where) {
    const b = h.betas;
    if (!Array.isArray(b) || b.length !== 2) throw new Error(`lion: betas${where} must be a pair [β1, β2], got ${String(b)}`);
    b.forEach((x, i) => {
      if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new Error(`lion: betas[${i}]${where} must be in [0, 1], got ${String(x)}`);
    });
    if (typeof h.weightDecay !== 'number' || !(h.weightDecay >= 0)) throw new Error(`lion: weightDecay${where} must be a non-negative number, got ${String(h.weightDecay)}`);
  },
  slotNames: () => ['expAvg'],
  apply({ p, g, gScale, slots, h, lr }: RuleArgs<LionHyper>) {
    const [b1, b2] = h.betas;
    const m = slots[0]!;
    const decay = 1 - lr * h.weightDecay;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! * gScale;
      const c = b1 * m[i]! + (1 - b1) * gi;
      const s = c > 0 ? 1 : c < 0 ? -1 : c; // sign, NaN stays NaN
      p[i] = p[i]! * decay - lr * s;
      m[i] = b2 * m[i]! + (1 - b2) * gi;
    }
  },
  // the loop above in tensor ops (the driver runs it inside tidy and writes the results back)
  applyTensors({ p, g, slots, h, lr }: TensorRuleArgs<LionHyper>) {
    const [b1, b2] = h.betas;
    const m = slots[0]!;
    const c = add(mul(m, b1), mul(g, 1 - b1));
    const decayed = mul(p, 1 - lr * h.weightDecay);
    return { p: sub(decayed, mul(sign(c), lr)), slots: [add(mul(m, b2), mul(g, 1 - b2))] };
  },
};

/** Lion (lr defaults to 1e-4, betas [0.9, 0.99]). */
export function lion(opts: OptimizerOptions<LionHyper> = {}): Optimizer<LionHyper> {
  return makeOptimizer(lionRule, opts);
}
