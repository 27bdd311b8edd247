/**
 * The S4D layer as a token mixer, as in the S4D paper's blocks (A. Gu et al.,
 * arXiv 2206.11893, §5; the S4 repository's standalone S4D block): the SSM
 * over every channel, GELU, then a position-wise output projection d → 2d
 * with a GLU back to d. Residual connections and normalisation belong to the
 * model that stacks mixers. The block's convolution is causal, so it is a
 * causal mixer with a recurrent `step` for decoding.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { gelu } from '../../ops/elementwise.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { glu } from '../../nn/mlp.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { S4D, type S4DOptions, type S4DState } from './s4d.js';

export class S4DBlock extends Module implements Mixer<S4DState> {
  readonly causal = true;
  ssm: S4D;
  output_linear: Linear;

  constructor(dModel: number, opts: S4DOptions) {
    super();
    const [k1, k2] = splitKey(opts.key);
    this.ssm = new S4D(dModel, { ...opts, key: k1! });
    this.output_linear = new Linear(dModel, 2 * dModel, { key: k2!, dtype: opts.dtype });
  }

  get dModel(): number {
    return this.ssm.config.channels;
  }

  /** (b, L, d) → (b, L, d). Causal: right padding never reaches real positions. */
  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    return tidy(() => glu(this.output_linear.forward(gelu(this.ssm.forward(x)))));
  }

  initState(batch: number): S4DState {
    return this.ssm.initState(batch);
  }

  step(x: Tensor, state: S4DState): [Tensor, S4DState] {
    const [y, next] = this.ssm.step(x, state);
    const out = tidy(() => glu(this.output_linear.forward(gelu(y))));
    y.dispose();
    return [out, next];
  }
}

registerMixer('s4d', (dModel, spec, key) => new S4DBlock(dModel, { ...(spec as Partial<S4DOptions>), key }));
