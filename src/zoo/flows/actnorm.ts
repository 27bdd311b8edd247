/**
 * Per-channel affine layers.
 *
 * ActNorm — Glow (Kingma & Dhariwal, arXiv 1807.03039, §3.1, Table 1 row 1):
 *   y_{i,j} = s ⊙ x_{i,j} + b,   log|det J| = h·w·Σ log|s|
 * with s = exp(logScale) (always positive) and a data-dependent
 * initialisation: on the first batch it sees, s and b are set so that the
 * post-ActNorm activations have zero mean and unit variance per channel; after
 * that they are ordinary parameters. Batch normalisation's role without its
 * dependence on the batch at test time.
 *
 * Scaling — NICE (Dinh et al., arXiv 1410.8516, §3.3): the final diagonal
 * scaling y = exp(S)⊙x, log|det J| = Σ S, which lets the volume-preserving
 * additive couplings give some dimensions more weight than others.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import { tidy } from '../../core/memory.js';
import { zeros } from '../../ops/creation.js';
import { add, div, exp, log, mul, neg, sqrt, sub } from '../../ops/elementwise.js';
import { mean } from '../../ops/stats.js';
import { sum } from '../../ops/reduce.js';
import { broadcastTo, reshape } from '../../ops/views.js';
import { noGrad } from '../../autodiff/tape.js';
import { param } from '../../nn/module.js';
import { copyInto } from '../../optim/inplace.js';
import { checkPositiveInt } from '../../nn/util.js';
import { FlowLayer, checkFlowInput, spatialSize } from './layer.js';

/** v (c) reshaped to broadcast along axis 1 of x: (1, c) or (1, c, 1, 1). */
export function perChannel(v: Tensor, x: Tensor): Tensor {
  return reshape(v, [1, v.shape[0]!, ...x.shape.slice(2).map(() => 1)]);
}

/** log|det| = positions·Σ v for a per-channel log-scale v, as (b,). */
function perChannelLogdet(v: Tensor, x: Tensor): Tensor {
  return broadcastTo(reshape(mul(sum(v), spatialSize(x)), [1]), [x.shape[0]!]);
}

/** The axes a per-channel statistic reduces over: all but axis 1. */
const statAxes = (x: Tensor): number[] => x.shape.map((_, i) => i).filter((i) => i !== 1);

export interface ActNormOptions {
  dtype?: DType;
  /** added to the standard deviation at initialisation (default 1e-6) */
  eps?: number;
}

export class ActNorm extends FlowLayer {
  readonly config: Readonly<{ channels: number; eps: number }>;
  /** log s, one per channel */
  logScale: Tensor;
  bias: Tensor;
  /** false until the data-dependent initialisation has run (set it to true after loading weights) */
  initialized = false;

  constructor(channels: number, opts: ActNormOptions = {}) {
    super();
    checkPositiveInt('ActNorm', 'channels', channels);
    this.config = { channels, eps: opts.eps ?? 1e-6 };
    this.logScale = param(zeros([channels], { dtype: opts.dtype }));
    this.bias = param(zeros([channels], { dtype: opts.dtype }));
  }

  /** Data-dependent init from a batch: s = 1/(σ + ε), b = −μ·s per channel, so that y has mean 0 and variance ≈ 1. */
  initialize(x: Tensor): void {
    checkFlowInput('ActNorm', x, this.config.channels);
    noGrad(() =>
      tidy(() => {
        const axes = statAxes(x);
        const mu = mean(x, axes); // (c)
        const sigma = sqrt(mean(mul(sub(x, perChannel(mu, x)), sub(x, perChannel(mu, x))), axes));
        const logs = neg(log(add(sigma, this.config.eps)));
        copyInto(this.logScale, logs);
        copyInto(this.bias, neg(mul(mu, exp(logs))));
      }),
    );
    this.initialized = true;
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('ActNorm', x, this.config.channels);
    if (!this.initialized) this.initialize(x);
    return tidy(() => [add(mul(x, perChannel(exp(this.logScale), x)), perChannel(this.bias, x)), perChannelLogdet(this.logScale, x)]);
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('ActNorm', y, this.config.channels);
    return tidy(() => div(sub(y, perChannel(this.bias, y)), perChannel(exp(this.logScale), y)));
  }
}

/** NICE's diagonal scaling y = exp(S)⊙x, one S per channel (per unit for vectors). */
export class Scaling extends FlowLayer {
  readonly config: Readonly<{ channels: number }>;
  /** S */
  logScale: Tensor;

  constructor(channels: number, opts: { dtype?: DType } = {}) {
    super();
    checkPositiveInt('Scaling', 'channels', channels);
    this.config = { channels };
    this.logScale = param(zeros([channels], { dtype: opts.dtype }));
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('Scaling', x, this.config.channels);
    return tidy(() => [mul(x, perChannel(exp(this.logScale), x)), perChannelLogdet(this.logScale, x)]);
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('Scaling', y, this.config.channels);
    return tidy(() => mul(y, perChannel(exp(neg(this.logScale)), y)));
  }
}
