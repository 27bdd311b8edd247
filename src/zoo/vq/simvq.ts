/**
 * SimVQ — Zhu, Li, Wang, Zhang & Ding, "Addressing Representation Collapse in
 * Vector Quantized Models with One Linear Layer", arXiv 2411.02038 (§3.2–3.3,
 * eq. 6–7).
 *
 * Plain VQ updates only the codes that win an argmin, so codes that start far
 * from the encoder's outputs are never chosen and never move: the codebook
 * collapses onto a few entries. SimVQ reparameterises the codebook as
 *
 *   C = Ĉ·W     (Ĉ ∈ ℝ^{K×d} frozen random, W ∈ ℝ^{d×d} learned)
 *
 * so the codebook loss ‖sg(z) − e_k‖² moves W, and every code moves with it:
 * the whole latent basis rotates and stretches towards the encoder's outputs.
 * The quantisation, straight-through estimator and losses are those of VQ-VAE.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { normal, splitKey } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { checkPositiveInt } from '../../nn/util.js';
import { quantize, type GradientPath, type QuantizeResult } from './quantizer.js';

export interface SimVQOptions {
  key: Key;
  beta?: number;
  gradient?: GradientPath;
  /** standard deviation of the frozen Ĉ (default d^−½, as the paper's code) */
  initScale?: number;
  dtype?: DType;
}

export class SimVQ extends Module {
  readonly config: Readonly<{ codes: number; dim: number; beta: number; gradient: GradientPath }>;
  /** Ĉ (K, d), frozen */
  frozenCodebook: Tensor;
  /** W as a bias-free linear layer: C = Ĉ·Wᵀ in nn.Linear's (out, in) convention */
  proj: Linear;

  constructor(codes: number, dim: number, opts: SimVQOptions) {
    super();
    checkPositiveInt('SimVQ', 'codes', codes);
    checkPositiveInt('SimVQ', 'dim', dim);
    this.config = { codes, dim, beta: opts.beta ?? 0.25, gradient: opts.gradient ?? 'ste' };
    const [kc, kw] = splitKey(opts.key);
    this.frozenCodebook = param(normal(kc!, [codes, dim], { dtype: opts.dtype, std: opts.initScale ?? 1 / Math.sqrt(dim) }), false);
    this.proj = new Linear(dim, dim, { key: kw!, bias: false, dtype: opts.dtype });
  }

  /** C = Ĉ·W (K, d), differentiable w.r.t. W */
  codebook(): Tensor {
    return tidy(() => this.proj.forward(this.frozenCodebook));
  }

  /** Quantise z (…, d) against C = Ĉ·W. */
  forward(z: Tensor): QuantizeResult {
    return tidy(() => quantize(z, this.codebook(), { beta: this.config.beta, gradient: this.config.gradient }));
  }
}
