/**
 * Discrete Fourier transforms along one axis of batched tensors. Complex
 * values are carried as two real tensors (re, im). Conventions follow
 * numpy.fft: forward X_k = Σ_j x_j·e^(−2πi·jk/n); `norm` 'backward' (default:
 * the inverse carries 1/n), 'ortho' (both 1/√n) or 'forward' (the forward
 * transform carries 1/n). The float64 kernels (radix-2 and Bluestein) are
 * those of `src/linalg/fft.ts`.
 *
 * The transforms are linear, so each JVP is the transform of the tangents and
 * each VJP the adjoint map. Seen as a real-linear map on (re, im) pairs, the
 * adjoint of c·W (W_jk = e^(∓2πi·jk/n)) is c·Wᴴ, the opposite-sign transform
 * with the same scale: the inverse transform under the dual norm (backward ↔
 * forward, ortho fixed). rfft keeps the bins 0…⌊n/2⌋ of a real signal and
 * irfft reads them as a Hermitian spectrum, so their adjoints weight the
 * bins that stand for a conjugate pair (all but DC and, for even n, Nyquist):
 * by ½ for rfft's and by 2 for irfft's.
 */
import { Tensor } from '../core/tensor.js';
import { normAxis, shapeStr, sizeOf, type Shape } from '../core/shape.js';
import { toFloat, promote } from '../core/dtype.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { tensor, zerosLike } from './creation.js';
import { mul } from './elementwise.js';
import * as K from '../linalg/index.js';

export type FftNorm = 'backward' | 'ortho' | 'forward';

export interface FftAttrs {
  axis: number;
  inverse: boolean;
  norm: FftNorm;
  /** rfft: the input length; irfft: the output length */
  n?: number;
}

const DUAL: Record<FftNorm, FftNorm> = { backward: 'forward', ortho: 'ortho', forward: 'backward' };

/** The factor a transform of length n carries: forward and inverse under each norm. */
function scaleOf(norm: FftNorm, inverse: boolean, n: number): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  return (norm === 'forward') !== inverse ? 1 / n : 1;
}

/** Visit every line along `axis` of a contiguous array of `shape`: f(base, stride) for each line. */
function forLines(shape: Shape, axis: number, f: (base: number, stride: number, line: number) => void): void {
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  const n = shape[axis]!;
  let line = 0;
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) f(o * n * inner + i, inner, line++);
}

function gatherLine(x: Float64Array, base: number, stride: number, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) v[j] = x[base + j * stride]!;
  return v;
}

function scatterLine(y: Float64Array, base: number, stride: number, v: Float64Array, c: number): void {
  for (let j = 0; j < v.length; j++) y[base + j * stride] = c * v[j]!;
}

/** A real weight per bin along `axis`, shaped to broadcast against a tensor of rank `ndim`. */
function binWeights(w: number[], axis: number, ndim: number, like: Tensor): Tensor {
  const shape = new Array<number>(ndim).fill(1);
  shape[axis] = w.length;
  return tensor(Float64Array.from(w), shape, { dtype: like.dtype, backend: like.storage.backend });
}

/** Bins 0…⌊n/2⌋ of a length-n real signal: 1 for DC (and Nyquist, n even), `pair` for the others. */
function pairWeights(n: number, pair: number): number[] {
  const h = Math.floor(n / 2) + 1;
  return Array.from({ length: h }, (_, k) => (k === 0 || (n % 2 === 0 && k === n / 2) ? 1 : pair));
}

const orZeros = (t: Tensor | null, like: Tensor): Tensor => t ?? zerosLike(like);

// ---- complex transform ------------------------------------------------------------

export const fftOp: OpDef<FftAttrs> = defineOp<FftAttrs>({
  name: 'fft',
  infer: ([re, im]) => {
    if (re!.shape.length !== im!.shape.length || re!.shape.some((d, i) => d !== im!.shape[i])) throw new Error(`fft: re is ${shapeStr(re!.shape)} but im is ${shapeStr(im!.shape)}; they must match`);
    const m = { shape: re!.shape, dtype: toFloat(promote(re!.dtype, im!.dtype)) };
    return [m, m];
  },
  ref: ([re, im], [m], a) => {
    const n = m!.shape[a.axis]!;
    const c = scaleOf(a.norm, a.inverse, n) * (a.inverse ? n : 1); // the kernel's inverse already has 1/n
    const yr = new Float64Array(re!.length);
    const yi = new Float64Array(re!.length);
    forLines(m!.shape, a.axis, (base, stride) => {
      const r = K.fft(gatherLine(re!, base, stride, n), gatherLine(im!, base, stride, n), a.inverse);
      scatterLine(yr, base, stride, r.re, c);
      scatterLine(yi, base, stride, r.im, c);
    });
    return [yr, yi];
  },
  vjp: (ctx, [gr, gi]) => {
    const like = (gr ?? gi)!; // the inputs are not saved: the transform needs only its attributes
    return complexFft(orZeros(gr, like), orZeros(gi, like), { ...ctx.attrs, inverse: !ctx.attrs.inverse, norm: DUAL[ctx.attrs.norm] });
  },
  jvp: (ctx, [tr, ti]) => {
    const like = (tr ?? ti)!;
    return complexFft(orZeros(tr, like), orZeros(ti, like), ctx.attrs);
  },
  saveInputs: false,
});

