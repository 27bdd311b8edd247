/**
 * Multi-scale retention, the RetNet token mixer (Y. Sun et al., arXiv
 * 2307.08621, §2.2, eq. 8):
 *
 *   γ = 1 − 2^(−5−arange(h))                     one decay per head
 *   head_i = Retention(X, γ_i)                    q, k rotated by e^{inθ} (xPos), q scaled by d_k^−½
 *   Y = GroupNorm_h(concat(head_1 … head_h))      normalised per head
 *   MSR(X) = (swish(X W_G) ⊙ Y) W_O
 *
 * Values are `valueFactor`·d wide (2d in the paper). The forward pass runs the
 * chunkwise form by default (`mode` picks parallel or recurrent instead);
 * decoding steps the recurrent form with the state S (b, h, d_k, d_v). The
 * paper's extra normalisations of QKᵀ and D are left out: GroupNorm makes the
 * output invariant to them (up to its ε), and the three forms stay exactly
 * equal without them.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, mul, silu } from '../../ops/elementwise.js';
import { ones, zeros } from '../../ops/creation.js';
import { splitKey } from '../../ops/random.js';
import { reshape, transpose, unsqueeze, squeeze } from '../../ops/views.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { layerNorm } from '../../nn/norm.js';
import { applyRotary, rotaryTables } from '../../nn/rope.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { retentionChunkwise, retentionGammas, retentionParallel, retentionRecurrent, splitHeads } from './retention.js';
import { TensorState } from './state.js';

export interface RetNetOptions {
  key: Key;
  /** heads h (default 4); d/h must be even (rotary pairs) */
  heads?: number;
  /** value width per model width (default 2, as the paper) */
  valueFactor?: number;
  /** chunk length of the chunkwise form (default 64) */
  chunk?: number;
  mode?: 'chunkwise' | 'parallel' | 'recurrent';
  dtype?: DType;
}

export type RetNetState = TensorState<'S'>;

export class MultiScaleRetention extends Module implements Mixer<RetNetState> {
  readonly config: Readonly<{ dModel: number; heads: number; dk: number; dv: number; chunk: number; mode: 'chunkwise' | 'parallel' | 'recurrent'; gammas: number[] }>;
  readonly causal = true;
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  g_proj: Linear;
  out_proj: Linear;
  /** GroupNorm's affine weight and bias over the h·d_v channels */
  group_norm: { weight: Tensor; bias: Tensor };

  constructor(dModel: number, opts: RetNetOptions) {
    super();
    checkPositiveInt('MultiScaleRetention', 'dModel', dModel);
    const h = checkPositiveInt('MultiScaleRetention', 'heads', opts.heads ?? 4);
    const vf = checkPositiveInt('MultiScaleRetention', 'valueFactor', opts.valueFactor ?? 2);
    if (dModel % h !== 0 || (dModel / h) % 2 !== 0) throw new Error(`MultiScaleRetention: dModel ${dModel} must split into ${h} heads of an even width`);
    const dk = dModel / h;
    this.config = { dModel, heads: h, dk, dv: vf * dk, chunk: checkPositiveInt('MultiScaleRetention', 'chunk', opts.chunk ?? 64), mode: opts.mode ?? 'chunkwise', gammas: retentionGammas(h) };
    const dtype = opts.dtype;
    const k = splitKey(opts.key, 5);
    const V = vf * dModel;
    this.q_proj = new Linear(dModel, dModel, { key: k[0]!, bias: false, dtype });
    this.k_proj = new Linear(dModel, dModel, { key: k[1]!, bias: false, dtype });
    this.v_proj = new Linear(dModel, V, { key: k[2]!, bias: false, dtype });
    this.g_proj = new Linear(dModel, V, { key: k[3]!, bias: false, dtype });
    this.out_proj = new Linear(V, dModel, { key: k[4]!, bias: false, dtype });
    this.group_norm = { weight: param(ones([V], { dtype })), bias: param(zeros([V], { dtype })) };
  }

  get dModel(): number {
    return this.config.dModel;
  }

  /** q, k (b, h, n, d_k) rotated for positions offset…; q scaled by d_k^−½; v (b, h, n, d_v). */
  private qkv(x: Tensor, offset: number): [Tensor, Tensor, Tensor] {
    const { heads: h, dk } = this.config;
    const tables = rotaryTables(x.shape[1]!, dk, { offset, dtype: x.dtype });
    const rot = (t: Tensor): Tensor => applyRotary(splitHeads(t, h), tables, { interleaved: true });
    return [mul(rot(this.q_proj.forward(x)), dk ** -0.5), rot(this.k_proj.forward(x)), splitHeads(this.v_proj.forward(x), h)];
  }

  /** GroupNorm per head, the swish gate and W_O: heads (b, h, n, d_v), x (b, n, d) → (b, n, d). */
  private finish(y: Tensor, x: Tensor): Tensor {
    const [b, h, n, dv] = y.shape as [number, number, number, number];
    const normed = reshape(layerNorm(transpose(y, 1, 2), dv, null, null, 1e-5), [b, n, h * dv]);
    const gn = add(mul(normed, this.group_norm.weight), this.group_norm.bias);
    return this.out_proj.forward(mul(silu(this.g_proj.forward(x)), gn));
  }

  /** (b, n, d) → (b, n, d). Causal: right padding never reaches real positions. */
  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkFloatTensor('MultiScaleRetention', 'x', x);
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) throw new Error(`MultiScaleRetention: x must be (b, n, ${this.dModel}), got ${shapeStr(x.shape)}`);
    const { gammas, mode, chunk } = this.config;
    return tidy(() => {
      const [q, k, v] = this.qkv(x, 0);
      const y = mode === 'parallel' ? retentionParallel(q, k, v, gammas) : mode === 'recurrent' ? retentionRecurrent(q, k, v, gammas)[0] : retentionChunkwise(q, k, v, gammas, chunk);
      return this.finish(y, x);
    });
  }

  initState(batch: number): RetNetState {
    const { heads: h, dk, dv } = this.config;
    return new TensorState({ S: zeros([batch, h, dk, dv], { dtype: this.q_proj.weight.dtype }) });
  }

  /** One token (b, d) at position state.position → [(b, d), next state]: S ← γS + kᵀv, o = qS. */
  step(xt: Tensor, state: RetNetState): [Tensor, RetNetState] {
    checkFloatTensor('MultiScaleRetention.step', 'x', xt);
    if (xt.ndim !== 2 || xt.shape[1] !== this.dModel) throw new Error(`MultiScaleRetention.step: x must be (b, ${this.dModel}), got ${shapeStr(xt.shape)}`);
    const [y, S] = tidy(() => {
      const x = unsqueeze(xt, 1); // (b, 1, d)
      const [q, k, v] = this.qkv(x, state.position);
      const [o, S] = retentionRecurrent(q, k, v, this.config.gammas, state.get('S'));
      return [squeeze(this.finish(o, x), 1), S];
    });
    const next = new TensorState({ S }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}

registerMixer('retnet', (dModel, spec, key) => new MultiScaleRetention(dModel, { ...(spec as Partial<RetNetOptions>), key }));
