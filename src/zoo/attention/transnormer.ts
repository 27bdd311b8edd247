/**
 * TransNormer: Z. Qin et al., "The Devil in Linear Transformer", arXiv
 * 2210.10340. Two faults of kernel linear attention and their fixes:
 *
 * - unbounded gradients (§3.1): the row scaling O_i = Σ_j s_ij V_j / Σ_j s_ij
 *   has ∂p_ij/∂s_ik = (δ_jk − p_ij)/Σ_l s_il, which grows without bound as a
 *   row's mass Σ_l s_il shrinks. NormAttention (§4.1, eq. 9) drops the
 *   denominator and normalises the output instead:
 *       O = Norm(φ(Q)(φ(K)ᵀV)),
 *   computed with the same chunked / recurrent machinery (linear.ts);
 * - attention dilution (§3.2): linear attention spreads weight over the whole
 *   sequence. DiagAttention (§4.2) is softmax attention inside non-overlapping
 *   blocks of w tokens, O(n·w·d), used in the lower layers.
 *
 * The model (§4): DiagAttention in the first half of the layers,
 * NormAttention in the second half (`transNormerLayerKinds`).
 *
 * DiagAttention's naive twin is softmax attention under the block-diagonal
 * mask (masks.ts `blockDiagonalPattern`); NormAttention's is the parallel form
 * without the denominator (linear.ref.ts, normalize: false).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { mul } from '../../ops/elementwise.js';
import { concat, pad } from '../../ops/join.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { slice } from '../../ops/slice.js';
import { reshape } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { RMSNorm } from '../../nn/norm.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { maskedSoftmax } from './attention.ref.js';
import { checkSequence, checkToken, mergeHeads, splitHeads, TensorState } from './heads.js';
import { KernelAttention, featureMapFn, type FeatureMap, type KernelAttentionOptions } from './linear.js';

export interface NormAttentionOptions extends KernelAttentionOptions {
  /** φ: 'elu' (elu + 1, default), 'relu' or a function */
  featureMap?: FeatureMap;
}

/** NormAttention: O = RMSNorm(φ(Q)(φ(K)ᵀV)) per head, no denominator. */
export class NormAttention extends KernelAttention {
  norm: RMSNorm;
  readonly #phi: (x: Tensor) => Tensor;

  constructor(dModel: number, opts: NormAttentionOptions) {
    super(dModel, opts, 'NormAttention');
    this.#phi = featureMapFn(opts.featureMap ?? 'elu');
    this.norm = new RMSNorm(this.config.headDim, { dtype: opts.dtype });
  }

  get featureDim(): number {
    return this.config.headDim;
  }
  protected override get normalized(): boolean {
    return false;
  }
  protected override post(o: Tensor): Tensor {
    return this.norm.forward(o);
  }
  features(q: Tensor, k: Tensor): [Tensor, Tensor] {
    return [this.#phi(q), this.#phi(k)];
  }
}

/**
 * Softmax attention within non-overlapping blocks of `block` positions.
 * q, k, v (b, h, n, d) → (b, h, n, dv); n need not be a multiple of the block.
 */
export function blockDiagonalAttention(q: Tensor, k: Tensor, v: Tensor, block: number, opts: { causal?: boolean; scale?: number } = {}): Tensor {
  return tidy(() => {
    const [b, h, n, d] = q.shape as [number, number, number, number];
    const dv = v.shape[3]!;
    const N = Math.ceil(n / block);
    const p = N * block - n;
    const blocks = (x: Tensor): Tensor => reshape(p ? pad(x, [[0, 0], [0, 0], [0, p], [0, 0]]) : x, [b, h, N, block, x.shape[3]!]);
    const s = mul(matmulT(blocks(q), blocks(k), false, true), opts.scale ?? 1 / Math.sqrt(d)); // (b, h, N, w, w)
    // within a block: the causal triangle, and never the padding keys past n
    const allowed = new Uint8Array(N * block * block);
    for (let t = 0; t < N; t++) for (let i = 0; i < block; i++) for (let j = 0; j < block; j++) allowed[(t * block + i) * block + j] = t * block + j < n && (!opts.causal || j <= i) ? 1 : 0;
    const pAttn = maskedSoftmax(s, tensor(allowed, [N, block, block], { dtype: 'bool' }));
    const o = reshape(matmul(pAttn, blocks(v)), [b, h, N * block, dv]);
    return p ? slice(o, [null, null, { stop: n }]) : o;
  });
}

export interface DiagAttentionOptions {
  key: Key;
  heads: number;
  headDim?: number;
  /** block length w (default 64) */
  block?: number;
  causal?: boolean;
  bias?: boolean;
  dtype?: DType;
}

/** The state of DiagAttention: the keys and values of the current block only. */
export class BlockState extends TensorState<'k' | 'v'> {}

/** DiagAttention as a token mixer. */
export class DiagAttention extends Module implements Mixer<BlockState> {
  readonly config: Readonly<{ dModel: number; heads: number; headDim: number; block: number; causal: boolean }>;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;