function complexFft(re: Tensor, im: Tensor, attrs: FftAttrs): [Tensor, Tensor] {
  return apply(fftOp, [re, im], attrs) as [Tensor, Tensor];
}

// ---- real transforms --------------------------------------------------------------

/** rfft: a real signal (length n along `axis`) to its bins 0…⌊n/2⌋. */
export const rfftOp: OpDef<FftAttrs> = defineOp<FftAttrs>({
  name: 'rfft',
  infer: ([x], a) => {
    if (a.n !== x!.shape[a.axis]) throw new Error(`rfft: attrs.n = ${a.n} but axis ${a.axis} of x ${shapeStr(x!.shape)} has length ${x!.shape[a.axis]}`);
    const shape = x!.shape.slice();
    shape[a.axis] = Math.floor(shape[a.axis]! / 2) + 1;
    const m = { shape, dtype: toFloat(x!.dtype) };
    return [m, m];
  },
  ref: ([x], [m], a, [o]) => {
    const n = m!.shape[a.axis]!;
    const c = scaleOf(a.norm, false, n);
    const h = o!.shape[a.axis]!;
    const yr = new Float64Array(sizeOf(o!.shape));
    const yi = new Float64Array(sizeOf(o!.shape));
    const inner = sizeOf(m!.shape.slice(a.axis + 1));
    forLines(m!.shape, a.axis, (base, stride, line) => {
      const r = K.rfft(gatherLine(x!, base, stride, n));
      const ob = Math.floor(line / inner) * h * inner + (line % inner);
      scatterLine(yr, ob, inner, r.re, c);
      scatterLine(yi, ob, inner, r.im, c);
    });
    return [yr, yi];
  },
  // x̄ = Re(c·Wᴴ·ȳ) over the kept bins = irfft(D·ȳ) under the dual norm, D = ½ on paired bins
  vjp: (ctx, [gr, gi]) => {
    const n = ctx.attrs.n!;
    const like = (gr ?? gi)!;
    const D = binWeights(pairWeights(n, 0.5), ctx.attrs.axis, like.ndim, like);
    return [realIfft(mul(orZeros(gr, like), D), mul(orZeros(gi, like), D), { ...ctx.attrs, inverse: true, n, norm: DUAL[ctx.attrs.norm] })];
  },
  jvp: (ctx, [t]) => apply(rfftOp, [t!], ctx.attrs) as [Tensor, Tensor],
  saveInputs: false,
});

/** irfft: bins 0…⌊n/2⌋ of a Hermitian spectrum (length ⌊n/2⌋ + 1 along `axis`) to the real signal of length n. */
export const irfftOp: OpDef<FftAttrs> = defineOp<FftAttrs>({
  name: 'irfft',
  infer: ([re, im], a) => {
    if (re!.shape.length !== im!.shape.length || re!.shape.some((d, i) => d !== im!.shape[i])) throw new Error(`irfft: re is ${shapeStr(re!.shape)} but im is ${shapeStr(im!.shape)}; they must match`);
    const shape = re!.shape.slice();
    shape[a.axis] = a.n!;
    return [{ shape, dtype: toFloat(promote(re!.dtype, im!.dtype)) }];
  },
  ref: ([re, im], [m], a, [o]) => {
    const n = a.n!;
    const h = m!.shape[a.axis]!;
    const c = scaleOf(a.norm, true, n) * n;
    const y = new Float64Array(sizeOf(o!.shape));
    const inner = sizeOf(m!.shape.slice(a.axis + 1));
    forLines(m!.shape, a.axis, (base, stride, line) => {
      const x = K.irfft(gatherLine(re!, base, stride, h), gatherLine(im!, base, stride, h), n);
      scatterLine(y, Math.floor(line / inner) * n * inner + (line % inner), inner, x, c);
    });
    return [y];
  },
  // Z̄ = C·rfft(x̄) under the dual norm, C = 2 on paired bins (each stands for itself and its conjugate)
  vjp: (ctx, [g]) => {
    const C = binWeights(pairWeights(ctx.attrs.n!, 2), ctx.attrs.axis, g!.ndim, g!);
    const [zr, zi] = apply(rfftOp, [g!], { ...ctx.attrs, inverse: false, norm: DUAL[ctx.attrs.norm] }) as [Tensor, Tensor]; // attrs.n is g's length
    return [mul(zr, C), mul(zi, C)];
  },
  jvp: (ctx, [tr, ti]) => {
    const like = (tr ?? ti)!;
    return [realIfft(orZeros(tr, like), orZeros(ti, like), ctx.attrs)];
  },
  saveInputs: false,
});

