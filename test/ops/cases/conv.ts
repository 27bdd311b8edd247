/**
 * Op cases for the convolution primitives (conv, convBackpropInput,
 * convBackpropFilter) and their public wrappers, against naive float64 loops
 * over every output position and kernel tap with explicit bounds checks,
 * written from the definitions independently of the library's kernel.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

/** Public composites exercised below (not in OPS). */
export const convComposites = ['conv1d', 'conv2d', 'convTranspose', 'convTranspose1d', 'convTranspose2d'];

export interface NaiveConvAttrs {
  stride: number[];
  /** zeros before each spatial axis (the amount after only changes the output length) */
  pad: number[];
  dilation: number[];
  groups: number;
}

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Every multi-index of `shape` in row-major order. */
function* indices(shape: number[]): Generator<number[]> {
  const n = prod(shape);
  for (let f = 0; f < n; f++) {
    const idx: number[] = [];
    let r = f;
    for (let i = shape.length - 1; i >= 0; i--) {
      idx[i] = r % shape[i]!;
      r = Math.floor(r / shape[i]!);
    }
    yield idx;
  }
}

const flat = (shape: number[], idx: number[]): number => idx.reduce((k, v, i) => k * shape[i]! + v, 0);

/** Input position of output position p and kernel tap k, or null when it falls in the padding. */
function source(p: number[], k: number[], a: NaiveConvAttrs, inSpatial: number[]): number[] | null {
  const i = p.map((pp, d) => pp * a.stride[d]! + k[d]! * a.dilation[d]! - a.pad[d]!);
  return i.every((v, d) => v >= 0 && v < inSpatial[d]!) ? i : null;
}

/** y (N, O, …out) = conv(x (N, C, …), w (O, C/G, k…)). */
export function naiveConv(x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], outSpatial: number[], a: NaiveConvAttrs): number[] {
  const N = xs[0]!;
  const [O, Cg] = ws as [number, number];
  const Og = O / a.groups;
  const ys = [N, O, ...outSpatial];
  const y = new Array<number>(prod(ys)).fill(0);
  for (const [n, o, ...p] of indices(ys)) {
    const g = Math.floor(o! / Og);
    let acc = 0;
    for (let c = 0; c < Cg; c++) {
      for (const k of indices(ws.slice(2))) {
        const i = source(p, k, a, xs.slice(2));
        if (i) acc += w[flat(ws, [o!, c, ...k])]! * x[flat(xs, [n!, g * Cg + c, ...i])]!;
      }
    }
    y[flat(ys, [n!, o!, ...p])] = acc;
  }
  return y;
}

/** x̄ (N, C, …size): each output position sends w·ȳ back to every input it read. */
export function naiveBackpropInput(g: ArrayLike<number>, gs: number[], w: ArrayLike<number>, ws: number[], size: number[], a: NaiveConvAttrs): number[] {
  const [N, O] = gs as [number, number];
  const Cg = ws[1]!;
  const Og = O / a.groups;
  const xs = [N, Cg * a.groups, ...size];
  const x = new Array<number>(prod(xs)).fill(0);
  for (const [n, o, ...p] of indices(gs)) {
    const grp = Math.floor(o! / Og);
    for (let c = 0; c < Cg; c++) {
      for (const k of indices(ws.slice(2))) {
        const i = source(p, k, a, size);
        if (i) x[flat(xs, [n!, grp * Cg + c, ...i])]! += w[flat(ws, [o!, c, ...k])]! * g[flat(gs, [n!, o!, ...p])]!;
      }
    }
  }
  return x;
}

/** w̄ (O, C/G, …size) = Σ over batch and output positions of ȳ · x at the tap's input. */
export function naiveBackpropFilter(x: ArrayLike<number>, xs: number[], g: ArrayLike<number>, gs: number[], size: number[], a: NaiveConvAttrs): number[] {
  const O = gs[1]!;
  const Cg = xs[1]! / a.groups;
  const Og = O / a.groups;
  const ws = [O, Cg, ...size];
  const w = new Array<number>(prod(ws)).fill(0);
  for (const [n, o, ...p] of indices(gs)) {
    const grp = Math.floor(o! / Og);
    for (let c = 0; c < Cg; c++) {
      for (const k of indices(size)) {
        const i = source(p, k, a, xs.slice(2));
        if (i) w[flat(ws, [o!, c, ...k])]! += g[flat(gs, [n!, o!, ...p])]! * x[flat(xs, [n!, grp * Cg + c, ...i])]!;
      }
    }
  }
  return w;
}

