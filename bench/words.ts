/**
 * Word-vector benchmark: SGNS training speed (words/s) and PPMI+SVD time,
 * with the recovery of planted synonym groups and the agreement of the two
 * methods, beside gensim's word2vec (Debian `python3-gensim`, its Cython
 * inner loop) on the same generated corpus when it is installed.
 *
 *   npx tsx bench/words.ts [--tokens N] [--groups G] [--dim D] [--epochs E] [--sample T] [--repeats R] [--out file.json]
 *
 * The corpus is syntheticCorpus() (src/zoo/text/synthetic.ts): G concepts ×
 * 3 synonyms + 50 function words. Every configuration runs R times and the
 * median is reported (the development machine is shared: spreads are wide).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { key } from '../src/core/random.js';
import { fileCorpus, groupPrecision, neighbourOverlap, parseWord2vecText, syntheticCorpus, trainWordVectors, type WordVectors } from '../src/zoo/text/index.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const tokens = arg('--tokens', 1_000_000);
const groups = arg('--groups', 2000);
const dim = arg('--dim', 100);
const epochs = arg('--epochs', 1);
const repeats = arg('--repeats', 3);
const sample = arg('--sample', 1e-3);
const outPath = args.includes('--out')
  ? args[args.indexOf('--out') + 1]
  : join(dirname(fileURLToPath(import.meta.url)), 'results', `words-${new Date().toISOString().slice(0, 10)}.json`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'nabla-words-bench-'));
const syn = syntheticCorpus({ tokens, groups, groupSize: 3, functionWords: 50, key: key(1) });
const corpusPath = join(dir, 'corpus.txt');
writeFileSync(corpusPath, syn.text);
const corpus = fileCorpus(corpusPath);
console.log(`corpus: ${syn.tokens.toLocaleString('en-US')} tokens, ${groups} synonym groups of 3 + 50 function words; d = ${dim}, window 5, k = 5, sample ${sample}, ${epochs} epoch(s); ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);

interface Row {
  name: string;
  seconds: number;
  wordsPerSecond?: number;
  precision: number;
  extra?: Record<string, number>;
}
const rows: Row[] = [];
const vectors: Record<string, WordVectors> = {};

for (const kernel of ['wasm', 'js'] as const) {
  const runs = Array.from({ length: repeats }, (_, r) =>
    trainWordVectors(corpus, { method: 'sgns', dim, window: 5, negatives: 5, sample, epochs, key: key(r), kernel }),
  );
  const wps = runs.map((r) => r.stats.wordsPerSecond);
  if (kernel === 'wasm') vectors.sgns = runs[0].vectors;
  rows.push({
    name: `nabla sgns, ${kernel === 'wasm' ? 'WebAssembly SIMD' : 'TypeScript'} loop (1 thread)`,
    seconds: median(runs.map((r) => r.stats.trainSeconds)),
    wordsPerSecond: median(wps),
    precision: groupPrecision(runs[0].vectors, syn.groups).precision,
    extra: { minWordsPerSecond: Math.min(...wps), maxWordsPerSecond: Math.max(...wps) },
  });
}

const svdRuns = Array.from({ length: repeats }, (_, r) => trainWordVectors(corpus, { method: 'svd', dim, window: 5, negatives: 1, key: key(r) }));
vectors.svd = svdRuns[0].vectors;
const svdTotal = (s: Record<string, number>): number => s.countSeconds + s.cooccurrenceSeconds + s.svdSeconds;
rows.push({
  name: 'nabla ppmi+svd',
  seconds: median(svdRuns.map((r) => svdTotal(r.stats))),
  precision: groupPrecision(vectors.svd, syn.groups).precision,
  extra: {
    cooccurrenceSeconds: median(svdRuns.map((r) => r.stats.cooccurrenceSeconds)),
    svdSeconds: median(svdRuns.map((r) => r.stats.svdSeconds)),
    nnz: svdRuns[0].stats.ppmiNnz,
  },
});

// gensim, if present: same corpus file, same hyper-parameters.
const py = `
import sys, time, logging
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
path, dim, epochs, sample, workers, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
sentences = list(LineSentence(path))
m = Word2Vec(vector_size=dim, window=5, min_count=5, sg=1, hs=0, negative=5, ns_exponent=0.75, sample=sample, workers=workers, seed=1)
m.build_vocab(sentences)
t = time.perf_counter()
m.train(sentences, total_examples=len(sentences), epochs=epochs)
sec = time.perf_counter() - t
m.wv.save_word2vec_format(out)
print(sec)
`;
for (const workers of [1, 2]) {
  const secs: number[] = [];
  const out = join(dir, `gensim-${workers}.txt`);
  for (let r = 0; r < repeats; r++) {
    const res = spawnSync('/usr/bin/python3', ['-c', py, corpusPath, String(dim), String(epochs), String(sample), String(workers), out], { encoding: 'utf8' });
    if (res.status !== 0) break;
    secs.push(Number(res.stdout.trim().split('\n').at(-1)));
  }
  if (secs.length === 0) {
    console.log('gensim not available (apt-get install python3-gensim): skipped');
    break;
  }
  const { readFileSync } = await import('node:fs');
  vectors[`gensim${workers}`] = parseWord2vecText(readFileSync(out, 'utf8'));
  rows.push({
    name: `gensim ${workers === 1 ? '(1 worker)' : `(${workers} workers)`}`,
    seconds: median(secs),
    wordsPerSecond: (syn.tokens * epochs) / median(secs),
    precision: groupPrecision(vectors[`gensim${workers}`], syn.groups).precision,
  });
}

console.log('\n| run | seconds | words/s | precision@2 |\n|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${r.wordsPerSecond ? Math.round(r.wordsPerSecond).toLocaleString('en-US') : '—'} | ${r.precision.toFixed(3)} |`);
}
const probe = vectors.svd.words.slice(0, 1000);
const overlaps: Record<string, number> = { 'sgns/svd': neighbourOverlap(vectors.sgns, vectors.svd, 10, probe) };
if (vectors.gensim1) overlaps['sgns/gensim'] = neighbourOverlap(vectors.sgns, vectors.gensim1, 10, probe.filter((w) => vectors.gensim1.index.has(w)));
if (vectors.gensim1) overlaps['svd/gensim'] = neighbourOverlap(vectors.svd, vectors.gensim1, 10, probe.filter((w) => vectors.gensim1.index.has(w)));
console.log('\nneighbour overlap@10 over the 1000 most frequent words:', Object.entries(overlaps).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify({ date: new Date().toISOString(), tokens: syn.tokens, groups, dim, epochs, sample, repeats, rows, overlaps }, null, 2) + '\n');
console.log(`wrote ${outPath}`);
rmSync(dir, { recursive: true, force: true });
