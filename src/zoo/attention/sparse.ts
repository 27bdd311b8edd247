/**
 * Sparse attention computed at the cost of its pattern, never by masking a
 * dense square: R. Child, S. Gray, A. Radford, I. Sutskever, "Generating Long
 * Sequences with Sparse Transformers", arXiv 1904.10509, §4.2-4.3, and local
 * (sliding-window) attention. Each query sees a set of keys given by a
 * pattern (masks.ts); the set is split into parts that each have a regular
 * shape, each part is a partial softmax, and the parts merge exactly
 * (partial.ts):
 *
 * - local, window w: query blocks of w attend to their own block and the
 *   previous one (and the next one when not causal) under the band mask:
 *   O(n·w·d);
 * - strided, stride l: the local band i − l < j ≤ i, plus every l-th key
 *   before it, (i − j) mod l = 0 with i − j ≥ l. The second part is causal
 *   attention along each residue class c = i mod l (the sequence viewed as
 *   an (n/l) × l grid, columns attended independently): O(n·(l + n/l)·d),
 *   O(n^1.5·d) at l = √n;
 * - fixed, stride l with c summary positions: the own block (causal), plus
 *   the summary keys j mod l ≥ l − c of earlier blocks: O(n·(l + c·n/l)·d).
 *
 * Naive twin: attentionRef under the dense mask of the same pattern.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { mul } from '../../ops/elementwise.js';
import { concat, pad } from '../../ops/join.js';
import { indexSelect } from '../../ops/indexing.js';
import { matmulT } from '../../ops/matmul.js';
import { shiftAxis } from '../../ops/cumulative.js';
import { slice } from '../../ops/slice.js';
import { permute, reshape } from '../../ops/views.js';
import { splitKey } from '../../ops/random.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import type { Mixer, MixerForwardOptions } from '../mixer.js';
import { attentionRef } from './attention.ref.js';
import { checkSequence, checkToken, mergeHeads, splitHeads, TensorState } from './heads.js';
import { fixedPattern, slidingWindowPattern, stridedPattern, type Pattern } from './masks.js';
import { mergePartials, partialSoftmax, type PartialSoftmax } from './partial.js';

export type SparsePattern = { kind: 'local'; window: number; causal?: boolean } | { kind: 'strided'; stride: number } | { kind: 'fixed'; stride: number; summary: number };

/** The predicate of a pattern (the dense twin's mask). */
export function sparsePredicate(p: SparsePattern): Pattern {
  if (p.kind === 'local') return slidingWindowPattern(p.window, p.causal ?? true);
  if (p.kind === 'strided') return stridedPattern(p.stride);
  return fixedPattern(p.stride, p.summary);
}

const scaleOf = (q: Tensor, scale?: number): number => scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!);

/** Rows (…, N, B, w) of a blocked partial back to (…, n, w). */
function unblock(p: PartialSoftmax, n: number): PartialSoftmax {
  const f = (x: Tensor): Tensor => {
    const s = x.shape;
    const r = reshape(x, [...s.slice(0, -3), s[s.length - 3]! * s[s.length - 2]!, s[s.length - 1]!]);
    return r.shape[r.ndim - 2] === n ? r : slice(r, [...r.shape.slice(0, -2).map(() => null), { stop: n }]);
  };
  return { m: f(p.m), z: f(p.z), y: f(p.y) };
}

/**
 * Band part: query blocks of B rows see key blocks t − before … t + after,
 * restricted to `allowed(i, j)` (and to real keys). q, k, v (b, h, n, ·).
 */
