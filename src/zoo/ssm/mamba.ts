/**
 * The Mamba block (A. Gu, T. Dao, "Mamba: Linear-Time Sequence Modeling with
 * Selective State Spaces", arXiv 2312.00752, Figure 3 and Algorithm 2):
 *
 *   [x, z] = in_proj(u)                          (b, L, 2E), E = expand·d
 *   x = silu(conv1d(x))                          causal depthwise, kernel d_conv
 *   [Δ, B, C] = x_proj(x);  Δ = dt_proj(Δ)       Δ (b, L, E) of rank R, B, C (b, L, N)
 *   y = SSM(A, Δ + Δ_bias, B, C, D)(x)           the selective scan (S6), softplus on Δ
 *   out = out_proj(y ⊙ silu(z))
 *
 * Parameters and initialisation as the reference implementation
 * (mamba_simple.py), with its names so state dicts carry over: A stored as
 * A_log with A = −exp(A_log) and S4D-Real init A_n = −(n+1); D = 1; Δ_bias the
 * inverse softplus of Δ ~ exp(U[log Δ_min, log Δ_max]) floored at 1e-4;
 * dt_proj.weight ~ U(±R^−½). The scan runs the fused kernel by default;
 * `scan: 'ref'` runs the naive twin and `scan: 'parallel'` the associative
 * scan, for comparison. Decoding keeps two caches: the last d_conv − 1 inputs
 * of the convolution and the SSM state h (b, E, N).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, neg, silu, softplus } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { concat } from '../../ops/join.js';
import { slice, split } from '../../ops/slice.js';
import { reshape, transpose, unsqueeze } from '../../ops/views.js';
import { full, tensor, zeros } from '../../ops/creation.js';
import { splitKey, uniform } from '../../ops/random.js';
import { cpu } from '../../backends/cpu/index.js';
import { Module, param } from '../../nn/module.js';
import { Linear, linear } from '../../nn/linear.js';
import { Conv1d } from '../../nn/conv.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { selectiveScan } from './selectiveScan.js';
import { selectiveScanRef, type SelectiveScanInputs } from './selectiveScan.ref.js';
import { selectiveScanParallel } from './parallelScan.js';
import { TensorState } from './state.js';

export interface MambaOptions {
  key: Key;
  /** state size N (default 16) */
  dState?: number;
  /** convolution width (default 4) */
  dConv?: number;
  /** E = expand·d (default 2) */
  expand?: number;
  /** rank R of Δ's projection (default ⌈d/16⌉) */
  dtRank?: number;
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
  dtype?: DType;
  /** which scan runs the forward pass (default 'fused') */
  scan?: 'fused' | 'ref' | 'parallel';
}

export type MambaState = TensorState<'conv' | 'ssm'>;

/** Δ_bias = softplus⁻¹(Δ) for Δ log-uniform in [dtMin, dtMax], floored (reference init). */
export function dtBiasInit(key: Key, n: number, dtMin = 1e-3, dtMax = 1e-1, floor = 1e-4, dtype: DType = 'f32'): Tensor {
  const u = uniform(key, [n], { dtype: 'f64', backend: cpu() }); // read on the host below, whatever the default backend
  const vals = Array.from(u.toF64(), (r) => {
    const dt = Math.max(floor, Math.exp(r * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)));
    return dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹(dt)
  });
  u.dispose();
  return tensor(vals, [n], { dtype });
}

export class Mamba extends Module implements Mixer<MambaState> {
  readonly config: Readonly<{ dModel: number; dInner: number; dState: number; dConv: number; dtRank: number; scan: 'fused' | 'ref' | 'parallel' }>;
  readonly causal = true;
  in_proj: Linear;
  conv1d: Conv1d;
  x_proj: Linear;
  dt_proj: Linear;
  A_log: Tensor;
  D: Tensor;
  out_proj: Linear;

