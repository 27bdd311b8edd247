/**
 * The float64 reference kernel of the three convolution primitives
 * (`conv.ts`): one loop nest, three modes. Every case is lifted to three
 * spatial axes (1-D and 2-D get leading axes of size 1); for each (batch,
 * output channel, input channel, kernel tap, leading output rows) the loop
 * walks only the contiguous run of output positions whose input index lies
 * inside the unpadded input, so padding costs nothing and the innermost loop
 * has no branches.
 */
import type { Shape } from '../core/shape.js';
import type { ConvAttrs } from './conv.js';

/** Shapes lifted to three spatial axes; everything the kernel loop needs. */
export interface Geometry {
  N: number;
  G: number;
  Cg: number;
  Og: number;
  inp: number[];
  out: number[];
  k: number[];
  s: number[];
  d: number[];
  p: number[];
}

function lift3(v: readonly number[], fill: number): number[] {
  return [...new Array<number>(3 - v.length).fill(fill), ...v];
}

export function geometry(xShape: Shape, wShape: Shape, yShape: Shape, a: ConvAttrs): Geometry {
  return {
    N: xShape[0]!,
    G: a.groups,
    Cg: wShape[1]!,
    Og: wShape[0]! / a.groups,
    inp: lift3(xShape.slice(2), 1),
    out: lift3(yShape.slice(2), 1),
    k: lift3(wShape.slice(2), 1),
    s: lift3(a.stride, 1),
    d: lift3(a.dilation, 1),
    p: lift3(a.padding.map((q) => q[0]), 0),
  };
}

/** Output positions o in [lo, hi] whose input index o·s + t·d − p lies in [0, n) for kernel tap t. */
function validRange(n: number, out: number, t: number, s: number, d: number, p: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p - t * d) / s));
  const hi = Math.min(out - 1, Math.floor((n - 1 + p - t * d) / s));
  return [lo, hi];
}

export type Mode = 'conv' | 'input' | 'filter';

/**
 * The one loop nest behind all three ops. `x` is the (N, C, …) side, `y` the
 * (N, O, …) side, `w` the kernel; the mode says which of them is the result.
 */
export function correlate(mode: Mode, x: Float64Array, w: Float64Array, y: Float64Array, g: Geometry): void {
  const [D, H, W] = g.inp as [number, number, number];
  const [oD, oH, oW] = g.out as [number, number, number];
  const [kD, kH, kW] = g.k as [number, number, number];
  const [sD, sH, sW] = g.s as [number, number, number];
  const [dD, dH, dW] = g.d as [number, number, number];
  const [pD, pH, pW] = g.p as [number, number, number];
  const C = g.G * g.Cg;
  const O = g.G * g.Og;
  const xPlane = D * H * W;
  const yPlane = oD * oH * oW;
  const kPlane = kD * kH * kW;
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / g.Og);
      const yBase = (n * O + o) * yPlane;
      for (let c = 0; c < g.Cg; c++) {
        const xBase = (n * C + grp * g.Cg + c) * xPlane;
        const wBase = (o * g.Cg + c) * kPlane;
        for (let td = 0; td < kD; td++) {
          const [d0, d1] = validRange(D, oD, td, sD, dD, pD);
          for (let th = 0; th < kH; th++) {
            const [h0, h1] = validRange(H, oH, th, sH, dH, pH);
            for (let tw = 0; tw < kW; tw++) {
              const [w0, w1] = validRange(W, oW, tw, sW, dW, pW);
              if (w1 < w0) continue;
              const wi = wBase + (td * kH + th) * kW + tw;
              const wv = w[wi]!;
              let acc = 0;
              for (let od = d0; od <= d1; od++) {
                const id = od * sD + td * dD - pD;
                for (let oh = h0; oh <= h1; oh++) {
                  const ih = oh * sH + th * dH - pH;
                  let yi = yBase + (od * oH + oh) * oW + w0;
                  let xi = xBase + (id * H + ih) * W + w0 * sW + tw * dW - pW;
                  const run = w1 - w0 + 1;
                  if (mode === 'conv') for (let j = 0; j < run; j++, yi++, xi += sW) y[yi]! += wv * x[xi]!;
                  else if (mode === 'input') for (let j = 0; j < run; j++, yi++, xi += sW) x[xi]! += wv * y[yi]!;
                  else for (let j = 0; j < run; j++, yi++, xi += sW) acc += y[yi]! * x[xi]!;
                }
              }
              if (mode === 'filter') w[wi]! += acc;
            }
          }
        }
      }
    }
  }
}
