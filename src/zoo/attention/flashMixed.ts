/**
 * FLASH, the linear-time model of W. Hua et al., "Transformer Quality in
 * Linear Time", arXiv 2202.10447, §3 ("mixed chunk attention", Code 8). Not to
 * be confused with FlashAttention (flash.ts).
 *
 * The sequence is cut into chunks of c tokens. From the GAU's shared Z come
 * four scale-offset transforms: quadratic q̂, k̂ and linear q̄, k̄. Chunk g's
 * output mixes
 *
 *   quadratic, inside the chunk:   Q_g = relu²(q̂_g k̂_gᵀ/c + b) V_g   (causal: j ≤ i)
 *   linear, across chunks:         L_g = q̄_g (Σ_h k̄_hᵀ V_h)/L
 *                                  (causal: h < g, a cumulative sum of chunk states;
 *                                   otherwise every chunk)
 *   O = (U ∘ (Q + L)) W_o,
 *
 * cost O(n·c·s + n·s·e). L is a fixed `maxLength` when causal (the paper's n,
 * fixed so decoding matches the full pass) and n otherwise.
 *
 * Naive twin: `mixedChunkAttentionDirect` (flashMixed.ref.ts) forms the same
 * mixed (n, n) weight matrix entry by entry. Decoding keeps the linear state
 * of finished chunks plus the current chunk's keys: O(c·s + s·e) state.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { tensor, zeros } from '../../ops/creation.js';
import { add, mul, relu, square } from '../../ops/elementwise.js';
import { concat, pad, tril } from '../../ops/join.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { cumsum, shiftAxis } from '../../ops/cumulative.js';
import { slice } from '../../ops/slice.js';
import { identity, reshape, squeeze, unsqueeze } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { checkSequence, checkToken, TensorState } from './heads.js';
import { GauProjections, RelativeBias, ScaleOffset, range, type GauOptions } from './gau.js';

export interface MixedChunkOptions {
  chunk: number;
  causal: boolean;
  /** L of the linear part */
  linearScale: number;
  /** the (c, c) relative bias inside a chunk (added to q̂k̂ᵀ/c), or null */
  bias: Tensor | null;
}

/**
 * Mixed chunk attention of the transformed Z's: qq, qk, lq, lk (b, n, s), v
 * (b, n, e) → (b, n, e) (before the U gate). n need not be a multiple of c.
 */
export function mixedChunkAttention(qq: Tensor, qk: Tensor, lq: Tensor, lk: Tensor, v: Tensor, o: MixedChunkOptions): Tensor {
  return tidy(() => {
    const [b, n] = v.shape as [number, number];
    const c = o.chunk;
    const N = Math.ceil(n / c);
    const p = N * c - n;
    // zero padding: padded values are 0, so padded keys add nothing to either part
    const chunks = (x: Tensor): Tensor => reshape(p ? pad(x, [[0, 0], [0, p], [0, 0]]) : x, [b, N, c, x.shape[2]!]);
    const [Qq, Qk, Lq, Lk, V] = [qq, qk, lq, lk, v].map(chunks) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    let s = mul(matmulT(Qq, Qk, false, true), 1 / c); // (b, N, c, c)
    if (o.bias) s = add(s, o.bias);
    let A = square(relu(s));
    if (o.causal) A = tril(A);
    const quad = matmul(A, V); // (b, N, c, e)
    const states = matmulT(Lk, V, true, false); // (b, N, s, e): k̄_gᵀ V_g per chunk
    const lin = o.causal
      ? matmul(Lq, shiftAxis(cumsum(states, 1), 1, 1)) // earlier chunks only
      : matmul(Lq, unsqueeze(sumChunks(states), 1)); // every chunk
    const out = reshape(add(quad, mul(lin, 1 / o.linearScale)), [b, N * c, v.shape[2]!]);
    return p ? slice(out, [null, { stop: n }]) : out;
  });
}

function sumChunks(states: Tensor): Tensor {
  return squeeze(slice(cumsum(states, 1), [null, { start: -1 }]), 1);
}

export interface FlashMixerOptions extends GauOptions {
  /** chunk length c (default 64) */
  chunk?: number;
}

/** FLASH's decoding state: the linear state S (b, s, e) of finished chunks, and the current chunk's k̂, k̄, V. */
export class FlashState extends TensorState<'S' | 'qk' | 'lk' | 'v'> {}

