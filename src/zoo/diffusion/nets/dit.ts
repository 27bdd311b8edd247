/**
 * A small DiT (Peebles & Xie, "Scalable Diffusion Models with Transformers",
 * arXiv 2212.09748): the image cut into p×p patches, each linearly embedded,
 * plus fixed 2-D sin-cos positions; Transformer blocks whose LayerNorms are
 * modulated by the conditioning (adaLN-Zero: shift, scale and a residual
 * gate per sub-block, regressed from the time embedding and initialised at
 * zero so each block starts as the identity); QK-norm, i.e. RMSNorm on the
 * queries and keys of each head (Dehghani et al., arXiv 2302.05442, as in
 * SD3) for stable attention logits; a final adaLN and a zero-initialised
 * linear map back to patches.
 *
 *   x (b, c, h, w), c (b) → (b, c, h, w); h and w divisible by the patch size
 */
import type { Tensor } from '../../../core/tensor.js';
import type { Key } from '../../../core/random.js';
import type { DType } from '../../../core/dtype.js';
import { tidy } from '../../../core/memory.js';
import { add, mul, silu } from '../../../ops/elementwise.js';
import { split } from '../../../ops/slice.js';
import { permute, reshape, unsqueeze } from '../../../ops/views.js';
import { splitKey } from '../../../ops/random.js';
import { Module } from '../../../nn/module.js';
import { Linear } from '../../../nn/linear.js';
import { layerNorm, RMSNorm } from '../../../nn/norm.js';
import { MLP } from '../../../nn/mlp.js';
import { sincos2dPositions } from '../../../nn/positional.js';
import { fillInPlace } from '../../../optim/inplace.js';
import { attentionRef } from '../../attention/attention.ref.js';
import type { Net } from '../denoiser.js';
import { TimeEmbedding } from './blocks.js';

/** LayerNorm without affine parameters, then x·(1 + scale) + shift with (b, d) modulations broadcast over tokens. */
function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  const d = x.shape[x.ndim - 1]!;
  return tidy(() => add(mul(layerNorm(x, d, null, null, 1e-6), add(unsqueeze(scale, 1), 1)), unsqueeze(shift, 1)));
}

export class DiTBlock extends Module {
  readonly config: Readonly<{ dim: number; heads: number }>;
  qkv: Linear;
  qNorm: RMSNorm;
  kNorm: RMSNorm;
  proj: Linear;
  mlp: MLP;
  ada: Linear;
  constructor(dim: number, heads: number, opts: { key: Key; mlpRatio?: number; dtype?: DType }) {
    super();
    if (dim % heads !== 0) throw new Error(`DiTBlock: dim ${dim} does not split into ${heads} heads`);
    this.config = { dim, heads };
    const [k1, k2, k3, k4] = splitKey(opts.key, 4);
    const dt = { dtype: opts.dtype };
    this.qkv = new Linear(dim, 3 * dim, { key: k1!, ...dt });
    this.qNorm = new RMSNorm(dim / heads, dt);
    this.kNorm = new RMSNorm(dim / heads, dt);
    this.proj = new Linear(dim, dim, { key: k2!, ...dt });
    this.mlp = new MLP(dim, [Math.round(dim * (opts.mlpRatio ?? 4))], dim, { key: k3!, activation: 'gelu', ...dt });
    this.ada = new Linear(dim, 6 * dim, { key: k4!, ...dt });
    fillInPlace(this.ada.weight, 0);
    if (this.ada.bias) fillInPlace(this.ada.bias, 0);
  }
  /** x (b, n, d), temb (b, d) */
  forward(x: Tensor, temb: Tensor): Tensor {
    const [b, n, d] = x.shape as [number, number, number];
    const H = this.config.heads;
    return tidy(() => {
      const [sh1, sc1, g1, sh2, sc2, g2] = split(this.ada.forward(silu(temb)), 6, -1) as Tensor[];
      // attention with QK-norm: (b, n, 3, H, d/H) → q, k, v (b, H, n, d/H)
      const qkv = permute(reshape(this.qkv.forward(modulate(x, sh1!, sc1!)), [b, n, 3, H, d / H]), [2, 0, 3, 1, 4]);
      const [q, k, v] = split(qkv, 3, 0).map((t) => reshape(t, [b, H, n, d / H])) as [Tensor, Tensor, Tensor];
      const o = attentionRef(this.qNorm.forward(q), this.kNorm.forward(k), v);
      const attn = this.proj.forward(reshape(permute(o, [0, 2, 1, 3]), [b, n, d]));
      const h = add(x, mul(unsqueeze(g1!, 1), attn));
      return add(h, mul(unsqueeze(g2!, 1), this.mlp.forward(modulate(h, sh2!, sc2!))));
    });
  }
}

