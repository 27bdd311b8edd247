/**
 * The network of the 2-D experiments: an MLP on [x, embed(c)] where embed is
 * a Gaussian Fourier projection of the conditioning value c (Tancik et al.,
 * arXiv 2006.10739; used for noise levels by Song et al., arXiv 2011.13456):
 * [sin(2π·c·W), cos(2π·c·W)], W ~ N(0, scale²) fixed; or the DDPM sinusoidal
 * embedding. `cScale` maps the conditioning into a range the frequencies
 * suit (e.g. 1/1000 for DDPM step indices).
 *
 *   x (b, d), c (b) → (b, d)
 */
import type { Tensor } from '../../../core/tensor.js';
import type { Key } from '../../../core/random.js';
import { tidy } from '../../../core/memory.js';
import { concat } from '../../../ops/join.js';
import { mul } from '../../../ops/elementwise.js';
import { splitKey } from '../../../ops/random.js';
import { Module } from '../../../nn/module.js';
import { MLP } from '../../../nn/mlp.js';
import { GaussianFourierProjection, timestepEmbedding } from '../../../nn/timestep.js';
import type { Activation } from '../../../nn/activation.js';
import type { Net } from '../denoiser.js';

export interface TimeMlpOptions {
  key: Key;
  /** hidden widths (default [128, 128, 128]) */
  hidden?: number[];
  /** embedding width (default 32) */
  embedDim?: number;
  /** 'fourier' (default) or 'sinusoidal' */
  embedding?: 'fourier' | 'sinusoidal';
  /** std of the Fourier frequencies (default 4) */
  fourierScale?: number;
  /** multiply c by this before embedding (default 1) */
  cScale?: number;
  /** default 'silu' */
  activation?: Activation;
}

export class TimeMlp extends Module {
  readonly config: Readonly<{ dim: number; hidden: number[]; embedDim: number; embedding: 'fourier' | 'sinusoidal'; cScale: number }>;
  fourier: GaussianFourierProjection | null;
  mlp: MLP;

  constructor(dim: number, opts: TimeMlpOptions) {
    super();
    const hidden = opts.hidden ?? [128, 128, 128];
    const embedDim = opts.embedDim ?? 32;
    const embedding = opts.embedding ?? 'fourier';
    if (embedDim % 2 !== 0) throw new Error(`TimeMlp: embedDim must be even, got ${embedDim}`);
    this.config = { dim, hidden, embedDim, embedding, cScale: opts.cScale ?? 1 };
    const [kf, km] = splitKey(opts.key);
    this.fourier = embedding === 'fourier' ? new GaussianFourierProjection({ key: kf!, embeddingSize: embedDim / 2, scale: opts.fourierScale ?? 4 }) : null;
    this.mlp = new MLP(dim + embedDim, hidden, dim, { key: km!, activation: opts.activation ?? 'silu' });
  }

  /** x (b, d), c (b) → (b, d) */
  forward(x: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      const cs = this.config.cScale === 1 ? c : mul(c, this.config.cScale);
      const e = this.fourier ? this.fourier.forward(cs) : timestepEmbedding(cs, this.config.embedDim);
      return this.mlp.forward(concat([x, e], -1));
    });
  }

  /** the network as a plain function (what losses and denoisers take) */
  get net(): Net {
    return (x, c) => this.forward(x, c);
  }
}
