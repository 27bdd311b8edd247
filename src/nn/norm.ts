/**
 * Normalisation layers over the trailing axes:
 * - LayerNorm: J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization",
 *   arXiv 1607.06450: y = (x − μ)/√(σ² + ε)·γ + β, σ² the biased variance.
 * - RMSNorm: B. Zhang, R. Sennrich, "Root Mean Square Layer Normalization",
 *   NeurIPS 2019, arXiv 1910.07467 (eq. 4): y = x/√(mean(x²) + ε)·g.
 * - ScaleNorm: T. Q. Nguyen, J. Salazar, "Transformers without Tears",
 *   arXiv 1910.05895 (eq. 8): y = g·x/max(‖x‖₂, ε), one learned scalar g
 *   initialised to √d.
 *
 * Statistics of float16/bfloat16 inputs are computed in float32 (a sum of
 * squares overflows float16 quickly) and the result is cast back to the
 * input's dtype, which is always the output dtype.
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { astype, div, maximum, mul, sqrt, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { ones, scalar, zeros } from '../ops/creation.js';
import { layerNormFused, rmsNormFused } from '../ops/fused.js';
import { Module, param } from './module.js';
import { checkFloatTensor, checkNonNegative, checkPositiveInt } from './util.js';

/** The trailing axes `shape` names in x, validated. */
function trailingAxes(op: string, x: Tensor, shape: readonly number[]): number[] {
  const k = shape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || k > x.ndim || tail.some((d, i) => d !== shape[i])) throw new Error(`${op}: x is ${shapeStr(x.shape)} but the normalized shape is ${shapeStr(shape)}; it must match x's trailing axes`);
  return Array.from({ length: k }, (_, i) => x.ndim - k + i);
}

function checkAffine(op: string, name: string, p: Tensor | null | undefined, shape: readonly number[]): void {
  if (!p) return;
  checkFloatTensor(op, name, p);
  if (p.ndim !== shape.length || p.shape.some((d, i) => d !== shape[i])) throw new Error(`${op}: ${name} is ${shapeStr(p.shape)} but the normalized shape is ${shapeStr(shape)}`);
}

/** Run `f` on x upcast to float32 when it is a 16-bit float; cast the result back to x's dtype. */
function inFloat32(x: Tensor, f: (xf: Tensor) => Tensor): Tensor {
  const half = x.dtype === 'f16' || x.dtype === 'bf16';
  const y = f(half ? astype(x, 'f32') : x);
  return y.dtype === x.dtype ? y : astype(y, x.dtype);
}

/**
 * A 16-bit parameter as float32 (null stays null). With `inFloat32` this keeps
 * the fused norms on their float32 kernel for 16-bit activations and
 * parameters (the kernel takes float32 only; the reference would run).
 */
const upcast16 = (p: Tensor | null): Tensor | null => (p && (p.dtype === 'f16' || p.dtype === 'bf16') ? astype(p, 'f32') : p);

const normShape = (s: number | readonly number[]): number[] => (typeof s === 'number' ? [s] : s.slice());

/** F.layer_norm: normalise over the trailing `normalizedShape` axes, then scale by weight and shift by bias (either may be null). */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  checkFloatTensor('layerNorm', 'x', x);
  const shape = normShape(normalizedShape);
  const axes = trailingAxes('layerNorm', x, shape);
  checkAffine('layerNorm', 'weight', weight, shape);
  checkAffine('layerNorm', 'bias', bias, shape);
  checkNonNegative('layerNorm', 'eps', eps);
  // one fused primitive (native kernel forward and backward); the composite form is its reference and differentiable VJP
  return tidy(() => inFloat32(x, (xf) => layerNormFused(xf, axes.length, upcast16(weight), upcast16(bias), eps)));
}

