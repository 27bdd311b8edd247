/**
 * Linear attention: A. Katharopoulos et al., "Transformers are RNNs: Fast
 * Autoregressive Transformers with Linear Attention", arXiv 2006.16236.
 * With a feature map φ (eq. 7: φ(x) = elu(x) + 1) the attention
 *
 *   O_i = φ(Q_i)ᵀ S_i / φ(Q_i)ᵀ z_i,   S_i = Σ_{j≤i} φ(K_j) V_jᵀ,  z_i = Σ_{j≤i} φ(K_j)   (eq. 8-9)
 *
 * regroups by associativity, (φQ φKᵀ)V = φQ(φKᵀV), from O(n²d) to O(nd²).
 * Three forms compute the same thing:
 * - parallel (linear.ref.ts): the (n, n) matrix, the reference;
 * - chunked (training): chunks of c positions; inside a chunk the masked
 *   quadratic form, across chunks the states S, z of all earlier chunks (an
 *   exclusive cumulative sum over chunk states); O(n·c·d + n·d²);
 * - recurrent (decoding): S and z updated one token at a time, O(1) state.
 *
 * `KernelAttention` is the mixer skeleton shared with every feature-map
 * attention in this folder (Performer, cosFormer, TransNormer's
 * NormAttention): projections, heads, the three forms, and decoding; a
 * subclass says how q and k become features.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { zeros } from '../../ops/creation.js';
import { add, div, elu, mul, relu } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { concat, pad, tril } from '../../ops/join.js';
import { cumsum, shiftAxis } from '../../ops/cumulative.js';
import { slice } from '../../ops/slice.js';
import { reshape, squeeze, unsqueeze } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { checkSequence, checkToken, mergeHeads, splitHeads, TensorState } from './heads.js';
import { linearAttentionParallel, type LinearAttentionOptions } from './linear.ref.js';

export type FeatureMapName = 'elu' | 'relu';
export type FeatureMap = FeatureMapName | ((x: Tensor) => Tensor);

/** φ(x) = elu(x) + 1 (positive, smooth; the paper's choice). */
export const eluPlusOne = (x: Tensor): Tensor => tidy(() => add(elu(x), 1));

export function featureMapFn(f: FeatureMap): (x: Tensor) => Tensor {
  if (typeof f === 'function') return f;
  if (f === 'elu') return eluPlusOne;
  if (f === 'relu') return relu;
  throw new Error(`linear attention: unknown feature map '${String(f)}' (use 'elu', 'relu' or a function)`);
}

export interface ChunkedOptions extends LinearAttentionOptions {
  /** chunk length c (default 64); n need not be a multiple */
  chunk?: number;
}

/** x (…, n, w) → (…, n + p, w) with p zero rows appended. */
const padRows = (x: Tensor, p: number): Tensor => (p === 0 ? x : pad(x, [...x.shape.slice(0, -2).map(() => [0, 0] as [number, number]), [0, p], [0, 0]]));

/** The chunked form. fq, fk (…, n, f), v (…, n, dv) → (…, n, dv). */
export function linearAttentionChunked(fq: Tensor, fk: Tensor, v: Tensor, opts: ChunkedOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-6;
  const normalize = opts.normalize ?? true;
  return tidy(() => {
    if (!opts.causal) {
      // no mask: one global state, O = φQ(φKᵀV) / φQ·Σφk
      const num = matmul(fq, matmulT(fk, v, true, false));
      return normalize ? div(num, add(matmul(fq, unsqueeze(sum(fk, -2), -1)), eps)) : num;
    }
    const c = opts.chunk ?? 64;
    if (!Number.isInteger(c) || c < 1) throw new Error(`linearAttentionChunked: chunk must be a positive integer, got ${c}`);
    if (fq.backend !== 'cpu') {
      // a device backend with a fused kernel (WebGPU: kernels/fused/linearAttention.ts); undefined when it does not fit
      const dev = fq.storage.backend as { linearAttention?: (q: Tensor, k: Tensor, v: Tensor, o: { normalize: boolean; eps: number }) => Tensor | undefined };
      const r = dev.linearAttention?.(fq, fk, v, { normalize, eps });
      if (r) return r;
    }
    const n = fq.shape[fq.ndim - 2]!;
    const N = Math.ceil(n / c);
    const lead = fq.shape.slice(0, -2);
    const chunked = (x: Tensor): Tensor => reshape(padRows(x, N * c - n), [...lead, N, c, x.shape[x.ndim - 1]!]);
    const [q, k, vv] = [chunked(fq), chunked(fk), chunked(v)]; // (…, N, c, ·)
    // inside each chunk: the masked quadratic form
    const A = tril(matmulT(q, k, false, true)); // (…, N, c, c)
    let num = matmul(A, vv);
    let den = sum(A, -1, true);
    // across chunks: the states of all earlier chunks (exclusive cumulative sums)
    const Sprev = shiftAxis(cumsum(matmulT(k, vv, true, false), -3), -3, 1); // (…, N, f, dv)
    num = add(num, matmul(q, Sprev));
    if (normalize) {
      const zPrev = shiftAxis(cumsum(sum(k, -2), -2), -2, 1); // (…, N, f)
      den = add(den, matmul(q, unsqueeze(zPrev, -1)));
    }
    const o = normalize ? div(num, add(den, eps)) : num;
    return slice(reshape(o, [...lead, N * c, v.shape[v.ndim - 1]!]), [...lead.map(() => null), { stop: n }]);
  });
}

