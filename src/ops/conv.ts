/**
 * Convolution (cross-correlation, as in every deep-learning library) over 1, 2
 * or 3 spatial axes, with stride, asymmetric zero padding, dilation and
 * groups, as three primitives:
 *
 *   conv               y[n, o, p]   = Σ_{c,k} w[o, c, k] · x[n, g·Cg + c, p·s + k·d − pad]
 *   convBackpropInput  x̄[n, g·Cg + c, i] = Σ_{o,k : i = p·s + k·d − pad} w[o, c, k] · ȳ[n, o, p]
 *   convBackpropFilter w̄[o, c, k]  = Σ_{n,p} ȳ[n, o, p] · x[n, g·Cg + c, p·s + k·d − pad]
 *
 * (g = the group of output channel o, Cg the input channels per group.) All
 * three are partial derivatives of one trilinear form T(x, w, ȳ) = ⟨ȳ, conv(x, w)⟩,
 * so each one's VJP and JVP are the other two: gradients of every order stay
 * convolutions, and nothing is ever unfolded (im2col would cost k× the input
 * in memory). `convBackpropInput` is also the transposed convolution
 * (`convTranspose1d/2d`, "deconvolution"): PyTorch's conv_transpose weight
 * layout (C_in, C_out/groups, k…) is exactly the conv weight layout read the
 * other way round.
 *
 * The float64 reference kernel, one loop nest for all three, is in `convRef.ts`.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, sizeOf, type Shape } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { defineOp, type Meta, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { arithmeticDType } from './broadcast.js';
import { add } from './elementwise.js';
import { reshape } from './views.js';
import { correlate, geometry } from './convRef.js';

export interface ConvAttrs {
  /** step between output positions, per spatial axis */
  stride: number[];
  /** zeros added [before, after] each spatial axis */
  padding: [number, number][];
  /** spacing between kernel taps, per spatial axis */
  dilation: number[];
  /** channel groups: input and output channels split into `groups` independent blocks */
  groups: number;
}

/** The backprop ops also carry the spatial size of their result (ambiguous from the other shapes when stride > 1). */
export interface ConvGradAttrs extends ConvAttrs {
  size: number[];
}

/** Output length of one spatial axis. */
export function convOutLength(n: number, k: number, s: number, d: number, pad: readonly [number, number]): number {
  return Math.floor((n + pad[0] + pad[1] - d * (k - 1) - 1) / s) + 1;
}

function checkAxes(op: string, x: Meta, w: Meta, a: ConvAttrs, xName: string, wName: string): number {
  const nd = w.shape.length - 2;
  if (nd < 1 || nd > 3) throw new Error(`${op}: ${wName} is ${shapeStr(w.shape)}; it must be (C_out, C_in/groups, k…) with 1 to 3 spatial axes`);
  if (x.shape.length !== nd + 2) throw new Error(`${op}: ${xName} is ${shapeStr(x.shape)} and ${wName} is ${shapeStr(w.shape)}: ${xName} must be (N, C, …) with ${nd} spatial axes`);
  if (a.stride.length !== nd || a.dilation.length !== nd || a.padding.length !== nd) throw new Error(`${op}: stride, dilation and padding need one entry per spatial axis (${nd})`);
  return nd;
}

/** Spatial output sizes of conv(x, w); validates channels, groups and lengths. Errors name the op and the shapes. */
function convGeometry(op: string, xs: Shape, ws: Shape, a: ConvAttrs, names = ['x', 'w']): number[] {
  const [xn, wn] = names as [string, string];
  const c = xs[1]!;
  const o = ws[0]!;
  if (c % a.groups !== 0 || o % a.groups !== 0) throw new Error(`${op}: groups ${a.groups} must divide the input channels (${c}, ${xn} ${shapeStr(xs)}) and the output channels (${o}, ${wn} ${shapeStr(ws)})`);
  if (ws[1]! * a.groups !== c) throw new Error(`${op}: ${xn} ${shapeStr(xs)} has ${c} channels but ${wn} ${shapeStr(ws)} expects ${ws[1]} per group × ${a.groups} groups = ${ws[1]! * a.groups}`);
  return xs.slice(2).map((n, i) => {
    const k = ws[i + 2]!;
    const L = convOutLength(n, k, a.stride[i]!, a.dilation[i]!, a.padding[i]!);
    if (L < 1) throw new Error(`${op}: spatial axis ${i} of ${xn} ${shapeStr(xs)} (length ${n}, padded ${n + a.padding[i]![0] + a.padding[i]![1]}) is shorter than the dilated kernel (${a.dilation[i]! * (k - 1) + 1}) of ${wn} ${shapeStr(ws)}`);
    return L;
  });
}

