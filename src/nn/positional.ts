/**
 * Absolute and relative position information for attention models.
 * - Sinusoidal: A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017,
 *   arXiv 1706.03762 (§3.5): PE(p, 2i) = sin(p/10000^{2i/d}), PE(p, 2i+1) = cos(…).
 * - Learned absolute positions (GPT/BERT): a trainable (maxLen, d) table.
 * - ALiBi: O. Press, N. A. Smith, M. Lewis, "Train Short, Test Long: Attention
 *   with Linear Biases Enables Input Length Extrapolation", arXiv 2108.12409
 *   (§3): add −m_h·(i − j) to the attention logits of head h; the slopes m_h are
 *   a geometric sequence starting at 2^{−8/h}, with the paper's rule for head
 *   counts that are not powers of two.
 * - 2-D sin-cos for image patches (MAE, K. He et al., arXiv 2111.06377; as
 *   used by DiT and SD3): half the channels encode the column, half the row,
 *   each a 1-D embedding [sin(p·ω), cos(p·ω)], ω_k = 1/10000^{k/(D/4)}.
 * Tables are computed in float64 and rounded once to the dtype asked for.
 */
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { tensor } from '../ops/creation.js';
import { add } from '../ops/elementwise.js';
import { slice } from '../ops/slice.js';
import { Module, param } from './module.js';
import { normal } from './init.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

function checkOffset(op: string, offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new Error(`${op}: offset must be a non-negative integer, got ${String(offset)}`);
  return offset;
}

/** The Vaswani table (n, d) for positions offset … offset + n − 1: sin on even channels, cos on odd ones. */
export function sinusoidalPositions(n: number, d: number, opts: { offset?: number; base?: number; dtype?: DType } = {}): Tensor {
  const op = 'sinusoidalPositions';
  if (!Number.isInteger(n) || n < 0) throw new Error(`${op}: n must be a non-negative integer, got ${n}`);
  checkPositiveInt(op, 'd', d);
  const offset = checkOffset(op, opts.offset ?? 0);
  const base = opts.base ?? 10000;
  const v = new Float64Array(n * d);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < d; c++) {
      const i2 = c - (c % 2); // 2i
      const angle = (offset + p) / base ** (i2 / d);
      v[p * d + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tensor(v, [n, d], { dtype: opts.dtype });
}

function checkSeq(op: string, x: Tensor, d: number): number {
  checkFloatTensor(op, 'x', x);
  if (x.ndim < 2 || x.shape[x.ndim - 1] !== d) throw new Error(`${op}: x is ${shapeStr(x.shape)}; expected (…, n, ${d})`);
  return x.shape[x.ndim - 2]!;
}

/** Adds the sinusoidal table to x (…, n, d); no parameters. */
export class SinusoidalPositionalEncoding extends Module {
  readonly config: Readonly<{ dim: number; base: number }>;

  constructor(dim: number, opts: { base?: number } = {}) {
    super();
    this.config = { dim: checkPositiveInt('SinusoidalPositionalEncoding', 'dim', dim), base: opts.base ?? 10000 };
  }

  /** x (…, n, d) + PE[offset : offset + n] */
  forward(x: Tensor, offset = 0): Tensor {
    const n = checkSeq('SinusoidalPositionalEncoding', x, this.config.dim);
    return tidy(() => add(x, sinusoidalPositions(n, this.config.dim, { offset, base: this.config.base, dtype: x.dtype })));
  }
}

/** A learned table `weight` (maxLen, dim), N(0, std²) (default std 0.02, as GPT-2 and BERT), added to x. */
export class LearnedPositionalEmbedding extends Module {
  readonly config: Readonly<{ maxLen: number; dim: number }>;
  weight: Tensor;

  constructor(maxLen: number, dim: number, opts: { key: Key; std?: number; dtype?: DType }) {
    super();
    checkPositiveInt('LearnedPositionalEmbedding', 'maxLen', maxLen);
    checkPositiveInt('LearnedPositionalEmbedding', 'dim', dim);
    this.config = { maxLen, dim };
    this.weight = param(normal(opts.key, [maxLen, dim], { std: opts.std ?? 0.02, dtype: opts.dtype }));
  }

  /** x (…, n, d) + weight[offset : offset + n] */
  forward(x: Tensor, offset = 0): Tensor {
    const op = 'LearnedPositionalEmbedding';
    const n = checkSeq(op, x, this.config.dim);
    checkOffset(op, offset);
    if (offset + n > this.config.maxLen) throw new Error(`${op}: positions ${offset}…${offset + n - 1} exceed the table of ${this.config.maxLen} positions`);
    return tidy(() => add(x, slice(this.weight, [{ start: offset, stop: offset + n }])));
  }
}

// ---- ALiBi ---------------------------------------------------------------------------------

/** The ALiBi slope of each of `heads` heads (Press et al., §3 and their reference code). */
export function alibiSlopes(heads: number): number[] {
  checkPositiveInt('alibiSlopes', 'heads', heads);
  const pow2 = (n: number): number[] => Array.from({ length: n }, (_, i) => 2 ** ((-8 / n) * (i + 1)));
  const m = 2 ** Math.floor(Math.log2(heads));
  if (m === heads) return pow2(heads);
  // the closest power of two below, then every other slope of twice that many, to fill up
  return [...pow2(m), ...pow2(2 * m).filter((_, i) => i % 2 === 0).slice(0, heads - m)];
}

/**
 * ALiBi biases (heads, nq, nk): bias[h, i, j] = −m_h·|q_i − k_j| with query i at
 * position offset + i and key j at position j. The default offset nk − nq puts
 * the queries last (a KV cache holds the earlier keys); inside the causal
 * region this is the paper's −m_h·(i − j). Add it to the logits (b, h, nq, nk).
 */
export function alibiBias(heads: number, nq: number, nk: number, opts: { offset?: number; dtype?: DType } = {}): Tensor {
  const op = 'alibiBias';
  const slopes = alibiSlopes(heads);
  checkPositiveInt(op, 'nq', nq);
  checkPositiveInt(op, 'nk', nk);
  const offset = opts.offset ?? Math.max(0, nk - nq);
  checkOffset(op, offset);
  const v = new Float64Array(heads * nq * nk);
  slopes.forEach((m, h) => {
    for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) v[(h * nq + i) * nk + j] = -m * Math.abs(offset + i - j);
  });
  return tensor(v, [heads, nq, nk], { dtype: opts.dtype });
}

