/**
 * Residual vector quantisation — Zeghidour et al., SoundStream, arXiv
 * 2107.03312, §3.3 and Algorithm 1 (also Lee et al., RQ-VAE, arXiv
 * 2203.01941): S quantisers in sequence, each coding what the previous ones
 * left over,
 *
 *   r₀ = z,   e⁽ˢ⁾ = Q_s(r_{s−1}),   r_s = r_{s−1} − e⁽ˢ⁾,   ẑ = Σ_s e⁽ˢ⁾
 *
 * so K codes per stage give K^S combinations at the cost of S·K vectors. Each
 * stage has its own codebook and commitment loss on its residual; the
 * decoder's gradient reaches z straight through the sum, z_q = z + sg(ẑ − z).
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add, sub } from '../../ops/elementwise.js';
import { stack } from '../../ops/join.js';
import { foldIn } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { straightThrough, type QuantizeResult } from './quantizer.js';

/** A quantiser stage: VectorQuantizer or SimVQ. */
export interface Quantizer extends Module {
  readonly config: Readonly<{ codes: number; dim: number }>;
  forward(z: Tensor, key?: Key): QuantizeResult;
}

export interface ResidualResult extends QuantizeResult {
  /** the indices of every stage stacked on a new last axis: (…, S) */
  indices: Tensor;
}

export class ResidualVQ extends Module {
  stages: Quantizer[];

  constructor(stages: readonly Quantizer[]) {
    super();
    if (stages.length === 0) throw new Error('ResidualVQ: needs at least one stage');
    const d = stages[0]!.config.dim;
    stages.forEach((s, i) => {
      if (s.config.dim !== d) throw new Error(`ResidualVQ: stage ${i} quantises ${s.config.dim}-dimensional vectors but stage 0 ${d}-dimensional ones`);
    });
    this.stages = stages.slice();
  }

  forward(z: Tensor, key?: Key): ResidualResult {
    return tidy(() => {
      let residual = z;
      let zHat: Tensor | null = null;
      let loss: Tensor | null = null;
      let codebookLoss: Tensor | null = null;
      let commitLoss: Tensor | null = null;
      const indices: Tensor[] = [];
      this.stages.forEach((q, s) => {
        const r = q.forward(residual, key ? foldIn(key, s) : undefined);
        // the stage's code value; later stages see the residual with this code removed (no gradient through the code)
        const e = r.zq.detach();
        zHat = zHat ? add(zHat, e) : e;
        residual = sub(residual, e);
        indices.push(r.indices);
        loss = loss ? add(loss, r.loss) : r.loss;
        codebookLoss = codebookLoss ? add(codebookLoss, r.codebookLoss) : r.codebookLoss;
        commitLoss = commitLoss ? add(commitLoss, r.commitLoss) : r.commitLoss;
      });
      return { zq: straightThrough(z, zHat!), indices: stack(indices, -1), loss: loss!, codebookLoss: codebookLoss!, commitLoss: commitLoss! };
    });
  }
}
