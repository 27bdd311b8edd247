/**
 * Conditioner networks for coupling layers: any function of the unchanged
 * units may be used (NICE, arXiv 1410.8516, §3.2: "m is any function"), since
 * its Jacobian never enters the log-determinant.
 *
 * Both start with a zero last layer so that every coupling begins as the
 * identity (additive, 'exp' and 'tanh' scales) or a fixed scaling ('sigmoid'):
 * Glow (Kingma & Dhariwal, arXiv 1807.03039, §3.3) "initialize the last
 * convolution of each NN() with zeros", which trains deep flows reliably.
 *
 * - MLPConditioner: (b, d) → (b, out), for vectors (2-D toys).
 * - ConvConditioner: (b, c, h, w) → (b, out, h, w): conv 3×3 → ReLU → conv 1×1
 *   → ReLU → conv 3×3 (Glow §3.3, "NN()").
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { zeros } from '../../ops/creation.js';
import { relu } from '../../ops/elementwise.js';
import { splitKey } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { MLP } from '../../nn/mlp.js';
import { Conv2d } from '../../nn/conv.js';
import type { Activation } from '../../nn/activation.js';
import type { Linear } from '../../nn/linear.js';

/** What a coupling layer calls: the masked input in, the shift (and log-scale) out. */
export interface Conditioner extends Module {
  forward(x: Tensor): Tensor;
}

/** Replace a layer's weight and bias by zeros (the Glow initialisation of the last layer). */
export function zeroLast(layer: Linear | Conv2d): void {
  const w = layer.weight;
  layer.weight = param(zeros(w.shape, { dtype: w.dtype }));
  w.dispose();
  const b = layer.bias;
  if (b) {
    layer.bias = param(zeros(b.shape, { dtype: b.dtype }));
    b.dispose();
  }
}

export interface ConditionerOptions {
  key: Key;
  dtype?: DType;
  /** start the last layer at zero (default true) */
  zeroInit?: boolean;
}

export class MLPConditioner extends Module {
  net: MLP;

  constructor(inFeatures: number, hidden: number | readonly number[], outFeatures: number, opts: ConditionerOptions & { activation?: Activation }) {
    super();
    this.net = new MLP(inFeatures, hidden, outFeatures, { key: opts.key, activation: opts.activation ?? 'relu', dtype: opts.dtype });
    if (opts.zeroInit ?? true) zeroLast(this.net.layers.at(-1)!);
  }

  /** x (b, in) → (b, out) */
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
}

export class ConvConditioner extends Module {
  conv1: Conv2d;
  conv2: Conv2d;
  conv3: Conv2d;

  constructor(inChannels: number, hidden: number, outChannels: number, opts: ConditionerOptions) {
    super();
    const [k1, k2, k3] = splitKey(opts.key, 3);
    this.conv1 = new Conv2d(inChannels, hidden, 3, { key: k1!, padding: 'same', dtype: opts.dtype });
    this.conv2 = new Conv2d(hidden, hidden, 1, { key: k2!, dtype: opts.dtype });
    this.conv3 = new Conv2d(hidden, outChannels, 3, { key: k3!, padding: 'same', dtype: opts.dtype });
    if (opts.zeroInit ?? true) zeroLast(this.conv3);
  }

  /** x (b, c, h, w) → (b, out, h, w) */
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv3.forward(relu(this.conv2.forward(relu(this.conv1.forward(x))))));
  }
}