const baseAttrs = (a: ConvAttrs): ConvAttrs => ({ stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups });
const spatial = (t: Tensor): number[] => t.shape.slice(2);

function sum2(a: Tensor | null, b: Tensor | null): Tensor | null {
  return a && b ? add(a, b) : (a ?? b);
}

/** y = conv(x, w): x (N, C, …), w (O, C/groups, k…) → (N, O, …out). */
export const convOp: OpDef<ConvAttrs> = defineOp<ConvAttrs>({
  name: 'conv',
  infer: ([x, w], a) => {
    checkAxes('conv', x!, w!, a, 'x', 'w');
    const out = convGeometry('conv', x!.shape, w!.shape, a);
    return [{ shape: [x!.shape[0]!, w!.shape[0]!, ...out], dtype: arithmeticDType(x!.dtype, w!.dtype) }];
  },
  ref: ([x, w], [xm, wm], a, [ym]) => {
    const y = new Float64Array(sizeOf(ym!.shape));
    correlate('conv', x!, w!, y, geometry(xm!.shape, wm!.shape, ym!.shape, a));
    return [y];
  },
  vjp: (ctx, [g]) => {
    const [x, w] = ctx.inputs as [Tensor, Tensor];
    return [convBackpropInput(g!, w, spatial(x), ctx.attrs), convBackpropFilter(x, g!, spatial(w), ctx.attrs)];
  },
  jvp: (ctx, [tx, tw]) => {
    const [x, w] = ctx.inputs as [Tensor, Tensor];
    return [sum2(tx ? convRaw(tx, w, ctx.attrs) : null, tw ? convRaw(x, tw, ctx.attrs) : null)];
  },
});

/** x̄ = convBackpropInput(ȳ, w): ȳ (N, O, …out), w (O, C/groups, k…) → (N, C, …size); the transposed convolution. */
export const convBackpropInputOp: OpDef<ConvGradAttrs> = defineOp<ConvGradAttrs>({
  name: 'convBackpropInput',
  infer: ([g, w], a) => {
    const op = 'convBackpropInput';
    const nd = w!.shape.length - 2;
    if (nd < 1 || nd > 3 || g!.shape.length !== nd + 2 || a.size.length !== nd) throw new Error(`${op}: y is ${shapeStr(g!.shape)}, w is ${shapeStr(w!.shape)}, size is ${shapeStr(a.size)}: need (N, O, …), (O, C/groups, k…) and one size per spatial axis`);
    if (g!.shape[1] !== w!.shape[0]) throw new Error(`${op}: y ${shapeStr(g!.shape)} has ${g!.shape[1]} channels but w ${shapeStr(w!.shape)} has ${w!.shape[0]} output channels`);
    const xShape = [g!.shape[0]!, w!.shape[1]! * a.groups, ...a.size];
    const out = convGeometry(op, xShape, w!.shape, a, ['the result', 'w']);
    if (out.some((L, i) => L !== g!.shape[i + 2])) throw new Error(`${op}: a result of spatial size ${shapeStr(a.size)} convolved with w ${shapeStr(w!.shape)} gives ${shapeStr(out)}, not the spatial size of y ${shapeStr(g!.shape)}`);
    return [{ shape: xShape, dtype: arithmeticDType(g!.dtype, w!.dtype) }];
  },
  ref: ([g, w], [gm, wm], a, [xm]) => {
    const x = new Float64Array(sizeOf(xm!.shape));
    correlate('input', x, w!, g!, geometry(xm!.shape, wm!.shape, gm!.shape, a));
    return [x];
  },
  vjp: (ctx, [c]) => {
    const [g, w] = ctx.inputs as [Tensor, Tensor];
    const a = baseAttrs(ctx.attrs);
    return [convRaw(c!, w, a), convBackpropFilter(c!, g, spatial(w), a)];
  },
  jvp: (ctx, [tg, tw]) => {
    const [g, w] = ctx.inputs as [Tensor, Tensor];
    const a = ctx.attrs;
    return [sum2(tg ? convBackpropInput(tg, w, a.size, a) : null, tw ? convBackpropInput(g, tw, a.size, a) : null)];
  },
});