function realIfft(re: Tensor, im: Tensor, attrs: FftAttrs): Tensor {
  return apply(irfftOp, [re, im], attrs)[0]!;
}

// ---- public functions -------------------------------------------------------------

export interface FftOptions {
  /** the axis to transform (default −1) */
  axis?: number;
  /** 'backward' (default), 'ortho' or 'forward', as in numpy.fft */
  norm?: FftNorm;
}

function check(op: string, x: unknown, arg: string, opts: FftOptions): { axis: number; norm: FftNorm; t: Tensor } {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, arg);
  if (opts === null || typeof opts !== 'object') throw new Error(`${op}: options must be an object`);
  if (x.ndim === 0) throw new Error(`${op}: ${arg} must have at least one axis, got a 0-d tensor []`);
  const axis = normAxis(op, opts.axis ?? -1, x.ndim);
  const norm = opts.norm ?? 'backward';
  if (!(norm in DUAL)) throw new Error(`${op}: norm must be 'backward', 'ortho' or 'forward', got ${String(norm)}`);
  if (x.shape[axis] === 0) throw new Error(`${op}: axis ${axis} of ${arg} ${shapeStr(x.shape)} is empty; the transform needs length ≥ 1`);
  return { axis, norm, t: x };
}

function complexPair(op: string, re: Tensor, im: Tensor | undefined, opts: FftOptions, inverse: boolean): [Tensor, Tensor] {
  const { axis, norm } = check(op, re, 're', opts);
  if (im !== undefined && im !== null) {
    check(op, im, 'im', opts);
    if (im.shape.length !== re.shape.length || im.shape.some((d, i) => d !== re.shape[i])) throw new Error(`${op}: re is ${shapeStr(re.shape)} but im is ${shapeStr(im.shape)}; they must match`);
  }
  const imag = im ?? zerosLike(re, { dtype: toFloat(re.dtype) });
  const out = complexFft(re, imag, { axis, inverse, norm });
  if (imag !== im) imag.dispose();
  return out;
}

/** DFT of the complex signal (re, im) along `axis` (im defaults to zeros) → [re, im]. */
export function fft(re: Tensor, im?: Tensor, opts: FftOptions = {}): [Tensor, Tensor] {
  return complexPair('fft', re, im, opts, false);
}

/** Inverse DFT (1/n under the default norm) → [re, im]. */
export function ifft(re: Tensor, im?: Tensor, opts: FftOptions = {}): [Tensor, Tensor] {
  return complexPair('ifft', re, im, opts, true);
}

/** DFT of a real signal along `axis`, bins 0…⌊n/2⌋ → [re, im]. */
export function rfft(x: Tensor, opts: FftOptions = {}): [Tensor, Tensor] {
  const { axis, norm } = check('rfft', x, 'x', opts);
  return apply(rfftOp, [x], { axis, inverse: false, norm, n: x.shape[axis]! }) as [Tensor, Tensor];
}

/**
 * The real signal of length n whose bins 0…⌊n/2⌋ are (re, im) along `axis`;
 * n defaults to 2·(bins − 1) and must give exactly as many bins as the input
 * has (pad or slice the spectrum first for other lengths). The imaginary parts
 * of DC and, for even n, Nyquist are ignored (as numpy.fft.irfft does).
 */
export function irfft(re: Tensor, im: Tensor, opts: FftOptions & { n?: number } = {}): Tensor {
  const { axis, norm } = check('irfft', re, 're', opts);
  check('irfft', im, 'im', opts);
  if (im.shape.length !== re.shape.length || im.shape.some((d, i) => d !== re.shape[i])) throw new Error(`irfft: re is ${shapeStr(re.shape)} but im is ${shapeStr(im.shape)}; they must match`);
  const bins = re.shape[axis]!;
  const n = opts.n ?? 2 * (bins - 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`irfft: n must be a positive integer, got ${n}${opts.n === undefined ? ` (the default 2·(bins − 1) for ${bins} bins)` : ''}`);
  if (Math.floor(n / 2) + 1 !== bins) throw new Error(`irfft: n = ${n} needs ${Math.floor(n / 2) + 1} bins along axis ${axis}, but re is ${shapeStr(re.shape)} with ${bins} (pad or slice the spectrum first)`);
  return realIfft(re, im, { axis, inverse: true, norm, n });
}
