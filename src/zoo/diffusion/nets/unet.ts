/**
 * A small U-Net for small images, after Ho et al. (arXiv 2006.11239, App. B;
 * itself PixelCNN++'s Wide-ResNet U-Net): ResNet blocks with GroupNorm and
 * SiLU that add a projection of the time embedding between their two
 * convolutions, self-attention at the lowest resolution (and in the middle),
 * stride-2 convolutions down, nearest-neighbour ×2 plus a convolution up,
 * and skip connections concatenated on the way up. The last convolution
 * starts at zero, so an untrained net predicts 0 (the mean of ε or of a
 * velocity).
 *
 *   x (b, c, h, w), c (b) → (b, c, h, w); h and w divisible by 2^(levels − 1)
 */
import type { Tensor } from '../../../core/tensor.js';
import type { Key } from '../../../core/random.js';
import type { DType } from '../../../core/dtype.js';
import { tidy } from '../../../core/memory.js';
import { add, silu } from '../../../ops/elementwise.js';
import { concat } from '../../../ops/join.js';
import { fillInPlace } from '../../../optim/inplace.js';
import { reshape } from '../../../ops/views.js';
import { splitKey } from '../../../ops/random.js';
import { Module } from '../../../nn/module.js';
import { Linear } from '../../../nn/linear.js';
import { Conv2d } from '../../../nn/conv.js';
import { upsample2x } from '../../vq/vqvae.js';
import type { Net } from '../denoiser.js';
import { GroupNorm, SelfAttention2d, TimeEmbedding } from './blocks.js';

export class ResBlock extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  temb: Linear;
  norm2: GroupNorm;
  conv2: Conv2d;
  skip: Conv2d | null;
  constructor(cin: number, cout: number, tdim: number, opts: { key: Key; groups: number; dtype?: DType }) {
    super();
    const [k1, k2, k3, k4] = splitKey(opts.key, 4);
    const dt = { dtype: opts.dtype };
    this.norm1 = new GroupNorm(Math.min(opts.groups, cin), cin, dt);
    this.conv1 = new Conv2d(cin, cout, 3, { key: k1!, padding: 1, ...dt });
    this.temb = new Linear(tdim, cout, { key: k2!, ...dt });
    this.norm2 = new GroupNorm(Math.min(opts.groups, cout), cout, dt);
    this.conv2 = new Conv2d(cout, cout, 3, { key: k3!, padding: 1, ...dt });
    this.skip = cin === cout ? null : new Conv2d(cin, cout, 1, { key: k4!, ...dt });
  }
  forward(x: Tensor, temb: Tensor): Tensor {
    return tidy(() => {
      const [b] = x.shape as [number];
      let h = this.conv1.forward(silu(this.norm1.forward(x)));
      h = add(h, reshape(this.temb.forward(silu(temb)), [b, -1, 1, 1]));
      h = this.conv2.forward(silu(this.norm2.forward(h)));
      return add(this.skip ? this.skip.forward(x) : x, h);
    });
  }
}

export interface UNetOptions {
  key: Key;
  /** base width (default 32) */
  channels?: number;
  /** width multipliers per resolution (default [1, 2]: 8×8 → 4×4) */
  mults?: number[];
  /** attention heads at the lowest resolution (default 2; 0 for none) */
  heads?: number;
  /** GroupNorm groups (default 8) */
  groups?: number;
  /** multiply the conditioning by this before embedding (default 1; e.g. 1000 for t ∈ [0, 1]) */
  cScale?: number;
  dtype?: DType;
}

export class UNet extends Module {
  readonly config: Readonly<{ inChannels: number; channels: number; mults: number[]; heads: number }>;
  time: TimeEmbedding;
  inConv: Conv2d;
  down: ResBlock[];
  downsample: Conv2d[];
  downAttn: SelfAttention2d | null;
  mid1: ResBlock;
  midAttn: SelfAttention2d | null;
  mid2: ResBlock;
  up: ResBlock[];
  upConv: Conv2d[];
  outNorm: GroupNorm;
  outConv: Conv2d;

