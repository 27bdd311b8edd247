/**
 * Building blocks of the image networks (U-Net, DiT): group normalisation
 * (Wu & He, arXiv 1803.08494), the MLP on a sinusoidal embedding of the
 * conditioning value (Ho et al. 2006.11239, App. B; the Transformer's
 * positional encoding applied to t), and multi-head self-attention over
 * the pixels of a feature map (the U-Net's 16×16 attention, here at the
 * lowest resolution).
 */
import type { Tensor } from '../../../core/tensor.js';
import type { Key } from '../../../core/random.js';
import { tidy } from '../../../core/memory.js';
import { add, mul, rsqrt, silu, sub } from '../../../ops/elementwise.js';
import { mean, variance } from '../../../ops/stats.js';
import { ones, zeros } from '../../../ops/creation.js';
import { permute, reshape } from '../../../ops/views.js';
import { slice } from '../../../ops/slice.js';
import { splitKey } from '../../../ops/random.js';
import { Module, param } from '../../../nn/module.js';
import { Linear } from '../../../nn/linear.js';
import { Conv2d } from '../../../nn/conv.js';
import { timestepEmbedding } from '../../../nn/timestep.js';
import { attentionRef } from '../../attention/attention.ref.js';

/** Group norm of x (b, c, …): statistics over each group of c/G channels and all positions, then a per-channel affine map. */
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const [b, c] = x.shape as [number, number];
  if (x.ndim < 2) throw new Error(`groupNorm: x must be (b, c, …), got [${x.shape.join(', ')}]`);
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  return tidy(() => {
    const g = reshape(x, [b, groups, -1]);
    const mu = mean(g, -1, true);
    const v = variance(g, -1, { keepdim: true, correction: 0 });
    let y = reshape(mul(sub(g, mu), rsqrt(add(v, eps))), x.shape);
    const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
    if (weight) y = mul(y, reshape(weight, bshape));
    if (bias) y = add(y, reshape(bias, bshape));
    return y;
  });
}

export class GroupNorm extends Module {
  readonly config: Readonly<{ groups: number; channels: number; eps: number }>;
  weight: Tensor;
  bias: Tensor;
  constructor(groups: number, channels: number, opts: { eps?: number; dtype?: Tensor['dtype'] } = {}) {
    super();
    if (channels % groups !== 0) throw new Error(`GroupNorm: ${channels} channels do not split into ${groups} groups`);
    this.config = { groups, channels, eps: opts.eps ?? 1e-5 };
    this.weight = param(ones([channels], { dtype: opts.dtype }));
    this.bias = param(zeros([channels], { dtype: opts.dtype }));
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.config.groups, this.weight, this.bias, this.config.eps);
  }
}

/** c (b) → (b, dim): sinusoidal embedding of c·cScale, then Linear–SiLU–Linear. */
export class TimeEmbedding extends Module {
  readonly config: Readonly<{ freqDim: number; dim: number; cScale: number }>;
  fc1: Linear;
  fc2: Linear;
  constructor(dim: number, opts: { key: Key; freqDim?: number; cScale?: number; dtype?: Tensor['dtype'] }) {
    super();
    const freqDim = opts.freqDim ?? 64;
    this.config = { freqDim, dim, cScale: opts.cScale ?? 1 };
    const [k1, k2] = splitKey(opts.key);
    this.fc1 = new Linear(freqDim, dim, { key: k1!, dtype: opts.dtype });
    this.fc2 = new Linear(dim, dim, { key: k2!, dtype: opts.dtype });
  }
  forward(c: Tensor): Tensor {
    return tidy(() => this.fc2.forward(silu(this.fc1.forward(timestepEmbedding(mul(c, this.config.cScale), this.config.freqDim)))));
  }
}

/** Pre-norm multi-head self-attention over the h·w positions of (b, c, h, w), residual. */
export class SelfAttention2d extends Module {
  readonly config: Readonly<{ channels: number; heads: number }>;
  norm: GroupNorm;
  qkv: Conv2d;
  proj: Conv2d;
  constructor(channels: number, opts: { key: Key; heads?: number; groups?: number; dtype?: Tensor['dtype'] }) {
    super();
    const heads = opts.heads ?? 1;
    if (channels % heads !== 0) throw new Error(`SelfAttention2d: ${channels} channels do not split into ${heads} heads`);
    this.config = { channels, heads };
    const [k1, k2] = splitKey(opts.key);
    this.norm = new GroupNorm(opts.groups ?? Math.min(8, channels), channels, { dtype: opts.dtype });
    this.qkv = new Conv2d(channels, 3 * channels, 1, { key: k1!, dtype: opts.dtype });
    this.proj = new Conv2d(channels, channels, 1, { key: k2!, dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const H = this.config.heads;
    return tidy(() => {
      // (b, 3c, h, w) → three (b, H, hw, c/H)
      const qkv = permute(reshape(this.qkv.forward(this.norm.forward(x)), [b, 3, H, c / H, h * w]), [1, 0, 2, 4, 3]);
      const [q, k, v] = [0, 1, 2].map((i) => reshape(slice(qkv, [{ start: i, stop: i + 1 }]), [b, H, h * w, c / H])) as [Tensor, Tensor, Tensor];
      const o = attentionRef(q, k, v); // (b, H, hw, c/H)
      const y = reshape(permute(o, [0, 1, 3, 2]), [b, c, h, w]);
      return add(x, this.proj.forward(y));
    });
  }
}
