/**
 * The Gated Attention Unit: W. Hua, Z. Dai, H. Liu, Q. V. Le, "Transformer
 * Quality in Linear Time", arXiv 2202.10447, §2 (eq. 1-5, Code 1):
 *
 *   U = φ(X W_u),  V = φ(X W_v)          (n, e), e = expansion·d
 *   Z = φ(X W_z)                         (n, s), a small shared width (s = 128)
 *   Q = Z∘γ_q + β_q,  K = Z∘γ_k + β_k    cheap per-dimension scales and offsets
 *   A = relu²(Q Kᵀ/L + b)                squared-ReLU attention, b a relative position bias
 *   O = (U ∘ A V) W_o,                   φ = SiLU, one head
 *
 * b(i − j) is one learned scalar per clipped distance (T5-style, distances
 * beyond ±(R − 1) share the last one). The paper divides QKᵀ by the sequence
 * length n; here L is a fixed `maxLength` when causal (so that decoding one
 * token at a time sees the scale of the full pass) and n otherwise.
 *
 * The pieces (projections, scale-offsets, bias tables) are shared with FLASH
 * (flashMixed.ts), which mixes a quadratic GAU inside chunks with linear
 * attention across chunks.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor, zeros } from '../../ops/creation.js';
import { add, mul, relu, silu, square } from '../../ops/elementwise.js';
import { concat, tril } from '../../ops/join.js';
import { indexSelect } from '../../ops/indexing.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { reshape, squeeze, unsqueeze } from '../../ops/views.js';
import { normal, splitKey } from '../../ops/random.js';
import { slice } from '../../ops/slice.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { checkSequence, checkToken, TensorState } from './heads.js';

/** Per-dimension scales and offsets producing `count` tensors from Z (…, s): Z∘γ_i + β_i. */
export class ScaleOffset extends Module {
  gamma: Tensor;
  beta: Tensor;

  constructor(count: number, s: number, key: Key, dtype?: DType) {
    super();
    // γ near 1 (N(1, 0.02²)) as in the paper's code; β = 0
    this.gamma = param(tidy(() => add(mul(normal(key, [count, s], { dtype }), 0.02), 1)));
    this.beta = param(zeros([count, s], { dtype }));
  }

  forward(z: Tensor): Tensor[] {
    return tidy(() => Array.from({ length: this.gamma.shape[0]! }, (_, i) => add(mul(z, squeeze(slice(this.gamma, [{ start: i, stop: i + 1 }]), 0)), squeeze(slice(this.beta, [{ start: i, stop: i + 1 }]), 0))));
  }
}

/** A learned bias per relative distance, clipped to ±(R − 1). */
export class RelativeBias extends Module {
  table: Tensor;

  constructor(maxRelative: number, dtype?: DType) {
    super();
    this.table = param(zeros([2 * maxRelative - 1], { dtype }));
  }

  get maxRelative(): number {
    return (this.table.shape[0]! + 1) / 2;
  }

  /** (nq, nk) bias for queries at positions qPos and keys at kPos: b(i − j). */
  matrix(qPos: readonly number[], kPos: readonly number[]): Tensor {
    const R = this.maxRelative;
    const idx = new Int32Array(qPos.length * kPos.length);
    qPos.forEach((i, a) => kPos.forEach((j, c) => (idx[a * kPos.length + c] = Math.max(-(R - 1), Math.min(R - 1, i - j)) + R - 1)));
    return tidy(() => reshape(indexSelect(this.table, 0, tensor(idx, [idx.length], { dtype: 'i32' })), [qPos.length, kPos.length]));
  }
}

export const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

export interface GauOptions {
  key: Key;
  /** e = expansion·d (default 2) */
  expansion?: number;
  /** shared width s of Z (default 128) */
  s?: number;
  causal?: boolean;
  /** the L in QKᵀ/L when causal (default 512) */
  maxLength?: number;
  /** distances with their own bias (default 128) */
  maxRelative?: number;
  dtype?: DType;
}

/** U, V (b, n, e) and Z (b, n, s) of a GAU-style layer: one fused projection, split. */
export class GauProjections extends Module {
  wuvz: Linear;
  readonly e: number;
  readonly s: number;

