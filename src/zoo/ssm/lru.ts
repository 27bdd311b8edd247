/**
 * The Linear Recurrent Unit (A. Orvieto et al., "Resurrecting Recurrent
 * Neural Networks for Long Sequences", arXiv 2303.06349, §3 and Appendix A):
 * a diagonal complex linear recurrence with an exponential parameterisation
 * and a normalisation of its input,
 *
 *   λ = exp(−exp(ν_log) + i·exp(θ_log))          |λ| = exp(−exp(ν_log)) < 1 for every ν_log
 *   x_k = λ ⊙ x_{k−1} + γ ⊙ (B u_k),  γ = exp(γ_log), init γ = √(1 − |λ|²)
 *   y_k = Re(C x_k) + D ⊙ u_k
 *
 * Complex numbers are (re, im) pairs of real tensors (complex.ts). The whole
 * sequence runs as a complex associative scan (parallelScan.ts), the paper's
 * parallel form; `lruLoop` is the step-by-step twin. Init: |λ| uniform on the
 * ring [r_min, r_max] (by area), phase in [0, max_phase]; B ~ CN(0, 1/H),
 * C ~ CN(0, 1/N) (each part N(0, ½·)), D ~ N(0, 1).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, neg, sub } from '../../ops/elementwise.js';
import { matmulT } from '../../ops/matmul.js';
import { stack } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { tensor, zeros } from '../../ops/creation.js';
import { normal, splitKey, uniform } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { cexp, cmul } from './complex.js';
import { complexAssociativeScan } from './parallelScan.js';
import { TensorState } from './state.js';

export interface LruOptions {
  key: Key;
  /** state size N (default: the model width) */
  dState?: number;
  rMin?: number;
  rMax?: number;
  maxPhase?: number;
  dtype?: DType;
}

export type LruState = TensorState<'re' | 'im'>;

export class LRU extends Module implements Mixer<LruState> {
  readonly config: Readonly<{ dModel: number; dState: number }>;
  readonly causal = true;
  nu_log: Tensor;
  theta_log: Tensor;
  gamma_log: Tensor;
  /** (N, H) */
  B_re: Tensor;
  B_im: Tensor;
  /** (H, N) */
  C_re: Tensor;
  C_im: Tensor;
  /** (H) */
  D: Tensor;

  constructor(dModel: number, opts: LruOptions) {
    super();
    const H = checkPositiveInt('LRU', 'dModel', dModel);
    const N = checkPositiveInt('LRU', 'dState', opts.dState ?? dModel);
    const [rMin, rMax, maxPhase] = [opts.rMin ?? 0.4, opts.rMax ?? 0.99, opts.maxPhase ?? 2 * Math.PI];
    if (!(rMin >= 0 && rMin < rMax && rMax <= 1)) throw new Error(`LRU: need 0 ≤ rMin < rMax ≤ 1, got rMin ${rMin}, rMax ${rMax}`);
    this.config = { dModel: H, dState: N };
    const dtype = opts.dtype;
    const k = splitKey(opts.key, 7);
    const u1 = tidy(() => uniform(k[0]!, [N], { dtype: 'f64' }).toF64());
    const u2 = tidy(() => uniform(k[1]!, [N], { dtype: 'f64' }).toF64());
    const nu = Array.from(u1, (u) => -0.5 * Math.log(u * (rMax * rMax - rMin * rMin) + rMin * rMin));
    const theta = Array.from(u2, (u) => Math.max(1e-12, maxPhase * u));
    this.nu_log = param(tensor(nu.map(Math.log), [N], { dtype }));
    this.theta_log = param(tensor(theta.map(Math.log), [N], { dtype }));
    this.gamma_log = param(tensor(nu.map((v) => 0.5 * Math.log(1 - Math.exp(-2 * v))), [N], { dtype }));
    this.B_re = param(normal(k[2]!, [N, H], { std: Math.sqrt(1 / (2 * H)), dtype }));
    this.B_im = param(normal(k[3]!, [N, H], { std: Math.sqrt(1 / (2 * H)), dtype }));
    this.C_re = param(normal(k[4]!, [H, N], { std: Math.sqrt(1 / (2 * N)), dtype }));
    this.C_im = param(normal(k[5]!, [H, N], { std: Math.sqrt(1 / (2 * N)), dtype }));
    this.D = param(normal(k[6]!, [H], { dtype }));
  }

  get dModel(): number {
    return this.config.dModel;
  }

  /** λ (N) as (re, im). */
  lambda(): [Tensor, Tensor] {
    return tidy(() => cexp([neg(exp(this.nu_log)), exp(this.theta_log)]));
  }

  /** γ ⊙ B u: u (…, H) → (…, N) as (re, im). */
  private input(u: Tensor): [Tensor, Tensor] {
    const g = exp(this.gamma_log);
    return [mul(matmulT(u, this.B_re, false, true), g), mul(matmulT(u, this.B_im, false, true), g)];
  }

  /** Re(C x) + D u: x (…, N) as (re, im), u (…, H) → (…, H). */
  private output(xr: Tensor, xi: Tensor, u: Tensor): Tensor {
    return add(sub(matmulT(xr, this.C_re, false, true), matmulT(xi, this.C_im, false, true)), mul(u, this.D));
  }

  /** (b, L, H) → (b, L, H) by the complex associative scan. */
  forward(u: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkFloatTensor('LRU', 'u', u);
    if (u.ndim !== 3 || u.shape[2] !== this.dModel) throw new Error(`LRU: u must be (b, L, ${this.dModel}), got ${shapeStr(u.shape)}`);
    return tidy(() => {
      const [lr, li] = this.lambda();
      const [br, bi] = this.input(u); // (b, L, N)
      const full = (x: Tensor): Tensor => add(zeros(br.shape, { dtype: br.dtype }), x);
      const [xr, xi] = complexAssociativeScan(full(lr), full(li), br, bi, 1);
      return this.output(xr, xi, u);
    });
  }

  initState(batch: number): LruState {
    const shape = [batch, this.config.dState];
    return new TensorState({ re: zeros(shape, { dtype: this.D.dtype }), im: zeros(shape, { dtype: this.D.dtype }) });
  }

  step(u: Tensor, state: LruState): [Tensor, LruState] {
    const [y, xr, xi] = tidy(() => {
      const [pr, pi] = cmul(this.lambda(), [state.get('re'), state.get('im')]);
      const [br, bi] = this.input(u);
      const [xr, xi] = [add(pr, br), add(pi, bi)];
      return [this.output(xr, xi, u), xr, xi];
    });
    const next = new TensorState({ re: xr, im: xi }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}

/** The LRU one step at a time (the twin of the scan in `forward`). */
export function lruLoop(m: LRU, u: Tensor): Tensor {
  return tidy(() => {
    let st = m.initState(u.shape[0]!);
    const ys: Tensor[] = [];
    for (let t = 0; t < u.shape[1]!; t++) {
      const [y, next] = m.step(slice(u, [null, t]), st);
      ys.push(y);
      st = next;
    }
    st.dispose();
    return stack(ys, 1);
  });
}

registerMixer('lru', (dModel, spec, key) => new LRU(dModel, { ...(spec as Partial<LruOptions>), key }));
