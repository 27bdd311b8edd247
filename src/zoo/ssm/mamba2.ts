/**
 * The Mamba-2 block (T. Dao, A. Gu, arXiv 2405.21060, §7.1 and Figure 6):
 * parallel projections of the input to z, x, B, C and Δ in one in_proj; a
 * causal depthwise convolution and SiLU over (x, B, C); the SSD layer
 * (ssd.ts) with a scalar decay A per head; a skip D per head; the gated
 * RMSNorm y ← RMSNorm(y ⊙ silu(z)); and out_proj.
 *
 *   [z, xBC, Δ] = in_proj(u)          z, x (b, L, E);  B, C (b, L, G·N);  Δ (b, L, H), E = H·P
 *   xBC = silu(conv1d(xBC))
 *   y = SSD(x, softplus(Δ + Δ_bias), A = −exp(A_log), B, C) + D ⊙ x
 *   out = out_proj(RMSNorm(y ⊙ silu(z)))
 *
 * Init as the reference (mamba2_simple.py): A ~ U[1, 16] stored as A_log,
 * Δ_bias = softplus⁻¹(Δ) with Δ log-uniform in [Δ_min, Δ_max], D = 1. B and C
 * have G groups (default 1) shared by H/G heads each.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, log, mul, neg, silu, softplus } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { concat } from '../../ops/join.js';
import { slice, split } from '../../ops/slice.js';
import { full, zeros } from '../../ops/creation.js';
import { splitKey, uniform } from '../../ops/random.js';
import { broadcastTo, reshape, transpose, unsqueeze } from '../../ops/views.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { Conv1d } from '../../nn/conv.js';
import { RMSNorm } from '../../nn/norm.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { dtBiasInit } from './mamba.js';
import { ssdChunked } from './ssd.js';
import { TensorState } from './state.js';

export interface Mamba2Options {
  key: Key;
  /** state size N (default 64) */
  dState?: number;
  /** head dimension P (default 64; must divide expand·d) */
  headDim?: number;
  /** groups G of B and C (default 1) */
  nGroups?: number;
  dConv?: number;
  expand?: number;
  /** SSD chunk length (default 64) */
  chunk?: number;
  dtMin?: number;
  dtMax?: number;
  dtype?: DType;
}

export type Mamba2State = TensorState<'conv' | 'ssm'>;

export class Mamba2 extends Module implements Mixer<Mamba2State> {
  readonly config: Readonly<{ dModel: number; dInner: number; dState: number; headDim: number; nHeads: number; nGroups: number; dConv: number; chunk: number }>;
  readonly causal = true;
  in_proj: Linear;
  conv1d: Conv1d;
  dt_bias: Tensor;
  A_log: Tensor;
  D: Tensor;
  norm: RMSNorm;
  out_proj: Linear;

  constructor(dModel: number, opts: Mamba2Options) {
    super();
    checkPositiveInt('Mamba2', 'dModel', dModel);
    const E = checkPositiveInt('Mamba2', 'dInner', Math.round((opts.expand ?? 2) * dModel));
    const P = checkPositiveInt('Mamba2', 'headDim', opts.headDim ?? 64);
    if (E % P !== 0) throw new Error(`Mamba2: headDim ${P} must divide the inner width ${E} (expand·dModel)`);
    const H = E / P;
    const G = checkPositiveInt('Mamba2', 'nGroups', opts.nGroups ?? 1);
    if (H % G !== 0) throw new Error(`Mamba2: nGroups ${G} must divide the number of heads ${H}`);
    const N = checkPositiveInt('Mamba2', 'dState', opts.dState ?? 64);
    const K = checkPositiveInt('Mamba2', 'dConv', opts.dConv ?? 4);
    this.config = { dModel, dInner: E, dState: N, headDim: P, nHeads: H, nGroups: G, dConv: K, chunk: checkPositiveInt('Mamba2', 'chunk', opts.chunk ?? 64) };
    const dtype = opts.dtype;
    const k = splitKey(opts.key, 5);
    const convDim = E + 2 * G * N;
    this.in_proj = new Linear(dModel, 2 * E + 2 * G * N + H, { key: k[0]!, bias: false, dtype });
    this.conv1d = new Conv1d(convDim, convDim, K, { key: k[1]!, groups: convDim, padding: 'causal', dtype });
    this.dt_bias = param(dtBiasInit(k[2]!, H, opts.dtMin, opts.dtMax, 1e-4, dtype));
    this.A_log = param(tidy(() => log(uniform(k[3]!, [H], { lo: 1, hi: 16, dtype }))));
    this.D = param(full([H], 1, { dtype }));
    this.norm = new RMSNorm(E, { eps: 1e-5, dtype });
    this.out_proj = new Linear(E, dModel, { key: k[4]!, bias: false, dtype });
  }

  get dModel(): number {
    return this.config.dModel;
  }

