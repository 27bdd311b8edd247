/**
 * Feed-forward blocks.
 * - MLP: Linear → activation (→ dropout) … → Linear, any number of hidden layers.
 * - Gated linear units: Y. N. Dauphin et al., "Language Modeling with Gated
 *   Convolutional Networks", 2017 (GLU = a ⊗ σ(b)), and N. Shazeer, "GLU
 *   Variants Improve Transformer", arXiv 2002.05202 (eqs. 5–6):
 *     FFN_GEGLU(x)  = (GELU(xW) ⊗ xV)·W₂
 *     FFN_SwiGLU(x) = (Swish₁(xW) ⊗ xV)·W₂
 *   without biases. The layer's fields follow Llama's names: w1 = W (the
 *   activated branch), w3 = V (the linear branch), w2 = W₂.
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { mul } from '../ops/elementwise.js';
import { split } from '../ops/slice.js';
import { foldIn, splitKey } from '../ops/random.js';
import { Module } from './module.js';
import { Linear } from './linear.js';
import { dropout } from './dropout.js';
import { activationFn, activationLabel, type Activation } from './activation.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

export interface MLPOptions {
  key: Key;
  /** between layers (default 'gelu', the exact GELU) */
  activation?: Activation;
  bias?: boolean;
  /** dropout probability after each activation (default 0) */
  dropout?: number;
  dtype?: DType;
}

/** A multilayer perceptron: `layers.i` are Linear layers in → hidden… → out. */
export class MLP extends Module {
  readonly config: Readonly<{ inFeatures: number; hidden: number[]; outFeatures: number; activation: string; bias: boolean; dropout: number }>;
  layers: Linear[];
  readonly #act: (x: Tensor) => Tensor;

  constructor(inFeatures: number, hidden: number | readonly number[], outFeatures: number, opts: MLPOptions) {
    super();
    const hs = typeof hidden === 'number' ? [hidden] : hidden.slice();
    const widths = [inFeatures, ...hs, outFeatures];
    widths.forEach((w) => checkPositiveInt('MLP', 'a layer width', w));
    const activation = opts.activation ?? 'gelu';
    this.#act = activationFn('MLP', activation);
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p <= 1)) throw new Error(`MLP: dropout must be a probability in [0, 1], got ${p}`);
    this.config = { inFeatures, hidden: hs, outFeatures, activation: activationLabel(activation), bias: opts.bias ?? true, dropout: p };
    const keys = splitKey(opts.key, widths.length - 1);
    this.layers = keys.map((k, i) => new Linear(widths[i]!, widths[i + 1]!, { key: k, bias: opts.bias, dtype: opts.dtype }));
  }

  /** x (…, in) → (…, out); `key` drives dropout in training mode. */
  forward(x: Tensor, key?: Key): Tensor {
    return tidy(() => {
      let y = x;
      this.layers.forEach((layer, i) => {
        y = layer.forward(y);
        if (i === this.layers.length - 1) return;
        y = this.#act(y);
        if (this.config.dropout > 0) y = dropout(y, this.config.dropout, key ? foldIn(key, i) : undefined, { training: this.training });
      });
      return y;
    });
  }
}

/** a ⊗ act(b) where [a, b] are the two halves of the last axis: F.glu for sigmoid; (…, 2n) → (…, n). */
export function glu(x: Tensor, activation: Activation = 'sigmoid'): Tensor {
  checkFloatTensor('glu', 'x', x);
  const n = x.shape[x.ndim - 1];
  if (n === undefined || n % 2 !== 0) throw new Error(`glu: the last axis of x ${shapeStr(x.shape)} must have an even length`);
  const act = activationFn('glu', activation);
  return tidy(() => {
    const [a, b] = split(x, 2, -1) as [Tensor, Tensor];
    return mul(a, act(b));
  });
}

/** a ⊗ GELU(b) over the halves of the last axis (as diffusers' GEGLU after its projection). */
export const geglu = (x: Tensor): Tensor => glu(x, 'gelu');
/** a ⊗ SiLU(b) over the halves of the last axis. */
export const swiglu = (x: Tensor): Tensor => glu(x, 'silu');

export interface GatedFeedForwardOptions {
  key: Key;
  /** output width (default: dim) */
  outDim?: number;
  /** biases on the three projections (default false, as in the paper) */
  bias?: boolean;
  dtype?: DType;
}

/** FFN_act(x) = w2(act(w1·x) ⊗ w3·x), Shazeer (2020). */
export class GatedFeedForward extends Module {
  readonly config: Readonly<{ dim: number; hiddenDim: number; outDim: number; activation: string; bias: boolean }>;
  w1: Linear;
  w2: Linear;
  w3: Linear;
  readonly #act: (x: Tensor) => Tensor;

  constructor(dim: number, hiddenDim: number, activation: Activation, opts: GatedFeedForwardOptions) {
    super();
    checkPositiveInt('GatedFeedForward', 'dim', dim);
    checkPositiveInt('GatedFeedForward', 'hiddenDim', hiddenDim);
    const outDim = checkPositiveInt('GatedFeedForward', 'outDim', opts.outDim ?? dim);
    this.#act = activationFn('GatedFeedForward', activation);
    const bias = opts.bias ?? false;
    this.config = { dim, hiddenDim, outDim, activation: activationLabel(activation), bias };
    const [k1, k2, k3] = splitKey(opts.key, 3);
    this.w1 = new Linear(dim, hiddenDim, { key: k1!, bias, dtype: opts.dtype });
    this.w2 = new Linear(hiddenDim, outDim, { key: k2!, bias, dtype: opts.dtype });
    this.w3 = new Linear(dim, hiddenDim, { key: k3!, bias, dtype: opts.dtype });
  }

  /** x (…, dim) → (…, outDim) */
  forward(x: Tensor): Tensor {
    return tidy(() => this.w2.forward(mul(this.#act(this.w1.forward(x)), this.w3.forward(x))));
  }
}

/** FFN_GEGLU (exact GELU). */
export class GEGLU extends GatedFeedForward {
  constructor(dim: number, hiddenDim: number, opts: GatedFeedForwardOptions) {
    super(dim, hiddenDim, 'gelu', opts);
  }
}

/** FFN_SwiGLU (Swish with β = 1, i.e. SiLU), the Llama/PaLM feed-forward. */
export class SwiGLU extends GatedFeedForward {
  constructor(dim: number, hiddenDim: number, opts: GatedFeedForwardOptions) {
    super(dim, hiddenDim, 'silu', opts);
  }
}
