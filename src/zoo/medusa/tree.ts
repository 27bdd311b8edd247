/**
 * Candidate trees (Cai et al., arXiv 2401.10774, §2.1.2 "Tree attention").
 *
 * Head k proposes its top-s_k tokens for position t + k + 1; a candidate is
 * one choice per head, read as a path: (i₁, i₂, …) means "the i₁-th best
 * token of head 1, then the i₂-th best of head 2, …". The candidates share
 * their prefixes, so they form a tree whose root is the base model's own next
 * token; tree attention verifies all of them in one forward pass.
 *
 * A tree is given by its paths (as in the paper's released trees, e.g.
 * `[[0], [1], [0, 0], [0, 1], [0, 0, 0]]`); missing prefixes are added.
 * `cartesianTree([s₁, …, s_K])` is the paper's dense tree (every combination of
 * the top-s_k of each head); `DEFAULT_TREE` is a sparse tree of 24 candidates
 * in the spirit of the paper's tuned ones (more branches where the heads are
 * more reliable: near the root and along the top-1 choices).
 */

export type TreePaths = readonly (readonly number[])[];

/** A built tree: node 0 is the root (the base model's token); the others are the candidates. */
export interface CandidateTree {
  /** parents[0] = −1; parents[i] < i for i ≥ 1 */
  readonly parents: readonly number[];
  /** depth of each node (root 0); node i ≥ 1 takes its token from head depth[i] (1-based) */
  readonly depth: readonly number[];
  /** which of that head's top-k node i takes (0 = the best) */
  readonly choice: readonly number[];
  /** children of each node, in order of their choice */
  readonly children: readonly (readonly number[])[];
  /** the paths, sorted (depth, then lexicographic), one per non-root node */
  readonly paths: TreePaths;
  /** heads needed (the deepest path) */
  readonly heads: number;
  /** the top-k needed of each head (1-based head h at index h − 1) */
  readonly topK: readonly number[];
}

/** A sparse default: 24 candidates over 4 heads. */
export const DEFAULT_TREE: TreePaths = [
  [0], [1], [2], [3],
  [0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [2, 0], [3, 0],
  [0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 2, 0], [2, 0, 0],
  [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0],
  [0, 0, 2], [0, 3],
];

/** Every combination of the top-s_k of each head: Π s_k leaves (the paper's Cartesian-product tree). */
export function cartesianTree(topK: readonly number[]): TreePaths {
  topK.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 1) throw new Error(`cartesianTree: topK[${i}] is ${s}; each must be a positive integer`);
  });
  const out: number[][] = [];
  let level: number[][] = [[]];
  for (const s of topK) {
    const next: number[][] = [];
    for (const p of level) for (let i = 0; i < s; i++) next.push([...p, i]);
    out.push(...next);
    level = next;
  }
  return out;
}

/** A chain of top-1 choices of `heads` heads (the tree with one candidate). */
export function chainTree(heads: number): TreePaths {
  return cartesianTree(Array.from({ length: heads }, () => 1));
}

const cmpPath = (a: readonly number[], b: readonly number[]): number => {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
};

/** Build a tree from its paths (prefixes added, duplicates dropped); `maxHeads` limits the depth. */
export function buildTree(paths: TreePaths, maxHeads = Infinity): CandidateTree {
  const seen = new Map<string, number[]>();
  paths.forEach((p, i) => {
    if (!Array.isArray(p) || p.length === 0) throw new Error(`buildTree: path ${i} is ${JSON.stringify(p)}; each path is a non-empty list of top-k indices`);
    p.forEach((c) => {
      if (!Number.isInteger(c) || c < 0) throw new Error(`buildTree: path ${i} is ${JSON.stringify(p)}; indices must be integers ≥ 0`);
    });
    if (p.length > maxHeads) throw new Error(`buildTree: path ${JSON.stringify(p)} is ${p.length} deep but there are only ${maxHeads} heads`);
    for (let l = 1; l <= p.length; l++) seen.set(p.slice(0, l).join(','), p.slice(0, l));
  });
  const sorted = [...seen.values()].sort(cmpPath);
  const index = new Map<string, number>([['', 0]]);
  const parents = [-1];
  const depth = [0];
  const choice = [0];
  const children: number[][] = [[]];
  sorted.forEach((p, j) => {
    const i = j + 1;
    index.set(p.join(','), i);
    const par = index.get(p.slice(0, -1).join(','))!;
    parents.push(par);
    depth.push(p.length);
    choice.push(p[p.length - 1]!);
    children.push([]);
    children[par]!.push(i);
  });
  const heads = Math.max(0, ...depth);
  const topK = Array.from({ length: heads }, (_, h) => 1 + Math.max(...sorted.filter((p) => p.length === h + 1).map((p) => p[h]!)));
  return { parents, depth, choice, children, paths: sorted, heads, topK };
}

/**
 * The tree's tokens: node 0 is `root`; node i takes the choice[i]-th entry of
 * head depth[i]'s ranking. `ranked[h]` lists head h + 1's tokens, best first
 * (at least topK[h] of them).
 */
export function treeTokens(tree: CandidateTree, root: number, ranked: readonly (readonly number[])[]): number[] {
  if (ranked.length < tree.heads) throw new Error(`treeTokens: the tree is ${tree.heads} deep but only ${ranked.length} heads ranked tokens`);
  return tree.depth.map((d, i) => {
    if (i === 0) return root;
    const t = ranked[d - 1]![tree.choice[i]!];
    if (t === undefined) throw new Error(`treeTokens: node ${i} takes choice ${tree.choice[i]} of head ${d}, which ranked only ${ranked[d - 1]!.length} tokens`);
    return t;
  });
}

/** Indices of the k largest entries of row (descending; ties by index). */
export function topKIndices(row: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  return idx.slice(0, k);
}
