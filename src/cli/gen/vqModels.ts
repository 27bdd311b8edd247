/**
 * The VQ models of `nabla train vq`: a VQ-VAE on 2-D points (MLP encoder
 * 2 → hidden → latentDim, quantiser, MLP decoder back; van den Oord et al.,
 * arXiv 1711.00937) with any quantiser of src/zoo/vq:
 *
 * | model | quantiser |
 * |---|---|
 * | vq | codebook + commitment loss, straight-through gradients |
 * | vq-rotation | the rotation trick instead of the straight-through estimator (Fifty et al., arXiv 2410.06424) |
 * | vq-ema | EMA codebook updates with dead-code restarts (VQ-VAE App. A.1) |
 * | simvq | a frozen codebook through a learned linear map (Zhu et al., arXiv 2411.02038) |
 * | residual | `stages` quantisers on successive residuals (Zeghidour et al., arXiv 2107.03312) |
 *
 * A VQ-VAE has no sampler of its own (a prior over codes is a separate
 * model), so the CLI's samplers decode codes:
 * - 'codes': codes drawn in proportion to their use on fresh data, which is
 *   decoding the quantised encodings of fresh data (the reconstructions);
 * - 'uniform': every stage's code drawn uniformly from its codebook, which
 *   shows what the unused (dead) codes decode to.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add } from '../../ops/elementwise.js';
import { tensor } from '../../ops/creation.js';
import { indexSelect } from '../../ops/indexing.js';
import { splitKey } from '../../ops/random.js';
import { noGrad } from '../../autodiff/tape.js';
import { evalMode, train } from '../../nn/module.js';
import { genData } from './data.js';
import * as vq from '../../zoo/vq/index.js';
import type { GenConfig } from './config.js';
import type { GenModel, SampleOutput } from './model.js';

type Stage = vq.VectorQuantizer | vq.SimVQ;

function makeQuantizer(cfg: GenConfig, key: Key): { quantizer: vq.QuantizerLike; stages: Stage[] } {
  const one = (k: Key): Stage => {
    if (cfg.model === 'simvq') return new vq.SimVQ(cfg.codes, cfg.latentDim, { key: k });
    return new vq.VectorQuantizer(cfg.codes, cfg.latentDim, {
      key: k,
      gradient: cfg.model === 'vq-rotation' ? 'rotation' : 'ste',
      ema: cfg.model === 'vq-ema',
      deadCodeThreshold: cfg.model === 'vq-ema' ? 0.5 : 0,
      // codes start where the encodings are (about unit scale), not at ±1/K
      initKind: 'normal',
      initScale: 1,
    });
  };
  if (cfg.model !== 'residual') {
    const q = one(key);
    return { quantizer: q, stages: [q] };
  }
  const stages = splitKey(key, cfg.stages).map(one);
  return { quantizer: new vq.ResidualVQ(stages), stages };
}

/** A stage's codebook (K, d) as a tensor. */
const codebookOf = (q: Stage): Tensor => (q instanceof vq.SimVQ ? q.codebook() : q.codebook);

export function buildVq(cfg: GenConfig, key: Key): GenModel {
  const [kq, km] = splitKey(key);
  const { quantizer, stages } = makeQuantizer(cfg, kq!);
  const data = genData(cfg.data);
  const model = vq.mlpVQVAE({ key: km!, dim: data.dim, latentDim: cfg.latentDim, hidden: cfg.hidden[0], quantizer });
  const inEval = <T>(f: () => T): T => {
    const was = model.training;
    evalMode(model);
    try {
      return noGrad(f);
    } finally {
      train(model, was);
    }
  };
  const sample = (k: Key, n: number, sampler: string): SampleOutput =>
    inEval(() =>
      tidy(() => {
        if (sampler === 'codes') return { x: model.forward(data.sample(k, n), k).xHat, nfe: 1 };
        // uniform codes: one per stage, summed (the residual quantiser's code value)
        let zq: Tensor | null = null;
        splitKey(k, stages.length).forEach((ks, s) => {
          const cb = codebookOf(stages[s]!);
          const idx = tensor(Array.from(prng.randint(ks, n, 0, cb.shape[0]!)), [n], { dtype: 'i32' });
          const e = indexSelect(cb, 0, idx);
          zq = zq ? add(zq, e) : e;
        });
        return { x: model.decode(zq!), nfe: 1 };
      }),
    );
  return {
    module: model,
    loss: (x, k) => model.forward(x, k).total,
    samplers: ['codes', 'uniform'],
    defaultSteps: 0,
    sample,
    summary: (k) => {
      const m = inEval(() => vq.evaluateVq(model, tidy(() => data.sample(k, 1024))));
      return { usage: m.usage, perplexity: m.perplexity, mse: m.mse };
    },
    describe: `${cfg.model} VQ-VAE (MLP ${data.dim}→${cfg.hidden[0]}→${cfg.latentDim}, ${cfg.model === 'residual' ? `${cfg.stages} stages × ` : ''}${cfg.codes} codes)`,
  };
}
