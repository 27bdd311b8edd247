/**
 * S4: the structured state space layer with a diagonal plus low-rank (DPLR)
 * state matrix and its Cauchy kernel (A. Gu, K. Goel, C. Ré, "Efficiently
 * Modeling Long Sequences with Structured State Spaces", arXiv 2111.00396,
 * Algorithm 1). Per channel, in the eigenbasis of HiPPO-LegS's normal part
 * (nplr.ts), with N/2 stored modes standing for N conjugate pairs:
 *
 *   A = Λ − P̃ P̃*,  bilinear discretisation with step Δ (kernel length L = lMax)
 *   K̂(z) = Σₗ Kₗ zˡ at z_k = e^(−2πik/L)   (the DFT of the kernel)
 *        = 2/(1+z) · C̃ᵀ (g(z) − A)⁻¹ B̃,   g(z) = (2/Δ)(1 − z)/(1 + z)
 *
 * and the rank-one Woodbury identity turns the inverse into four Cauchy sums
 * k_ab = Σₙ a_n b_n / (g − λₙ) (each with its conjugate term). Multiplied
 * through by 2/(1+z), a term is 2·a_n b_n / ((2/Δ)(1 − z) − (1 + z)λₙ),
 * finite at z = −1 too, and
 *
 *   K̂ = k̃₀₀ − k̃₀₁ k̃₁₀ h / (1 + k̃₁₁ h),   h = (1 + z)/2
 *
 * with (a, b) ∈ {(C̃, B̃), (C̃, P̃), (P̃*, B̃), (P̃*, P̃)}; K is the inverse real
 * FFT of K̂ at the ⌊L/2⌋ + 1 bins. C̃ = (I − Ā^L)ᵀ C is learned in place of C,
 * as the paper does (the generating function at roots of unity is truncated
 * to L terms); the step form recovers C (s4Step.ts). Sequences up to lMax
 * use the first L taps of the lMax kernel, as the reference does.
 *
 * Parameters: log_dt (H), log_A_real, A_imag (H, N/2), P, B, C (H, N/2, 2:
 * re, im), D (H); init from HiPPO-LegS (Λ, P̃, B̃ of nplrLegS), C ~ CN(0, 1),
 * log Δ ~ U[log Δ_min, log Δ_max].
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { keep, tidy } from '../../core/memory.js';
import { add, div, exp, mul, neg, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { slice } from '../../ops/slice.js';
import { irfft } from '../../ops/fft.js';
import { tensor, zeros } from '../../ops/creation.js';
import { splitKey, uniform, normal } from '../../ops/random.js';
import { transpose, unsqueeze } from '../../ops/views.js';
import { Module, param } from '../../nn/module.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { cmul, type Complex } from './complex.js';
import { fftConv } from './fftConv.js';
import { directConv } from './fftConv.ref.js';
import { nplrLegS } from './nplr.js';
import { s4StepMatrices } from './s4Step.js';
import { TensorState } from './state.js';

export interface S4Options {
  key: Key;
  /** state size N (N/2 complex modes; default 64) */
  dState?: number;
  /** the kernel's length: the longest sequence (default 1024) */
  lMax?: number;
  dtMin?: number;
  dtMax?: number;
  dtype?: DType;
  /** convolve by FFT (default) or directly (O(L²)) */
  mode?: 'fft' | 'direct';
}

export type S4State = TensorState<'re' | 'im'>;

const re = (x: Tensor): Tensor => slice(x, [...new Array(x.ndim - 1).fill(null), 0]);
const im = (x: Tensor): Tensor => slice(x, [...new Array(x.ndim - 1).fill(null), 1]);
const conj = ([r, i]: Complex): [Tensor, Tensor] => [r, neg(i)];

interface StepCache {
  dAr: Tensor;
  dAi: Tensor;
  dBr: Tensor;
  dBi: Tensor;
  Cr: Tensor;
  Ci: Tensor;
}

export class S4 extends Module {
  readonly config: Readonly<{ channels: number; dState: number; lMax: number; mode: 'fft' | 'direct' }>;
  log_dt: Tensor;
  log_A_real: Tensor;
  A_imag: Tensor;
  P: Tensor;
  B: Tensor;
  /** C̃ = (I − Ā^lMax)ᵀ C (see the module comment) */
  C: Tensor;
  D: Tensor;
  private stepCache: StepCache | null = null;

