/**
 * Coupling layers: split the units with a binary mask b, keep the b-part, and
 * transform the rest with functions of the kept part. The Jacobian is
 * triangular, so its determinant is the product of the diagonal.
 *
 * Additive coupling — NICE (Dinh, Krueger & Bengio, arXiv 1410.8516, eq. 5–6):
 *   y = b⊙x + (1−b)⊙(x + m(b⊙x)),   log|det J| = 0   (unit Jacobian)
 *   x = b⊙y + (1−b)⊙(y − m(b⊙y))
 *
 * Affine coupling — Real NVP (Dinh, Sohl-Dickstein & Bengio, arXiv 1605.08803, eq. 9):
 *   y = b⊙x + (1−b)⊙(x⊙exp(s(b⊙x)) + t(b⊙x)),   log|det J| = Σ (1−b)⊙s
 *   x = b⊙y + (1−b)⊙((y − t(b⊙y))⊙exp(−s(b⊙y)))
 *
 * An unconstrained s can blow up early in training; the scale is kept stable by
 *   'tanh':    s = α⊙tanh(ŝ), α a learned per-channel factor (Real NVP §4.1 "rescaled tanh")
 *   'sigmoid': exp(s) = sigmoid(ŝ + 2), so s = −softplus(−ŝ − 2) < 0 (Glow, arXiv 1807.03039, Table 1 code)
 *   'exp':     s = ŝ (the paper's plain form)
 * where (ŝ, t) are the two halves of the conditioner's output along axis 1.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, exp, mul, neg, softplus, sub, tanh } from '../../ops/elementwise.js';
import { ones } from '../../ops/creation.js';
import { reshape } from '../../ops/views.js';
import { split } from '../../ops/slice.js';
import { param } from '../../nn/module.js';
import { FlowLayer, checkFlowInput, sumPerExample, zeroLogdet } from './layer.js';
import { checkMaskSpec, makeMask, type MaskSpec } from './masks.js';
import type { Conditioner } from './conditioner.js';

export type ScaleKind = 'exp' | 'tanh' | 'sigmoid';

function checkNetOutput(op: string, out: Tensor, x: Tensor, mult: number): void {
  const want = [x.shape[0]!, mult * x.shape[1]!, ...x.shape.slice(2)];
  if (out.ndim !== want.length || out.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${op}: the conditioner returned ${shapeStr(out.shape)} for x ${shapeStr(x.shape)}; expected ${shapeStr(want)}`);
  }
}

/** NICE's additive coupling y₂ = x₂ + m(x₁): volume-preserving. The conditioner maps (b, c, …) → (b, c, …). */
export class AdditiveCoupling extends FlowLayer {
  readonly config: Readonly<{ mask: MaskSpec; channels: number }>;
  net: Conditioner;

  constructor(channels: number, net: Conditioner, opts: { mask: MaskSpec }) {
    super();
    this.config = { mask: checkMaskSpec('AdditiveCoupling', opts.mask), channels };
    this.net = net;
  }

  /** the shift (1−b)⊙m(b⊙h), with h = x or y (they agree on the b-part) */
  #shift(h: Tensor): Tensor {
    const b = makeMask('AdditiveCoupling', this.config.mask, h.shape.slice(1), h.dtype);
    const m = this.net.forward(mul(h, b));
    checkNetOutput('AdditiveCoupling', m, h, 1);
    return mul(m, sub(1, b));
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('AdditiveCoupling', x, this.config.channels);
    return tidy(() => [add(x, this.#shift(x)), zeroLogdet(x)]);
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('AdditiveCoupling', y, this.config.channels);
    return tidy(() => sub(y, this.#shift(y)));
  }
}

/** Real NVP's affine coupling with a stable scale. The conditioner maps (b, c, …) → (b, 2c, …): (ŝ, t). */
export class AffineCoupling extends FlowLayer {
  readonly config: Readonly<{ mask: MaskSpec; channels: number; scale: ScaleKind }>;
  net: Conditioner;
  /** α of the 'tanh' scale, one per channel (null for the other kinds) */
  scaleFactor: Tensor | null;

  constructor(channels: number, net: Conditioner, opts: { mask: MaskSpec; scale?: ScaleKind; dtype?: DType }) {
    super();
    const scale = opts.scale ?? 'tanh';
    if (scale !== 'exp' && scale !== 'tanh' && scale !== 'sigmoid') throw new Error(`AffineCoupling: scale must be 'exp', 'tanh' or 'sigmoid', got ${String(scale)}`);
    this.config = { mask: checkMaskSpec('AffineCoupling', opts.mask), channels, scale };
    this.net = net;
    this.scaleFactor = scale === 'tanh' ? param(ones([channels], { dtype: opts.dtype })) : null;
  }

  /** (s, t), both already multiplied by (1−b), from the b-part of h (x in forward, y in inverse) */
  #scaleShift(h: Tensor): [Tensor, Tensor] {
    const b = makeMask('AffineCoupling', this.config.mask, h.shape.slice(1), h.dtype);
    const out = this.net.forward(mul(h, b));
    checkNetOutput('AffineCoupling', out, h, 2);
    const [sHat, t] = split(out, 2, 1) as [Tensor, Tensor];
    let s: Tensor;
    if (this.config.scale === 'tanh') {
      const alpha = reshape(this.scaleFactor!, [1, h.shape[1]!, ...h.shape.slice(2).map(() => 1)]);
      s = mul(alpha, tanh(sHat));
    } else if (this.config.scale === 'sigmoid') s = neg(softplus(sub(-2, sHat)));
    else s = sHat;
    const free = sub(1, b);
    return [mul(s, free), mul(t, free)];
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('AffineCoupling', x, this.config.channels);
    return tidy(() => {
      const [s, t] = this.#scaleShift(x);
      // y = x⊙exp(s) + t: on the b-part s = t = 0, so y = x there
      return [add(mul(x, exp(s)), t), sumPerExample(s)];
    });
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('AffineCoupling', y, this.config.channels);
    return tidy(() => {
      const [s, t] = this.#scaleShift(y);
      return mul(sub(y, t), exp(neg(s)));
    });
  }
}
