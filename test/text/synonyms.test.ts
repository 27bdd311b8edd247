import { describe, expect, it } from 'vitest';
import { key } from '../../src/core/random.js';
import {
  FastRng, groupPrecision, neighbourOverlap, syntheticCorpus, textCorpus, trainWordVectors, type WordVectors,
} from '../../src/zoo/text/index.js';

/**
 * Both views of the model on a generated corpus with planted synonym groups
 * (40 concepts × 3 synonyms + 8 function words, 30k tokens; see synthetic.ts).
 * Thresholds: neighbour precision@2 ≥ 0.9 for each method (measured: SGNS
 * 0.97–0.99, SVD 0.99–1.0 over seeds 1–3); the two methods' top-2 lists on
 * group words overlap ≥ 0.9, and top-10 lists over all words ≥ 0.3
 * (measured ≈ 0.43: beyond the synonyms, neighbours are near-ties that the
 * two methods order differently).
 */
describe('SGNS and PPMI+SVD recover planted synonym groups', () => {
  const syn = syntheticCorpus({ tokens: 30_000, key: key(1) });
  const corpus = textCorpus(syn.text);
  const common = { dim: 20, window: 5, minCount: 1, alpha: 0.75, key: key(1) } as const;
  const sgns = trainWordVectors(corpus, { ...common, method: 'sgns', negatives: 5, epochs: 5, sample: 0 });
  const svd = trainWordVectors(corpus, { ...common, method: 'svd', negatives: 1, power: 0.5 });

  it('the corpus holds every planted word', () => {
    expect(syn.tokens).toBeGreaterThanOrEqual(30_000);
    for (const w of syn.groups.flat()) expect(sgns.vocab.index.has(w)).toBe(true);
    expect(sgns.vocab.words.length).toBe(40 * 3 + 8);
  });

  const results: Record<string, number> = {};
  for (const [name, r] of [['sgns', sgns], ['svd', svd]] as const) {
    it(`${name}: neighbour precision@2 of the synonym groups is at least 0.9`, () => {
      const p = groupPrecision(r.vectors, syn.groups);
      results[name] = p.precision;
      expect(p.k).toBe(2);
      expect(p.words).toBe(120);
      expect(p.precision).toBeGreaterThanOrEqual(0.9);
    });
  }

  it('the metric sees only planted structure: random groups of the same words score near chance', () => {
    const words = syn.groups.flat();
    const rng = new FastRng(key(9));
    for (let i = words.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [words[i], words[j]] = [words[j], words[i]];
    }
    const fake = Array.from({ length: 40 }, (_, g) => words.slice(3 * g, 3 * g + 3));
    expect(groupPrecision(sgns.vectors, fake).precision).toBeLessThan(0.1);
    expect(groupPrecision(svd.vectors, fake).precision).toBeLessThan(0.1);
  });

  it('the two methods agree on neighbourhoods (overlap reported)', () => {
    const groupWords = syn.groups.flat();
    const top2 = neighbourOverlap(sgns.vectors, svd.vectors, 2, groupWords);
    const top10 = neighbourOverlap(sgns.vectors, svd.vectors, 10);
    const self = neighbourOverlap(sgns.vectors, sgns.vectors, 10);
    console.log(
      `planted synonyms: precision@2 sgns ${results.sgns?.toFixed(3)} svd ${results.svd?.toFixed(3)}; ` +
        `neighbour overlap sgns/svd top-2 (group words) ${top2.toFixed(3)}, top-10 (all words) ${top10.toFixed(3)}`,
    );
    expect(self).toBe(1);
    expect(top2).toBeGreaterThanOrEqual(0.9);
    expect(top10).toBeGreaterThanOrEqual(0.3);
    // And much more than unrelated embeddings of the same words would share.
    expect(top10).toBeGreaterThan(3 * neighbourOverlap(sgns.vectors, shuffledRows(svd.vectors), 10));
  });
});

/** The same vectors assigned to words at random: a baseline with no shared structure. */
function shuffledRows(v: WordVectors): WordVectors {
  const rng = new FastRng(key(3));
  const order = v.words.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const data = new Float32Array(v.vectors.length);
  order.forEach((src, dst) => data.set(v.vectors.subarray(src * v.dim, (src + 1) * v.dim), dst * v.dim));
  return new (v.constructor as typeof WordVectors)(v.words, data, v.dim);
}