  constructor(channels: number, opts: S4Options) {
    super();
    const H = checkPositiveInt('S4', 'channels', channels);
    const N = checkPositiveInt('S4', 'dState', opts.dState ?? 64);
    if (N % 2 !== 0) throw new Error(`S4: dState must be even (N/2 conjugate pairs), got ${N}`);
    const lMax = checkPositiveInt('S4', 'lMax', opts.lMax ?? 1024);
    const mode = opts.mode ?? 'fft';
    if (mode !== 'fft' && mode !== 'direct') throw new Error(`S4: mode must be 'fft' or 'direct', got ${String(mode)}`);
    this.config = { channels: H, dState: N, lMax, mode };
    const dtype = opts.dtype;
    const [k1, k2, k3] = splitKey(opts.key, 3);
    const [lo, hi] = [Math.log(opts.dtMin ?? 1e-3), Math.log(opts.dtMax ?? 1e-1)];
    const M = N / 2;
    const d = nplrLegS(N);
    const perChannel = (f: (j: number) => number): number[] => Array.from({ length: H * M }, (_, i) => f(i % M));
    const pair = (r: Float64Array, q: Float64Array): number[] => Array.from({ length: H * M * 2 }, (_, i) => (i % 2 === 0 ? r : q)[Math.floor(i / 2) % M]!);
    this.log_dt = param(uniform(k1!, [H], { lo, hi, dtype }));
    this.log_A_real = param(tensor(perChannel((j) => Math.log(-d.lambdaRe[j]!)), [H, M], { dtype }));
    this.A_imag = param(tensor(perChannel((j) => d.lambdaIm[j]!), [H, M], { dtype }));
    this.P = param(tensor(pair(d.Pre, d.Pim), [H, M, 2], { dtype }));
    this.B = param(tensor(pair(d.Bre, d.Bim), [H, M, 2], { dtype }));
    this.C = param(normal(k2!, [H, M, 2], { std: Math.SQRT1_2, dtype }));
    this.D = param(normal(k3!, [H], { dtype }));
  }

  /** The kernel K (H, L) for L ≤ lMax: the first L taps of the lMax-long kernel (Cauchy sums, Woodbury, inverse FFT). */
  kernel(L: number): Tensor {
    checkPositiveInt('S4.kernel', 'L', L);
    const Lk = this.config.lMax;
    if (L > Lk) throw new Error(`S4: the sequence has ${L} positions but lMax is ${Lk}; build the layer with a larger lMax`);
    return tidy(() => {
      const F = Math.floor(Lk / 2) + 1;
      const dtype = this.D.dtype;
      const ang = Array.from({ length: F }, (_, k) => (2 * Math.PI * k) / Lk);
      // z = e^(−iθ): 1 − z and 1 + z
      const om: Complex = [tensor(ang.map((a) => 1 - Math.cos(a)), [F], { dtype }), tensor(ang.map((a) => Math.sin(a)), [F], { dtype })];
      const op: Complex = [tensor(ang.map((a) => 1 + Math.cos(a)), [F], { dtype }), tensor(ang.map((a) => -Math.sin(a)), [F], { dtype })];
      const twoOverDt = unsqueeze(div(2, exp(this.log_dt)), [-1, -2]); // (H, 1, 1)
      const lam: Complex = [unsqueeze(neg(exp(this.log_A_real)), -1), unsqueeze(this.A_imag, -1)]; // (H, M, 1)
      // reciprocals of (2/Δ)(1 − z) − (1 + z)λ for λ and for λ̄: (H, M, F)
      const recip = (l: Complex): [Tensor, Tensor] => {
        const [pr, pi] = cmul(op, l);
        const dr = sub(mul(twoOverDt, om[0]), pr);
        const di = sub(mul(twoOverDt, om[1]), pi);
        const m2 = add(mul(dr, dr), mul(di, di));
        return [div(dr, m2), neg(div(di, m2))];
      };
      const r1 = recip(lam);
      const r2 = recip(conj(lam));
      // 2·Σₙ (v/dₙ + v̄/d̄'ₙ) for v (H, M) → (H, F)
      const cauchy = (v: Complex): [Tensor, Tensor] => {
        const vv: Complex = [unsqueeze(v[0], -1), unsqueeze(v[1], -1)];
        const [ar, ai] = cmul(vv, r1);
        const [br, bi] = cmul(conj(vv), r2);
        return [mul(sum(add(ar, br), 1), 2), mul(sum(add(ai, bi), 1), 2)];
      };
      const Bc: Complex = [re(this.B), im(this.B)];
      const Pc: Complex = [re(this.P), im(this.P)];
      const Cc: Complex = [re(this.C), im(this.C)];
      const k00 = cauchy(cmul(Cc, Bc));
      const k01 = cauchy(cmul(Cc, Pc));
      const k10 = cauchy(cmul(conj(Pc), Bc));
      const k11 = cauchy(cmul(conj(Pc), Pc));
      const h: Complex = [mul(op[0], 0.5), mul(op[1], 0.5)];
      const num = cmul(cmul(k01, k10), h);
      const [dr, di] = cmul(k11, h);
      const den: Complex = [add(dr, 1), di];
      const dm = add(mul(den[0], den[0]), mul(den[1], den[1]));
      const [qr, qi] = cmul(num, conj(den));
      const Kr = sub(k00[0], div(qr, dm));
      const Ki = sub(k00[1], div(qi, dm));
      const K = irfft(Kr, Ki, { n: Lk }); // (H, lMax)
      return L === Lk ? K : slice(K, [null, { stop: L }]);
    });
  }

