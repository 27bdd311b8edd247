/**
 * Multi-head softmax attention as a token mixer: A. Vaswani et al.,
 * "Attention Is All You Need", arXiv 1706.03762, §3.2.2:
 *
 *   MultiHead(X) = Concat(head₁, …, head_h) W_O,
 *   head_i = softmax(Q_i K_iᵀ/√d + M) V_i,  Q_i = X W_Q^i, K_i = X W_K^i, V_i = X W_V^i,
 *
 * with grouped-query heads (Ainslie et al. 2023, arXiv 2305.13245: h_kv
 * key/value heads shared by h/h_kv query heads each; h_kv = 1 is multi-query
 * attention, Shazeer 2019, arXiv 1911.02150), rotary position embeddings
 * (Su et al., arXiv 2104.09864), optional QK-normalisation (RMSNorm on each
 * query and key head before the product, as in SD3, Esser et al. 2024, arXiv
 * 2403.03206 §5.3.2), dropout on the weights, a key padding mask, and a KV
 * cache for decoding.
 *
 * Decoding: `step` appends one token's key and value to the cache and attends
 * over it; `extend` appends m tokens at once, optionally as a tree of
 * candidates (Medusa, Cai et al. 2024, arXiv 2401.10774 §2.1.2: each
 * candidate sees the cache and its own ancestors, at position cache + depth),
 * and `KVCache.select` keeps the tokens of an accepted path.
 *
 * The full pass runs FlashAttention (flash.ts) for float32 when nothing but
 * the causal mask applies, and the naive twin (attention.ref.ts) otherwise.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { concat } from '../../ops/join.js';
import { indexSelect } from '../../ops/indexing.js';
import { reshape } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { RMSNorm } from '../../nn/norm.js';
import { applyRotary, type RotaryTables } from '../../nn/rope.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { attentionRef, attentionWeights, type AttentionOptions } from './attention.ref.js';
import { flashAttention } from './flash.js';
import { checkSequence, checkToken, mergeHeads, splitHeads, TensorState } from './heads.js';
import { treeDepths, treeMask } from './masks.js';

export interface MultiHeadAttentionOptions {
  key: Key;
  /** query heads */
  heads: number;
  /** key/value heads (default `heads`; 1 = multi-query) */
  kvHeads?: number;
  /** width of a head (default dModel/heads) */
  headDim?: number;
  /** default true */
  causal?: boolean;
  /** rotary embeddings on q and k (default true); `ropeDim` channels rotate (default headDim) */
  rope?: boolean;
  ropeBase?: number;
  ropeDim?: number;
  /** RMSNorm on each query and key head (default false) */
  qkNorm?: boolean;
  /** dropout rate on the attention weights in training (default 0) */
  dropout?: number;
  /** biases on the projections (default false) */
  bias?: boolean;
  /** 'flash', 'naive', or 'auto' (flash for float32 when no mask or dropout applies) */
  impl?: 'auto' | 'flash' | 'naive';
  dtype?: DType;
}

/** The KV cache: k, v (b, h_kv, t, d) for the t tokens seen so far. */
export class KVCache extends TensorState<'k' | 'v'> {
  get length(): number {
    return this.t.k.shape[2]!;
  }

  /** A cache with only the tokens at `positions` (in that order), e.g. the prefix plus an accepted tree path. Consumes this cache. */
  select(positions: readonly number[]): KVCache {
    this.assertLive('KVCache.select');
    positions.forEach((p) => {
      if (!Number.isInteger(p) || p < 0 || p >= this.length) throw new Error(`KVCache.select: position ${p} is outside the cache of ${this.length} tokens`);
    });
    const next = tidy(() => {
      const idx = tensor(Int32Array.from(positions), [positions.length], { dtype: 'i32' });
      return new KVCache({ k: indexSelect(this.t.k, 2, idx), v: indexSelect(this.t.v, 2, idx) }, positions.length);
    });
    this.dispose();
    return next;
  }
}

export interface ExtendOptions {
  /** a tree of candidates: parents[i] < i, or −1 for children of the last cached token */
  parents?: readonly number[];
}

export class MultiHeadAttention extends Module implements Mixer<KVCache> {
  readonly config: Readonly<{ dModel: number; heads: number; kvHeads: number; headDim: number; causal: boolean; rope: boolean; ropeBase: number; ropeDim: number; qkNorm: boolean; dropout: number; impl: 'auto' | 'flash' | 'naive' }>;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;
  qNorm: RMSNorm | null;
  kNorm: RMSNorm | null;