  /** B or C (…, G·N) → (…, H, N): each group shared by H/G consecutive heads. */
  private perHead(v: Tensor): Tensor {
    const { nHeads: H, nGroups: G, dState: N } = this.config;
    const lead = v.shape.slice(0, -1);
    return reshape(broadcastTo(reshape(v, [...lead, G, 1, N]), [...lead, G, H / G, N]), [...lead, H, N]);
  }

  /** The gated RMSNorm and out_proj: y, z (…, E) → (…, d). */
  private finish(y: Tensor, z: Tensor): Tensor {
    return this.out_proj.forward(this.norm.forward(mul(y, silu(z))));
  }

  /** (b, L, d) → (b, L, d). Causal: right padding never reaches real positions. */
  forward(u: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkFloatTensor('Mamba2', 'x', u);
    const { dModel, dInner: E, dState: N, headDim: P, nHeads: H, nGroups: G } = this.config;
    if (u.ndim !== 3 || u.shape[2] !== dModel) throw new Error(`Mamba2: x must be (b, L, ${dModel}), got ${shapeStr(u.shape)}`);
    const [b, L] = u.shape as [number, number];
    return tidy(() => {
      const [z, xBC0, dtIn] = split(this.in_proj.forward(u), [E, E + 2 * G * N, H], -1) as [Tensor, Tensor, Tensor];
      const xBC = silu(transpose(this.conv1d.forward(transpose(xBC0, 1, 2)), 1, 2)); // (b, L, E + 2GN)
      const [x, B, C] = split(xBC, [E, G * N, G * N], -1) as [Tensor, Tensor, Tensor];
      const dt = softplus(add(dtIn, this.dt_bias)); // (b, L, H)
      const xh = reshape(x, [b, L, H, P]);
      const [y] = ssdChunked({ x: xh, dt, A: neg(exp(this.A_log)), B: this.perHead(B), C: this.perHead(C) }, this.config.chunk);
      const yD = add(y, mul(xh, reshape(this.D, [H, 1]))); // (b, L, H, P)
      return this.finish(reshape(yD, [b, L, E]), z);
    });
  }

  initState(batch: number): Mamba2State {
    checkPositiveInt('Mamba2.initState', 'batch', batch);
    const { dInner: E, dState: N, headDim: P, nHeads: H, nGroups: G, dConv: K } = this.config;
    const dtype = this.A_log.dtype;
    return new TensorState({ conv: zeros([batch, E + 2 * G * N, K - 1], { dtype }), ssm: zeros([batch, H, N, P], { dtype }) });
  }

  /** One token (b, d) → [(b, d), next state]: the SSD recurrence hₜ = exp(Δₜ A) hₜ₋₁ + Bₜ (Δₜ xₜ)ᵀ. */
  step(ut: Tensor, state: Mamba2State): [Tensor, Mamba2State] {
    checkFloatTensor('Mamba2.step', 'x', ut);
    const { dModel, dInner: E, dState: N, headDim: P, nHeads: H, nGroups: G, dConv: K } = this.config;
    if (ut.ndim !== 2 || ut.shape[1] !== dModel) throw new Error(`Mamba2.step: x must be (b, ${dModel}), got ${shapeStr(ut.shape)}`);
    const b = ut.shape[0]!;
    const [y, conv, h] = tidy(() => {
      const [z, xBC0, dtIn] = split(this.in_proj.forward(ut), [E, E + 2 * G * N, H], -1) as [Tensor, Tensor, Tensor];
      const window = concat([state.get('conv'), unsqueeze(xBC0, -1)], -1); // (b, C, K)
      const xBC = silu(add(sum(mul(window, reshape(this.conv1d.weight, [E + 2 * G * N, K])), -1), this.conv1d.bias!));
      const [x, B, C] = split(xBC, [E, G * N, G * N], -1) as [Tensor, Tensor, Tensor];
      const dt = softplus(add(dtIn, this.dt_bias)); // (b, H)
      const xh = reshape(x, [b, H, P]);
      const decay = reshape(exp(mul(dt, neg(exp(this.A_log)))), [b, H, 1, 1]);
      const inp = mul(unsqueeze(this.perHead(B), -1), unsqueeze(mul(xh, unsqueeze(dt, -1)), -2)); // (b, H, N, P)
      const h = add(mul(state.get('ssm'), decay), inp);
      const yh = add(sum(mul(h, unsqueeze(this.perHead(C), -1)), -2), mul(xh, reshape(this.D, [H, 1]))); // (b, H, P)
      return [this.finish(reshape(yh, [b, E]), z), slice(window, [null, null, { start: 1 }]), h];
    });
    const next = new TensorState({ conv, ssm: h }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}

registerMixer('mamba2', (dModel, spec, key) => new Mamba2(dModel, { ...(spec as Partial<Mamba2Options>), key }));
