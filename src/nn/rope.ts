/**
 * Rotary position embeddings: J. Su et al., "RoFormer: Enhanced Transformer
 * with Rotary Position Embedding", arXiv 2104.09864 (eq. 34). Channel pair i
 * of the query/key at position p is rotated by the angle p·θ_i,
 * θ_i = base^{−2i/r}, so ⟨R_p q, R_s k⟩ depends only on p − s.
 *
 * Two layouts of the pairs are in use, and checkpoints are tied to theirs:
 * - interleaved (the paper, GPT-J, Meta's Llama code): pairs (x₀, x₁), (x₂, x₃), …
 * - half-split (GPT-NeoX, Hugging Face Llama): pairs (x_i, x_{i + r/2}), i.e.
 *   x·cos + rotate_half(x)·sin with rotate_half([x₁, x₂]) = [−x₂, x₁].
 * Only the first r = `rotaryDim` channels rotate (GPT-NeoX's partial rotary);
 * the rest pass through. Positions start at `offset`, the number of tokens
 * already in a KV cache.
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { tensor } from '../ops/creation.js';
import { add, mul, sub } from '../ops/elementwise.js';
import { concat, stack } from '../ops/join.js';
import { slice, split } from '../ops/slice.js';
import { reshape } from '../ops/views.js';
import { Module } from './module.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

export interface RotaryTables {
  /** (n, r/2): cos(p·θ_i) */
  cos: Tensor;
  /** (n, r/2): sin(p·θ_i) */
  sin: Tensor;
}

/** cos and sin of the rotation angles (offset + p)·θ_i for n positions and r rotary channels (r even). */
export function rotaryTables(n: number, rotaryDim: number, opts: { offset?: number; base?: number; dtype?: DType } = {}): RotaryTables {
  const op = 'rotaryTables';
  checkPositiveInt(op, 'n', n);
  checkPositiveInt(op, 'rotaryDim', rotaryDim);
  if (rotaryDim % 2 !== 0) throw new Error(`${op}: rotaryDim must be even (channels rotate in pairs), got ${rotaryDim}`);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${op}: offset must be a non-negative integer, got ${offset}`);
  const base = opts.base ?? 10000;
  const half = rotaryDim / 2;
  const c = new Float64Array(n * half);
  const s = new Float64Array(n * half);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + p) * base ** ((-2 * i) / rotaryDim);
      c[p * half + i] = Math.cos(angle);
      s[p * half + i] = Math.sin(angle);
    }
  }
  return { cos: tensor(c, [n, half], { dtype: opts.dtype }), sin: tensor(s, [n, half], { dtype: opts.dtype }) };
}

/**
 * Rotate x (…, n, d) by the tables of `rotaryTables` (n, r/2), r ≤ d: the
 * first r channels in pairs, interleaved or half-split; the rest unchanged.
 */
export function applyRotary(x: Tensor, tables: RotaryTables, opts: { interleaved?: boolean } = {}): Tensor {
  const op = 'applyRotary';
  checkFloatTensor(op, 'x', x);
  const { cos, sin } = tables;
  checkFloatTensor(op, 'cos', cos);
  checkFloatTensor(op, 'sin', sin);
  if (x.ndim < 2) throw new Error(`${op}: x is ${shapeStr(x.shape)}; expected (…, n, d)`);
  const n = x.shape[x.ndim - 2]!;
  const d = x.shape[x.ndim - 1]!;
  const half = cos.shape[1]!;
  if (cos.ndim !== 2 || cos.shape[0] !== n || sin.ndim !== 2 || sin.shape[0] !== n || sin.shape[1] !== half) throw new Error(`${op}: x is ${shapeStr(x.shape)} but cos is ${shapeStr(cos.shape)} and sin ${shapeStr(sin.shape)}; both must be (n = ${n}, r/2)`);
  const r = 2 * half;
  if (r > d) throw new Error(`${op}: the tables rotate ${r} channels but x ${shapeStr(x.shape)} has ${d}`);
  return tidy(() => {
    const [xr, rest] = r < d ? (split(x, [r, d - r], -1) as [Tensor, Tensor]) : [x, null];
    let out: Tensor;
    if (opts.interleaved) {
      // (…, n, r) → (…, n, r/2, 2): a = x_{2i}, b = x_{2i+1}
      const pairs = reshape(xr, [...xr.shape.slice(0, -1), half, 2]);
      const lead = new Array<null>(pairs.ndim - 1).fill(null);
      const a = slice(pairs, [...lead, 0]);
      const b = slice(pairs, [...lead, 1]);
      const ra = sub(mul(a, cos), mul(b, sin));
      const rb = add(mul(b, cos), mul(a, sin));
      out = reshape(stack([ra, rb], -1), xr.shape);
    } else {
      // a = x_{<r/2}, b = x_{≥r/2}: [a, b]·cos + [−b, a]·sin
      const [a, b] = split(xr, 2, -1) as [Tensor, Tensor];
      out = concat([sub(mul(a, cos), mul(b, sin)), add(mul(b, cos), mul(a, sin))], -1);
    }
    return rest ? concat([out, rest], -1) : out;
  });
}

export interface RotaryOptions {
  /** θ base (default 10000) */
  base?: number;
  /** the paper's interleaved pairs (default false: GPT-NeoX/Llama half-split) */
  interleaved?: boolean;
}

/** RoPE for attention inputs (b, h, n, d); no parameters. `dim` is the number of rotated channels (≤ d). */
export class RotaryEmbedding extends Module {
  readonly config: Readonly<{ dim: number; base: number; interleaved: boolean }>;

  constructor(dim: number, opts: RotaryOptions = {}) {
    super();
    checkPositiveInt('RotaryEmbedding', 'dim', dim);
    if (dim % 2 !== 0) throw new Error(`RotaryEmbedding: dim must be even, got ${dim}`);
    this.config = { dim, base: opts.base ?? 10000, interleaved: opts.interleaved ?? false };
  }

  /** One tensor (…, n, d) at positions offset … offset + n − 1. */
  rotate(x: Tensor, offset = 0): Tensor {
    checkFloatTensor('RotaryEmbedding', 'x', x);
    if (x.ndim < 2) throw new Error(`RotaryEmbedding: x is ${shapeStr(x.shape)}; expected (…, n, d)`);
    const n = x.shape[x.ndim - 2]!;
    return tidy(() => applyRotary(x, rotaryTables(n, this.config.dim, { offset, base: this.config.base, dtype: x.dtype }), { interleaved: this.config.interleaved }));
  }

  /** Queries and keys (b, h, n, d), both at positions offset …; returns [q', k']. */
  forward(q: Tensor, k: Tensor, offset = 0): [Tensor, Tensor] {
    return [this.rotate(q, offset), this.rotate(k, offset)];
  }
}
