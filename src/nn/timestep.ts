/**
 * Embeddings of diffusion time or noise level.
 * - Sinusoidal timestep embedding: J. Ho, A. Jain, P. Abbeel, "Denoising
 *   Diffusion Probabilistic Models", arXiv 2006.11239 (the Transformer
 *   sinusoid of §3.5 of Vaswani et al. applied to t): [sin(t·ω_k), cos(t·ω_k)],
 *   ω_k = exp(−ln(maxPeriod)·k/(half − shift)). The defaults reproduce the
 *   DDPM code (shift 1, sin first); ADM/guided-diffusion is shift 0 with cos
 *   first (`flipSinToCos`), as in diffusers' get_timestep_embedding.
 * - Gaussian Fourier features: M. Tancik et al., arXiv 2006.10739, used for
 *   noise levels by Y. Song et al., "Score-Based Generative Modeling through
 *   SDEs", arXiv 2011.13456 (NCSN++): [sin(2π·x·W), cos(2π·x·W)] with
 *   W ~ N(0, scale²) fixed (learnable = false, a frozen parameter so it is
 *   saved with the model).
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { arange } from '../ops/creation.js';
import { cos, exp, log, mul, sin } from '../ops/elementwise.js';
import { concat, pad } from '../ops/join.js';
import { reshape } from '../ops/views.js';
import { Module, param } from './module.js';
import { normal } from './init.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

export interface TimestepEmbeddingOptions {
  /** the longest period (default 10000) */
  maxPeriod?: number;
  /** [cos, sin] instead of [sin, cos] (default false) */
  flipSinToCos?: boolean;
  /** frequencies exp(−ln(maxPeriod)·k/(half − shift)): 1 for DDPM (default), 0 for ADM */
  downscaleFreqShift?: number;
  /** multiply the arguments t·ω by this (default 1) */
  scale?: number;
}

/** t (n) → (n, dim): the DDPM sinusoidal embedding; an odd dim gets a zero last column. Differentiable in t. */
export function timestepEmbedding(t: Tensor, dim: number, opts: TimestepEmbeddingOptions = {}): Tensor {
  const op = 'timestepEmbedding';
  checkFloatTensor(op, 't', t);
  if (t.ndim !== 1) throw new Error(`${op}: t must be 1-D (one time per batch element), got ${shapeStr(t.shape)}`);
  checkPositiveInt(op, 'dim', dim);
  const half = Math.floor(dim / 2);
  const shift = opts.downscaleFreqShift ?? 1;
  if (half - shift <= 0) throw new Error(`${op}: dim ${dim} is too small for downscaleFreqShift ${shift}`);
  const maxPeriod = opts.maxPeriod ?? 10000;
  return tidy(() => {
    const freqs = exp(mul(arange(half, undefined, 1, { dtype: t.dtype }), -Math.log(maxPeriod) / (half - shift)));
    const args = mul(mul(reshape(t, [t.shape[0]!, 1]), reshape(freqs, [1, half])), opts.scale ?? 1);
    const parts = opts.flipSinToCos ? [cos(args), sin(args)] : [sin(args), cos(args)];
    const emb = concat(parts, -1);
    return dim % 2 === 1 ? pad(emb, [[0, 0], [0, 1]]) : emb;
  });
}

export interface GaussianFourierOptions {
  key: Key;
  /** number of frequencies; the output has twice as many channels (default 256) */
  embeddingSize?: number;
  /** std of the frequencies W (default 1; NCSN++ uses 16) */
  scale?: number;
  /** train W (default false: W stays fixed, as in the paper) */
  learnable?: boolean;
  /** embed log(x) instead of x (diffusers' option; NCSN++ takes log σ before calling) */
  log?: boolean;
  /** [cos, sin] instead of [sin, cos] */
  flipSinToCos?: boolean;
  dtype?: DType;
}

/** Gaussian Fourier projection: x (n) → (n, 2·embeddingSize); `W` (embeddingSize). */
export class GaussianFourierProjection extends Module {
  readonly config: Readonly<{ embeddingSize: number; scale: number; learnable: boolean; log: boolean; flipSinToCos: boolean }>;
  W: Tensor;

  constructor(opts: GaussianFourierOptions) {
    super();
    const embeddingSize = checkPositiveInt('GaussianFourierProjection', 'embeddingSize', opts.embeddingSize ?? 256);
    const scale = opts.scale ?? 1;
    this.config = { embeddingSize, scale, learnable: opts.learnable ?? false, log: opts.log ?? false, flipSinToCos: opts.flipSinToCos ?? false };
    this.W = param(normal(opts.key, [embeddingSize], { std: scale, dtype: opts.dtype }), this.config.learnable);
  }

  forward(x: Tensor): Tensor {
    const op = 'GaussianFourierProjection';
    checkFloatTensor(op, 'x', x);
    if (x.ndim !== 1) throw new Error(`${op}: x must be 1-D (one noise level per batch element), got ${shapeStr(x.shape)}`);
    return tidy(() => {
      const xx = this.config.log ? log(x) : x;
      const proj = mul(mul(reshape(xx, [x.shape[0]!, 1]), reshape(this.W, [1, this.config.embeddingSize])), 2 * Math.PI);
      return concat(this.config.flipSinToCos ? [cos(proj), sin(proj)] : [sin(proj), cos(proj)], -1);
    });
  }
}
