/**
 * The three coupling flows of the papers, as stacks of this folder's layers.
 * Each takes the example shape: (d) vectors (the 2-D toys) or (c, h, w) images.
 *
 * NICE (Dinh, Krueger & Bengio, arXiv 1410.8516, §5.1): additive couplings
 * with alternating masks, then the diagonal scaling; logistic prior. Vectors only,
 * as in the paper (images are flattened there).
 *
 * Real NVP (Dinh, Sohl-Dickstein & Bengio, arXiv 1605.08803, §3.6, §4.1):
 * affine couplings with a stable (tanh) scale. Vectors: alternating masks.
 * Images, per scale: 3 checkerboard couplings, squeeze, 3 channel couplings,
 * factor out half (N(0, I) latents); at the last scale 4 checkerboard couplings.
 *
 * Glow (Kingma & Dhariwal, arXiv 1807.03039, §3, Fig. 2): a step of flow is
 * ActNorm → invertible 1×1 convolution (LU form) → affine coupling (sigmoid
 * scale, channel halves). Images: L levels of squeeze → K steps → split (a
 * learned conditional prior), without the split at the last level. Vectors:
 * K steps (the 1×1 convolution is an invertible linear layer).
 */
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { splitKey } from '../../ops/random.js';
import { checkPositiveInt } from '../../nn/util.js';
import type { FlowLayer } from './layer.js';
import { AdditiveCoupling, AffineCoupling, type ScaleKind } from './coupling.js';
import { ConvConditioner, MLPConditioner } from './conditioner.js';
import { ActNorm, Scaling } from './actnorm.js';
import { InvertibleConv1x1, InvertibleConv1x1LU } from './invconv.js';
import { Split, Squeeze } from './multiscale.js';
import { Flow } from './flow.js';
import type { MaskKind } from './masks.js';
import type { PriorName } from './priors.js';

export interface FlowModelOptions {
  key: Key;
  /** (d) or (c, h, w) */
  eventShape: readonly number[];
  /** hidden width(s) of each conditioner (MLP widths for vectors, conv channels for images) */
  hidden?: number | readonly number[];
  prior?: PriorName;
  dtype?: DType;
}

function isVector(op: string, shape: readonly number[]): boolean {
  if (shape.length === 1) return true;
  if (shape.length === 3) return false;
  throw new Error(`${op}: eventShape must be (d) or (c, h, w), got ${shapeStr(shape)}`);
}

const hiddenList = (h: number | readonly number[] | undefined, dflt: number[]): number[] => (h === undefined ? dflt : typeof h === 'number' ? [h] : h.slice());

/** NICE: `couplings` additive couplings (default 4) with alternating masks and a final diagonal scaling. */
export function nice(opts: FlowModelOptions & { couplings?: number; mask?: MaskKind }): Flow {
  const shape = opts.eventShape;
  if (!isVector('nice', shape)) throw new Error(`nice: NICE models vectors (d); got eventShape ${shapeStr(shape)} (flatten images first)`);
  const d = shape[0]!;
  const n = checkPositiveInt('nice', 'couplings', opts.couplings ?? 4);
  const hidden = hiddenList(opts.hidden, [64, 64]);
  const mask = opts.mask ?? 'alternating';
  const keys = splitKey(opts.key, n);
  const layers: FlowLayer[] = keys.map((k, i) => new AdditiveCoupling(d, new MLPConditioner(d, hidden, d, { key: k, dtype: opts.dtype }), { mask: { kind: mask, parity: (i % 2) as 0 | 1 } }));
  layers.push(new Scaling(d, { dtype: opts.dtype }));
  return new Flow(layers, { eventShape: shape, prior: opts.prior ?? 'logistic' });
}

export interface RealNVPOptions extends FlowModelOptions {
  /** vectors: the number of couplings (default 8) */
  couplings?: number;
  /** images: the number of scales (default 2) */
  scales?: number;
  scale?: ScaleKind;
  /** vectors: an ActNorm before each coupling, in place of the paper's batch normalisation (default false) */
  actnorm?: boolean;
}