/** w̄ = convBackpropFilter(x, ȳ): x (N, C, …), ȳ (N, O, …out) → (O, C/groups, …size). */
export const convBackpropFilterOp: OpDef<ConvGradAttrs> = defineOp<ConvGradAttrs>({
  name: 'convBackpropFilter',
  infer: ([x, g], a) => {
    const op = 'convBackpropFilter';
    const nd = x!.shape.length - 2;
    if (nd < 1 || nd > 3 || g!.shape.length !== nd + 2 || a.size.length !== nd) throw new Error(`${op}: x is ${shapeStr(x!.shape)}, y is ${shapeStr(g!.shape)}, size is ${shapeStr(a.size)}: need (N, C, …), (N, O, …) and one kernel size per spatial axis`);
    if (x!.shape[0] !== g!.shape[0]) throw new Error(`${op}: x ${shapeStr(x!.shape)} and y ${shapeStr(g!.shape)} have different batch sizes`);
    const o = g!.shape[1]!;
    if (x!.shape[1]! % a.groups !== 0 || o % a.groups !== 0) throw new Error(`${op}: groups ${a.groups} must divide the channels of x ${shapeStr(x!.shape)} and y ${shapeStr(g!.shape)}`);
    const wShape = [o, x!.shape[1]! / a.groups, ...a.size];
    const out = convGeometry(op, x!.shape, wShape, a, ['x', 'the result']);
    if (out.some((L, i) => L !== g!.shape[i + 2])) throw new Error(`${op}: x ${shapeStr(x!.shape)} convolved with a kernel of size ${shapeStr(a.size)} gives ${shapeStr(out)}, not the spatial size of y ${shapeStr(g!.shape)}`);
    return [{ shape: wShape, dtype: arithmeticDType(x!.dtype, g!.dtype) }];
  },
  ref: ([x, g], [xm, gm], a, [wm]) => {
    const w = new Float64Array(sizeOf(wm!.shape));
    correlate('filter', x!, w, g!, geometry(xm!.shape, wm!.shape, gm!.shape, a));
    return [w];
  },
  vjp: (ctx, [c]) => {
    const [x, g] = ctx.inputs as [Tensor, Tensor];
    const a = baseAttrs(ctx.attrs);
    return [convBackpropInput(g, c!, spatial(x), a), convRaw(x, c!, a)];
  },
  jvp: (ctx, [tx, tg]) => {
    const [x, g] = ctx.inputs as [Tensor, Tensor];
    const a = ctx.attrs;
    return [sum2(tx ? convBackpropFilter(tx, g, a.size, a) : null, tg ? convBackpropFilter(x, tg, a.size, a) : null)];
  },
});

function convRaw(x: Tensor, w: Tensor, a: ConvAttrs): Tensor {
  return apply(convOp, [x, w], baseAttrs(a))[0]!;
}
function convBackpropInput(g: Tensor, w: Tensor, size: number[], a: ConvAttrs): Tensor {
  return apply(convBackpropInputOp, [g, w], { ...baseAttrs(a), size })[0]!;
}
function convBackpropFilter(x: Tensor, g: Tensor, size: number[], a: ConvAttrs): Tensor {
  return apply(convBackpropFilterOp, [x, g], { ...baseAttrs(a), size })[0]!;
}

// ---- public functions ------------------------------------------------------------------

/**
 * Padding: a number (the same on both sides of every spatial axis), one number
 * per axis, one [before, after] pair per axis, 'valid' (none), 'same' (output
 * length = input length; stride 1; the odd zero goes after, as in PyTorch) or
 * 'causal' (d·(k−1) zeros before, none after: output t sees inputs ≤ t).
 */
export type ConvPadding = number | readonly number[] | readonly (readonly [number, number])[] | 'valid' | 'same' | 'causal';

export interface ConvOptions {
  stride?: number | readonly number[];
  padding?: ConvPadding;
  dilation?: number | readonly number[];
  groups?: number;
}

function checkTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, name);
  if (!isFloat(x.dtype)) throw new Error(`${op}: ${name} must be a floating tensor, got ${x.describe()}`);
}

