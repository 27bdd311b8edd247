/**
 * The protocol every invertible layer of a normalising flow follows, and the
 * stack that composes them.
 *
 * A flow maps data x to a latent z = f(x) through bijections f = f_L ∘ … ∘ f_1
 * and scores x by the change of variables (Dinh et al., NICE, arXiv 1410.8516,
 * eq. 1; Dinh et al., Real NVP, arXiv 1605.08803, eq. 3):
 *
 *   log p(x) = log p_Z(f(x)) + Σ_l log |det ∂f_l/∂h_{l−1}|
 *
 * so each layer returns its output *and* its log-determinant, one number per
 * example: `forward(x) → [y, logdet]` with logdet of shape (b,). `inverse(y)`
 * undoes it exactly; sampling runs the inverses from the top down.
 *
 * Tensors are (b, d) vectors or (b, c, h, w) images; axis 1 is the "channel"
 * axis that ActNorm, 1×1 convolutions, channel masks and splits act on.
 *
 * Multi-scale architectures (Real NVP §3.6, Glow §3) factor out half of the
 * units at intermediate levels. Those halves are latents too: a `Split` layer
 * pushes them onto `ctx.latents` in the forward pass and adds their prior
 * log-density to the log-det term, and pops them (last in, first out) in the
 * inverse — or, when none are given, draws fresh ones with `ctx.draw`.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { sum } from '../../ops/reduce.js';
import { add } from '../../ops/elementwise.js';
import { zeros } from '../../ops/creation.js';
import { Module } from '../../nn/module.js';

export interface FlowContext {
  /** factored-out latents: Split layers push in forward and pop in inverse */
  latents?: Tensor[];
  /** standard-normal noise of a shape, already multiplied by the sampling temperature (inverse without latents) */
  draw?: (shape: readonly number[]) => Tensor;
}

/** An invertible layer: y = f(x) with log |det ∂f/∂x| per example, and x = f⁻¹(y). */
export abstract class FlowLayer extends Module {
  /** y = f(x) and log |det J_f(x)|, shape (b,) */
  abstract forward(x: Tensor, ctx?: FlowContext): [Tensor, Tensor];
  /** x = f⁻¹(y) */
  abstract inverse(y: Tensor, ctx?: FlowContext): Tensor;
  /** the shape of one example's output, given one example's input shape (without the batch axis) */
  outShape(inShape: readonly number[]): number[] {
    return inShape.slice();
  }
}

/** Σ over every axis but the batch axis: (b, …) → (b,). */
export function sumPerExample(x: Tensor): Tensor {
  if (x.ndim === 1) return x;
  return sum(
    x,
    x.shape.map((_, i) => i).slice(1),
  );
}

/** The number of positions a per-channel parameter is applied at: h·w for images, 1 for vectors. */
export function spatialSize(x: Tensor): number {
  return x.shape.slice(2).reduce((a, b) => a * b, 1);
}

/** Zero log-det (b,) in x's dtype, for volume-preserving layers. */
export function zeroLogdet(x: Tensor): Tensor {
  return zeros([x.shape[0]!], { dtype: x.dtype });
}

/** Check that x is (b, c) or (b, c, h, w) with c channels (when given). */
export function checkFlowInput(op: string, x: Tensor, channels?: number): void {
  if (x.ndim !== 2 && x.ndim !== 4) throw new Error(`${op}: x is ${shapeStr(x.shape)}; expected (b, d) vectors or (b, c, h, w) images`);
  if (channels !== undefined && x.shape[1] !== channels) throw new Error(`${op}: x is ${shapeStr(x.shape)} but the layer was built for ${channels} channels on axis 1`);
}

/** A composition f_L ∘ … ∘ f_1: log-dets add up; the inverse runs the layers in reverse order. */
export class FlowSequence extends FlowLayer {
  layers: FlowLayer[];

  constructor(layers: readonly FlowLayer[]) {
    super();
    layers.forEach((l, i) => {
      if (!(l instanceof FlowLayer)) throw new Error(`FlowSequence: layer ${i} is not a FlowLayer`);
    });
    this.layers = layers.slice();
  }

  forward(x: Tensor, ctx?: FlowContext): [Tensor, Tensor] {
    // not in tidy: Split layers push latents onto ctx that must outlive this call
    let h = x;
    let logdet: Tensor | null = null;
    for (const layer of this.layers) {
      const [y, ld] = layer.forward(h, ctx);
      if (h !== x) h.dispose();
      h = y;
      if (logdet) {
        const next = add(logdet, ld);
        logdet.dispose();
        ld.dispose();
        logdet = next;
      } else logdet = ld;
    }
    return [h === x ? add(x, 0) : h, logdet ?? zeroLogdet(x)];
  }

  inverse(y: Tensor, ctx?: FlowContext): Tensor {
    let h = y;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const x = this.layers[i]!.inverse(h, ctx);
      if (h !== y) h.dispose();
      h = x;
    }
    return h === y ? tidy(() => add(y, 0)) : h;
  }

  override outShape(inShape: readonly number[]): number[] {
    return this.layers.reduce<number[]>((s, l) => l.outShape(s), inShape.slice());
  }
}
