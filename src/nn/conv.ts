/**
 * Convolution layers over the `conv` primitive (ops/conv.ts): Conv1d for
 * sequences, including the causal depthwise convolution of Mamba (A. Gu,
 * T. Dao, arXiv 2312.00752: groups = channels, kernel 4, `padding: 'causal'`
 * pads d·(k − 1) zeros on the left so output t sees inputs ≤ t), and Conv2d
 * for small images. Weights (C_out, C_in/groups, k…) and bias (C_out) with
 * PyTorch's names and default init U(±1/√fan_in), fan_in = C_in/groups·∏k.
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { conv, convAttrs, type ConvOptions, type ConvPadding } from '../ops/conv.js';
import { splitKey } from '../ops/random.js';
import { Module, param } from './module.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';
import { checkPositiveInt } from './util.js';

export interface ConvLayerOptions {
  key: Key;
  stride?: number | readonly number[];
  /** a number, per-axis numbers, [before, after] pairs, 'valid', 'same' or 'causal' (see ops/conv.ts) */
  padding?: ConvPadding;
  dilation?: number | readonly number[];
  groups?: number;
  bias?: boolean;
  dtype?: DType;
}

export interface ConvConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number[];
  stride: number | readonly number[];
  padding: ConvPadding;
  dilation: number | readonly number[];
  groups: number;
  bias: boolean;
}

/** Shared by Conv1d and Conv2d: `weight` (out, in/groups, k…), `bias` (out) or null. */
abstract class ConvNd extends Module {
  readonly config: Readonly<ConvConfig>;
  weight: Tensor;
  bias: Tensor | null;

  protected constructor(name: string, nd: number, inChannels: number, outChannels: number, kernelSize: number | readonly number[], opts: ConvLayerOptions) {
    super();
    checkPositiveInt(name, 'inChannels', inChannels);
    checkPositiveInt(name, 'outChannels', outChannels);
    const k = typeof kernelSize === 'number' ? new Array<number>(nd).fill(kernelSize) : kernelSize.slice();
    if (k.length !== nd) throw new Error(`${name}: kernelSize must be a number or ${nd} numbers, got ${JSON.stringify(kernelSize)}`);
    k.forEach((v) => checkPositiveInt(name, 'kernelSize', v));
    const groups = opts.groups ?? 1;
    // validate the options once, here, rather than on the first forward
    convAttrs(name, k, opts);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) throw new Error(`${name}: groups ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    const bias = opts.bias ?? true;
    this.config = { inChannels, outChannels, kernelSize: k, stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups, bias };
    const [kw, kb] = splitKey(opts.key);
    const wShape = [outChannels, inChannels / groups, ...k];
    this.weight = param(torchDefaultWeight(kw!, wShape, { dtype: opts.dtype }));
    const fanIn = (inChannels / groups) * k.reduce((a, b) => a * b, 1);
    this.bias = bias ? param(torchDefaultBias(kb!, [outChannels], fanIn, { dtype: opts.dtype })) : null;
  }

  protected run(name: string, x: Tensor): Tensor {
    const c = this.config;
    const chAxis = x.ndim === this.weight.ndim ? 1 : 0;
    if (x.shape[chAxis] !== c.inChannels) throw new Error(`${name}: x is ${shapeStr(x.shape)} but the layer takes ${c.inChannels} input channels`);
    const opts: ConvOptions = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    return conv(x, this.weight, this.bias, opts);
  }
}

/** nn.Conv1d: x (N, C_in, L) or (C_in, L) → (N, C_out, L_out). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvLayerOptions) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return this.run('Conv1d', x);
  }
}

/** nn.Conv2d: x (N, C_in, H, W) or (C_in, H, W) → (N, C_out, H_out, W_out). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], opts: ConvLayerOptions) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return this.run('Conv2d', x);
  }
}
