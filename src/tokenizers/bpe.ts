/**
 * Byte-level byte-pair encoding (BPE), trained by nabla.
 *
 * BPE (Sennrich, Haddow & Birch, "Neural Machine Translation of Rare Words
 * with Subword Units", arXiv 1508.07909, after Gage's 1994 compression
 * scheme) starts from an alphabet and repeatedly merges the most frequent
 * adjacent pair into a new symbol. Byte-level BPE (Radford et al. 2019,
 * GPT-2) takes the 256 byte values as the alphabet, so every UTF-8 text —
 * Chinese, emoji, anything — is encodable and decodes back exactly.
 *
 * Like GPT-2, text is first cut into chunks (a word with its leading space,
 * a run of digits, a run of punctuation, a run of whitespace) and merges
 * never cross a chunk boundary, so tokens stay word-like. The chunks
 * partition the text, so nothing is lost.
 *
 * Training: count chunks; then, `vocabSize − 256` times, count adjacent pairs
 * over all chunks (weighted by the chunk's count), merge the most frequent
 * pair everywhere (left to right, non-overlapping) and record it. Ties go to
 * the smallest pair (first id, then second id), so training is deterministic.
 * Training stops early when no pair occurs `minFrequency` times.
 *
 * Encoding a chunk: start from its bytes and repeatedly apply the merge of
 * lowest rank among the pairs present, until no pair has a merge — the order
 * in which training learned them.
 */
import { checkIds, decodeBytes, utf8, type Tokenizer, type TokenizerJSON } from './tokenizer.js';

/** Chunks: a word, digits or punctuation with an optional leading space, or whitespace. Every character falls in one. */
const CHUNK = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+/gu;

export function pretokenize(text: string): string[] {
  return text.match(CHUNK) ?? [];
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

/** Replace every non-overlapping occurrence of (a, b), left to right, by `id`. */
function mergePair(seq: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(seq[i]!);
  }
  return out;
}

export interface BpeTrainOptions {
  /** the vocabulary size to reach: 256 bytes + the merges (at most 65536) */
  vocabSize: number;
  /** stop when the best pair occurs fewer times than this (default 2) */
  minFrequency?: number;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  /** merge r makes token 256 + r from the pair merges[r] */
  readonly merges: readonly (readonly [number, number])[];
  readonly #ranks = new Map<number, number>();
  readonly #bytes: Uint8Array[];
  readonly #cache = new Map<string, number[]>();

  constructor(merges: readonly (readonly [number, number])[]) {
    if (!Array.isArray(merges)) throw new Error('BpeTokenizer: merges must be an array of [id, id] pairs');
    if (256 + merges.length > 65536) throw new Error(`BpeTokenizer: ${merges.length} merges exceed the 65536-token limit`);
    this.#bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    merges.forEach((m, r) => {
      const ok = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 256 + r;
      if (!Array.isArray(m) || m.length !== 2 || !ok(m[0]) || !ok(m[1])) {
        throw new Error(`BpeTokenizer: merge ${r} must be a pair of ids below ${256 + r}, got ${JSON.stringify(m)}`);
      }
      const k = pairKey(m[0], m[1]);
      if (this.#ranks.has(k)) throw new Error(`BpeTokenizer: merge ${r} repeats the pair ${JSON.stringify(m)}`);
      this.#ranks.set(k, r);
      const a = this.#bytes[m[0]]!;
      const b = this.#bytes[m[1]]!;
      const c = new Uint8Array(a.length + b.length);
      c.set(a);
      c.set(b, a.length);
      this.#bytes.push(c);
    });
    this.merges = merges.map((m) => [m[0], m[1]] as const);
  }

  /** Learn merges from `text` (see the file comment). */
  static train(text: string, opts: BpeTrainOptions): BpeTokenizer {
    const { vocabSize } = opts;
    const minFrequency = opts.minFrequency ?? 2;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > 65536) throw new Error(`BpeTokenizer.train: vocabSize must be an integer in 256…65536, got ${vocabSize}`);
    if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new Error(`BpeTokenizer.train: minFrequency must be a positive integer, got ${minFrequency}`);
    const counts = new Map<string, number>();
    for (const c of pretokenize(text)) counts.set(c, (counts.get(c) ?? 0) + 1);
    let seqs = [...counts.keys()].map((c) => Array.from(utf8(c)));
    const weights = [...counts.values()];
    const merges: [number, number][] = [];
    while (256 + merges.length < vocabSize) {
      const pairs = new Map<number, number>();
      seqs.forEach((s, w) => {
        for (let i = 0; i + 1 < s.length; i++) {
          const k = pairKey(s[i]!, s[i + 1]!);
          pairs.set(k, (pairs.get(k) ?? 0) + weights[w]!);
        }
      });
      let best = -1;
      let bestCount = 0;
      for (const [k, n] of pairs) if (n > bestCount || (n === bestCount && k < best)) [best, bestCount] = [k, n];
      if (best < 0 || bestCount < minFrequency) break;
      const a = Math.floor(best / 65536);
      const b = best % 65536;
      const id = 256 + merges.length;
      merges.push([a, b]);
      seqs = seqs.map((s) => (s.length > 1 ? mergePair(s, a, b, id) : s));
    }
    return new BpeTokenizer(merges);
  }

  get vocabSize(): number {
    return 256 + this.merges.length;
  }

  #encodeChunk(chunk: string): number[] {
    const hit = this.#cache.get(chunk);
    if (hit) return hit;
    let seq = Array.from(utf8(chunk));
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < seq.length; i++) {
        const r = this.#ranks.get(pairKey(seq[i]!, seq[i + 1]!));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank]!;
      seq = mergePair(seq, a, b, 256 + bestRank);
    }
    if (this.#cache.size > 100_000) this.#cache.clear();
    this.#cache.set(chunk, seq);
    return seq;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const c of pretokenize(text)) for (const id of this.#encodeChunk(c)) out.push(id);
    return out;
  }

  decode(ids: readonly number[]): string {
    checkIds('BpeTokenizer', ids, this.vocabSize);
    return decodeBytes(this, ids);
  }

  tokenBytes(id: number): Uint8Array {
    const b = this.#bytes[id];
    if (!b) throw new Error(`BpeTokenizer: id ${id} is outside 0…${this.vocabSize - 1}`);
    return b;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'bpe', merges: this.merges.map((m) => [m[0], m[1]]) };
  }
}
