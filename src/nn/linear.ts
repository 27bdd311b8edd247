/**
 * The affine layer y = x·Wᵀ + b (PyTorch's nn.Linear: weight (out, in), bias
 * (out), default init U(±1/√in) for both).
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { add } from '../ops/elementwise.js';
import { matmulT } from '../ops/matmul.js';
import { reshape } from '../ops/views.js';
import { splitKey } from '../ops/random.js';
import { Module, param } from './module.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

/** y = x·Wᵀ + b: x (…, in), w (out, in), b (out) or null → (…, out). F.linear. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  checkFloatTensor('linear', 'x', x);
  checkFloatTensor('linear', 'w', w);
  if (w.ndim !== 2) throw new Error(`linear: w is ${shapeStr(w.shape)}; it must be (out, in)`);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== w.shape[1]) throw new Error(`linear: x is ${shapeStr(x.shape)} but w ${shapeStr(w.shape)} expects ${w.shape[1]} input features in the last axis`);
  if (b) {
    checkFloatTensor('linear', 'b', b);
    if (b.ndim !== 1 || b.shape[0] !== w.shape[0]) throw new Error(`linear: b is ${shapeStr(b.shape)} but w ${shapeStr(w.shape)} has ${w.shape[0]} outputs`);
  }
  return tidy(() => {
    // (…, in) · (in, out): a vector becomes a one-row matrix for the primitive and loses the row again
    const y = x.ndim === 1 ? reshape(matmulT(reshape(x, [1, x.shape[0]!]), w, false, true), [w.shape[0]!]) : matmulT(x, w, false, true);
    return b ? add(y, b) : y;
  });
}

export interface LinearConfig {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

export interface LinearOptions {
  key: Key;
  /** include the bias b (default true) */
  bias?: boolean;
  dtype?: DType;
}

/** nn.Linear: `weight` (out, in), `bias` (out) or null. */
export class Linear extends Module {
  readonly config: Readonly<LinearConfig>;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions) {
    super();
    checkPositiveInt('Linear', 'inFeatures', inFeatures);
    checkPositiveInt('Linear', 'outFeatures', outFeatures);
    const bias = opts.bias ?? true;
    this.config = { inFeatures, outFeatures, bias };
    const [kw, kb] = splitKey(opts.key);
    this.weight = param(torchDefaultWeight(kw!, [outFeatures, inFeatures], { dtype: opts.dtype }));
    this.bias = bias ? param(torchDefaultBias(kb!, [outFeatures], inFeatures, { dtype: opts.dtype })) : null;
  }

  /** x (…, in) → (…, out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
