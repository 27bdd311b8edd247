/**
 * Training and evaluation of a VQ-VAE on fresh samples from a seeded
 * sampler: Adam on the reconstruction + quantiser loss, then codebook usage,
 * perplexity and reconstruction error on held-out data. The collapse
 * comparison of docs/flows.md (plain VQ vs rotation trick vs SimVQ vs EMA vs
 * residual VQ, one budget for all) and its test use this loop.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { foldIn, splitKey } from '../../ops/random.js';
import { backward } from '../../autodiff/backward.js';
import { noGrad } from '../../autodiff/tape.js';
import { evalMode, namedGrads, train, trainableParameters, zeroGrad } from '../../nn/module.js';
import { adam } from '../../optim/adam.js';
import { codebookUsage, perplexity } from './codebook.js';
import type { VQVAE } from './vqvae.js';

export interface VqTrainOptions {
  key: Key;
  steps: number;
  batch: number;
  lr?: number;
  /** held-out examples for the metrics (default 1024) */
  evalSize?: number;
  onStep?: (step: number, total: number) => void;
}

export interface VqMetrics {
  /** fraction of the codebook used on the held-out set (of all K·S codes for residual VQ) */
  usage: number;
  /** exp(entropy) of the code histogram (per stage, averaged, for residual VQ) */
  perplexity: number;
  /** mean ‖x − x̂‖² on the held-out set */
  mse: number;
}

/** The number of codes of each stage of the model's quantiser. */
function stageCodes(model: VQVAE): number[] {
  const q = model.quantizer as unknown as { stages?: { config: { codes: number } }[]; config?: { codes: number } };
  if (q.stages) return q.stages.map((s) => s.config.codes);
  if (q.config) return [q.config.codes];
  throw new Error('vq: the quantiser has no config.codes');
}

/** Usage, perplexity and reconstruction MSE on x, in evaluation mode (no codebook updates). */
export function evaluateVq(model: VQVAE, x: Tensor): VqMetrics {
  const wasTraining = model.training;
  evalMode(model);
  try {
    return noGrad(() =>
      tidy(() => {
        const out = model.forward(x);
        const codes = stageCodes(model);
        const S = codes.length;
        const idx = out.indices.toF64();
        let used = 0;
        let ppl = 0;
        codes.forEach((K, s) => {
          const stageIdx = S === 1 ? idx : idx.filter((_, i) => i % S === s);
          used += codebookUsage(stageIdx, K) * K;
          ppl += perplexity(stageIdx, K) / S;
        });
        return { usage: used / codes.reduce((a, b) => a + b, 0), perplexity: ppl, mse: out.recon.item() };
      }),
    );
  } finally {
    train(model, wasTraining);
  }
}

/** Train with Adam on recon + quantiser loss; returns the total loss per step. */
export function trainVq(model: VQVAE, sample: (key: Key, n: number) => Tensor, opts: VqTrainOptions): number[] {
  const params = trainableParameters(model);
  const opt = adam({ lr: opts.lr ?? 1e-3 });
  let state = opt.init(params);
  const losses: number[] = [];
  const [kData, kQuant] = splitKey(opts.key);
  train(model);
  for (let step = 0; step < opts.steps; step++) {
    tidy(() => {
      const x = sample(foldIn(kData!, step), opts.batch);
      const out = model.forward(x, foldIn(kQuant!, step));
      losses.push(out.total.item());
      backward(out.total);
    });
    const grads = namedGrads(model);
    state = opt.update(
      Object.fromEntries(Object.keys(params).map((n) => [n, grads[n]])),
      state,
      params,
    ).state;
    zeroGrad(model);
    opts.onStep?.(step, losses[step]!);
  }
  return losses;
}
