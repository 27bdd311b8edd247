/**
 * Parameter initialisers, functional: each takes an explicit PRNG key and a
 * shape and returns a new tensor (PyTorch's `torch.nn.init.*_` fill a tensor
 * in place from a global generator; the distributions here are the same).
 *
 * - Xavier/Glorot: X. Glorot, Y. Bengio, "Understanding the difficulty of
 *   training deep feedforward neural networks", AISTATS 2010 (eq. 16):
 *   Var[w] = gain²·2/(fan_in + fan_out).
 * - Kaiming/He: K. He et al., "Delving deep into rectifiers", ICCV 2015,
 *   arXiv 1502.01852 (eq. 10): Var[w] = gain²/fan, fan = fan_in (forward) or
 *   fan_out (backward).
 * - Gains as `torch.nn.init.calculate_gain`; fans as PyTorch computes them
 *   for a weight (out, in, k…): fan_in = in·∏k, fan_out = out·∏k.
 * - PyTorch's layer defaults: Linear and Conv weights kaiming_uniform(a=√5),
 *   i.e. U(±1/√fan_in), and biases U(±1/√fan_in); Embedding N(0, 1).
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { full } from '../ops/creation.js';
import { normal as randNormal, truncatedNormal as randTruncatedNormal, uniform as randUniform } from '../ops/random.js';

export interface InitOptions {
  /** default: the default float dtype (f32) */
  dtype?: DType;
}

export type Nonlinearity =
  | 'linear'
  | 'identity'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain):
 * 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for ReLU, √(2/(1 + slope²)) for
 * leaky ReLU (slope `param`, default 0.01), 3/4 for SELU.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'identity':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`calculateGain: the negative slope of leaky_relu must be a number, got ${String(param)}`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** fan_in and fan_out of a weight of shape (out, in, k…), as PyTorch computes them (rank ≥ 2). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (!Array.isArray(shape) || shape.length < 2) throw new Error(`fans: fan in and fan out need a shape of rank ≥ 2 (out, in, …), got ${Array.isArray(shape) ? shapeStr(shape) : String(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export type FanMode = 'fanIn' | 'fanOut';

function fanOf(fn: string, shape: readonly number[], mode: FanMode): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new Error(`${fn}: mode must be 'fanIn' or 'fanOut', got ${String(mode)}`);
  const f = fans(shape)[mode];
  if (f === 0) throw new Error(`${fn}: ${mode} of shape ${shapeStr(shape)} is 0`);
  return f;
}

/** U(a, b). */
export function uniform(key: Key, shape: readonly number[], opts: InitOptions & { a?: number; b?: number } = {}): Tensor {
  return randUniform(key, shape, { dtype: opts.dtype, lo: opts.a ?? 0, hi: opts.b ?? 1 });
}

/** N(mean, std²). */
export function normal(key: Key, shape: readonly number[], opts: InitOptions & { mean?: number; std?: number } = {}): Tensor {
  return randNormal(key, shape, { dtype: opts.dtype, mean: opts.mean ?? 0, std: opts.std ?? 1 });
}

/**
 * N(mean, std²) conditioned on a ≤ w ≤ b, with the bounds in absolute units as
 * in torch.nn.init.trunc_normal_ (defaults mean 0, std 1, a −2, b 2).
 */
export function truncatedNormal(key: Key, shape: readonly number[], opts: InitOptions & { mean?: number; std?: number; a?: number; b?: number } = {}): Tensor {
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  const a = opts.a ?? -2;
  const b = opts.b ?? 2;
  if (!(std > 0)) throw new Error(`truncatedNormal: std must be positive, got ${std}`);
  if (!(a < b)) throw new Error(`truncatedNormal: need a < b, got a ${a} and b ${b}`);
  return randTruncatedNormal(key, shape, { dtype: opts.dtype, mean, std, lo: (a - mean) / std, hi: (b - mean) / std });
}

/** A constant. */
export function constant(shape: readonly number[], value: number, opts: InitOptions = {}): Tensor {
  return full(shape, value, { dtype: opts.dtype });
}
export const zeros = (shape: readonly number[], opts: InitOptions = {}): Tensor => constant(shape, 0, opts);
export const ones = (shape: readonly number[], opts: InitOptions = {}): Tensor => constant(shape, 1, opts);

/** Glorot uniform: U(±gain·√(6/(fan_in + fan_out))). */
export function xavierUniform(key: Key, shape: readonly number[], opts: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(key, shape, { dtype: opts.dtype, a: -bound, b: bound });
}

/** Glorot normal: N(0, gain²·2/(fan_in + fan_out)). */
export function xavierNormal(key: Key, shape: readonly number[], opts: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(key, shape, { dtype: opts.dtype, std: (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)) });
}

export interface KaimingOptions extends InitOptions {
  /** negative slope of the leaky ReLU after this layer (default 0; PyTorch's layers use √5) */
  a?: number;
  /** 'fanIn' preserves the forward variance (default), 'fanOut' the backward one */
  mode?: FanMode;
  /** default 'leaky_relu' (with slope `a`), as in PyTorch */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(fn: string, shape: readonly number[], opts: KaimingOptions): number {
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return gain / Math.sqrt(fanOf(fn, shape, opts.mode ?? 'fanIn'));
}

/** He uniform: U(±√3·gain/√fan). */
export function kaimingUniform(key: Key, shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform', shape, opts);
  return uniform(key, shape, { dtype: opts.dtype, a: -bound, b: bound });
}

/** He normal: N(0, gain²/fan). */
export function kaimingNormal(key: Key, shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  return normal(key, shape, { dtype: opts.dtype, std: kaimingStd('kaimingNormal', shape, opts) });
}

/** PyTorch's default weight init for Linear and Conv layers: kaiming_uniform(a=√5) = U(±1/√fan_in). */
export function torchDefaultWeight(key: Key, shape: readonly number[], opts: InitOptions = {}): Tensor {
  return kaimingUniform(key, shape, { ...opts, a: Math.sqrt(5) });
}

/** PyTorch's default bias init for Linear and Conv layers: U(±1/√fan_in), fan_in that of the weight. */
export function torchDefaultBias(key: Key, shape: readonly number[], fanIn: number, opts: InitOptions = {}): Tensor {
  if (!(fanIn > 0)) throw new Error(`torchDefaultBias: fanIn must be positive, got ${fanIn}`);
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(key, shape, { dtype: opts.dtype, a: -bound, b: bound });
}
