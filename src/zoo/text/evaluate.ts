/**
 * Intrinsic evaluation against planted structure: how well nearest
 * neighbours recover known groups of synonyms, and how much two sets of
 * vectors agree about neighbourhoods.
 */
import type { WordVectors } from './query.js';

/** Result of {@link groupPrecision}. */
export interface GroupPrecision {
  /** Mean over evaluated words of (neighbours in the word's group) / k. */
  precision: number;
  /** Words evaluated (group members present in the vocabulary). */
  words: number;
  /** k used: group size − 1 unless given. */
  k: number;
}

/**
 * Neighbour precision@k for planted groups: for each word of each group
 * present in `vectors`, the fraction of its k nearest neighbours (cosine)
 * that belong to its own group. k defaults to (group size − 1), so a perfect
 * embedding scores 1 and random vectors about (s−1)/(V−1).
 */
export function groupPrecision(vectors: WordVectors, groups: readonly (readonly string[])[], k?: number): GroupPrecision {
  const sizes = groups.map((grp) => grp.filter((w) => vectors.index.has(w)).length);
  const kk = k ?? Math.max(1, Math.min(...sizes.filter((n) => n > 1)) - 1);
  if (!Number.isSafeInteger(kk) || kk < 1) throw new Error(`groupPrecision: k must be a positive integer, got ${kk}`);
  let sum = 0;
  let words = 0;
  for (const grp of groups) {
    const members = new Set(grp.filter((w) => vectors.index.has(w)));
    if (members.size < 2) continue;
    for (const w of members) {
      const hits = vectors.nearest(w, kk).filter((nb) => members.has(nb.word)).length;
      sum += hits / kk;
      words++;
    }
  }
  if (words === 0) throw new Error('groupPrecision: no group has two or more words in the vocabulary');
  return { precision: sum / words, words, k: kk };
}

/**
 * Mean overlap |N_a(w) ∩ N_b(w)| / k of the k-nearest-neighbour lists of the
 * same words under two embeddings (1 = identical neighbourhoods). `words`
 * defaults to every word the two share.
 */
export function neighbourOverlap(a: WordVectors, b: WordVectors, k = 10, words?: readonly string[]): number {
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`neighbourOverlap: k must be a positive integer, got ${k}`);
  const list = words ?? a.words.filter((w) => b.index.has(w));
  if (list.length === 0) throw new Error('neighbourOverlap: the two embeddings share no words');
  let sum = 0;
  for (const w of list) {
    const na = new Set(a.nearest(w, k).map((nb) => nb.word));
    sum += b.nearest(w, k).filter((nb) => na.has(nb.word)).length / k;
  }
  return sum / list.length;
}
