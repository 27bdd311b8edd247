/**
 * Transformer-VQ's attention as a token mixer (Lingle, arXiv 2309.16354):
 * projections, per-head codebooks learned by EMA, the linear-time block form
 * (vq.ts) for the full pass and its recurrence for decoding.
 *
 * Decoding state: the exact keys K̂ and values of the current and previous
 * block (at most 2L tokens) with their one-hot codes, and the compressive
 * cache (U, counts) of everything older. When a block starts, the block two
 * back leaves the exact window and is folded into the cache, so step() sees
 * the same keys as the block form: O(L + S) state, O((L + S)·d) per token.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor, zeros, ones } from '../../ops/creation.js';
import { add, div, mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { matmulT } from '../../ops/matmul.js';
import { concat } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { reshape, unsqueeze } from '../../ops/views.js';
import { normal, splitKey } from '../../ops/random.js';
import { noGrad } from '../../autodiff/tape.js';
import { Module, param } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { checkSequence, checkToken, mergeHeads, splitHeads, TensorState } from './heads.js';
import { commitmentLoss, quantizeKeys, vqAttention, vqStepAttention } from './vq.js';

export interface TransformerVQOptions {
  key: Key;
  heads: number;
  headDim?: number;
  /** codebook size S (default 64) */
  codes?: number;
  /** block length L (default 64) */
  block?: number;
  causal?: boolean;
  /** commitment weight β (default 0.25) */
  beta?: number;
  /** EMA decay γ of the codebook statistics (default 0.99) */
  decay?: number;
  dtype?: DType;
}

/** Decoding state: exact window (k̂, v, one-hot codes of the last ≤ 2L tokens) and the cache (U, counts). */
export class VQState extends TensorState<'k' | 'v' | 'codes' | 'U' | 'counts'> {}

export class TransformerVQ extends Module implements Mixer<VQState> {
  readonly config: Readonly<{ dModel: number; heads: number; headDim: number; codes: number; block: number; causal: boolean; beta: number; decay: number }>;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;
  /** (h, S, dk) codebook, EMA-learned (no gradient) */
  codebook: Tensor;
  /** (h, S) EMA of the per-code counts */
  emaCounts: Tensor;
  /** (h, S, dk) EMA of the per-code sums of keys */
  emaSums: Tensor;

