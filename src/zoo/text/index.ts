/**
 * Word vectors: skip-gram with negative sampling and the same model solved as
 * a matrix factorisation (shifted PPMI + truncated SVD), with the corpus
 * handling, queries and evaluation around them.
 */
export { tokenize, textCorpus, fileCorpus, countWords } from './corpus.js';
export type { Corpus, CorpusOptions, FileCorpusOptions, WordCounts } from './corpus.js';
export { buildVocab, vocabFromList, keepProbabilities, encode, encodedSentences, subsampleInto } from './vocab.js';
export type { Vocab, VocabOptions, SubsampleFormula, IdSentences } from './vocab.js';
export { cooccurrence, distanceWeight } from './cooccurrence.js';
export type { CooccurrenceOptions, WindowWeighting } from './cooccurrence.js';
export {
  CooAccumulator, csrFromDense, csrToDense, csrGet, csrRowSums, csrColSums, csrMatmulDense, csrTransposeMatmulDense, csrMap, csrAddTranspose,
} from './sparse.js';
export type { Csr } from './sparse.js';
export { pmi, ppmi, pmiMarginals } from './ppmi.js';
export type { PmiOptions, PpmiOptions } from './ppmi.js';
export { sparseRandomizedSvd, svdEmbedding } from './sparseSvd.js';
export type { SparseSvdOptions } from './sparseSvd.js';
export { trainSgns, buildNoiseTable, defaultTableSize } from './sgns.js';
export type { SgnsOptions, SgnsProgress, SgnsResult } from './sgns.js';
export { createPairUpdater, createSgnsKernel, updatePairJs } from './sgnsKernel.js';
export type { PairUpdater, SgnsKernel } from './sgnsKernel.js';
export { fitSgnsExact } from './sgnsExact.js';
export type { SgnsExactOptions, SgnsExactResult } from './sgnsExact.js';
export { WordVectors } from './query.js';
export type { Neighbour, AnalogyMethod } from './query.js';
export { formatFloat32, toWord2vecText, saveWord2vecText, parseWord2vecText, loadWord2vecText } from './word2vecFormat.js';
export { syntheticCorpus } from './synthetic.js';
export type { SyntheticCorpus, SyntheticCorpusOptions } from './synthetic.js';
export { groupPrecision, neighbourOverlap } from './evaluate.js';
export type { GroupPrecision } from './evaluate.js';
export { trainWordVectors } from './pipeline.js';
export type { WordVectorMethod, WordVectorOptions, WordVectorResult } from './pipeline.js';
export { FastRng } from './fastRng.js';
