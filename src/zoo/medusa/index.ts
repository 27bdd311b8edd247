/**
 * Medusa (Cai et al., "Medusa: Simple LLM Inference Acceleration Framework
 * with Multiple Decoding Heads", arXiv 2401.10774): extra decoding heads on a
 * base language model propose several next tokens at once; a tree of their
 * candidates is verified in one base-model call; greedy acceptance keeps the
 * output identical to plain greedy decoding, typical acceptance samples.
 *
 *   heads.ts     Medusa heads (residual SiLU block + vocabulary projection)
 *   loss.ts      Medusa-1 (frozen base) and Medusa-2 (joint) losses
 *   tree.ts      candidate trees (default, Cartesian, from paths)
 *   branch.ts    tree verification per mixer: tree attention or branched states
 *   accept.ts    greedy and typical acceptance
 *   decode.ts    generate (plain), medusaGenerate, compareDecoding
 *   mixerLM.ts   a small decoder LM over any registered mixer (the test bed)
 *   train.ts     fitting the heads (Medusa-1) or heads and base (Medusa-2), self-distillation
 *   lmBase.ts    the zoo's LanguageModel (zoo/lm) as a Medusa base: medusaBase(lm)
 */
export { MedusaHead, MedusaHeads, type MedusaHeadsOptions } from './heads.js';
export { medusaHeadsLoss, medusa1Loss, medusa2Loss, type MedusaLoss, type MedusaLossOptions, type Medusa2Options } from './loss.js';
export { DEFAULT_TREE, buildTree, cartesianTree, chainTree, treeTokens, topKIndices, type CandidateTree, type TreePaths } from './tree.js';
export { branchState, mixerExtend, mixerTree, acceptLayer, setTreeBatching, type LayerTree } from './branch.js';
export { greedyAccept, typicalAccept, longestPath, argmaxRow, softmaxRow, sampleRow, type TypicalOptions } from './accept.js';
export { generate, medusaGenerate, compareDecoding, resolveTree, type GenerateOptions, type MedusaOptions, type GenerateResult, type Comparison } from './decode.js';
export { MixerLM, MixerLMState, decodeStack, acceptStack, type MixerLMOptions, type StackParts, type StackBlock } from './mixerLM.js';
export { fitMedusa, selfDistill, type FitMedusaOptions } from './train.js';
export { LMMedusaBase, medusaBase } from './lmBase.js';
export type { MedusaBase, DecodeOutput } from './base.js';