/** Output spatial sizes for padding [before, after] per axis. */
function outSize(xs: number[], ws: number[], s: number[], d: number[], pads: [number, number][]): number[] {
  return xs.slice(2).map((n, i) => Math.floor((n + pads[i]![0] + pads[i]![1] - d[i]! * (ws[i + 2]! - 1) - 1) / s[i]!) + 1);
}

interface ConvSpec {
  label: string;
  x: number[];
  w: number[];
  stride: number[];
  pads: [number, number][];
  dilation: number[];
  groups: number;
}

const SPECS: ConvSpec[] = [
  { label: '1-D, padding 1', x: [2, 3, 7], w: [4, 3, 3], stride: [1], pads: [[1, 1]], dilation: [1], groups: 1 },
  { label: '1-D, stride 2, dilation 2, padding [2,1], groups 2', x: [2, 4, 9], w: [6, 2, 3], stride: [2], pads: [[2, 1]], dilation: [2], groups: 2 },
  { label: '1-D causal depthwise (Mamba), k 4', x: [2, 3, 8], w: [3, 1, 4], stride: [1], pads: [[3, 0]], dilation: [1], groups: 3 },
  { label: '2-D, stride [2,1], dilation [1,2], asymmetric padding', x: [2, 2, 5, 6], w: [3, 2, 3, 2], stride: [2, 1], pads: [[1, 1], [0, 1]], dilation: [1, 2], groups: 1 },
  { label: '2-D depthwise, stride 2, padding 1', x: [1, 4, 6, 5], w: [4, 1, 3, 3], stride: [2, 2], pads: [[1, 1], [1, 1]], dilation: [1, 1], groups: 4 },
  { label: '3-D', x: [1, 2, 3, 4, 3], w: [2, 2, 2, 2, 2], stride: [1, 2, 1], pads: [[0, 0], [1, 0], [0, 1]], dilation: [1, 1, 1], groups: 1 },
];

const naiveAttrs = (s: ConvSpec): NaiveConvAttrs => ({ stride: s.stride, pad: s.pads.map((p) => p[0]), dilation: s.dilation, groups: s.groups });
const opts = (s: ConvSpec): nb.ConvOptions & nb.ConvTransposeOptions => ({ stride: s.stride, padding: s.pads, dilation: s.dilation, groups: s.groups });

function convCase(s: ConvSpec, i: number): OpCase {
  const out = outSize(s.x, s.w, s.stride, s.dilation, s.pads);
  return {
    op: 'conv',
    label: s.label,
    inputs: [{ shape: s.x }, { shape: s.w }],
    fn: (x, w) => nb.conv(x!, w!, null, opts(s)),
    ref: (x, w) => naiveConv(x, s.x, w, s.w, out, naiveAttrs(s)),
    secondOrder: i < 2 || i === 3,
    dtypes: i === 0 ? ['f32', 'f16', 'bf16'] : ['f32'],
  };
}

function backpropInputCase(s: ConvSpec, i: number): OpCase {
  const out = outSize(s.x, s.w, s.stride, s.dilation, s.pads);
  const gs = [s.x[0]!, s.w[0]!, ...out];
  // convTranspose with the conv's options reproduces x's size when outputPadding makes up the stride's remainder
  const extra = s.x.slice(2).map((n, d) => n - ((out[d]! - 1) * s.stride[d]! - s.pads[d]![0] - s.pads[d]![1] + s.dilation[d]! * (s.w[d + 2]! - 1) + 1));
  return {
    op: 'convBackpropInput',
    label: s.label,
    inputs: [{ shape: gs }, { shape: s.w }],
    fn: (g, w) => nb.convTranspose(g!, w!, null, { ...opts(s), outputPadding: extra }),
    ref: (g, w) => naiveBackpropInput(g, gs, w, s.w, s.x.slice(2), naiveAttrs(s)),
    secondOrder: i === 1,
  };
}

