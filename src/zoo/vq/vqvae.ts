/**
 * A small VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, arXiv 1711.00937,
 * §3 and eq. 3): encoder → quantiser → decoder, trained on
 *
 *   L = ‖x − D(z_q)‖² + ‖sg(z) − e‖² + β‖z − sg(e)‖²
 *
 * with any quantiser of this folder (straight-through or rotation-trick VQ,
 * EMA codebooks, SimVQ, residual VQ). Two shapes:
 * - `mlpVQVAE`: (b, D) vectors through MLPs, the 2-D toy of the tests;
 * - `convVQVAE`: (b, c, h, w) images through a stride-2 conv encoder and a
 *   nearest-upsampling conv decoder, one code per latent pixel (h/2 × w/2).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add, relu } from '../../ops/elementwise.js';
import { mseLoss } from '../../ops/nn.js';
import { splitKey } from '../../ops/random.js';
import { broadcastTo, permute, reshape } from '../../ops/views.js';
import { Module } from '../../nn/module.js';
import { MLP } from '../../nn/mlp.js';
import { Conv2d } from '../../nn/conv.js';
import type { QuantizeResult } from './quantizer.js';

/** What a VQ-VAE quantises with: VectorQuantizer, SimVQ or ResidualVQ. */
export interface QuantizerLike extends Module {
  forward(z: Tensor, key?: Key): QuantizeResult;
}

export interface VQVAEOutput extends QuantizeResult {
  /** the reconstruction D(z_q) */
  xHat: Tensor;
  /** mean ‖x − x̂‖² */
  recon: Tensor;
  /** recon + the quantiser's loss: what to minimise */
  total: Tensor;
}

/** 2× nearest-neighbour upsampling of (b, c, h, w). */
export function upsample2x(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return tidy(() => reshape(broadcastTo(reshape(x, [b, c, h, 1, w, 1]), [b, c, h, 2, w, 2]), [b, c, 2 * h, 2 * w]));
}

export class ConvEncoder extends Module {
  down: Conv2d;
  out: Conv2d;
  constructor(channels: number, hidden: number, latentDim: number, opts: { key: Key; dtype?: DType }) {
    super();
    const [k1, k2] = splitKey(opts.key);
    this.down = new Conv2d(channels, hidden, 4, { key: k1!, stride: 2, padding: 1, dtype: opts.dtype });
    this.out = new Conv2d(hidden, latentDim, 3, { key: k2!, padding: 'same', dtype: opts.dtype });
  }
  /** (b, c, h, w) → (b, d, h/2, w/2) */
  forward(x: Tensor): Tensor {
    return tidy(() => this.out.forward(relu(this.down.forward(x))));
  }
}

export class ConvDecoder extends Module {
  inp: Conv2d;
  out: Conv2d;
  constructor(latentDim: number, hidden: number, channels: number, opts: { key: Key; dtype?: DType }) {
    super();
    const [k1, k2] = splitKey(opts.key);
    this.inp = new Conv2d(latentDim, hidden, 3, { key: k1!, padding: 'same', dtype: opts.dtype });
    this.out = new Conv2d(hidden, channels, 3, { key: k2!, padding: 'same', dtype: opts.dtype });
  }
  /** (b, d, h/2, w/2) → (b, c, h, w) */
  forward(z: Tensor): Tensor {
    return tidy(() => this.out.forward(relu(upsample2x(this.inp.forward(z)))));
  }
}

export class VQVAE extends Module {
  readonly config: Readonly<{ images: boolean }>;
  encoder: MLP | ConvEncoder;
  quantizer: QuantizerLike;
  decoder: MLP | ConvDecoder;

  constructor(encoder: MLP | ConvEncoder, quantizer: QuantizerLike, decoder: MLP | ConvDecoder, opts: { images: boolean }) {
    super();
    this.config = { images: opts.images };
    this.encoder = encoder;
    this.quantizer = quantizer;
    this.decoder = decoder;
  }

  /** z = E(x): (b, d) for vectors, (b, h', w', d) for images (channels last, as the quantiser wants) */
  encode(x: Tensor): Tensor {
    return tidy(() => {
      const z = this.encoder.forward(x);
      return this.config.images ? permute(z, [0, 2, 3, 1]) : z;
    });
  }

  /** x̂ = D(z_q) */
  decode(zq: Tensor): Tensor {
    return tidy(() => this.decoder.forward(this.config.images ? permute(zq, [0, 3, 1, 2]) : zq));
  }

  forward(x: Tensor, key?: Key): VQVAEOutput {
    return tidy(() => {
      const q = this.quantizer.forward(this.encode(x), key);
      const xHat = this.decode(q.zq);
      const recon = mseLoss(xHat, x);
      return { ...q, xHat, recon, total: add(recon, q.loss) };
    });
  }
}

/** A VQ-VAE for (b, dim) vectors: MLP encoder dim → hidden → latentDim, MLP decoder back. */
export function mlpVQVAE(opts: { key: Key; dim: number; latentDim: number; hidden?: number; quantizer: QuantizerLike; dtype?: DType }): VQVAE {
  const [ke, kd] = splitKey(opts.key);
  const h = opts.hidden ?? 32;
  const enc = new MLP(opts.dim, [h], opts.latentDim, { key: ke!, activation: 'relu', dtype: opts.dtype });
  const dec = new MLP(opts.latentDim, [h], opts.dim, { key: kd!, activation: 'relu', dtype: opts.dtype });
  return new VQVAE(enc, opts.quantizer, dec, { images: false });
}

/** A VQ-VAE for (b, c, h, w) images with even h, w: one code per 2×2 patch. */
export function convVQVAE(opts: { key: Key; channels: number; latentDim: number; hidden?: number; quantizer: QuantizerLike; dtype?: DType }): VQVAE {
  const [ke, kd] = splitKey(opts.key);
  const h = opts.hidden ?? 16;
  return new VQVAE(new ConvEncoder(opts.channels, h, opts.latentDim, { key: ke!, dtype: opts.dtype }), opts.quantizer, new ConvDecoder(opts.latentDim, h, opts.channels, { key: kd!, dtype: opts.dtype }), { images: true });
}