export interface RecurrentState {
  /** (…, f, dv) */
  S: Tensor;
  /** (…, f) */
  z: Tensor;
}

/** One recurrent step: fq, fk (…, f), v (…, dv) with the state before → [o (…, dv), state after]. */
export function linearAttentionStep(fq: Tensor, fk: Tensor, v: Tensor, st: RecurrentState, opts: LinearAttentionOptions = {}): [Tensor, RecurrentState] {
  return tidy(() => {
    const S = add(st.S, mul(unsqueeze(fk, -1), unsqueeze(v, -2)));
    const z = add(st.z, fk);
    const num = squeeze(matmul(unsqueeze(fq, -2), S), -2);
    const o = opts.normalize === false ? num : div(num, add(sum(mul(fq, z), -1, true), opts.eps ?? 1e-6));
    return [o, { S, z }];
  });
}

/** The recurrent form over a whole sequence (causal by nature). fq, fk (…, n, f), v (…, n, dv). */
export function linearAttentionRecurrent(fq: Tensor, fk: Tensor, v: Tensor, opts: LinearAttentionOptions = {}): Tensor {
  return tidy(() => {
    const n = fq.shape[fq.ndim - 2]!;
    const at = (x: Tensor, t: number): Tensor => squeeze(slice(x, [...x.shape.slice(0, -2).map(() => null), { start: t, stop: t + 1 }]), -2);
    let st: RecurrentState = { S: zeros([...fq.shape.slice(0, -2), fq.shape[fq.ndim - 1]!, v.shape[v.ndim - 1]!], { dtype: v.dtype }), z: zeros([...fq.shape.slice(0, -2), fq.shape[fq.ndim - 1]!], { dtype: v.dtype }) };
    const outs: Tensor[] = [];
    for (let t = 0; t < n; t++) {
      const [o, s2] = linearAttentionStep(at(fq, t), at(fk, t), at(v, t), st, opts);
      outs.push(unsqueeze(o, -2));
      st = s2;
    }
    return concatRows(outs);
  });
}

const concatRows = (xs: Tensor[]): Tensor => concat(xs, -2);

export interface KernelAttentionOptions {
  key: Key;
  heads: number;
  headDim?: number;
  /** default true */
  causal?: boolean;
  /** 'chunked' (default) or 'parallel' (the quadratic reference) */
  form?: 'chunked' | 'parallel';
  /** chunk length of the chunked form (default 64) */
  chunk?: number;
  eps?: number;
  bias?: boolean;
  dtype?: DType;
}

/** The state of a feature-map attention: S (b, h, f, dv), z (b, h, f). */
export class KernelState extends TensorState<'S' | 'z'> {}

/** Feature-map attention as a token mixer; subclasses define `features`. */
export abstract class KernelAttention extends Module implements Mixer<KernelState> {
  readonly config: Readonly<{ dModel: number; heads: number; headDim: number; causal: boolean; form: 'chunked' | 'parallel'; chunk: number; eps: number }>;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;