export interface DiTOptions {
  key: Key;
  /** patch size p (default 2) */
  patch?: number;
  /** token width (default 64) */
  dim?: number;
  depth?: number;
  heads?: number;
  /** multiply the conditioning by this before embedding (default 1; e.g. 1000 for t ∈ [0, 1]) */
  cScale?: number;
  dtype?: DType;
}

export class DiT extends Module {
  readonly config: Readonly<{ channels: number; patch: number; dim: number; depth: number; heads: number }>;
  embed: Linear;
  time: TimeEmbedding;
  blocks: DiTBlock[];
  finalAda: Linear;
  out: Linear;

  constructor(channels: number, opts: DiTOptions) {
    super();
    const patch = opts.patch ?? 2;
    const dim = opts.dim ?? 64;
    const depth = opts.depth ?? 4;
    const heads = opts.heads ?? 4;
    if (dim % 4 !== 0) throw new Error(`DiT: dim must be a multiple of 4 (2-D sin-cos positions), got ${dim}`);
    this.config = { channels, patch, dim, depth, heads };
    const keys = splitKey(opts.key, depth + 4);
    const dt = { dtype: opts.dtype };
    this.embed = new Linear(channels * patch * patch, dim, { key: keys[0]!, ...dt });
    this.time = new TimeEmbedding(dim, { key: keys[1]!, cScale: opts.cScale, ...dt });
    this.blocks = Array.from({ length: depth }, (_, i) => new DiTBlock(dim, heads, { key: keys[4 + i]!, ...dt }));
    this.finalAda = new Linear(dim, 2 * dim, { key: keys[2]!, ...dt });
    this.out = new Linear(dim, channels * patch * patch, { key: keys[3]!, ...dt });
    for (const t of [this.finalAda.weight, this.finalAda.bias, this.out.weight, this.out.bias]) if (t) fillInPlace(t, 0);
  }

  /** x (b, c, h, w), c (b) → (b, c, h, w) */
  forward(x: Tensor, c: Tensor): Tensor {
    const { channels: C, patch: p, dim } = this.config;
    const [b, cin, h, w] = x.shape as [number, number, number, number];
    if (x.ndim !== 4 || cin !== C) throw new Error(`DiT: x must be (b, ${C}, h, w), got [${x.shape.join(', ')}]`);
    if (h % p !== 0 || w % p !== 0) throw new Error(`DiT: h and w must be divisible by the patch size ${p}, got ${h}×${w}`);
    const gh = h / p;
    const gw = w / p;
    return tidy(() => {
      // patchify: (b, C, gh, p, gw, p) → (b, gh·gw, p·p·C)
      const patches = reshape(permute(reshape(x, [b, C, gh, p, gw, p]), [0, 2, 4, 3, 5, 1]), [b, gh * gw, p * p * C]);
      let tokens = add(this.embed.forward(patches), unsqueeze(sincos2dPositions(dim, [gh, gw], { dtype: x.dtype }), 0));
      const temb = this.time.forward(c);
      for (const block of this.blocks) tokens = block.forward(tokens, temb);
      const [shift, scale] = split(this.finalAda.forward(silu(temb)), 2, -1) as [Tensor, Tensor];
      const y = this.out.forward(modulate(tokens, shift, scale)); // (b, n, p·p·C)
      return reshape(permute(reshape(y, [b, gh, gw, p, p, C]), [0, 5, 1, 3, 2, 4]), [b, C, h, w]);
    });
  }

  get net(): Net {
    return (x, c) => this.forward(x, c);
  }
}