/** RMSNorm over the trailing `normalizedShape` axes: x/√(mean(x²) + ε), scaled by weight when given. */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, eps = 1e-6): Tensor {
  checkFloatTensor('rmsNorm', 'x', x);
  const shape = normShape(normalizedShape);
  const axes = trailingAxes('rmsNorm', x, shape);
  checkAffine('rmsNorm', 'weight', weight, shape);
  checkNonNegative('rmsNorm', 'eps', eps);
  return tidy(() => inFloat32(x, (xf) => rmsNormFused(xf, axes.length, upcast16(weight), eps)));
}

/** ScaleNorm over the last axis: g·x/max(‖x‖₂, ε), g a scalar (0-d) tensor. */
export function scaleNorm(x: Tensor, g: Tensor, eps = 1e-5): Tensor {
  checkFloatTensor('scaleNorm', 'x', x);
  checkFloatTensor('scaleNorm', 'g', g);
  if (x.ndim === 0) throw new Error(`scaleNorm: x must have at least one axis, got a 0-d tensor`);
  if (g.size !== 1) throw new Error(`scaleNorm: g must hold one value (a scalar gain), got ${g.describe()}`);
  checkNonNegative('scaleNorm', 'eps', eps);
  return tidy(() => inFloat32(x, (xf) => mul(div(xf, maximum(sqrt(sum(square(xf), -1, true)), eps)), g)));
}

export interface LayerNormOptions {
  eps?: number;
  /** learn weight γ (init 1) and bias β (init 0) (default true) */
  elementwiseAffine?: boolean;
  /** with elementwiseAffine, learn the bias too (default true) */
  bias?: boolean;
  dtype?: DType;
}

/** nn.LayerNorm: `weight` and `bias` of the normalized shape (or null). */
export class LayerNorm extends Module {
  readonly config: Readonly<{ normalizedShape: number[]; eps: number; elementwiseAffine: boolean; bias: boolean }>;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = normShape(normalizedShape);
    shape.forEach((d) => checkPositiveInt('LayerNorm', 'normalizedShape', d));
    const affine = opts.elementwiseAffine ?? true;
    const bias = affine && (opts.bias ?? true);
    this.config = { normalizedShape: shape, eps: opts.eps ?? 1e-5, elementwiseAffine: affine, bias };
    this.weight = affine ? param(ones(shape, { dtype: opts.dtype })) : null;
    this.bias = bias ? param(zeros(shape, { dtype: opts.dtype })) : null;
  }

  /** x (…, *normalizedShape) → same shape */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.config.normalizedShape, this.weight, this.bias, this.config.eps);
  }
}

/** RMSNorm: `weight` (init 1) of the normalized shape, or null. Default ε 1e-6 (as Llama). */
export class RMSNorm extends Module {
  readonly config: Readonly<{ normalizedShape: number[]; eps: number; elementwiseAffine: boolean }>;
  weight: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: Omit<LayerNormOptions, 'bias'> = {}) {
    super();
    const shape = normShape(normalizedShape);
    shape.forEach((d) => checkPositiveInt('RMSNorm', 'normalizedShape', d));
    const affine = opts.elementwiseAffine ?? true;
    this.config = { normalizedShape: shape, eps: opts.eps ?? 1e-6, elementwiseAffine: affine };
    this.weight = affine ? param(ones(shape, { dtype: opts.dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.config.normalizedShape, this.weight, this.config.eps);
  }
}

/** ScaleNorm: one learned scalar `scale`, initialised to √dim. */
export class ScaleNorm extends Module {
  readonly config: Readonly<{ dim: number; eps: number }>;
  scale: Tensor;

  constructor(dim: number, opts: { eps?: number; dtype?: DType } = {}) {
    super();
    checkPositiveInt('ScaleNorm', 'dim', dim);
    this.config = { dim, eps: opts.eps ?? 1e-5 };
    this.scale = param(scalar(Math.sqrt(dim), { dtype: opts.dtype }));
  }

  /** x (…, dim) → same shape */
  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.config.dim) throw new Error(`ScaleNorm: x is ${shapeStr(x.shape)} but the layer normalises a last axis of ${this.config.dim}`);
    return scaleNorm(x, this.scale, this.config.eps);
  }
}