  constructor(dModel: number, opts: DiagAttentionOptions) {
    super();
    const headDim = opts.headDim ?? dModel / opts.heads;
    if (!Number.isInteger(headDim) || headDim < 1) throw new Error(`DiagAttention: dModel ${dModel} does not split into ${opts.heads} heads; pass headDim`);
    const block = opts.block ?? 64;
    if (!Number.isInteger(block) || block < 1) throw new Error(`DiagAttention: block must be a positive integer, got ${block}`);
    this.config = { dModel, heads: opts.heads, headDim, block, causal: opts.causal ?? true };
    const [k1, k2, k3, k4] = splitKey(opts.key, 4);
    const lin = { bias: opts.bias ?? false, dtype: opts.dtype };
    this.wq = new Linear(dModel, opts.heads * headDim, { key: k1!, ...lin });
    this.wk = new Linear(dModel, opts.heads * headDim, { key: k2!, ...lin });
    this.wv = new Linear(dModel, opts.heads * headDim, { key: k3!, ...lin });
    this.wo = new Linear(opts.heads * headDim, dModel, { key: k4!, ...lin });
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkSequence('DiagAttention', x, this.dModel);
    return tidy(() => {
      const h = this.config.heads;
      const [q, k, v] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x), h));
      return this.wo.forward(mergeHeads(blockDiagonalAttention(q!, k!, v!, this.config.block, { causal: this.causal })));
    });
  }

  initState(batch: number): BlockState {
    const { heads, headDim } = this.config;
    const dtype = this.wq.weight.dtype;
    return tidy(() => new BlockState({ k: tensor(new Float64Array(0), [batch, heads, 0, headDim], { dtype }), v: tensor(new Float64Array(0), [batch, heads, 0, headDim], { dtype }) }, 0));
  }

  step(x: Tensor, state: BlockState): [Tensor, BlockState] {
    checkToken('DiagAttention.step', x, this.dModel);
    state.assertLive('DiagAttention.step');
    if (!this.causal) throw new Error('DiagAttention: incremental decoding needs a causal mixer');
    const fresh = state.position % this.config.block === 0; // a new block starts: forget the last one
    const [y, k, v] = tidy(() => {
      const b = x.shape[0]!;
      const x3 = reshape(x, [b, 1, this.dModel]);
      const [q, k1, v1] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x3), this.config.heads));
      const k = fresh ? k1! : concat([state.t.k, k1!], 2);
      const v = fresh ? v1! : concat([state.t.v, v1!], 2);
      const p = maskedSoftmax(mul(matmulT(q!, k, false, true), 1 / Math.sqrt(this.config.headDim)), null);
      return [reshape(this.wo.forward(mergeHeads(matmul(p, v))), [b, this.dModel]), k, v];
    });
    const next = new BlockState({ k, v }, state.position + 1);
    state.dispose();
    return [y, next];
  }
}

/** TransNormer's layer pattern: DiagAttention in the lower half, NormAttention in the upper half. */
export function transNormerLayerKinds(layers: number): ('diag' | 'norm')[] {
  return Array.from({ length: layers }, (_, i) => (i < Math.floor(layers / 2) ? 'diag' : 'norm'));
}

/** The mixers of a TransNormer with `layers` layers (keys split per layer). */
export function transNormerMixers(dModel: number, layers: number, opts: Omit<NormAttentionOptions & DiagAttentionOptions, 'key'> & { key: Key }): (DiagAttention | NormAttention)[] {
  const keys = splitKey(opts.key, layers);
  return transNormerLayerKinds(layers).map((kind, i) => (kind === 'diag' ? new DiagAttention(dModel, { ...opts, key: keys[i]! }) : new NormAttention(dModel, { ...opts, key: keys[i]! })));
}
