/**
 * Queries on word vectors: cosine similarity, nearest neighbours and
 * analogies.
 *
 * Analogies "a is to b as c is to ?" (man : king :: woman : ?):
 * - 3CosAdd (Mikolov, Yih & Zweig, NAACL 2013): argmax_d cos(d, b − a + c),
 *   which on unit vectors ranks like cos(d,b) − cos(d,a) + cos(d,c);
 * - 3CosMul (Levy & Goldberg, "Linguistic regularities in sparse and explicit
 *   word representations", CoNLL 2014, eq. 4):
 *   argmax_d cos'(d,b)·cos'(d,c) / (cos'(d,a) + ε), cos' = (cos + 1)/2, ε = 0.001.
 * The three query words are excluded from the answers, as is standard.
 */

/** One answer of a neighbour or analogy query. */
export interface Neighbour {
  word: string;
  /** Cosine similarity (3CosAdd, neighbours) or the 3CosMul score. */
  score: number;
}

/** Analogy scoring (see the module comment). */
export type AnalogyMethod = '3cosadd' | '3cosmul';

/** Word vectors with a vocabulary: rows of a V×d float32 matrix. */
export class WordVectors {
  readonly words: readonly string[];
  readonly dim: number;
  readonly vectors: Float32Array;
  readonly index: ReadonlyMap<string, number>;
  private unitCache: Float32Array | null = null;

  constructor(words: readonly string[], vectors: Float32Array, dim: number) {
    if (!Number.isSafeInteger(dim) || dim < 1) throw new Error(`WordVectors: dim must be a positive integer, got ${dim}`);
    if (!(vectors instanceof Float32Array)) throw new Error('WordVectors: vectors must be a Float32Array');
    if (vectors.length !== words.length * dim) {
      throw new Error(`WordVectors: vectors must be ${words.length}x${dim} (length ${words.length * dim}), got length ${vectors.length}`);
    }
    const index = new Map<string, number>();
    words.forEach((w, i) => {
      if (index.has(w)) throw new Error(`WordVectors: word ${JSON.stringify(w)} appears twice`);
      index.set(w, i);
    });
    this.words = [...words];
    this.dim = dim;
    this.vectors = vectors;
    this.index = index;
  }

  get size(): number {
    return this.words.length;
  }

  /** Id of `word`; throws naming the query and the argument when it is not in the vocabulary. */
  id(word: string, fn = 'WordVectors', arg = 'word'): number {
    const i = this.index.get(word);
    if (i === undefined) {
      throw new Error(`${fn}: ${arg} ${JSON.stringify(word)} is not in the vocabulary (${this.words.length} words)`);
    }
    return i;
  }

  /** The vector of `word` (a copy). */
  vector(word: string): Float32Array {
    const i = this.id(word, 'vector');
    return this.vectors.slice(i * this.dim, (i + 1) * this.dim);
  }

  /** Rows scaled to unit length (zero rows stay zero), computed once. */
  private unit(): Float32Array {
    if (this.unitCache) return this.unitCache;
    const d = this.dim;
    const out = new Float32Array(this.vectors.length);
    for (let i = 0; i < this.words.length; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += this.vectors[i * d + t] ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let t = 0; t < d; t++) out[i * d + t] = this.vectors[i * d + t] * inv;
    }
    this.unitCache = out;
    return out;
  }

  /** cos(a, b). */
  similarity(a: string, b: string): number {
    const i = this.id(a, 'similarity', 'a');
    const j = this.id(b, 'similarity', 'b');
    return this.cosRows(i, j);
  }

  private cosRows(i: number, j: number): number {
    const u = this.unit();
    const d = this.dim;
    let s = 0;
    for (let t = 0; t < d; t++) s += u[i * d + t] * u[j * d + t];
    return s;
  }

  /** Cosine of every word with the (not necessarily unit) vector `q`. */
  private cosAll(q: ArrayLike<number>): Float64Array {
    const u = this.unit();
    const d = this.dim;
    let qq = 0;
    for (let t = 0; t < d; t++) qq += q[t] * q[t];
    const inv = qq > 0 ? 1 / Math.sqrt(qq) : 0;
    const out = new Float64Array(this.words.length);
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += u[i * d + t] * q[t];
      out[i] = s * inv;
    }
    return out;
  }

  /**
   * The `k` words most cosine-similar to `query` (a word, excluded from the
   * answer, or a vector of length dim), best first.
   */
  nearest(query: string | ArrayLike<number>, k = 10, options: { exclude?: readonly string[] } = {}): Neighbour[] {
    checkK('nearest', k);
    const excluded = new Set<number>();
    let q: ArrayLike<number>;
    if (typeof query === 'string') {
      const i = this.id(query, 'nearest', 'query');
      excluded.add(i);
      q = this.unit().subarray(i * this.dim, (i + 1) * this.dim);
    } else {
      if (query === null || typeof query !== 'object' || query.length !== this.dim) {
        throw new Error(`nearest: query must be a word or a vector of length ${this.dim}`);
      }
      q = query;
    }
    for (const w of options.exclude ?? []) excluded.add(this.id(w, 'nearest', 'exclude'));
    return topK(this.cosAll(q), k, excluded, this.words);
  }

  /** Answers to a : b :: c : ?, best first (see the module comment). */
  analogy(a: string, b: string, c: string, k = 1, method: AnalogyMethod = '3cosadd'): Neighbour[] {
    checkK('analogy', k);
    const ia = this.id(a, 'analogy', 'a');
    const ib = this.id(b, 'analogy', 'b');
    const ic = this.id(c, 'analogy', 'c');
    const excluded = new Set([ia, ib, ic]);
    const d = this.dim;
    const u = this.unit();
    if (method === '3cosadd') {
      const q = new Float64Array(d);
      for (let t = 0; t < d; t++) q[t] = u[ib * d + t] - u[ia * d + t] + u[ic * d + t];
      return topK(this.cosAll(q), k, excluded, this.words);
    }
    if (method !== '3cosmul') throw new Error(`analogy: method must be '3cosadd' or '3cosmul', got ${JSON.stringify(method)}`);
    const cosA = this.cosAll(u.subarray(ia * d, (ia + 1) * d));
    const cosB = this.cosAll(u.subarray(ib * d, (ib + 1) * d));
    const cosC = this.cosAll(u.subarray(ic * d, (ic + 1) * d));
    const score = new Float64Array(this.words.length);
    const eps = 0.001;
    for (let i = 0; i < score.length; i++) {
      score[i] = (((cosB[i] + 1) / 2) * ((cosC[i] + 1) / 2)) / ((cosA[i] + 1) / 2 + eps);
    }
    return topK(score, k, excluded, this.words);
  }
}

function checkK(fn: string, k: number): void {
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`${fn}: k must be a positive integer, got ${String(k)}`);
}

/** The k best-scoring ids not in `excluded`, best first (ties by id). */
function topK(scores: Float64Array, k: number, excluded: Set<number>, words: readonly string[]): Neighbour[] {
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (excluded.has(i)) continue;
    if (best.length === k && scores[i] <= scores[best[k - 1]]) continue;
    let pos = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (pos > 0 && scores[best[pos - 1]] < scores[i]) {
      best[pos] = best[pos - 1];
      pos--;
    }
    best[pos] = i;
  }
  return best.map((i) => ({ word: words[i], score: scores[i] }));
}