  constructor(dModel: number, opts: MambaOptions) {
    super();
    checkPositiveInt('Mamba', 'dModel', dModel);
    const N = checkPositiveInt('Mamba', 'dState', opts.dState ?? 16);
    const K = checkPositiveInt('Mamba', 'dConv', opts.dConv ?? 4);
    const E = checkPositiveInt('Mamba', 'dInner', Math.round((opts.expand ?? 2) * dModel));
    const R = checkPositiveInt('Mamba', 'dtRank', opts.dtRank ?? Math.ceil(dModel / 16));
    this.config = { dModel, dInner: E, dState: N, dConv: K, dtRank: R, scan: opts.scan ?? 'fused' };
    const dtype = opts.dtype;
    const k = splitKey(opts.key, 6);
    this.in_proj = new Linear(dModel, 2 * E, { key: k[0]!, bias: false, dtype });
    this.conv1d = new Conv1d(E, E, K, { key: k[1]!, groups: E, padding: 'causal', dtype });
    this.x_proj = new Linear(E, R + 2 * N, { key: k[2]!, bias: false, dtype });
    this.dt_proj = new Linear(R, E, { key: k[3]!, dtype });
    this.dt_proj.weight.dispose();
    this.dt_proj.weight = param(uniform(k[4]!, [E, R], { lo: -(R ** -0.5), hi: R ** -0.5, dtype }));
    this.dt_proj.bias!.dispose();
    this.dt_proj.bias = param(dtBiasInit(k[5]!, E, opts.dtMin, opts.dtMax, opts.dtInitFloor, dtype));
    const aLog = Array.from({ length: E * N }, (_, i) => Math.log((i % N) + 1));
    this.A_log = param(tensor(aLog, [E, N], { dtype }));
    this.D = param(full([E], 1, { dtype }));
    this.out_proj = new Linear(E, dModel, { key: splitKey(k[5]!)[1]!, bias: false, dtype });
  }

  get dModel(): number {
    return this.config.dModel;
  }

  /** (b, L, d) → (b, L, d). Causal, so right padding never reaches real positions and `padding` is not needed. */
  forward(u: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkFloatTensor('Mamba', 'x', u);
    const { dModel, dState: N, dtRank: R } = this.config;
    if (u.ndim !== 3 || u.shape[2] !== dModel) throw new Error(`Mamba: x must be (b, L, ${dModel}), got ${shapeStr(u.shape)}`);
    return tidy(() => {
      const [x, z] = split(this.in_proj.forward(u), 2, -1) as [Tensor, Tensor]; // (b, L, E) each
      const xc = silu(transpose(this.conv1d.forward(transpose(x, 1, 2)), 1, 2)); // (b, L, E)
      const [dtIn, B, C] = split(this.x_proj.forward(xc), [R, N, N], -1) as [Tensor, Tensor, Tensor];
      const delta = linear(dtIn, this.dt_proj.weight); // (b, L, E), bias added inside the scan
      const inputs: SelectiveScanInputs = { u: xc, delta, A: neg(exp(this.A_log)), B, C, D: this.D, z, deltaBias: this.dt_proj.bias };
      const opts = { deltaSoftplus: true };
      const scan = this.config.scan;
      const [y] = scan === 'fused' ? selectiveScan(inputs, opts) : scan === 'ref' ? selectiveScanRef(inputs, opts) : selectiveScanParallel(inputs, opts);
      return this.out_proj.forward(y!);
    });
  }

  initState(batch: number): MambaState {
    checkPositiveInt('Mamba.initState', 'batch', batch);
    const { dInner: E, dState: N, dConv: K } = this.config;
    const dtype = this.A_log.dtype;
    return new TensorState({ conv: zeros([batch, E, K - 1], { dtype }), ssm: zeros([batch, E, N], { dtype }) });
  }

  /** One token x (b, d) → [y (b, d), next state]; the same math as `forward` at that position. */
  step(xt: Tensor, state: MambaState): [Tensor, MambaState] {
    checkFloatTensor('Mamba.step', 'x', xt);
    const { dModel, dInner: E, dState: N, dConv: K, dtRank: R } = this.config;
    if (xt.ndim !== 2 || xt.shape[1] !== dModel) throw new Error(`Mamba.step: x must be (b, ${dModel}), got ${shapeStr(xt.shape)}`);
    const [y, conv, h] = tidy(() => {
      const [x, z] = split(this.in_proj.forward(xt), 2, -1) as [Tensor, Tensor]; // (b, E)
      const window = concat([state.get('conv'), unsqueeze(x, -1)], -1); // (b, E, K)
      const w = reshape(this.conv1d.weight, [E, K]);
      const xc = silu(add(sum(mul(window, w), -1), this.conv1d.bias!)); // (b, E)
      const [dtIn, B, C] = split(this.x_proj.forward(xc), [R, N, N], -1) as [Tensor, Tensor, Tensor];
      const dt = softplus(linear(dtIn, this.dt_proj.weight, this.dt_proj.bias)); // (b, E)
      const dA = exp(mul(unsqueeze(dt, -1), neg(exp(this.A_log)))); // (b, E, N)
      const h = add(mul(dA, state.get('ssm')), mul(unsqueeze(mul(dt, xc), -1), unsqueeze(B, 1))); // (b, E, N)
      const yt = mul(add(sum(mul(h, unsqueeze(C, 1)), -1), mul(this.D, xc)), silu(z)); // (b, E)
      return [this.out_proj.forward(yt), slice(window, [null, null, { start: 1 }]), h];
    });
    const next = new TensorState({ conv, ssm: h }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}

registerMixer('mamba', (dModel, spec, key) => new Mamba(dModel, { ...(spec as Partial<MambaOptions>), key }));
