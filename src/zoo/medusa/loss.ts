/**
 * Training losses of Medusa (Cai et al., arXiv 2401.10774, §2.2).
 *
 * Medusa-1 (frozen backbone): only the heads learn; head k (1-based) at
 * position t is trained with cross-entropy against the token at t + k + 1,
 *
 *   L_Medusa-1 = Σ_k λ_k · CE(p_t^(k), y_{t+k+1}),   λ_k = decay^(k−1) (the paper: 0.8^k),
 *
 * reading the backbone's hidden states through a stop-gradient, so the base
 * model is untouched and its outputs (hence its decoding) stay exactly as
 * they were.
 *
 * Medusa-2 (joint training): the backbone learns too. The language-model loss
 * keeps its next-token quality while the heads' loss flows into it,
 *
 *   L_Medusa-2 = L_LM + λ₀ · L_Medusa-1,
 *
 * (the paper also lowers the backbone's learning rate and warms the heads up
 * first; both are choices of the optimiser and the schedule, left to the
 * caller: `medusaParams` separates the two parameter groups).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, mul } from '../../ops/elementwise.js';
import { slice } from '../../ops/slice.js';
import { crossEntropy } from '../../ops/nn.js';
import { scalar } from '../../ops/creation.js';
import type { MedusaHeads } from './heads.js';

export interface MedusaLossOptions {
  /** weight of head k is decay^(k−1) (default 0.8) */
  decay?: number;
}

export interface MedusaLoss {
  /** the weighted sum over heads */
  total: Tensor;
  /** each head's mean cross-entropy (detached numbers, for logging) */
  perHead: number[];
}

function checkInputs(op: string, heads: MedusaHeads, hidden: Tensor, tokens: Tensor): void {
  if (hidden.ndim !== 3 || hidden.shape[2] !== heads.config.dModel) throw new Error(`${op}: hidden is [${hidden.shape.join(',')}]; expected (b, n, ${heads.config.dModel})`);
  if (tokens.ndim !== 2 || tokens.dtype !== 'i32' || tokens.shape[0] !== hidden.shape[0] || tokens.shape[1] !== hidden.shape[1]) {
    throw new Error(`${op}: tokens must be i32 (b, n) matching hidden [${hidden.shape.join(',')}], got ${tokens.dtype} [${tokens.shape.join(',')}]`);
  }
  if (hidden.shape[1]! < heads.count + 2) throw new Error(`${op}: sequences of ${hidden.shape[1]} tokens are too short for ${heads.count} heads (need ≥ ${heads.count + 2})`);
}

/**
 * Σ_k λ_k CE(head_k(h_t), y_{t+k+1}) over every position with a target.
 * `hidden` (b, n, d) is read as given: detach it for Medusa-1 (see `medusa1Loss`).
 */
export function medusaHeadsLoss(heads: MedusaHeads, hidden: Tensor, tokens: Tensor, opts: MedusaLossOptions = {}): MedusaLoss {
  checkInputs('medusaHeadsLoss', heads, hidden, tokens);
  const decay = opts.decay ?? 0.8;
  const n = hidden.shape[1]!;
  const perHead: number[] = [];
  const total = tidy(() => {
    let acc: Tensor = scalar(0, { dtype: hidden.dtype });
    heads.heads.forEach((head, k) => {
      const shift = k + 2; // head k (0-based) at t predicts t + k + 2
      const h = slice(hidden, [null, { stop: n - shift }]);
      const y = slice(tokens, [null, { start: shift }]);
      const ce = crossEntropy(head.forward(h), y);
      perHead.push(ce.item());
      acc = add(acc, mul(ce, decay ** k));
    });
    return acc;
  });
  return { total, perHead };
}

/** Medusa-1: the heads' loss on the frozen backbone's hidden states (no gradient reaches the backbone). */
export function medusa1Loss(heads: MedusaHeads, hidden: Tensor, tokens: Tensor, opts: MedusaLossOptions = {}): MedusaLoss {
  const h = hidden.detach();
  try {
    return medusaHeadsLoss(heads, h, tokens, opts);
  } finally {
    h.dispose();
  }
}

export interface Medusa2Options extends MedusaLossOptions {
  /** weight λ₀ of the heads' loss against the LM loss (default 0.2) */
  lambda?: number;
}

/**
 * Medusa-2: L_LM + λ₀·L_heads with gradients into the backbone. `logits`
 * (b, n, V) and `hidden` (b, n, d) come from one forward pass of the base model.
 */
export function medusa2Loss(heads: MedusaHeads, hidden: Tensor, logits: Tensor, tokens: Tensor, opts: Medusa2Options = {}): MedusaLoss & { lm: number } {
  checkInputs('medusa2Loss', heads, hidden, tokens);
  const lambda = opts.lambda ?? 0.2;
  const n = tokens.shape[1]!;
  let lm = 0;
  let perHead: number[] = [];
  const total = tidy(() => {
    const lmLoss = crossEntropy(slice(logits, [null, { stop: n - 1 }]), slice(tokens, [null, { start: 1 }]));
    lm = lmLoss.item();
    const hl = medusaHeadsLoss(heads, hidden, tokens, opts);
    perHead = hl.perHead;
    return add(lmLoss, mul(hl.total, lambda));
  });
  return { total, perHead, lm };
}