  constructor(d: number, e: number, s: number, key: Key, dtype?: DType) {
    super();
    this.e = e;
    this.s = s;
    this.wuvz = new Linear(d, 2 * e + s, { key, dtype });
  }

  forward(x: Tensor): [Tensor, Tensor, Tensor] {
    return tidy(() => {
      const h = silu(this.wuvz.forward(x));
      const last = x.ndim - 1;
      const cut = (a: number, b: number): Tensor => slice(h, [...new Array<null>(last).fill(null), { start: a, stop: b }]);
      return [cut(0, this.e), cut(this.e, 2 * this.e), cut(2 * this.e, 2 * this.e + this.s)];
    });
  }
}

/** The state of a GAU: keys K (b, t, s) and values V (b, t, e) of every token so far. */
export class GauState extends TensorState<'k' | 'v'> {}

/** The Gated Attention Unit as a token mixer (quadratic in n). */
export class GAU extends Module implements Mixer<GauState> {
  readonly config: Readonly<{ dModel: number; e: number; s: number; causal: boolean; maxLength: number }>;
  proj: GauProjections;
  qk: ScaleOffset;
  bias: RelativeBias;
  wo: Linear;

  constructor(dModel: number, opts: GauOptions) {
    super();
    const e = Math.round((opts.expansion ?? 2) * dModel);
    const s = opts.s ?? 128;
    this.config = { dModel, e, s, causal: opts.causal ?? true, maxLength: opts.maxLength ?? 512 };
    const [k1, k2, k3] = splitKey(opts.key, 3);
    this.proj = new GauProjections(dModel, e, s, k1!, opts.dtype);
    this.qk = new ScaleOffset(2, s, k2!, opts.dtype);
    this.bias = new RelativeBias(opts.maxRelative ?? 128, opts.dtype);
    this.wo = new Linear(e, dModel, { key: k3!, dtype: opts.dtype });
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  /** A = relu²(QKᵀ/L + b) for queries at qPos and keys at kPos, causal-masked when asked. */
  weights(q: Tensor, k: Tensor, qPos: number[], kPos: number[], L: number, causal: boolean): Tensor {
    return tidy(() => {
      const a = square(relu(add(mul(matmulT(q, k, false, true), 1 / L), this.bias.matrix(qPos, kPos))));
      return causal ? tril(a, kPos.length - qPos.length) : a;
    });
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkSequence('GAU', x, this.dModel);
    return tidy(() => {
      const n = x.shape[1]!;
      const [u, v, z] = this.proj.forward(x);
      const [q, k] = this.qk.forward(z);
      const L = this.causal ? this.config.maxLength : n;
      const A = this.weights(q!, k!, range(0, n), range(0, n), L, this.causal);
      return this.wo.forward(mul(u, matmul(A, v)));
    });
  }

  initState(batch: number): GauState {
    const { e, s } = this.config;
    const dtype = this.wo.weight.dtype;
    return tidy(() => new GauState({ k: tensor(new Float64Array(0), [batch, 0, s], { dtype }), v: tensor(new Float64Array(0), [batch, 0, e], { dtype }) }, 0));
  }

  step(x: Tensor, state: GauState): [Tensor, GauState] {
    checkToken('GAU.step', x, this.dModel);
    state.assertLive('GAU.step');
    if (!this.causal) throw new Error('GAU: incremental decoding needs a causal mixer');
    const t = state.position;
    const [y, k, v] = tidy(() => {
      const [u, v1, z] = this.proj.forward(unsqueeze(x, 1));
      const [q, k1] = this.qk.forward(z);
      const k = t > 0 ? concat([state.t.k, k1!], 1) : k1!;
      const v = t > 0 ? concat([state.t.v, v1], 1) : v1;
      const A = this.weights(q!, k, [t], range(0, t + 1), this.config.maxLength, false);
      return [squeeze(this.wo.forward(mul(u, matmul(A, v))), 1), k, v];
    });
    const next = new GauState({ k, v }, t + 1);
    state.dispose();
    return [y, next];
  }
}