  constructor(dModel: number, opts: KernelAttentionOptions, name: string) {
    super();
    const headDim = opts.headDim ?? dModel / opts.heads;
    if (!Number.isInteger(opts.heads) || opts.heads < 1 || !Number.isInteger(headDim) || headDim < 1) throw new Error(`${name}: dModel ${dModel} does not split into ${opts.heads} heads; pass headDim`);
    this.config = { dModel, heads: opts.heads, headDim, causal: opts.causal ?? true, form: opts.form ?? 'chunked', chunk: opts.chunk ?? 64, eps: opts.eps ?? 1e-6 };
    const [k1, k2, k3, k4] = splitKey(opts.key, 4);
    const lin = { bias: opts.bias ?? false, dtype: opts.dtype };
    const hd = opts.heads * headDim;
    this.wq = new Linear(dModel, hd, { key: k1!, ...lin });
    this.wk = new Linear(dModel, hd, { key: k2!, ...lin });
    this.wv = new Linear(dModel, hd, { key: k3!, ...lin });
    this.wo = new Linear(hd, dModel, { key: k4!, ...lin });
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  /** q, k (b, h, n, hd) at positions offset … offset + n − 1 → features (b, h, n, f). */
  abstract features(q: Tensor, k: Tensor, offset: number): [Tensor, Tensor];
  /** feature width f */
  abstract get featureDim(): number;
  /** whether O is divided by the denominator (TransNormer's NormAttention is not) */
  protected get normalized(): boolean {
    return true;
  }
  /** applied to the per-head output (b, h, n, dv) before the heads merge (TransNormer's norm) */
  protected post(o: Tensor): Tensor {
    return o;
  }

  /** Linear attention of features with this mixer's form. */
  attend(fq: Tensor, fk: Tensor, v: Tensor): Tensor {
    const o = { causal: this.causal, normalize: this.normalized, eps: this.config.eps, chunk: this.config.chunk };
    return this.config.form === 'parallel' ? linearAttentionParallel(fq, fk, v, o) : linearAttentionChunked(fq, fk, v, o);
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkSequence(this.constructor.name, x, this.dModel);
    if (_opts.padding) throw new Error(`${this.constructor.name}: key padding is not supported by feature-map attention (pad on the right and ignore the padded outputs)`);
    return tidy(() => {
      const h = this.config.heads;
      const [fq, fk] = this.features(splitHeads(this.wq.forward(x), h), splitHeads(this.wk.forward(x), h), 0);
      const o = this.attend(fq, fk, splitHeads(this.wv.forward(x), h));
      return this.wo.forward(mergeHeads(this.post(o)));
    });
  }

  /**
   * The mixing weights of the full pass over x (b, n, d), (b, h, n, n): the
   * kernel scores A_ij = φ(q_i)·φ(k_j) (j ≤ i when causal) of the parallel
   * form (linear.ref.ts), divided by the denominator Σ_j A_ij + eps of a
   * normalised mixer, so row i sums to 1 up to eps and P V is the attention
   * output before `post` and the output projection; unnormalised mixers
   * (NormAttention) return A itself. For inspection (attention maps): the
   * chunked and recurrent forms never form this matrix.
   */
  attentionWeights(x: Tensor, _opts: Pick<MixerForwardOptions, 'padding'> = {}): Tensor {
    checkSequence(`${this.constructor.name}.attentionWeights`, x, this.dModel);
    if (_opts.padding) throw new Error(`${this.constructor.name}.attentionWeights: key padding is not supported by feature-map attention`);
    return tidy(() => {
      const h = this.config.heads;
      const [fq, fk] = this.features(splitHeads(this.wq.forward(x), h), splitHeads(this.wk.forward(x), h), 0);
      let A = matmulT(fq, fk, false, true); // (b, h, n, n)
      if (this.causal) A = tril(A);
      return this.normalized ? div(A, add(sum(A, -1, true), this.config.eps)) : A;
    });
  }

  initState(batch: number): KernelState {
    const { heads, headDim } = this.config;
    const dtype = this.wq.weight.dtype;
    return tidy(() => new KernelState({ S: zeros([batch, heads, this.featureDim, headDim], { dtype }), z: zeros([batch, heads, this.featureDim], { dtype }) }, 0));
  }

  step(x: Tensor, state: KernelState): [Tensor, KernelState] {
    checkToken(`${this.constructor.name}.step`, x, this.dModel);
    state.assertLive(`${this.constructor.name}.step`);
    if (!this.causal) throw new Error(`${this.constructor.name}: incremental decoding needs a causal mixer`);
    const [y, next] = tidy(() => {
      const [b, h] = [x.shape[0]!, this.config.heads];
      const x3 = reshape(x, [b, 1, this.dModel]);
      const [fq, fk] = this.features(splitHeads(this.wq.forward(x3), h), splitHeads(this.wk.forward(x3), h), state.position);
      const v = splitHeads(this.wv.forward(x3), h);
      const [o, st] = linearAttentionStep(squeeze(fq, 2), squeeze(fk, 2), squeeze(v, 2), { S: state.t.S, z: state.t.z }, { normalize: this.normalized, eps: this.config.eps });
      const y = reshape(this.wo.forward(mergeHeads(this.post(unsqueeze(o, 2)))), [b, this.dModel]);
      return [y, st] as const;
    });
    const out = new KernelState({ S: next.S, z: next.z }, state.position + 1);
    state.dispose();
    return [y, out];
  }
}

export interface LinearAttentionMixerOptions extends KernelAttentionOptions {
  /** 'elu' (elu + 1, default), 'relu', or a function of a tensor */
  featureMap?: FeatureMap;
}

/** Linear attention (Katharopoulos et al.) as a token mixer. */
export class LinearAttention extends KernelAttention {
  readonly #phi: (x: Tensor) => Tensor;

  constructor(dModel: number, opts: LinearAttentionMixerOptions) {
    super(dModel, opts, 'LinearAttention');
    this.#phi = featureMapFn(opts.featureMap ?? 'elu');
  }

  get featureDim(): number {
    return this.config.headDim;
  }

  features(q: Tensor, k: Tensor): [Tensor, Tensor] {
    return [this.#phi(q), this.#phi(k)];
  }
}