  constructor(inChannels: number, opts: UNetOptions) {
    super();
    const ch = opts.channels ?? 32;
    const mults = opts.mults ?? [1, 2];
    const heads = opts.heads ?? 2;
    const groups = opts.groups ?? 8;
    const dt = { dtype: opts.dtype };
    this.config = { inChannels, channels: ch, mults, heads };
    const keys = splitKey(opts.key, 8 + 3 * mults.length);
    let ki = 0;
    const next = (): Key => keys[ki++]!;
    const tdim = 4 * ch;
    this.time = new TimeEmbedding(tdim, { key: next(), cScale: opts.cScale, ...dt });
    this.inConv = new Conv2d(inChannels, ch, 3, { key: next(), padding: 1, ...dt });
    const widths = mults.map((m) => m * ch);
    this.down = [];
    this.downsample = [];
    let cur = ch;
    widths.forEach((w, i) => {
      this.down.push(new ResBlock(cur, w, tdim, { key: next(), groups, ...dt }));
      cur = w;
      if (i < widths.length - 1) this.downsample.push(new Conv2d(w, w, 3, { key: next(), stride: 2, padding: 1, ...dt }));
    });
    const low = widths[widths.length - 1]!;
    this.downAttn = heads > 0 ? new SelfAttention2d(low, { key: next(), heads, groups, ...dt }) : null;
    this.mid1 = new ResBlock(low, low, tdim, { key: next(), groups, ...dt });
    this.midAttn = heads > 0 ? new SelfAttention2d(low, { key: next(), heads, groups, ...dt }) : null;
    this.mid2 = new ResBlock(low, low, tdim, { key: next(), groups, ...dt });
    this.up = [];
    this.upConv = [];
    for (let i = widths.length - 1; i >= 0; i--) {
      const w = widths[i]!;
      this.up.push(new ResBlock(cur + w, w, tdim, { key: next(), groups, ...dt }));
      cur = w;
      if (i > 0) this.upConv.push(new Conv2d(w, w, 3, { key: next(), padding: 1, ...dt }));
    }
    this.outNorm = new GroupNorm(Math.min(groups, ch), ch, dt);
    this.outConv = new Conv2d(cur, inChannels, 3, { key: next(), padding: 1, ...dt });
    // zero-initialised output: the untrained net predicts 0
    for (const t of [this.outConv.weight, this.outConv.bias]) if (t) fillInPlace(t, 0);
    if (cur !== ch) throw new Error('UNet: internal width mismatch');
  }

  /** x (b, c, h, w), c (b) → (b, c, h, w) */
  forward(x: Tensor, c: Tensor): Tensor {
    const levels = this.config.mults.length;
    const [, cin, h, w] = x.shape as [number, number, number, number];
    const f = 2 ** (levels - 1);
    if (x.ndim !== 4 || cin !== this.config.inChannels) throw new Error(`UNet: x must be (b, ${this.config.inChannels}, h, w), got [${x.shape.join(', ')}]`);
    if (h % f !== 0 || w % f !== 0) throw new Error(`UNet: h and w must be divisible by ${f} for ${levels} levels, got ${h}×${w}`);
    return tidy(() => {
      const temb = this.time.forward(c);
      let y = this.inConv.forward(x);
      const skips: Tensor[] = [];
      this.down.forEach((block, i) => {
        y = block.forward(y, temb);
        if (i === levels - 1 && this.downAttn) y = this.downAttn.forward(y);
        skips.push(y);
        if (i < levels - 1) y = this.downsample[i]!.forward(y);
      });
      y = this.mid1.forward(y, temb);
      if (this.midAttn) y = this.midAttn.forward(y);
      y = this.mid2.forward(y, temb);
      this.up.forEach((block, j) => {
        y = block.forward(concat([y, skips[levels - 1 - j]!], 1), temb);
        if (j < levels - 1) y = this.upConv[j]!.forward(upsample2x(y));
      });
      return this.outConv.forward(silu(this.outNorm.forward(y)));
    });
  }

  get net(): Net {
    return (x, c) => this.forward(x, c);
  }
}
