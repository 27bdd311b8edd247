/**
 * S4D: the diagonal structured state space model (A. Gu, A. Gupta, K. Goel,
 * C. Ré, "On the Parameterization and Initialization of Diagonal State Space
 * Models", arXiv 2206.11893; S4: A. Gu, K. Goel, C. Ré, arXiv 2111.00396).
 * Per channel h, with N/2 complex modes n standing for N conjugate pairs:
 *
 *   x'(t) = A x(t) + B u(t),  y(t) = 2·Re(C x(t)) + D u(t),   A = diag(−exp(A_re_log) + i·A_im)
 *   ZOH:   Ā = exp(ΔA),  B̄ = (Ā − 1) A⁻¹ B                     (S4D eq. 5)
 *   kernel K_l = 2·Re Σₙ Cₙ B̄ₙ Āₙˡ  (a Vandermonde product, S4D eq. 6)
 *   conv   y = K ∗ u + D u  by FFT padded to 2L;  recurrent: xₜ = Ā xₜ₋₁ + B̄ uₜ
 *
 * Only half of each conjugate pair is stored: the other contributes the
 * conjugate term, hence 2·Re (the test checks it against the explicit pair).
 * Complex parameters are (…, 2) real tensors [re, im] like torch.view_as_real.
 * Init: S4D-Lin A_n = −½ + iπn, S4D-Inv A_n = −½ + i(N/π)(N/(2n+1) − 1),
 * both with B = 1; S4D-LegS the diagonal part of S4's DPLR HiPPO-LegS
 * (A = Λ, B = W*B_LegS from nplr.ts: S4 with its low-rank term dropped);
 * C ~ CN(0, 1), log Δ ~ U[log Δ_min, log Δ_max], D ~ N(0, 1).
 *
 * s4.ts is the full S4 layer (DPLR, Cauchy kernel, bilinear).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, neg, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { slice } from '../../ops/slice.js';
import { arange, full, tensor, zeros } from '../../ops/creation.js';
import { splitKey, uniform, normal } from '../../ops/random.js';
import { transpose, unsqueeze } from '../../ops/views.js';
import { Module, param } from '../../nn/module.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { cdiv, cexp, cmul, type Complex } from './complex.js';
import { complexAssociativeScan } from './parallelScan.js';
import { fftConv } from './fftConv.js';
import { directConv } from './fftConv.ref.js';
import { TensorState } from './state.js';
import { nplrLegS } from './nplr.js';

export interface S4DOptions {
  key: Key;
  /** state size N (N/2 complex modes; default 64) */
  dState?: number;
  /** 'lin' (default), 'inv' or 'legs' */
  init?: S4DInit;
  dtMin?: number;
  dtMax?: number;
  dtype?: DType;
  /** how forward convolves: by FFT (default), directly (O(L²)), or by the recurrence */
  mode?: 'fft' | 'direct' | 'recurrent';
}

export type S4DState = TensorState<'re' | 'im'>;
export type S4DInit = 'lin' | 'inv' | 'legs';

/** The imaginary parts of S4D-Lin, S4D-Inv or S4D-LegS for n = 0 … N/2 − 1. */
export function s4dImag(init: S4DInit, N: number): number[] {
  if (init === 'legs') return Array.from(nplrLegS(N).lambdaIm);
  return Array.from({ length: N / 2 }, (_, n) => (init === 'lin' ? Math.PI * n : (N / Math.PI) * (N / (2 * n + 1) - 1)));
}

const re = (x: Tensor): Tensor => slice(x, [...new Array(x.ndim - 1).fill(null), 0]);
const im = (x: Tensor): Tensor => slice(x, [...new Array(x.ndim - 1).fill(null), 1]);

export class S4D extends Module {
  readonly config: Readonly<{ channels: number; dState: number; init: S4DInit; mode: 'fft' | 'direct' | 'recurrent' }>;
  /** (H) */
  log_dt: Tensor;
  /** (H, N/2): Re A = −exp(log_A_real) < 0 */
  log_A_real: Tensor;
  /** (H, N/2) */
  A_imag: Tensor;
  /** (H, N/2, 2) */
  B: Tensor;
  /** (H, N/2, 2) */
  C: Tensor;
  /** (H) */
  D: Tensor;

  constructor(channels: number, opts: S4DOptions) {
    super();
    const H = checkPositiveInt('S4D', 'channels', channels);
    const N = checkPositiveInt('S4D', 'dState', opts.dState ?? 64);
    if (N % 2 !== 0) throw new Error(`S4D: dState must be even (N/2 conjugate pairs), got ${N}`);
    const init = opts.init ?? 'lin';
    if (init !== 'lin' && init !== 'inv' && init !== 'legs') throw new Error(`S4D: init must be 'lin', 'inv' or 'legs', got ${String(init)}`);
    this.config = { channels: H, dState: N, init, mode: opts.mode ?? 'fft' };
    const dtype = opts.dtype;
    const [k1, k2, k3] = splitKey(opts.key, 3);
    const [lo, hi] = [Math.log(opts.dtMin ?? 1e-3), Math.log(opts.dtMax ?? 1e-1)];
    this.log_dt = param(uniform(k1!, [H], { lo, hi, dtype }));
    this.log_A_real = param(full([H, N / 2], Math.log(0.5), { dtype }));
    const imag = s4dImag(init, N);
    this.A_imag = param(tensor(Array.from({ length: H * (N / 2) }, (_, i) => imag[i % (N / 2)]!), [H, N / 2], { dtype }));
    const legs = init === 'legs' ? nplrLegS(N) : null;
    const b = (i: number): number => (legs ? (i % 2 === 0 ? legs.Bre : legs.Bim)[Math.floor(i / 2) % (N / 2)]! : i % 2 === 0 ? 1 : 0);
    this.B = param(tensor(Array.from({ length: H * N }, (_, i) => b(i)), [H, N / 2, 2], { dtype }));
    this.C = param(normal(k2!, [H, N / 2, 2], { std: Math.SQRT1_2, dtype }));
    this.D = param(normal(k3!, [H], { dtype }));
  }

