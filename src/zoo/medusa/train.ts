/**
 * Fitting Medusa heads (Cai et al., arXiv 2401.10774, §2.2).
 *
 * - Medusa-1: the base model is frozen; only the heads learn, on the base
 *   model's hidden states through a stop-gradient. The base model's outputs
 *   are untouched, so greedy Medusa decoding reproduces its greedy text.
 * - Medusa-2: base and heads learn together on L_LM + λ₀·L_heads, the base
 *   model's parameters at a smaller learning rate (`baseLrScale`, the paper's
 *   differential learning rates).
 *
 * With no training text at hand the paper distils the base model's own
 * outputs (§2.3.2, self-distillation): `selfDistill` produces such data by
 * greedy decoding from prompts, so the heads learn what the model will say.
 */
import type { Tensor } from '../../core/tensor.js';
import { tensor } from '../../ops/creation.js';
import { adam } from '../../optim/adam.js';
import { trainStep } from '../../train/step.js';
import { namedParameters } from '../../nn/module.js';
import type { MixerState } from '../mixer.js';
import type { MedusaBase } from './base.js';
import type { MedusaHeads } from './heads.js';
import { medusa1Loss, medusa2Loss } from './loss.js';
import { generate } from './decode.js';

export interface FitMedusaOptions {
  steps: number;
  /** Adam learning rate of the heads (default 1e-2) */
  lr?: number;
  /** 'medusa1' (frozen base, default) or 'medusa2' (joint) */
  mode?: 'medusa1' | 'medusa2';
  /** Medusa-2: the base model's learning rate is lr × this (default 0.1) */
  baseLrScale?: number;
  /** Medusa-2: λ₀ (default 0.2) */
  lambda?: number;
  /** head k's weight decay^(k−1) (default 0.8) */
  decay?: number;
  onStep?: (step: number, loss: number, perHead: number[]) => void;
}

/** Train the heads (and, for Medusa-2, the base) on batches `batch(step)` of i32 tokens (b, n); returns the loss per step. */
export function fitMedusa<S extends MixerState>(base: MedusaBase<S>, heads: MedusaHeads, batch: (step: number) => Tensor, opts: FitMedusaOptions): number[] {
  const mode = opts.mode ?? 'medusa1';
  const params: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(namedParameters(heads))) if (t.requiresGrad) params[`heads.${n}`] = t;
  if (mode === 'medusa2') {
    if (!base.module) throw new Error('fitMedusa: Medusa-2 trains the base model, but this base exposes no module with its parameters');
    for (const [n, t] of Object.entries(namedParameters(base.module))) if (t.requiresGrad) params[`base.${n}`] = t;
  }
  const optimizer = adam({ lr: opts.lr ?? 1e-2, groups: mode === 'medusa2' ? [{ match: /^base\./, lrScale: opts.baseLrScale ?? 0.1 }] : [] });
  let optState = optimizer.init(params);
  const losses: number[] = [];
  for (let step = 0; step < opts.steps; step++) {
    const tokens = batch(step);
    let perHead: number[] = [];
    const r = trainStep({
      params,
      optimizer,
      optState,
      loss: () => {
        const { hidden, logits } = base.forwardHidden(tokens);
        const l = mode === 'medusa2' ? medusa2Loss(heads, hidden, logits, tokens, { lambda: opts.lambda, decay: opts.decay }) : medusa1Loss(heads, hidden, tokens, { decay: opts.decay });
        perHead = l.perHead;
        return l.total;
      },
    });
    tokens.dispose();
    optState = r.optState;
    losses.push(r.loss);
    opts.onStep?.(step, r.loss, perHead);
  }
  return losses;
}

/** Self-distillation data: each prompt followed by the base model's greedy continuation of `length` tokens, as i32 (prompts, p + length). */
export function selfDistill<S extends MixerState>(base: MedusaBase<S>, prompts: readonly (readonly number[])[], length: number): Tensor {
  if (prompts.length === 0) throw new Error('selfDistill: no prompts');
  const p = prompts[0]!.length;
  if (prompts.some((q) => q.length !== p)) throw new Error('selfDistill: prompts must have one length');
  const rows = prompts.map((q) => [...q, ...generate(base, q, { maxNewTokens: length }).tokens]);
  return tensor(Int32Array.from(rows.flat()), [prompts.length, p + length], { dtype: 'i32' });
}
