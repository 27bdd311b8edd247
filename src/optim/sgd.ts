/**
 * Stochastic gradient descent with momentum (Polyak's heavy ball) and Nesterov
 * momentum (Sutskever, Martens, Dahl & Hinton, "On the importance of
 * initialization and momentum in deep learning", ICML 2013), in PyTorch's
 * formulation:
 *
 *   d ← g + λ·p                                   (weight decay, L2)
 *   b ← d on the first step, else μ·b + (1 − τ)·d  (momentum μ, dampening τ)
 *   d ← d + μ·b if Nesterov, else b
 *   p ← p − η·d
 */
import { makeOptimizer, type Optimizer, type OptimizerOptions, type RuleArgs, type TensorRuleArgs, type UpdateRule } from './optimizer.js';
import type { Tensor } from '../core/tensor.js';
import { add, mul, sub } from '../ops/elementwise.js';

export interface SgdHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

function checkRange(kind: string, name: string, v: number, where: string, lo: number, hi: number): void {
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new Error(`${kind}: ${name}${where} must be in [${lo}, ${hi}], got ${String(v)}`);
}

export const sgdRule: UpdateRule<SgdHyper> = {
  kind: 'sgd',
  lr: 1e-3,
  defaults: { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
  validate(h, where) {
    checkRange('sgd', 'momentum', h.momentum, where, 0, Infinity);
    checkRange('sgd', 'dampening', h.dampening, where, -Infinity, Infinity);
    checkRange('sgd', 'weightDecay', h.weightDecay, where, 0, Infinity);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new Error(`sgd: Nesterov momentum${where} needs momentum > 0 and dampening 0 (got momentum ${h.momentum}, dampening ${h.dampening})`);
    }
  },
  slotNames: (h) => (h.momentum !== 0 ? ['momentum'] : []),
  apply({ p, g, gScale, slots, h, lr, count }: RuleArgs<SgdHyper>) {
    const { momentum: mu, dampening, nesterov, weightDecay: wd } = h;
    const buf = slots[0];
    const first = count === 1;
    for (let i = 0; i < p.length; i++) {
      let d = g[i]! * gScale;
      if (wd !== 0) d += wd * p[i]!;
      if (buf) {
        buf[i] = first ? d : mu * buf[i]! + (1 - dampening) * d;
        const b = buf[i]!; // the stored (rounded) value, as PyTorch reads it back
        d = nesterov ? d + mu * b : b;
      }
      p[i] = p[i]! - lr * d;
    }
  },
  // the loop above in tensor ops (the driver runs it inside tidy and writes the results back)
  applyTensors({ p, g, slots, h, lr, count }: TensorRuleArgs<SgdHyper>) {
    const { momentum: mu, dampening, nesterov, weightDecay: wd } = h;
    let d: Tensor = wd !== 0 ? add(g, mul(p, wd)) : g;
    const buf = slots[0];
    const newSlots: Tensor[] = [];
    if (buf) {
      const b = count === 1 ? mul(d, 1) : add(mul(buf, mu), mul(d, 1 - dampening));
      newSlots.push(b);
      d = nesterov ? add(d, mul(b, mu)) : b;
    }
    return { p: sub(p, mul(d, lr)), slots: newSlots };
  },
};

/** SGD (PyTorch semantics); options: lr (default 1e-3), momentum, dampening, nesterov, weightDecay, plus groups/hooks/clipNorm. */
export function sgd(opts: OptimizerOptions<SgdHyper> = {}): Optimizer<SgdHyper> {
  return makeOptimizer(sgdRule, opts);
}
