/**
 * Lookup tables: row i of `weight` (num, dim) for each index i (PyTorch's
 * nn.Embedding, default init N(0, 1), and an optional padding row that starts
 * at zero and receives no gradient).
 */
import { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import type { Key } from '../core/random.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { eq, where } from '../ops/elementwise.js';
import { indexSelect } from '../ops/indexing.js';
import { reshape, unsqueeze } from '../ops/views.js';
import { Module, param } from './module.js';
import { normal } from './init.js';
import { checkFloatTensor, checkPositiveInt } from './util.js';

function checkIndex(op: string, idx: unknown): asserts idx is Tensor {
  if (!(idx instanceof Tensor)) throw new Error(`${op}: indices must be an i32 Tensor, got ${idx === null ? 'null' : typeof idx}`);
  idx.assertAlive(op, 'indices');
  if (idx.dtype !== 'i32') throw new Error(`${op}: indices must be i32, got ${idx.describe()}`);
}

function normPaddingIdx(op: string, p: number | null | undefined, num: number): number | null {
  if (p === null || p === undefined) return null;
  if (!Number.isInteger(p) || p < -num || p >= num) throw new Error(`${op}: paddingIdx ${p} is out of range for ${num} embeddings`);
  return p < 0 ? p + num : p;
}

/**
 * weight[idx]: idx (i32, any shape) → (…idx, dim). With `paddingIdx`, the
 * rows looked up at that index pass no gradient back to the table (F.embedding).
 */
export function embedding(idx: Tensor, weight: Tensor, opts: { paddingIdx?: number | null } = {}): Tensor {
  checkIndex('embedding', idx);
  checkFloatTensor('embedding', 'weight', weight);
  if (weight.ndim !== 2) throw new Error(`embedding: weight is ${shapeStr(weight.shape)}; it must be (num_embeddings, dim)`);
  const pad = normPaddingIdx('embedding', opts.paddingIdx, weight.shape[0]!);
  return tidy(() => {
    const rows = indexSelect(weight, 0, reshape(idx, [idx.size]));
    const out = reshape(rows, [...idx.shape, weight.shape[1]!]);
    if (pad === null) return out;
    // same values, but the rows read at the padding index are cut from the graph
    return where(unsqueeze(eq(idx, pad), -1), out.detach(), out);
  });
}

export interface EmbeddingConfig {
  numEmbeddings: number;
  dim: number;
  paddingIdx: number | null;
}

export interface EmbeddingOptions {
  key: Key;
  /** this row starts at zero and gets no gradient (e.g. a pad token) */
  paddingIdx?: number | null;
  /** std of the N(0, std²) init (default 1, as PyTorch) */
  std?: number;
  dtype?: DType;
}

/** nn.Embedding: `weight` (numEmbeddings, dim). */
export class Embedding extends Module {
  readonly config: Readonly<EmbeddingConfig>;
  weight: Tensor;

  constructor(numEmbeddings: number, dim: number, opts: EmbeddingOptions) {
    super();
    checkPositiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    checkPositiveInt('Embedding', 'dim', dim);
    const paddingIdx = normPaddingIdx('Embedding', opts.paddingIdx, numEmbeddings);
    this.config = { numEmbeddings, dim, paddingIdx };
    const w = normal(opts.key, [numEmbeddings, dim], { std: opts.std ?? 1, dtype: opts.dtype });
    if (paddingIdx !== null) w.storage.backend.write(w.storage, new Float64Array(dim), paddingIdx * dim);
    this.weight = param(w);
  }

  /** idx (i32, …) → (…, dim) */
  forward(idx: Tensor): Tensor {
    return embedding(idx, this.weight, { paddingIdx: this.config.paddingIdx });
  }
}