export function bandPartial(q: Tensor, k: Tensor, v: Tensor, B: number, before: number, after: number, allowed: Pattern, scale?: number): PartialSoftmax {
  return tidy(() => {
    const [b, h, n] = q.shape as [number, number, number];
    const N = Math.ceil(n / B);
    const p = N * B - n;
    const blocks = (x: Tensor): Tensor => reshape(p ? pad(x, [[0, 0], [0, 0], [0, p], [0, 0]]) : x, [b, h, N, B, x.shape[3]!]);
    const [qB, kB, vB] = [blocks(q), blocks(k), blocks(v)];
    const offs = Array.from({ length: before + after + 1 }, (_, i) => i - before); // block offsets −before … after
    const gather = (x: Tensor): Tensor => concat(offs.map((o) => (o === 0 ? x : shiftAxis(x, 2, -o))), 3); // (b, h, N, W·B, ·)
    const W = offs.length;
    const mask = new Uint8Array(N * B * W * B);
    for (let t = 0; t < N; t++) {
      for (let i = 0; i < B; i++) {
        for (let w = 0; w < W; w++) {
          for (let j = 0; j < B; j++) {
            const [qi, kj] = [t * B + i, (t + offs[w]!) * B + j];
            mask[((t * B + i) * W + w) * B + j] = qi < n && kj >= 0 && kj < n && allowed(qi, kj) ? 1 : 0;
          }
        }
      }
    }
    const s = mul(matmulT(qB, gather(kB), false, true), scaleOf(q, scale));
    return unblock(partialSoftmax(s, gather(vB), { allowed: tensor(mask, [N, B, W * B], { dtype: 'bool' }) }), n);
  });
}

/** The strided part: keys j ≡ i (mod l) with i − j ≥ l, as causal attention down each residue class. */
function stridedPartial(q: Tensor, k: Tensor, v: Tensor, l: number, scale?: number): PartialSoftmax {
  return tidy(() => {
    const [b, h, n] = q.shape as [number, number, number];
    const N = Math.ceil(n / l);
    const p = N * l - n;
    // position r·l + c → grid (r, c); columns are residue classes: (b, h, l, N, ·)
    const cols = (x: Tensor): Tensor => permute(reshape(p ? pad(x, [[0, 0], [0, 0], [0, p], [0, 0]]) : x, [b, h, N, l, x.shape[3]!]), [0, 1, 3, 2, 4]);
    const mask = new Uint8Array(l * N * N);
    for (let c = 0; c < l; c++) for (let r = 0; r < N; r++) for (let r2 = 0; r2 < r; r2++) mask[(c * N + r) * N + r2] = r * l + c < n ? 1 : 0;
    const part = partialSoftmax(mul(matmulT(cols(q), cols(k), false, true), scaleOf(q, scale)), cols(v), { allowed: tensor(mask, [l, N, N], { dtype: 'bool' }) });
    // back from (b, h, l, N, w) to positions
    const rows = (x: Tensor): Tensor => {
      const r = reshape(permute(x, [0, 1, 3, 2, 4]), [b, h, N * l, x.shape[4]!]);
      return p ? slice(r, [null, null, { stop: n }]) : r;
    };
    return { m: rows(part.m), z: rows(part.z), y: rows(part.y) };
  });
}

/** The fixed pattern's summary part: the last `c` positions of every earlier block. */
function summaryPartial(q: Tensor, k: Tensor, v: Tensor, l: number, c: number, scale?: number): PartialSoftmax {
  return tidy(() => {
    const n = q.shape[2]!;
    const idx: number[] = [];
    for (let j = 0; j < n; j++) if (j % l >= l - c) idx.push(j);
    const at = tensor(Int32Array.from(idx), [idx.length], { dtype: 'i32' });
    const mask = new Uint8Array(n * idx.length);
    for (let i = 0; i < n; i++) idx.forEach((j, t) => (mask[i * idx.length + t] = Math.floor(j / l) < Math.floor(i / l) ? 1 : 0));
    const s = mul(matmulT(q, indexSelect(k, 2, at), false, true), scaleOf(q, scale));
    return partialSoftmax(s, indexSelect(v, 2, at), { allowed: tensor(mask, [n, idx.length], { dtype: 'bool' }) });
  });
}

function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`sparseAttention: ${name} must be a positive integer, got ${v}`);
}

