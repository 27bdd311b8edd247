/**
 * Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", arXiv
 * 1412.6980, algorithm 1) and AdamW (Loshchilov & Hutter, "Decoupled Weight
 * Decay Regularization", arXiv 1711.05101, algorithm 2), in PyTorch's
 * formulation, including where ε sits (outside the bias-corrected square root)
 * and AMSGrad (Reddi, Kale & Kumar, arXiv 1904.09237):
 *
 *   g ← g + λ·p                     (Adam only: L2 decay through the gradient)
 *   p ← p·(1 − η·λ)                 (AdamW only: decoupled decay)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   v̂ ← max(v̂, v) with AMSGrad, else v
 *   p ← p − (η / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
 */
import { adamUpdateF32 } from '../backends/cpu/wasm/kernels/adam.js';
import { makeOptimizer, type Optimizer, type OptimizerOptions, type RuleArgs, type UpdateRule } from './optimizer.js';

export interface AdamHyper {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

function validate(kind: string, h: AdamHyper, where: string): void {
  const b = h.betas;
  if (!Array.isArray(b) || b.length !== 2) throw new Error(`${kind}: betas${where} must be a pair [β1, β2], got ${String(b)}`);
  b.forEach((x, i) => {
    if (typeof x !== 'number' || !(x >= 0 && x < 1)) throw new Error(`${kind}: betas[${i}]${where} must be in [0, 1), got ${String(x)}`);
  });
  if (typeof h.eps !== 'number' || !(h.eps >= 0)) throw new Error(`${kind}: eps${where} must be a non-negative number, got ${String(h.eps)}`);
  if (typeof h.weightDecay !== 'number' || !(h.weightDecay >= 0)) throw new Error(`${kind}: weightDecay${where} must be a non-negative number, got ${String(h.weightDecay)}`);
}

function adamApply(decoupled: boolean) {
  return ({ p, g, gScale, slots, h, lr, count }: RuleArgs<AdamHyper>): void => {
    const [b1, b2] = h.betas;
    const { eps, weightDecay: wd } = h;
    const m = slots[0]!;
    const v = slots[1]!;
    const vmax = h.amsgrad ? slots[2]! : null;
    const stepSize = lr / (1 - b1 ** count);
    const bc2Sqrt = Math.sqrt(1 - b2 ** count);
    const decay = decoupled ? 1 - lr * wd : 1;
    // float32 buffers on the CPU heap: one native pass, bit-identical to the loop below
    if (adamUpdateF32(p, g, m, v, vmax, { gScale, l2: decoupled ? 0 : wd, decay, b1, b2, stepSize, bc2Sqrt, eps })) return;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]! * gScale;
      if (!decoupled && wd !== 0) gi += wd * p[i]!;
      if (decay !== 1) p[i] = p[i]! * decay;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      let vi = v[i]!;
      if (vmax) {
        if (vi > vmax[i]! || Number.isNaN(vi)) vmax[i] = vi;
        vi = vmax[i]!;
      }
      p[i] = p[i]! - (stepSize * m[i]!) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  };
}

const slotNames = (h: AdamHyper): string[] => (h.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq']);

export const adamRule: UpdateRule<AdamHyper> = {
  kind: 'adam',
  lr: 1e-3,
  defaults: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false },
  validate: (h, where) => validate('adam', h, where),
  slotNames,
  apply: adamApply(false),
};

export const adamwRule: UpdateRule<AdamHyper> = {
  kind: 'adamw',
  lr: 1e-3,
  defaults: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false },
  validate: (h, where) => validate('adamw', h, where),
  slotNames,
  apply: adamApply(true),
};

/** Adam with L2 weight decay through the gradient (PyTorch `Adam`); lr defaults to 1e-3. */
export function adam(opts: OptimizerOptions<AdamHyper> = {}): Optimizer<AdamHyper> {
  return makeOptimizer(adamRule, opts);
}

/** AdamW with decoupled weight decay (PyTorch `AdamW`; weightDecay defaults to 1e-2). */
export function adamw(opts: OptimizerOptions<AdamHyper> = {}): Optimizer<AdamHyper> {
  return makeOptimizer(adamwRule, opts);
}
