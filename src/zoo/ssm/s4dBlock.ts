/**
 * The S4D and S4 layers as token mixers, as in the S4D paper's blocks (A. Gu
 * et al., arXiv 2206.11893, §5; the S4 repository's standalone block): the
 * SSM over every channel, GELU, then a position-wise output projection
 * d → 2d with a GLU back to d. Residual connections and normalisation belong
 * to the model that stacks mixers. The convolution is causal, so each is a
 * causal mixer with a recurrent `step` for decoding: 's4d' (diagonal, ZOH,
 * Vandermonde kernel) and 's4' (DPLR HiPPO-LegS, bilinear, Cauchy kernel;
 * sequences up to its lMax).
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
import { S4, type S4Options, type S4State } from './s4.js';

export class S4DBlock extends Module implements Mixer<S4DState | S4State> {
  readonly causal = true;
  ssm: S4D | S4;
  output_linear: Linear;

  /** `layer` picks the SSM: 's4d' (default) with S4D options, 's4' with S4 options. */
  constructor(dModel: number, opts: S4DOptions | S4Options, layer: 's4d' | 's4' = 's4d') {
    super();
    const [k1, k2] = splitKey(opts.key);
    this.ssm = layer === 's4' ? new S4(dModel, { ...(opts as S4Options), key: k1! }) : new S4D(dModel, { ...(opts as S4DOptions), key: k1! });
    this.output_linear = new Linear(dModel, 2 * dModel, { key: k2!, dtype: opts.dtype });
  }

  get dModel(): number {
    return this.ssm.config.channels;
  }

  /** (b, L, d) → (b, L, d). Causal: right padding never reaches real positions. */
  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    return tidy(() => glu(this.output_linear.forward(gelu(this.ssm.forward(x)))));
  }

  initState(batch: number): S4DState | S4State {
    return this.ssm.initState(batch);
  }

  step(x: Tensor, state: S4DState | S4State): [Tensor, S4DState | S4State] {
    const [y, next] = this.ssm.step(x, state);
    const out = tidy(() => glu(this.output_linear.forward(gelu(y))));
    y.dispose();
    return [out, next];
  }
}

registerMixer('s4d', (dModel, spec, key) => new S4DBlock(dModel, { ...(spec as Partial<S4DOptions>), key }));
registerMixer('s4', (dModel, spec, key) => new S4DBlock(dModel, { ...(spec as Partial<S4Options>), key }, 's4'));