/** FLASH as a token mixer. */
export class FLASH extends Module implements Mixer<FlashState> {
  readonly config: Readonly<{ dModel: number; e: number; s: number; chunk: number; causal: boolean; maxLength: number }>;
  proj: GauProjections;
  /** q̂, k̂, q̄, k̄ */
  qk: ScaleOffset;
  bias: RelativeBias;
  wo: Linear;

  constructor(dModel: number, opts: FlashMixerOptions) {
    super();
    const e = Math.round((opts.expansion ?? 2) * dModel);
    const s = opts.s ?? 128;
    const chunk = opts.chunk ?? 64;
    if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`FLASH: chunk must be a positive integer, got ${chunk}`);
    this.config = { dModel, e, s, chunk, causal: opts.causal ?? true, maxLength: opts.maxLength ?? 512 };
    const [k1, k2, k3] = splitKey(opts.key, 3);
    this.proj = new GauProjections(dModel, e, s, k1!, opts.dtype);
    this.qk = new ScaleOffset(4, s, k2!, opts.dtype);
    this.bias = new RelativeBias(opts.maxRelative ?? chunk, opts.dtype);
    this.wo = new Linear(e, dModel, { key: k3!, dtype: opts.dtype });
  }

  get dModel(): number {
    return this.config.dModel;
  }
  get causal(): boolean {
    return this.config.causal;
  }

  /** U, V and the four transforms of Z for x (b, n, d). */
  parts(x: Tensor): { u: Tensor; v: Tensor; qq: Tensor; qk: Tensor; lq: Tensor; lk: Tensor } {
    const [u, v, z] = this.proj.forward(x);
    const [qq, qk, lq, lk] = this.qk.forward(z) as [Tensor, Tensor, Tensor, Tensor];
    return { u, v, qq, qk, lq, lk };
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkSequence('FLASH', x, this.dModel);
    return tidy(() => {
      const n = x.shape[1]!;
      const { u, v, qq, qk, lq, lk } = this.parts(x);
      const c = this.config.chunk;
      const pos = range(0, c);
      const mixed = mixedChunkAttention(qq, qk, lq, lk, v, { chunk: c, causal: this.causal, linearScale: this.causal ? this.config.maxLength : n, bias: this.bias.matrix(pos, pos) });
      return this.wo.forward(mul(u, mixed));
    });
  }

  initState(batch: number): FlashState {
    const { e, s } = this.config;
    const dtype = this.wo.weight.dtype;
    const empty = (w: number): Tensor => tensor(new Float64Array(0), [batch, 0, w], { dtype });
    return tidy(() => new FlashState({ S: zeros([batch, s, e], { dtype }), qk: empty(s), lk: empty(s), v: empty(e) }, 0));
  }

  step(x: Tensor, state: FlashState): [Tensor, FlashState] {
    checkToken('FLASH.step', x, this.dModel);
    state.assertLive('FLASH.step');
    if (!this.causal) throw new Error('FLASH: incremental decoding needs a causal mixer');
    const { chunk: c, maxLength: L } = this.config;
    const t = state.position;
    const r = t % c; // index inside the current chunk
    const next = tidy(() => {
      let { S, qk: K, lk: LK, v: V } = state.t;
      const p = this.parts(unsqueeze(x, 1));
      if (r === 0) {
        // a new chunk: fold the finished one's k̄ᵀV into the linear state and start afresh
        if (t > 0) S = add(S, matmulT(LK, V, true, false));
        [K, LK, V] = [p.qk, p.lk, p.v];
      } else [K, LK, V] = [concat([K, p.qk], 1), concat([LK, p.lk], 1), concat([V, p.v], 1)];
      const A = square(relu(add(mul(matmulT(p.qq, K, false, true), 1 / c), this.bias.matrix([r], range(0, r + 1)))));
      const mixed = add(matmul(A, V), mul(matmul(p.lq, S), 1 / L));
      const y = squeeze(this.wo.forward(mul(p.u, mixed)), 1);
      return { y, S, K, LK, V };
    });
    const out = new FlashState({ S: next.S === state.t.S ? identity(next.S) : next.S, qk: next.K, lk: next.LK, v: next.V }, t + 1);
    state.dispose();
    return [next.y, out];
  }
}
