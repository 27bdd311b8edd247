/**
 * Which candidates to accept (Cai et al., arXiv 2401.10774).
 *
 * Every tree node i has the base model's next-token distribution after the
 * path to i (row i of the verification logits). A non-root node c with
 * parent p passes when:
 *
 * - greedy: its token is the argmax of row p. The accepted path then holds
 *   exactly the tokens plain greedy decoding would produce, so the output is
 *   unchanged, only faster (what the tests check, token for token);
 * - typical (§2.3.1): p_T(token_c | row p) > min(ε, δ · exp(−H(p_T(· | row p)))),
 *   with p_T the temperature-T softmax and H its entropy: a token the base
 *   model finds plausible enough is kept, with a bar that is lower where the
 *   model is unsure. At T = 0 this is greedy.
 *
 * The accepted path is the longest chain of passing nodes from the root
 * (the root, the base model's own token, always passes); among paths of equal
 * length the first in tree order wins.
 */
import type { CandidateTree } from './tree.js';

export interface TypicalOptions {
  temperature: number;
  /** hard threshold ε (default 0.09, the paper's released setting) */
  epsilon?: number;
  /** entropy-dependent threshold δ (default 0.3) */
  delta?: number;
}

/** Index of the largest entry of row `r` of a flat (rows, v) array (first on ties). */
export function argmaxRow(a: ArrayLike<number>, r: number, v: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let j = 0; j < v; j++) {
    const x = a[r * v + j]!;
    if (x > bv) {
      bv = x;
      best = j;
    }
  }
  return best;
}

/** Softmax of row r at temperature T > 0. */
export function softmaxRow(a: ArrayLike<number>, r: number, v: number, temperature: number): Float64Array {
  const p = new Float64Array(v);
  let mx = -Infinity;
  for (let j = 0; j < v; j++) mx = Math.max(mx, a[r * v + j]! / temperature);
  let s = 0;
  for (let j = 0; j < v; j++) s += p[j] = Math.exp(a[r * v + j]! / temperature - mx);
  for (let j = 0; j < v; j++) p[j]! /= s;
  return p;
}

/** Draw from row r at temperature T with one uniform number u ∈ [0, 1) (greedy at T = 0). */
export function sampleRow(a: ArrayLike<number>, r: number, v: number, temperature: number, u: number): number {
  if (temperature <= 0) return argmaxRow(a, r, v);
  const p = softmaxRow(a, r, v, temperature);
  let c = 0;
  for (let j = 0; j < v; j++) if ((c += p[j]!) > u) return j;
  return v - 1;
}

/** The longest chain from the root through nodes that pass (first in tree order on ties). */
export function longestPath(tree: CandidateTree, pass: readonly boolean[]): number[] {
  let best: number[] = [0];
  const walk = (node: number, path: number[]): void => {
    if (path.length > best.length) best = path;
    for (const c of tree.children[node]!) if (pass[c]) walk(c, [...path, c]);
  };
  walk(0, [0]);
  return best;
}

/** Greedy acceptance: node c passes when its token is the argmax of its parent's row. */
export function greedyAccept(tree: CandidateTree, tokens: readonly number[], logits: ArrayLike<number>, vocab: number): number[] {
  const arg = new Map<number, number>();
  const pass = tree.parents.map((p, c) => {
    if (p < 0) return true;
    if (!arg.has(p)) arg.set(p, argmaxRow(logits, p, vocab));
    return tokens[c] === arg.get(p);
  });
  return longestPath(tree, pass);
}

/** Typical acceptance (ε, δ) at temperature T (greedy when T = 0). */
export function typicalAccept(tree: CandidateTree, tokens: readonly number[], logits: ArrayLike<number>, vocab: number, opts: TypicalOptions): number[] {
  if (opts.temperature <= 0) return greedyAccept(tree, tokens, logits, vocab);
  const eps = opts.epsilon ?? 0.09;
  const delta = opts.delta ?? 0.3;
  const rows = new Map<number, { p: Float64Array; bar: number }>();
  const row = (r: number): { p: Float64Array; bar: number } => {
    let e = rows.get(r);
    if (!e) {
      const p = softmaxRow(logits, r, vocab, opts.temperature);
      let h = 0;
      for (const x of p) if (x > 0) h -= x * Math.log(x);
      e = { p, bar: Math.min(eps, delta * Math.exp(-h)) };
      rows.set(r, e);
    }
    return e;
  };
  const pass = tree.parents.map((p, c) => {
    if (p < 0) return true;
    const e = row(p);
    return e.p[tokens[c]!]! > e.bar;
  });
  return longestPath(tree, pass);
}
