/**
 * The multi-scale architecture of Real NVP (Dinh et al., arXiv 1605.08803,
 * §3.6, Fig. 4) as used by Glow (arXiv 1807.03039, §3 and Fig. 2b).
 *
 * Squeeze: (b, c, h, w) → (b, 4c, h/2, w/2), each 2×2 patch becoming 4
 * channels — trading space for channels so that channel masks and 1×1
 * convolutions can mix neighbouring pixels. A permutation: log-det 0.
 *
 * Split: factor out half of the channels as latents at this scale,
 *   z₁, z₂ = x[:, :c₁], x[:, c₁:],   log p(z₂ | z₁) = Σ log N(z₂; μ(z₁), σ(z₁)²)
 * with μ, log σ from a zero-initialised layer on z₁ (Glow's learned prior
 * "split2d"), or a standard normal (Real NVP). Only z₁ continues through the
 * flow; log p(z₂ | z₁) is returned in the log-det slot, because
 * log p(x) = log p(z_top) + Σ log|det| + Σ log p(z₂ at each level).
 * z₂ is pushed onto ctx.latents; the inverse pops it back or, when none are
 * left, samples z₂ = μ + σ·ε with ε from ctx.draw (temperature included).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, exp, mul, neg, square, sub } from '../../ops/elementwise.js';
import { permute, reshape } from '../../ops/views.js';
import { split } from '../../ops/slice.js';
import { concat } from '../../ops/join.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { Conv2d } from '../../nn/conv.js';
import { checkPositiveInt } from '../../nn/util.js';
import { FlowLayer, checkFlowInput, sumPerExample, zeroLogdet, type FlowContext } from './layer.js';
import { zeroLast } from './conditioner.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Σ log N(z; μ, exp(logσ)²) per example. */
export function gaussianLogProb(z: Tensor, mu: Tensor | null = null, logSigma: Tensor | null = null): Tensor {
  return tidy(() => {
    const u = mu ? sub(z, mu) : z;
    const scaled = logSigma ? mul(u, exp(neg(logSigma))) : u;
    let lp = sub(mul(square(scaled), -0.5), HALF_LOG_2PI);
    if (logSigma) lp = sub(lp, logSigma);
    return sumPerExample(lp);
  });
}

/** (b, c, h, w) → (b, 4c, h/2, w/2) */
export function squeeze2x2(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  if (x.ndim !== 4 || h % 2 !== 0 || w % 2 !== 0) throw new Error(`squeeze2x2: x is ${shapeStr(x.shape)}; expected (b, c, h, w) with even h and w`);
  return tidy(() => reshape(permute(reshape(x, [b, c, h / 2, 2, w / 2, 2]), [0, 1, 3, 5, 2, 4]), [b, 4 * c, h / 2, w / 2]));
}

/** (b, 4c, h, w) → (b, c, 2h, 2w), the inverse of squeeze2x2 */
export function unsqueeze2x2(y: Tensor): Tensor {
  const [b, c4, h, w] = y.shape as [number, number, number, number];
  if (y.ndim !== 4 || c4 % 4 !== 0) throw new Error(`unsqueeze2x2: y is ${shapeStr(y.shape)}; expected (b, 4c, h, w)`);
  const c = c4 / 4;
  return tidy(() => reshape(permute(reshape(y, [b, c, 2, 2, h, w]), [0, 1, 4, 2, 5, 3]), [b, c, 2 * h, 2 * w]));
}

export class Squeeze extends FlowLayer {
  forward(x: Tensor): [Tensor, Tensor] {
    return tidy(() => [squeeze2x2(x), zeroLogdet(x)]);
  }

  inverse(y: Tensor): Tensor {
    return unsqueeze2x2(y);
  }

  override outShape(inShape: readonly number[]): number[] {
    const [c, h, w] = inShape as [number, number, number];
    if (inShape.length !== 3 || h % 2 !== 0 || w % 2 !== 0) throw new Error(`Squeeze: an example of shape ${shapeStr(inShape)} cannot be squeezed; expected (c, h, w) with even h and w`);
    return [4 * c, h / 2, w / 2];
  }
}

export interface SplitOptions {
  /** condition z₂'s Gaussian on z₁ through a zero-initialised layer (Glow; default true) or use N(0, I) (Real NVP) */
  learnedPrior?: boolean;
  /** the example shape is (c, h, w) (a 3×3 conv prior) rather than (c) (a linear prior); default: images */
  images?: boolean;
  key?: Key;
  dtype?: DType;
}

export class Split extends FlowLayer {
  readonly config: Readonly<{ channels: number; keep: number; learnedPrior: boolean; images: boolean }>;
  /** (μ, log σ) of z₂ from z₁, or null for the standard normal */
  prior: Module | null;

  constructor(channels: number, opts: SplitOptions = {}) {
    super();
    checkPositiveInt('Split', 'channels', channels);
    if (channels < 2) throw new Error(`Split: needs at least 2 channels to factor half out, got ${channels}`);
    const keep = Math.ceil(channels / 2);
    const learnedPrior = opts.learnedPrior ?? true;
    const images = opts.images ?? true;
    this.config = { channels, keep, learnedPrior, images };
    this.prior = null;
    if (learnedPrior) {
      if (!opts.key) throw new Error('Split: a learned prior needs a key');
      const out = 2 * (channels - keep);
      const layer = images ? new Conv2d(keep, out, 3, { key: opts.key, padding: 'same', dtype: opts.dtype }) : new Linear(keep, out, { key: opts.key, dtype: opts.dtype });
      zeroLast(layer);
      this.prior = layer;
    }
  }

  /** (μ, log σ) of z₂ given z₁, or nulls for N(0, I) */
  #params(z1: Tensor): [Tensor | null, Tensor | null] {
    if (!this.prior) return [null, null];
    const h = (this.prior as Linear | Conv2d).forward(z1);
    return split(h, 2, 1) as [Tensor, Tensor];
  }

  forward(x: Tensor, ctx?: FlowContext): [Tensor, Tensor] {
    checkFlowInput('Split', x, this.config.channels);
    const { channels, keep } = this.config;
    const [z1, z2] = split(x, [keep, channels - keep], 1) as [Tensor, Tensor];
    const logp = tidy(() => {
      const [mu, logSigma] = this.#params(z1);
      return gaussianLogProb(z2, mu, logSigma);
    });
    if (ctx?.latents) ctx.latents.push(z2);
    else z2.dispose();
    return [z1, logp];
  }

  inverse(z1: Tensor, ctx?: FlowContext): Tensor {
    checkFlowInput('Split', z1, this.config.keep);
    const popped = ctx?.latents && ctx.latents.length > 0 ? ctx.latents.pop()! : null;
    return tidy(() => {
      let z2: Tensor;
      if (popped) z2 = popped;
      else {
        if (!ctx?.draw) throw new Error('Split.inverse: no latent left in ctx.latents and no ctx.draw to sample one');
        const [mu, logSigma] = this.#params(z1);
        const eps = ctx.draw([z1.shape[0]!, this.config.channels - this.config.keep, ...z1.shape.slice(2)]);
        z2 = mu && logSigma ? add(mu, mul(exp(logSigma), eps)) : eps;
      }
      return concat([z1, z2], 1);
    });
  }

  override outShape(inShape: readonly number[]): number[] {
    return [this.config.keep, ...inShape.slice(1)];
  }
}