  /** u (b, L, H) → y (b, L, H): y = K ∗ u + D u. */
  forward(u: Tensor): Tensor {
    checkFloatTensor('S4', 'u', u);
    const H = this.config.channels;
    if (u.ndim !== 3 || u.shape[2] !== H) throw new Error(`S4: u must be (b, L, ${H}), got ${shapeStr(u.shape)}`);
    return tidy(() => {
      const ut = transpose(u, 1, 2);
      const K = this.kernel(u.shape[1]!);
      const y = this.config.mode === 'fft' ? fftConv(ut, K) : directConv(ut, K);
      return transpose(add(y, mul(ut, unsqueeze(this.D, -1))), 1, 2);
    });
  }

  /**
   * Ā, B̄ and C of every channel for decoding (float64 setup, s4Step.ts),
   * recomputed from the current parameters; `initState` calls it.
   */
  setupStep(): void {
    this.disposeStep();
    const [H, M] = [this.config.channels, this.config.dState / 2];
    const n = 2 * M;
    const [ldt, lar, aim, P, B, C] = [this.log_dt, this.log_A_real, this.A_imag, this.P, this.B, this.C].map((t) => t.toF64());
    const out = { dAr: new Float64Array(H * n * n), dAi: new Float64Array(H * n * n), dBr: new Float64Array(H * n), dBi: new Float64Array(H * n), Cr: new Float64Array(H * n), Ci: new Float64Array(H * n) };
    for (let c = 0; c < H; c++) {
      const half = (src: Float64Array, part: number): Float64Array => Float64Array.from({ length: M }, (_, j) => src[(c * M + j) * 2 + part]!);
      const m = s4StepMatrices(
        {
          lambda: [Float64Array.from({ length: M }, (_, j) => -Math.exp(lar![c * M + j]!)), aim!.slice(c * M, (c + 1) * M)],
          P: [half(P!, 0), half(P!, 1)],
          B: [half(B!, 0), half(B!, 1)],
          C: [half(C!, 0), half(C!, 1)],
          dt: Math.exp(ldt![c]!),
        },
        this.config.lMax,
      );
      out.dAr.set(m.dA.re, c * n * n);
      out.dAi.set(m.dA.im, c * n * n);
      out.dBr.set(m.dB.re, c * n);
      out.dBi.set(m.dB.im, c * n);
      out.Cr.set(m.C.re, c * n);
      out.Ci.set(m.C.im, c * n);
    }
    const dtype = this.D.dtype;
    const t = (x: Float64Array, shape: number[]): Tensor => keep(tensor(x, shape, { dtype }));
    this.stepCache = {
      dAr: t(out.dAr, [H, n, n]), dAi: t(out.dAi, [H, n, n]),
      dBr: t(out.dBr, [H, n]), dBi: t(out.dBi, [H, n]),
      Cr: t(out.Cr, [H, n]), Ci: t(out.Ci, [H, n]),
    };
  }

  /** Free the decoding matrices (setupStep makes them again). */
  disposeStep(): void {
    if (this.stepCache) for (const x of Object.values(this.stepCache)) x.dispose();
    this.stepCache = null;
  }

  /** The state (b, H, N) complex in the full eigenbasis, zero; sets the decoding matrices up from the current parameters. */
  initState(batch: number): S4State {
    this.setupStep();
    const shape = [batch, this.config.channels, this.config.dState];
    return new TensorState({ re: zeros(shape, { dtype: this.D.dtype }), im: zeros(shape, { dtype: this.D.dtype }) });
  }

  /** One position u (b, H) → [y (b, H), next state]: xₜ = Ā xₜ₋₁ + B̄ uₜ, y = Re(Cᵀxₜ) + D u. */
  step(u: Tensor, state: S4State): [Tensor, S4State] {
    const s = this.stepCache;
    if (!s) throw new Error('S4.step: no decoding matrices; start from initState()');
    if (state.position >= this.config.lMax) throw new Error(`S4.step: position ${state.position} is past lMax = ${this.config.lMax} (C is defined for kernels of length lMax)`);
    const [y, xr, xi] = tidy(() => {
      const [pr, pi] = [unsqueeze(state.get('re'), 2), unsqueeze(state.get('im'), 2)]; // (b, H, 1, N)
      const uu = unsqueeze(u, -1); // (b, H, 1)
      const xr = add(sum(sub(mul(s.dAr, pr), mul(s.dAi, pi)), -1), mul(uu, s.dBr));
      const xi = add(sum(add(mul(s.dAr, pi), mul(s.dAi, pr)), -1), mul(uu, s.dBi));
      const y = add(sum(sub(mul(s.Cr, xr), mul(s.Ci, xi)), -1), mul(u, this.D));
      return [y, xr, xi];
    });
    const next = new TensorState({ re: xr, im: xi }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}
