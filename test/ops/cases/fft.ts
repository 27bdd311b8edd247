/**
 * Op cases for the FFT family against a naive O(n²) DFT written here, with
 * numpy.fft's conventions (sign, 1/n placement, the three norms, one-sided
 * real transforms).
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

type Norm = 'backward' | 'ortho' | 'forward';

function scale(norm: Norm, inverse: boolean, n: number): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  return (norm === 'forward') !== inverse ? 1 / n : 1;
}

/** Naive complex DFT of one line: X_k = c·Σ_j x_j·e^(∓2πi·jk/n). */
export function naiveDft(re: number[], im: number[], inverse: boolean, norm: Norm = 'backward'): [number[], number[]] {
  const n = re.length;
  const c = scale(norm, inverse, n);
  const sgn = inverse ? 1 : -1;
  const outRe: number[] = [];
  const outIm: number[] = [];
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const t = (sgn * 2 * Math.PI * ((j * k) % n)) / n;
      sr += re[j]! * Math.cos(t) - im[j]! * Math.sin(t);
      si += re[j]! * Math.sin(t) + im[j]! * Math.cos(t);
    }
    outRe.push(c * sr);
    outIm.push(c * si);
  }
  return [outRe, outIm];
}

/** Lines along `axis` of a row-major array of `shape`: apply f to each, write results (possibly of another length) back. */
function alongAxis(xs: Float64Array[], shape: number[], axis: number, outLen: number, f: (lines: number[][]) => number[][]): number[][] {
  const inner = shape.slice(axis + 1).reduce((p, q) => p * q, 1);
  const outer = shape.slice(0, axis).reduce((p, q) => p * q, 1);
  const n = shape[axis]!;
  const outs: number[][] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const lines = xs.map((x) => Array.from({ length: n }, (_, j) => x[o * n * inner + j * inner + i]!));
      const ys = f(lines);
      ys.forEach((y, k) => {
        outs[k] ??= new Array<number>(outer * outLen * inner).fill(0);
        y.forEach((v, j) => (outs[k]![o * outLen * inner + j * inner + i] = v));
      });
    }
  }
  return outs;
}

const complexCase = (shape: number[], axis: number, inverse: boolean, norm: Norm, extra: Partial<OpCase> = {}): OpCase => ({
  op: 'fft',
  label: `${inverse ? 'ifft' : 'fft'} ${JSON.stringify(shape)} axis ${axis}, norm ${norm}`,
  inputs: [{ shape }, { shape }],
  fn: (re, im) => (inverse ? nb.ifft : nb.fft)(re!, im!, { axis, norm }),
  ref: (re, im) => alongAxis([re!, im!], shape, axis < 0 ? axis + shape.length : axis, shape.at(axis)!, ([r, i]) => naiveDft(r!, i!, inverse, norm)),
  ...extra,
});

const rfftCase = (shape: number[], axis: number, norm: Norm, extra: Partial<OpCase> = {}): OpCase => {
  const ax = axis < 0 ? axis + shape.length : axis;
  const n = shape[ax]!;
  const h = Math.floor(n / 2) + 1;
  return {
    op: 'rfft',
    label: `${JSON.stringify(shape)} axis ${axis} (n ${n % 2 ? 'odd' : 'even'}), norm ${norm}`,
    inputs: [{ shape }],
    fn: (x) => nb.rfft(x!, { axis, norm }),
    ref: (x) => alongAxis([x!], shape, ax, h, ([r]) => naiveDft(r!, new Array<number>(n).fill(0), false, norm).map((v) => v.slice(0, h))),
    ...extra,
  };
};

/** irfft by Hermitian extension and the naive inverse DFT; Im of DC (and Nyquist for even n) dropped. */
const irfftCase = (shape: number[], n: number, axis: number, norm: Norm, extra: Partial<OpCase> = {}): OpCase => {
  const ax = axis < 0 ? axis + shape.length : axis;
  return {
    op: 'irfft',
    label: `${JSON.stringify(shape)} → n = ${n} axis ${axis}, norm ${norm}`,
    inputs: [{ shape }, { shape }],
    fn: (re, im) => nb.irfft(re!, im!, { n, axis, norm }),
    ref: (re, im) =>
      alongAxis([re!, im!], shape, ax, n, ([r, i]) => {
        const fr = new Array<number>(n).fill(0);
        const fi = new Array<number>(n).fill(0);
        for (let k = 0; k < r!.length; k++) {
          const keepIm = k !== 0 && !(n % 2 === 0 && k === n / 2);
          fr[k] = r![k]!;
          fi[k] = keepIm ? i![k]! : 0;
          if (k > 0) {
            fr[n - k] = fr[k]!;
            fi[n - k] = -fi[k]!;
          }
        }
        return [naiveDft(fr, fi, true, norm)[0]];
      }),
    ...extra,
  };
};

export const fftCases: OpCase[] = [
  complexCase([8], -1, false, 'backward', { secondOrder: true }),
  complexCase([2, 6], -1, false, 'ortho'),
  complexCase([5, 3], 0, false, 'forward'),
  complexCase([3, 7], -1, true, 'backward', { secondOrder: true }),
  complexCase([4, 2, 3], 1, true, 'ortho'),
  {
    op: 'fft',
    label: 'real input (im omitted)',
    inputs: [{ shape: [2, 5] }],
    fn: (re) => nb.fft(re!),
    ref: (re) => alongAxis([re!], [2, 5], 1, 5, ([r]) => naiveDft(r!, new Array<number>(5).fill(0), false)),
  },
  rfftCase([8], -1, 'backward', { secondOrder: true }),
  rfftCase([3, 7], -1, 'backward'),
  rfftCase([6, 2], 0, 'ortho'),
  rfftCase([2, 5, 3], 1, 'forward'),
  irfftCase([5], 8, -1, 'backward', { secondOrder: true }),
  irfftCase([2, 4], 7, -1, 'backward'),
  irfftCase([4, 3], 6, 0, 'ortho'),
  irfftCase([2, 4, 2], 7, 1, 'forward'),
];