function backpropFilterCase(s: ConvSpec, i: number): OpCase {
  const out = outSize(s.x, s.w, s.stride, s.dilation, s.pads);
  const gs = [s.x[0]!, s.w[0]!, ...out];
  return {
    op: 'convBackpropFilter',
    label: s.label,
    inputs: [{ shape: s.x }, { shape: gs }],
    // the filter gradient of ⟨ȳ, conv(x, w)⟩ is w̄: reach the primitive through grad (x and ȳ passed as
    // arguments, not captured, so that an enclosing grad sees the inner one as nested and records it)
    fn: (x, g) => nb.grad((xx, w, gg) => nb.sum(nb.mul(nb.conv(xx!, w!, null, opts(s)), gg!)), { argnums: 1 })(x!, nb.zeros(s.w, { dtype: x!.dtype }), g!) as nb.Tensor,
    ref: (x, g) => naiveBackpropFilter(x, s.x, g, gs, s.w.slice(2), naiveAttrs(s)),
    secondOrder: i === 0,
  };
}

export const convCases: OpCase[] = [
  ...SPECS.map(convCase),
  ...SPECS.map(backpropInputCase),
  ...SPECS.filter((_, i) => i !== 5).map(backpropFilterCase),
  {
    op: 'conv1d',
    label: 'bias, padding same, unbatched',
    inputs: [{ shape: [3, 6] }, { shape: [2, 3, 4] }, { shape: [2] }],
    fn: (x, w, b) => nb.conv1d(x!, w!, b!, { padding: 'same' }),
    // 'same' with k 4: one zero before, two after (PyTorch puts the odd one after)
    ref: (x, w, b) => {
      const y = naiveConv(x, [1, 3, 6], w, [2, 3, 4], [6], { stride: [1], pad: [1], dilation: [1], groups: 1 });
      return y.map((v, k) => v + b[Math.floor(k / 6)]!);
    },
  },
  {
    op: 'conv2d',
    label: 'bias, stride 2, groups 2',
    inputs: [{ shape: [2, 4, 5, 5] }, { shape: [6, 2, 2, 3] }, { shape: [6] }],
    fn: (x, w, b) => nb.conv2d(x!, w!, b!, { stride: 2, padding: [0, 1], groups: 2 }),
    ref: (x, w, b) => {
      const out = outSize([2, 4, 5, 5], [6, 2, 2, 3], [2, 2], [1, 1], [[0, 0], [1, 1]]);
      const y = naiveConv(x, [2, 4, 5, 5], w, [6, 2, 2, 3], out, { stride: [2, 2], pad: [0, 1], dilation: [1, 1], groups: 2 });
      const plane = out[0]! * out[1]!;
      return y.map((v, k) => v + b[Math.floor(k / plane) % 6]!);
    },
  },
  {
    op: 'convTranspose1d',
    label: 'stride 2, padding 1, outputPadding 1, bias',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 2, 3] }, { shape: [2] }],
    fn: (x, w, b) => nb.convTranspose1d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1 }),
    // output length (4 − 1)·2 − 2 + 2 + 1 + 1 = 8
    ref: (x, w, b) => naiveBackpropInput(x, [2, 3, 4], w, [3, 2, 3], [8], { stride: [2], pad: [1], dilation: [1], groups: 1 }).map((v, k) => v + b[Math.floor(k / 8) % 2]!),
  },
  {
    op: 'convTranspose2d',
    label: 'stride 2, groups 2',
    inputs: [{ shape: [1, 4, 3, 2] }, { shape: [4, 1, 2, 2] }],
    fn: (x, w) => nb.convTranspose2d(x!, w!, null, { stride: 2, groups: 2 }),
    ref: (x, w) => naiveBackpropInput(x, [1, 4, 3, 2], w, [4, 1, 2, 2], [6, 4], { stride: [2, 2], pad: [0, 0], dilation: [1, 1], groups: 2 }),
  },
];
