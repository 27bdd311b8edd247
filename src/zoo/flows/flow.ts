/**
 * A normalising flow model: a stack of invertible layers over a factorised
 * prior, with the exact log-likelihood of the change of variables (Dinh et
 * al., Real NVP, arXiv 1605.08803, eq. 3; Glow, arXiv 1807.03039, eq. 4)
 *
 *   log p(x) = log p_Z(z) + Σ_l log|det ∂h_l/∂h_{l−1}| + Σ_levels log p(z₂ | z₁),   z = f(x)
 *
 * and sampling by x = f⁻¹(z), z ~ p_Z at a temperature (Glow §5). The models
 * of the papers (NICE, Real NVP, Glow) are built in `models.ts` as stacks of
 * the layers in this folder.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, neg } from '../../ops/elementwise.js';
import { mean } from '../../ops/stats.js';
import { foldIn, normal } from '../../ops/random.js';
import { noGrad } from '../../autodiff/tape.js';
import { Module, parameters } from '../../nn/module.js';
import { defaultFloat } from '../../ops/creation.js';
import type { DType } from '../../core/dtype.js';
import { FlowLayer, FlowSequence, type FlowContext } from './layer.js';
import { priorByName, type Prior, type PriorName } from './priors.js';
import { bitsPerDim, uniformDequantize } from './dequantize.js';

export interface FlowOptions {
  /** one example's shape: (d) or (c, h, w) */
  eventShape: readonly number[];
  /** the base distribution of the top latent (default 'gaussian') */
  prior?: PriorName;
}

export interface Encoded {
  /** the top latent */
  z: Tensor;
  /** the factored-out latents of the Split layers, in the order they were split off */
  latents: Tensor[];
  /** log p(x) per example */
  logProb: Tensor;
}

export class Flow extends Module {
  readonly config: Readonly<{ eventShape: number[]; latentShape: number[]; prior: PriorName }>;
  body: FlowSequence;
  readonly #prior: Prior;

  constructor(layers: readonly FlowLayer[], opts: FlowOptions) {
    super();
    this.body = new FlowSequence(layers);
    const prior = opts.prior ?? 'gaussian';
    this.#prior = priorByName(prior);
    const eventShape = opts.eventShape.slice();
    this.config = { eventShape, latentShape: this.body.outShape(eventShape), prior };
  }

  #check(op: string, x: Tensor): void {
    const e = this.config.eventShape;
    if (x.ndim !== e.length + 1 || e.some((d, i) => x.shape[i + 1] !== d)) throw new Error(`Flow.${op}: x is ${shapeStr(x.shape)} but the flow models examples of shape ${shapeStr(e)} (with a leading batch axis)`);
  }

  /** z = f(x) and Σ log|det| (including the factored-out latents' log-densities), both per example */
  forward(x: Tensor, ctx?: FlowContext): [Tensor, Tensor] {
    this.#check('forward', x);
    return this.body.forward(x, ctx);
  }

  /** x = f⁻¹(z); Split layers pop ctx.latents or sample with ctx.draw */
  inverse(z: Tensor, ctx?: FlowContext): Tensor {
    return this.body.inverse(z, ctx);
  }

  /** log p(x) per example, (b,) */
  logProb(x: Tensor): Tensor {
    return tidy(() => {
      const [z, logdet] = this.forward(x);
      return add(this.#prior.logProb(z), logdet);
    });
  }

  /** −mean log p(x): the training loss, in nats per example */
  nll(x: Tensor): Tensor {
    return tidy(() => neg(mean(this.logProb(x))));
  }

  /** Every latent of x and log p(x); decode(z, latents) gives x back. */
  encode(x: Tensor): Encoded {
    const latents: Tensor[] = [];
    const [z, logdet] = this.forward(x, { latents });
    const logProb = tidy(() => add(this.#prior.logProb(z), logdet));
    logdet.dispose();
    return { z, latents, logProb };
  }

  /** The inverse of encode (the latents list is consumed, not disposed). */
  decode(z: Tensor, latents: Tensor[] = []): Tensor {
    return this.inverse(z, { latents: latents.slice() });
  }

  /** Run one forward pass without gradients so that data-dependent initialisations (ActNorm) use this batch. */
  initialize(x: Tensor): void {
    noGrad(() => tidy(() => void this.forward(x)));
  }

  /** n samples: z ~ p_Z·T at the top and T·N(0, I) noise for every factored-out latent (T = temperature, default 1). */
  sample(key: Key, n: number, opts: { temperature?: number } = {}): Tensor {
    if (!Number.isInteger(n) || n < 1) throw new Error(`Flow.sample: n must be a positive integer, got ${n}`);
    const temperature = opts.temperature ?? 1;
    const dtype = this.#dtype();
    let draws = 0;
    const draw = (shape: readonly number[]): Tensor => normal(foldIn(key, ++draws), shape, { dtype, std: temperature });
    return noGrad(() =>
      tidy(() => {
        const z = this.#prior.sample(foldIn(key, 0), [n, ...this.config.latentShape], { temperature, dtype });
        return this.inverse(z, { draw });
      }),
    );
  }

  /**
   * Bits per dimension of discrete data x ∈ {0, …, bins−1} under uniform
   * dequantisation (y = (x + u)/bins − ½ when center): a Monte Carlo estimate
   * of an upper bound on the discrete model's, averaged over the batch.
   */
  bitsPerDim(x: Tensor, key: Key, opts: { bins?: number; center?: boolean } = {}): number {
    return noGrad(() =>
      tidy(() => {
        const { y, logdet } = uniformDequantize(x, key, opts);
        const lp = add(this.logProb(y), logdet);
        return bitsPerDim(lp, this.config.eventShape.reduce((a, b) => a * b, 1));
      }),
    );
  }

  /** the dtype of the parameters (the default float when there are none) */
  #dtype(): DType {
    return parameters(this)[0]?.dtype ?? defaultFloat();
  }
}