// ---- 2-D sin-cos ---------------------------------------------------------------------------

export interface SinCos2dOptions {
  /** prepend a row of zeros for a class token (MAE) */
  clsToken?: boolean;
  /** positions are arange(n)/(n/baseSize)/interpolationScale (diffusers/SD3); default: arange(n) */
  baseSize?: number;
  interpolationScale?: number;
  dtype?: DType;
}

/**
 * Fixed 2-D sin-cos embeddings of an (h, w) patch grid: (h·w, dim), rows in
 * row-major patch order; channels [0, dim/2) encode the column, [dim/2, dim)
 * the row (MAE's get_2d_sincos_pos_embed). dim must be a multiple of 4.
 */
export function sincos2dPositions(dim: number, gridSize: number | readonly [number, number], opts: SinCos2dOptions = {}): Tensor {
  const op = 'sincos2dPositions';
  checkPositiveInt(op, 'dim', dim);
  if (dim % 4 !== 0) throw new Error(`${op}: dim must be a multiple of 4 (sin and cos for rows and columns), got ${dim}`);
  const [gh, gw] = typeof gridSize === 'number' ? [gridSize, gridSize] : gridSize;
  checkPositiveInt(op, 'grid height', gh);
  checkPositiveInt(op, 'grid width', gw);
  const scale = opts.interpolationScale ?? 1;
  const pos = (i: number, n: number): number => (opts.baseSize === undefined ? i : i / (n / opts.baseSize)) / scale;
  const quarter = dim / 4;
  const omega = Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  const lead = opts.clsToken ? 1 : 0;
  const v = new Float64Array((gh * gw + lead) * dim);
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      const row = (lead + r * gw + c) * dim;
      const pc = pos(c, gw);
      const pr = pos(r, gh);
      for (let k = 0; k < quarter; k++) {
        v[row + k] = Math.sin(pc * omega[k]!);
        v[row + quarter + k] = Math.cos(pc * omega[k]!);
        v[row + 2 * quarter + k] = Math.sin(pr * omega[k]!);
        v[row + 3 * quarter + k] = Math.cos(pr * omega[k]!);
      }
    }
  }
  return tensor(v, [gh * gw + lead, dim], { dtype: opts.dtype });
}