/** Attention of q, k, v (b, h, n, ·) under a sparse pattern, at the pattern's cost. */
export function sparseAttention(q: Tensor, k: Tensor, v: Tensor, pattern: SparsePattern, opts: { scale?: number } = {}): Tensor {
  return tidy(() => {
    if (pattern.kind === 'local') {
      checkPositive('window', pattern.window);
      const causal = pattern.causal ?? true;
      return mergePartials([bandPartial(q, k, v, pattern.window, 1, causal ? 0 : 1, sparsePredicate(pattern), opts.scale)]);
    }
    checkPositive('stride', pattern.stride);
    const l = pattern.stride;
    if (pattern.kind === 'strided') {
      const local = bandPartial(q, k, v, l, 1, 0, (i, j) => j <= i && i - j < l, opts.scale);
      return mergePartials([local, stridedPartial(q, k, v, l, opts.scale)]);
    }
    checkPositive('summary', pattern.summary);
    if (pattern.summary > l) throw new Error(`sparseAttention: summary ${pattern.summary} exceeds the stride ${l}`);
    const own = bandPartial(q, k, v, l, 0, 0, (i, j) => j <= i, opts.scale);
    return mergePartials([own, summaryPartial(q, k, v, l, pattern.summary, opts.scale)]);
  });
}

export interface SparseAttentionOptions {
  key: Key;
  heads: number;
  headDim?: number;
  pattern: SparsePattern;
  bias?: boolean;
  dtype?: DType;
}

/** The KV cache of sparse attention (for a local window only its last w tokens). */
export class SparseCache extends TensorState<'k' | 'v'> {}

/** Sparse (local, strided or fixed) softmax attention as a token mixer. */
export class SparseAttention extends Module implements Mixer<SparseCache> {
  readonly config: Readonly<{ dModel: number; heads: number; headDim: number; pattern: SparsePattern }>;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;

  constructor(dModel: number, opts: SparseAttentionOptions) {
    super();
    const headDim = opts.headDim ?? dModel / opts.heads;
    if (!Number.isInteger(headDim) || headDim < 1) throw new Error(`SparseAttention: dModel ${dModel} does not split into ${opts.heads} heads; pass headDim`);
    this.config = { dModel, heads: opts.heads, headDim, pattern: opts.pattern };
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
    const p = this.config.pattern;
    return p.kind !== 'local' || (p.causal ?? true);
  }

  forward(x: Tensor, _opts: MixerForwardOptions = {}): Tensor {
    checkSequence('SparseAttention', x, this.dModel);
    return tidy(() => {
      const [q, k, v] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x), this.config.heads));
      return this.wo.forward(mergeHeads(sparseAttention(q!, k!, v!, this.config.pattern)));
    });
  }

  initState(batch: number): SparseCache {
    const { heads, headDim } = this.config;
    const dtype = this.wq.weight.dtype;
    return tidy(() => new SparseCache({ k: tensor(new Float64Array(0), [batch, heads, 0, headDim], { dtype }), v: tensor(new Float64Array(0), [batch, heads, 0, headDim], { dtype }) }, 0));
  }

  step(x: Tensor, state: SparseCache): [Tensor, SparseCache] {
    checkToken('SparseAttention.step', x, this.dModel);
    state.assertLive('SparseAttention.step');
    if (!this.causal) throw new Error('SparseAttention: incremental decoding needs a causal pattern');
    const t = state.position;
    const pat = this.config.pattern;
    const allowed = sparsePredicate(pat);
    const [y, K, V] = tidy(() => {
      const b = x.shape[0]!;
      const x3 = reshape(x, [b, 1, this.dModel]);
      const [q, k1, v1] = [this.wq, this.wk, this.wv].map((w) => splitHeads(w.forward(x3), this.config.heads));
      let K = concat([state.t.k, k1!], 2);
      let V = concat([state.t.v, v1!], 2);
      const start = t + 1 - K.shape[2]!; // position of the first cached key
      const row = new Uint8Array(K.shape[2]!);
      row.forEach((_, j) => (row[j] = allowed(t, start + j) ? 1 : 0));
      const o = attentionRef(q!, K, V, { mask: tensor(row, [1, row.length], { dtype: 'bool' }) });
      if (pat.kind === 'local' && K.shape[2]! >= pat.window) {
        // keys older than the window are never seen again
        [K, V] = [K, V].map((w) => slice(w, [null, null, { start: w.shape[2]! - pat.window + 1 }])) as [Tensor, Tensor];
      }
      return [reshape(this.wo.forward(mergeHeads(o)), [b, this.dModel]), K, V];
    });
    const next = new SparseCache({ k: K, v: V }, t + 1);
    state.dispose();
    return [y, next];
  }
}