/** Real NVP for vectors (alternating affine couplings) or images (the multi-scale architecture). */
export function realNVP(opts: RealNVPOptions): Flow {
  const shape = opts.eventShape;
  const scale = opts.scale ?? 'tanh';
  const dt = { dtype: opts.dtype };
  const layers: FlowLayer[] = [];
  if (isVector('realNVP', shape)) {
    const d = shape[0]!;
    const n = checkPositiveInt('realNVP', 'couplings', opts.couplings ?? 8);
    const hidden = hiddenList(opts.hidden, [64, 64]);
    splitKey(opts.key, n).forEach((k, i) => {
      if (opts.actnorm) layers.push(new ActNorm(d, dt));
      layers.push(new AffineCoupling(d, new MLPConditioner(d, hidden, 2 * d, { key: k, ...dt }), { mask: { kind: 'alternating', parity: (i % 2) as 0 | 1 }, scale, ...dt }));
    });
    return new Flow(layers, { eventShape: shape, prior: opts.prior });
  }
  const hidden = hiddenList(opts.hidden, [32])[0]!;
  const scales = checkPositiveInt('realNVP', 'scales', opts.scales ?? 2);
  let [c, h, w] = shape as [number, number, number];
  let key = opts.key;
  const coupling = (kind: MaskKind, parity: number): AffineCoupling => {
    const [k, rest] = splitKey(key);
    key = rest!;
    return new AffineCoupling(c, new ConvConditioner(c, hidden, 2 * c, { key: k!, ...dt }), { mask: { kind, parity: (parity % 2) as 0 | 1 }, scale, ...dt });
  };
  for (let s = 0; s < scales - 1; s++) {
    for (let i = 0; i < 3; i++) layers.push(coupling('checkerboard', i));
    layers.push(new Squeeze());
    [c, h, w] = [4 * c, h / 2, w / 2];
    if (!Number.isInteger(h) || !Number.isInteger(w)) throw new Error(`realNVP: ${scales} scales need h and w divisible by ${2 ** (scales - 1)}, got ${shapeStr(shape)}`);
    for (let i = 0; i < 3; i++) layers.push(coupling('channel', i));
    layers.push(new Split(c, { learnedPrior: false }));
    c = Math.ceil(c / 2);
  }
  for (let i = 0; i < 4; i++) layers.push(coupling('checkerboard', i));
  return new Flow(layers, { eventShape: shape, prior: opts.prior });
}

export interface GlowOptions extends FlowModelOptions {
  /** steps of flow per level, K (default 4) */
  steps?: number;
  /** images: levels, L (default 2) */
  levels?: number;
  /** the LU-decomposed 1×1 convolution (default true) or the plain one */
  lu?: boolean;
  scale?: ScaleKind;
}

/** Glow: steps of (ActNorm, 1×1 convolution, affine coupling), multi-scale for images. */
export function glow(opts: GlowOptions): Flow {
  const shape = opts.eventShape;
  const K = checkPositiveInt('glow', 'steps', opts.steps ?? 4);
  const dt = { dtype: opts.dtype };
  const lu = opts.lu ?? true;
  const scale = opts.scale ?? 'sigmoid';
  const vector = isVector('glow', shape);
  const hidden = hiddenList(opts.hidden, vector ? [64, 64] : [32]);
  let key = opts.key;
  const next = (): Key => {
    const [k, rest] = splitKey(key);
    key = rest!;
    return k!;
  };
  const step = (c: number, out: FlowLayer[]): void => {
    out.push(new ActNorm(c, dt));
    out.push(lu ? new InvertibleConv1x1LU(c, { key: next(), ...dt }) : new InvertibleConv1x1(c, { key: next(), ...dt }));
    const net = vector ? new MLPConditioner(c, hidden, 2 * c, { key: next(), ...dt }) : new ConvConditioner(c, hidden[0]!, 2 * c, { key: next(), ...dt });
    out.push(new AffineCoupling(c, net, { mask: { kind: vector ? 'half' : 'channel', parity: 0 }, scale, ...dt }));
  };
  const layers: FlowLayer[] = [];
  if (vector) {
    for (let k = 0; k < K; k++) step(shape[0]!, layers);
    return new Flow(layers, { eventShape: shape, prior: opts.prior });
  }
  const L = checkPositiveInt('glow', 'levels', opts.levels ?? 2);
  let [c, h, w] = shape as [number, number, number];
  for (let l = 0; l < L; l++) {
    layers.push(new Squeeze());
    [c, h, w] = [4 * c, h / 2, w / 2];
    if (!Number.isInteger(h) || !Number.isInteger(w)) throw new Error(`glow: ${L} levels need h and w divisible by ${2 ** L}, got ${shapeStr(shape)}`);
    for (let k = 0; k < K; k++) step(c, layers);
    if (l < L - 1) {
      layers.push(new Split(c, { learnedPrior: true, key: next(), ...dt }));
      c = Math.ceil(c / 2);
    }
  }
  return new Flow(layers, { eventShape: shape, prior: opts.prior });
}