function perAxis(op: string, name: string, v: number | readonly number[] | undefined, nd: number, min: number, dflt: number): number[] {
  const list = v === undefined ? new Array<number>(nd).fill(dflt) : typeof v === 'number' ? new Array<number>(nd).fill(v) : v.slice();
  if (list.length !== nd || list.some((q) => !Number.isInteger(q) || q < min)) throw new Error(`${op}: ${name} must be an integer ≥ ${min} or ${nd} of them, got ${JSON.stringify(v)}`);
  return list;
}

/** Resolve options into primitive attributes for a kernel of spatial size `k`. */
export function convAttrs(op: string, k: readonly number[], opts: ConvOptions): ConvAttrs {
  const nd = k.length;
  const stride = perAxis(op, 'stride', opts.stride, nd, 1, 1);
  const dilation = perAxis(op, 'dilation', opts.dilation, nd, 1, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${String(groups)}`);
  const p = opts.padding ?? 0;
  let padding: [number, number][];
  if (p === 'valid') padding = k.map(() => [0, 0]);
  else if (p === 'same') {
    if (stride.some((s) => s !== 1)) throw new Error(`${op}: padding 'same' needs stride 1, got stride ${shapeStr(stride)}`);
    padding = k.map((kk, i) => {
      const total = dilation[i]! * (kk - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  } else if (p === 'causal') padding = k.map((kk, i) => [dilation[i]! * (kk - 1), 0]);
  else if (typeof p === 'number') padding = perAxis(op, 'padding', p, nd, 0, 0).map((q) => [q, q]);
  else if (Array.isArray(p) && p.every((q) => typeof q === 'number')) padding = perAxis(op, 'padding', p as number[], nd, 0, 0).map((q) => [q, q]);
  else if (Array.isArray(p) && p.length === nd && p.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0))) padding = (p as [number, number][]).map((q) => [q[0], q[1]]);
  else throw new Error(`${op}: padding must be a non-negative integer, ${nd} of them, ${nd} [before, after] pairs, 'valid', 'same' or 'causal'; got ${JSON.stringify(p)}`);
  return { stride, padding, dilation, groups };
}

function withBias(op: string, y: Tensor, bias: Tensor | null | undefined): Tensor {
  if (!bias) return y;
  checkTensor(op, 'bias', bias);
  if (bias.ndim !== 1 || bias.shape[0] !== y.shape[1]) throw new Error(`${op}: bias is ${shapeStr(bias.shape)} but the output has ${y.shape[1]} channels`);
  return add(y, reshape(bias, [bias.shape[0]!, ...new Array<number>(y.ndim - 2).fill(1)]));
}

/**
 * N-d convolution (cross-correlation) with the spatial rank taken from w:
 * x (N, C_in, …) or unbatched (C_in, …), w (C_out, C_in/groups, k…), an
 * optional bias (C_out), options as PyTorch's F.conv1d/2d/3d plus asymmetric,
 * 'same' and 'causal' padding.
 */
export function conv(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  checkTensor('conv', 'x', x);
  checkTensor('conv', 'w', w);
  const nd = w.ndim - 2;
  if (nd < 1 || nd > 3) throw new Error(`conv: w is ${shapeStr(w.shape)}; it must be (C_out, C_in/groups, k…) with 1 to 3 spatial axes`);
  const a = convAttrs('conv', w.shape.slice(2), opts);
  if (x.ndim === nd + 1 && x.shape[0] !== w.shape[1]! * a.groups) {
    throw new Error(`conv: x ${shapeStr(x.shape)} is read as unbatched (C, …) with ${x.shape[0]} channels, but w ${shapeStr(w.shape)} with groups ${a.groups} expects ${w.shape[1]! * a.groups}`);
  }
  if (x.ndim === nd + 1) {
    return tidy(() => {
      const y = conv(reshape(x, [1, ...x.shape]), w, bias, opts);
      return reshape(y, y.shape.slice(1));
    });
  }
  if (x.ndim !== nd + 2) throw new Error(`conv: x is ${shapeStr(x.shape)} and w is ${shapeStr(w.shape)}: x must be (N, C, …) or (C, …) with ${nd} spatial axes`);
  return tidy(() => withBias('conv', apply(convOp, [x, w], a)[0]!, bias));
}

/** 1-D convolution, PyTorch's F.conv1d: x (N, C_in, L), w (C_out, C_in/groups, k). */
export function conv1d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  checkTensor('conv1d', 'w', w);
  if (w.ndim !== 3) throw new Error(`conv1d: w is ${shapeStr(w.shape)}; it must be (C_out, C_in/groups, k)`);
  return conv(x, w, bias, opts);
}

/** 2-D convolution, PyTorch's F.conv2d: x (N, C_in, H, W), w (C_out, C_in/groups, kH, kW). */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  checkTensor('conv2d', 'w', w);
  if (w.ndim !== 4) throw new Error(`conv2d: w is ${shapeStr(w.shape)}; it must be (C_out, C_in/groups, kH, kW)`);
  return conv(x, w, bias, opts);
}

export interface ConvTransposeOptions {
  stride?: number | readonly number[];
  /** the padding of the convolution this transposes: it removes that many outputs from each side */
  padding?: number | readonly number[] | readonly (readonly [number, number])[];
  /** extra outputs at the end of each axis (< max(stride, dilation)), to pick one of the sizes a strided conv maps to the same length */
  outputPadding?: number | readonly number[];
  dilation?: number | readonly number[];
  groups?: number;
}

/**
 * Transposed convolution (PyTorch's F.conv_transpose1d/2d/3d): the adjoint of
 * conv with the same options, x (N, C_in, …), w (C_in, C_out/groups, k…);
 * output length (L − 1)·s − p_before − p_after + d·(k − 1) + outputPadding + 1.
 */
export function convTranspose(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTransposeOptions = {}): Tensor {
  const op = 'convTranspose';
  checkTensor(op, 'x', x);
  checkTensor(op, 'w', w);
  const nd = w.ndim - 2;
  if (nd < 1 || nd > 3) throw new Error(`${op}: w is ${shapeStr(w.shape)}; it must be (C_in, C_out/groups, k…) with 1 to 3 spatial axes`);
  if (x.ndim === nd + 1) {
    return tidy(() => {
      const y = convTranspose(reshape(x, [1, ...x.shape]), w, bias, opts);
      return reshape(y, y.shape.slice(1));
    });
  }
  if (x.ndim !== nd + 2) throw new Error(`${op}: x is ${shapeStr(x.shape)} and w is ${shapeStr(w.shape)}: x must be (N, C, …) or (C, …) with ${nd} spatial axes`);
  const a = convAttrs(op, w.shape.slice(2), { stride: opts.stride, padding: opts.padding ?? 0, dilation: opts.dilation, groups: opts.groups });
  const extra = perAxis(op, 'outputPadding', opts.outputPadding, nd, 0, 0);
  extra.forEach((e, i) => {
    if (e >= Math.max(a.stride[i]!, a.dilation[i]!)) throw new Error(`${op}: outputPadding ${e} on axis ${i} must be smaller than the stride (${a.stride[i]}) or the dilation (${a.dilation[i]})`);
  });
  if (x.shape[1] !== w.shape[0]) throw new Error(`${op}: x ${shapeStr(x.shape)} has ${x.shape[1]} channels but w ${shapeStr(w.shape)} expects ${w.shape[0]}`);
  const size = x.shape.slice(2).map((L, i) => (L - 1) * a.stride[i]! - a.padding[i]![0] - a.padding[i]![1] + a.dilation[i]! * (w.shape[i + 2]! - 1) + extra[i]! + 1);
  if (size.some((s) => s < 1)) throw new Error(`${op}: x ${shapeStr(x.shape)} with w ${shapeStr(w.shape)} and padding ${JSON.stringify(a.padding)} gives an empty output ${shapeStr(size)}`);
  return tidy(() => withBias(op, convBackpropInput(x, w, size, a), bias));
}

/** 1-D transposed convolution: x (N, C_in, L), w (C_in, C_out/groups, k). */
export function convTranspose1d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTransposeOptions = {}): Tensor {
  checkTensor('convTranspose1d', 'w', w);
  if (w.ndim !== 3) throw new Error(`convTranspose1d: w is ${shapeStr(w.shape)}; it must be (C_in, C_out/groups, k)`);
  return convTranspose(x, w, bias, opts);
}

/** 2-D transposed convolution: x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW). */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTransposeOptions = {}): Tensor {
  checkTensor('convTranspose2d', 'w', w);
  if (w.ndim !== 4) throw new Error(`convTranspose2d: w is ${shapeStr(w.shape)}; it must be (C_in, C_out/groups, kH, kW)`);
  return convTranspose(x, w, bias, opts);
}
