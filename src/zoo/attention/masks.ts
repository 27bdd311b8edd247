/**
 * Attention masks as boolean tensors (true = the query may see the key), and
 * the patterns they come from as plain predicates on positions (i query, j
 * key). The efficient forms in this folder (sparse, DiagAttention, FLASH's
 * chunks) apply the same predicates inside their blocks; their naive twins
 * mask a dense square with these tensors, and the parity tests hold the two
 * equal.
 *
 * Patterns:
 * - causal: j ≤ i + (nk − nq) (queries are the last nq positions).
 * - sliding window (local attention, e.g. Beltagy et al. 2020, arXiv
 *   2004.05150): causal i − w < j ≤ i; non-causal |i − j| < w.
 * - block-diagonal (TransNormer's DiagAttention, Qin et al. 2022, arXiv
 *   2210.10340 §3.2): ⌊i/c⌋ = ⌊j/c⌋, optionally causal.
 * - strided and fixed: Child et al., "Generating Long Sequences with Sparse
 *   Transformers", arXiv 1904.10509, §4.2 (the two heads' index sets merged
 *   into one, the paper's "merged" variant):
 *     strided: (i − j < l) or ((i − j) mod l = 0), causal;
 *     fixed:   ⌊j/l⌋ = ⌊i/l⌋ or (j mod l ≥ l − c), causal.
 * - tree (Medusa, Cai et al. 2024, arXiv 2401.10774 §2.1.2): candidate token i
 *   of a tree sees token j iff j is i or one of its ancestors.
 */
import type { Tensor } from '../../core/tensor.js';
import { tensor } from '../../ops/creation.js';

export type Pattern = (i: number, j: number) => boolean;

/** A dense (nq, nk) bool mask from a predicate. */
export function maskFromPattern(nq: number, nk: number, allowed: Pattern): Tensor {
  const m = new Uint8Array(nq * nk);
  for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) m[i * nk + j] = allowed(i, j) ? 1 : 0;
  return tensor(m, [nq, nk], { dtype: 'bool' });
}

export const causalPattern =
  (nq: number, nk: number): Pattern =>
  (i, j) =>
    j <= i + nk - nq;

/** (nq, nk): query i sees key j iff j ≤ i + nk − nq. */
export function causalMask(nq: number, nk = nq): Tensor {
  return maskFromPattern(nq, nk, causalPattern(nq, nk));
}

export function slidingWindowPattern(window: number, causal: boolean): Pattern {
  return causal ? (i, j) => j <= i && i - j < window : (i, j) => Math.abs(i - j) < window;
}

export function blockDiagonalPattern(block: number, causal: boolean): Pattern {
  return (i, j) => Math.floor(i / block) === Math.floor(j / block) && (!causal || j <= i);
}

export function stridedPattern(stride: number): Pattern {
  return (i, j) => j <= i && (i - j < stride || (i - j) % stride === 0);
}

export function fixedPattern(stride: number, summary: number): Pattern {
  return (i, j) => j <= i && (Math.floor(j / stride) === Math.floor(i / stride) || j % stride >= stride - summary);
}

/** Check the parent list of a token tree: parents[i] < i, or −1 for a root. */
export function checkTree(op: string, parents: readonly number[]): void {
  parents.forEach((p, i) => {
    if (!Number.isInteger(p) || p < -1 || p >= i) throw new Error(`${op}: parents[${i}] is ${p}; each parent must be −1 (a root) or an earlier index`);
  });
}

/**
 * (m, m) tree attention mask: token i sees token j iff j = i or j is an
 * ancestor of i. `parents[i]` is the index of i's parent (< i), −1 for a root
 * (whose parent is the last token already in the cache).
 */
export function treeMask(parents: readonly number[]): Tensor {
  checkTree('treeMask', parents);
  const m = parents.length;
  const anc = (i: number, j: number): boolean => {
    for (let a = i; a >= 0; a = parents[a]!) if (a === j) return true;
    return false;
  };
  return maskFromPattern(m, m, anc);
}

/** Depth of each tree token (a root has depth 0): its position offset past the cache. */
export function treeDepths(parents: readonly number[]): number[] {
  checkTree('treeDepths', parents);
  const depth: number[] = [];
  parents.forEach((p, i) => (depth[i] = p < 0 ? 0 : depth[p]! + 1));
  return depth;
}