  constructor(dModel: number, opts: MultiHeadAttentionOptions) {
    super();
    const heads = opts.heads;
    const kvHeads = opts.kvHeads ?? heads;
    if (!Number.isInteger(heads) || heads < 1) throw new Error(`MultiHeadAttention: heads must be a positive integer, got ${heads}`);
    if (!Number.isInteger(kvHeads) || kvHeads < 1 || heads % kvHeads !== 0) throw new Error(`MultiHeadAttention: kvHeads ${kvHeads} must divide heads ${heads}`);
    const headDim = opts.headDim ?? dModel / heads;
    if (!Number.isInteger(headDim) || headDim < 1) throw new Error(`MultiHeadAttention: dModel ${dModel} is not divisible by ${heads} heads; pass headDim`);
    const ropeDim = opts.ropeDim ?? headDim;
    if ((opts.rope ?? true) && (ropeDim % 2 !== 0 || ropeDim > headDim)) throw new Error(`MultiHeadAttention: ropeDim ${ropeDim} must be even and ≤ headDim ${headDim}`);
    this.config = {
      dModel, heads, kvHeads, headDim, causal: opts.causal ?? true, rope: opts.rope ?? true, ropeBase: opts.ropeBase ?? 10000, ropeDim,
      qkNorm: opts.qkNorm ?? false, dropout: opts.dropout ?? 0, impl: opts.impl ?? 'auto',
    };
    const [k1, k2, k3, k4] = splitKey(opts.key, 4);
    const lin = { bias: opts.bias ?? false, dtype: opts.dtype };
    this.wq = new Linear(dModel, heads * headDim, { key: k1!, ...lin });
    this.wk = new Linear(dModel, kvHeads * headDim, { key: k2!, ...lin });
    this.wv = new Linear(dModel, kvHeads * headDim, { key: k3!, ...lin });
    this.wo = new Linear(heads * headDim, dModel, { key: k4!, ...lin });
    this.qNorm = this.config.qkNorm ? new RMSNorm(headDim, { dtype: opts.dtype }) : null;
    this.kNorm = this.config.qkNorm ? new RMSNorm(headDim, { dtype: opts.dtype }) : null;
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  /** cos/sin tables of the rotary angles at arbitrary positions. */
  private rotary(positions: readonly number[], dtype: DType): RotaryTables {
    const { ropeDim: r, ropeBase: base } = this.config;
    const half = r / 2;
    const c = new Float64Array(positions.length * half);
    const s = new Float64Array(positions.length * half);
    positions.forEach((p, t) => {
      for (let i = 0; i < half; i++) {
        const angle = p * base ** ((-2 * i) / r);
        c[t * half + i] = Math.cos(angle);
        s[t * half + i] = Math.sin(angle);
      }
    });
    return { cos: tensor(c, [positions.length, half], { dtype }), sin: tensor(s, [positions.length, half], { dtype }) };
  }

  /** Project x (b, n, d) to q (b, h, n, hd), k and v (b, h_kv, n, hd), normalised and rotated at `positions`. */
  private project(x: Tensor, positions: readonly number[]): [Tensor, Tensor, Tensor] {
    const { heads, kvHeads } = this.config;
    let q = splitHeads(this.wq.forward(x), heads);
    let k = splitHeads(this.wk.forward(x), kvHeads);
    const v = splitHeads(this.wv.forward(x), kvHeads);
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    if (this.config.rope) {
      const tables = this.rotary(positions, x.dtype);
      q = applyRotary(q, tables);
      k = applyRotary(k, tables);
    }
    return [q, k, v];
  }

  private attend(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
    const dropping = this.training && this.config.dropout > 0;
    const plain = !opts.mask && !opts.keyPadding && !dropping;
    const impl = this.config.impl;
    if (impl === 'flash' && !plain) throw new Error("MultiHeadAttention: impl 'flash' supports the causal mask only (no padding, tree mask or dropout)");
    if (impl === 'flash' || (impl === 'auto' && plain && q.dtype === 'f32')) return flashAttention(q, k, v, { causal: opts.causal });
    return attentionRef(q, k, v, { ...opts, dropout: dropping ? this.config.dropout : 0 });
  }

  /** (b, n, d) → (b, n, d); `padding` (b, n) masks padded keys; `key` drives dropout in training. */
  forward(x: Tensor, opts: MixerForwardOptions = {}): Tensor {
    checkSequence('MultiHeadAttention', x, this.dModel);
    return tidy(() => {
      const n = x.shape[1]!;
      const [q, k, v] = this.project(x, Array.from({ length: n }, (_, i) => i));
      const o = this.attend(q, k, v, { causal: this.causal, keyPadding: opts.padding, key: opts.key });
      return this.wo.forward(mergeHeads(o));
    });
  }

  /**
   * The attention weights of the full pass over x (b, n, d): per query head,
   * P = softmax(Q Kᵀ/√d + M) (b, h, n, n), row i the distribution of query i
   * over the keys (M the causal mask and `padding`, as in `forward`; no
   * dropout). Computed by the naive twin whatever `impl` says, from the same
   * projections, QK-norm and rotary embeddings as `forward`, so
   * `wo(merge(P V))` reproduces the forward output (FlashAttention computes
   * the same softmax without storing it). For inspection (attention maps);
   * `forward` is untouched and never forms P when it runs flash.
   */
  attentionWeights(x: Tensor, opts: Pick<MixerForwardOptions, 'padding'> = {}): Tensor {
    checkSequence('MultiHeadAttention.attentionWeights', x, this.dModel);
    return tidy(() => {
      const n = x.shape[1]!;
      const [q, k] = this.project(x, Array.from({ length: n }, (_, i) => i));
      return attentionWeights(q, k, { causal: this.causal, keyPadding: opts.padding });
    });
  }

  initState(batch: number): KVCache {
    const { kvHeads, headDim } = this.config;
    const dtype = this.wq.weight.dtype;
    return tidy(() => new KVCache({ k: tensor(new Float64Array(0), [batch, kvHeads, 0, headDim], { dtype }), v: tensor(new Float64Array(0), [batch, kvHeads, 0, headDim], { dtype }) }, 0));
  }

  /** One token x (b, d): attends over the cache and itself; consumes `state`. */
  step(x: Tensor, state: KVCache): [Tensor, KVCache] {
    checkToken('MultiHeadAttention.step', x, this.dModel);
    const x3 = reshape(x, [x.shape[0]!, 1, this.dModel]);
    try {
      const [y, next] = this.extend(x3, state);
      const out = reshape(y, [x.shape[0]!, this.dModel]);
      y.dispose();
      return [out, next];
    } finally {
      x3.dispose();
    }
  }

  /**
   * Append m tokens x (b, m, d) to the cache and return their outputs. Without
   * `parents` the tokens are a continuation (token i sees the cache and tokens
   * ≤ i); with `parents` they are a tree of candidates. Consumes `state`.
   */
  extend(x: Tensor, state: KVCache, opts: ExtendOptions = {}): [Tensor, KVCache] {
    checkSequence('MultiHeadAttention.extend', x, this.dModel);
    state.assertLive('MultiHeadAttention.extend');
    if (!this.causal) throw new Error('MultiHeadAttention: incremental decoding needs a causal mixer');
    const m = x.shape[1]!;
    const t0 = state.position;
    const depth = opts.parents ? treeDepths(opts.parents) : Array.from({ length: m }, (_, i) => i);
    if (opts.parents && opts.parents.length !== m) throw new Error(`MultiHeadAttention.extend: parents has ${opts.parents.length} entries for ${m} tokens`);
    const [y, kAll, vAll] = tidy(() => {
      const [q, k, v] = this.project(x, depth.map((dd) => t0 + dd));
      const kAll = t0 > 0 ? concat([state.t.k, k], 2) : k;
      const vAll = t0 > 0 ? concat([state.t.v, v], 2) : v;
      let o: Tensor;
      if (opts.parents) {
        // candidates see the whole cache and their ancestors in the tree
        const tree = treeMask(opts.parents);
        const mask = t0 > 0 ? concat([tensor(new Uint8Array(m * t0).fill(1), [m, t0], { dtype: 'bool' }), tree], 1) : tree;
        o = attentionRef(q, kAll, vAll, { mask });
      } else o = this.attend(q, kAll, vAll, { causal: true });
      return [this.wo.forward(mergeHeads(o)), kAll, vAll];
    });
    state.dispose();
    return [y, new KVCache({ k: kAll, v: vAll }, t0 + m)];
  }
}