  constructor(dModel: number, opts: TransformerVQOptions) {
    super();
    const headDim = opts.headDim ?? dModel / opts.heads;
    if (!Number.isInteger(headDim) || headDim < 1) throw new Error(`TransformerVQ: dModel ${dModel} does not split into ${opts.heads} heads; pass headDim`);
    this.config = {
      dModel, heads: opts.heads, headDim, codes: opts.codes ?? 64, block: opts.block ?? 64, causal: opts.causal ?? true,
      beta: opts.beta ?? 0.25, decay: opts.decay ?? 0.99,
    };
    const [k1, k2, k3, k4, k5] = splitKey(opts.key, 5);
    const hd = opts.heads * headDim;
    const dt = { dtype: opts.dtype };
    this.wq = new Linear(dModel, hd, { key: k1!, bias: false, ...dt });
    this.wk = new Linear(dModel, hd, { key: k2!, bias: false, ...dt });
    this.wv = new Linear(dModel, hd, { key: k3!, bias: false, ...dt });
    this.wo = new Linear(hd, dModel, { key: k4!, bias: false, ...dt });
    const { heads: h, codes: S } = this.config;
    this.codebook = param(normal(k5!, [h, S, headDim], dt), false);
    this.emaCounts = param(ones([h, S], dt), false);
    this.emaSums = param(tidy(() => add(this.codebook, 0)), false);
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  /** The output and the commitment loss β‖K − sg(K̂)‖²; in training mode the codebook takes one EMA step. */
  forwardWithLoss(x: Tensor): { y: Tensor; commitLoss: Tensor } {
    checkSequence('TransformerVQ', x, this.dModel);
    const r = tidy(() => {
      const h = this.config.heads;
      const [q, k, v] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x), h)) as [Tensor, Tensor, Tensor];
      const { onehot, kHat } = quantizeKeys(k, this.codebook);
      const o = vqAttention(q, kHat, onehot, this.codebook, v, { causal: this.causal, block: this.config.block });
      if (this.training) this.emaUpdate(k, onehot);
      return { y: this.wo.forward(mergeHeads(o)), commitLoss: commitmentLoss(k, kHat, this.config.beta) };
    });
    return r;
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    const { y, commitLoss } = this.forwardWithLoss(x);
    commitLoss.dispose();
    return y;
  }

  /** N ← γN + (1 − γ)n, m ← γm + (1 − γ)Σ k, C = m/N (Laplace-smoothed counts). */
  emaUpdate(k: Tensor, onehot: Tensor): void {
    const { decay: g, codes: S } = this.config;
    const [counts, sums, C] = noGrad(() =>
      tidy(() => {
        const n = sum(onehot, [0, 2]); // (h, S)
        const s = sum(matmulT(onehot, k.detach(), true, false), 0); // (h, S, dk)
        const N = add(mul(this.emaCounts, g), mul(n, 1 - g));
        const m = add(mul(this.emaSums, g), mul(s, 1 - g));
        const total = sum(N, -1, true);
        const eps = 1e-5;
        const smoothed = mul(div(add(N, eps), add(total, S * eps)), total);
        return [N, m, div(m, unsqueeze(smoothed, -1))];
      }),
    );
    for (const [name, t] of [['emaCounts', counts], ['emaSums', sums], ['codebook', C]] as const) {
      this[name].dispose();
      this[name] = param(t!, false);
    }
  }

  initState(batch: number): VQState {
    const { heads: h, headDim: d, codes: S } = this.config;
    const dtype = this.wq.weight.dtype;
    const empty = (w: number): Tensor => tensor(new Float64Array(0), [batch, h, 0, w], { dtype });
    return tidy(() => new VQState({ k: empty(d), v: empty(d), codes: empty(S), U: zeros([batch, h, S, d], { dtype }), counts: zeros([batch, h, S], { dtype }) }, 0));
  }

  step(x: Tensor, state: VQState): [Tensor, VQState] {
    checkToken('TransformerVQ.step', x, this.dModel);
    state.assertLive('TransformerVQ.step');
    if (!this.causal) throw new Error('TransformerVQ: incremental decoding needs a causal mixer');
    const { block: L, heads: h, headDim: d } = this.config;
    const t = state.position;
    const next = tidy(() => {
      let { k: K, v: V, codes: D, U, counts } = state.t;
      if (t % L === 0 && t >= 2 * L) {
        // block ⌊t/L⌋ starts: block ⌊t/L⌋ − 2 (the oldest L tokens of the window) moves into the cache
        const [oldD, oldV] = [slice(D, [null, null, { stop: L }]), slice(V, [null, null, { stop: L }])];
        U = add(U, matmulT(oldD, oldV, true, false));
        counts = add(counts, sum(oldD, -2));
        [K, V, D] = [K, V, D].map((w) => slice(w, [null, null, { start: L }])) as [Tensor, Tensor, Tensor];
      }
      const x3 = reshape(x, [x.shape[0]!, 1, this.dModel]);
      const [q, k, v] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x3), h)) as [Tensor, Tensor, Tensor];
      const { onehot, kHat } = quantizeKeys(k, this.codebook);
      [K, V, D] = [concat([K, kHat], 2), concat([V, v], 2), concat([D, onehot], 2)];
      const o = vqStepAttention(q, K, V, this.codebook, U, counts, 1 / Math.sqrt(d));
      const y = reshape(this.wo.forward(mergeHeads(o)), [x.shape[0]!, this.dModel]);
      return { y, K, V, D, U: U === state.t.U ? add(U, 0) : U, counts: counts === state.t.counts ? add(counts, 0) : counts };
    });
    const out = new VQState({ k: next.K, v: next.V, codes: next.D, U: next.U, counts: next.counts }, t + 1);
    state.dispose();
    return [next.y, out];
  }
}