  /** ΔA (H, N/2) as (re, im). */
  private dtA(): [Tensor, Tensor] {
    const dt = unsqueeze(exp(this.log_dt), -1);
    return [mul(neg(exp(this.log_A_real)), dt), mul(this.A_imag, dt)];
  }

  /** ZOH: Ā = exp(ΔA) and B̄ = (Ā − 1)/A · B, each (H, N/2) as (re, im). */
  discretize(): { dA: [Tensor, Tensor]; dB: [Tensor, Tensor] } {
    return tidy(() => {
      const dtA = this.dtA();
      const dA = cexp(dtA);
      const A: Complex = [neg(exp(this.log_A_real)), this.A_imag];
      const dB = cmul(cdiv([sub(dA[0], 1), dA[1]], A), [re(this.B), im(this.B)]);
      return { dA, dB };
    });
  }

  /** The convolution kernel K (H, L): K_l = 2·Re Σₙ Cₙ B̄ₙ exp(l·ΔAₙ), by a Vandermonde product. */
  kernel(L: number): Tensor {
    checkPositiveInt('S4D.kernel', 'L', L);
    return tidy(() => {
      const [ar, ai] = this.dtA();
      const { dB } = this.discretize();
      const [cr, ci] = cmul([re(this.C), im(this.C)], dB); // (H, N/2)
      const l = arange(0, L, 1, { dtype: ar.dtype }); // (L)
      const [vr, vi] = cexp([mul(unsqueeze(ar, -1), l), mul(unsqueeze(ai, -1), l)]); // (H, N/2, L)
      return mul(sum(sub(mul(unsqueeze(cr, -1), vr), mul(unsqueeze(ci, -1), vi)), 1), 2);
    });
  }

  /** u (b, L, H) → y (b, L, H). */
  forward(u: Tensor): Tensor {
    checkFloatTensor('S4D', 'u', u);
    const H = this.config.channels;
    if (u.ndim !== 3 || u.shape[2] !== H) throw new Error(`S4D: u must be (b, L, ${H}), got ${shapeStr(u.shape)}`);
    if (this.config.mode === 'recurrent') return this.forwardRecurrent(u);
    return tidy(() => {
      const ut = transpose(u, 1, 2); // (b, H, L)
      const K = this.kernel(u.shape[1]!); // (H, L)
      const y = this.config.mode === 'fft' ? fftConv(ut, K) : directConv(ut, K);
      return transpose(add(y, mul(ut, unsqueeze(this.D, -1))), 1, 2);
    });
  }

  /** The recurrent mode over a whole sequence (a complex associative scan): equals `forward`. */
  forwardRecurrent(u: Tensor): Tensor {
    return tidy(() => {
      const { dA, dB } = this.discretize(); // (H, N/2)
      const [b, L] = u.shape as [number, number];
      const shape = [b, L, ...dA[0].shape];
      const uu = unsqueeze(u, -1); // (b, L, H, 1)
      const grow = (x: Tensor): Tensor => add(x, zeros(shape, { dtype: x.dtype }));
      const [xr, xi] = complexAssociativeScan(grow(dA[0]), grow(dA[1]), mul(uu, dB[0]), mul(uu, dB[1]), 1); // (b, L, H, N/2)
      return add(this.readout(xr, xi), mul(u, this.D));
    });
  }

  /** 2·Re(C x) summed over modes: x (…, H, N/2) → (…, H). */
  private readout(xr: Tensor, xi: Tensor): Tensor {
    return mul(sum(sub(mul(re(this.C), xr), mul(im(this.C), xi)), -1), 2);
  }

  initState(batch: number): S4DState {
    const shape = [batch, this.config.channels, this.config.dState / 2];
    return new TensorState({ re: zeros(shape, { dtype: this.D.dtype }), im: zeros(shape, { dtype: this.D.dtype }) });
  }

  /** One position u (b, H) → [y (b, H), next state]: xₜ = Ā xₜ₋₁ + B̄ uₜ. */
  step(u: Tensor, state: S4DState): [Tensor, S4DState] {
    const [y, xr, xi] = tidy(() => {
      const { dA, dB } = this.discretize();
      const uu = unsqueeze(u, -1);
      const [pr, pi] = cmul(dA, [state.get('re'), state.get('im')]);
      const xr = add(pr, mul(uu, dB[0]));
      const xi = add(pi, mul(uu, dB[1]));
      return [add(this.readout(xr, xi), mul(u, this.D)), xr, xi];
    });
    const next = new TensorState({ re: xr, im: xi }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}
