/**
 * Language models: a decoder-only LM over any registered token mixer
 * (or a hybrid stack), sampling, streaming generation, text data and bits
 * per byte. The `nabla train lm | generate | eval` commands are built on it.
 */
export { LanguageModel, LMBlock, LMState, parseMixers, type LanguageModelConfig } from './model.js';
export { TokenSampler, checkSampling, applyRepetitionPenalty, samplingDistribution, drawFrom, argmax, type SamplingOptions } from './sample.js';
export { generateTokens, generateText, type GenerateOptions, type GenerateResult, type GenerateTextOptions, type GenerateTextResult } from './generate.js';
export { readCorpus, splitTokens, batchAt, lmLoss, evaluateLM, type Corpus, type TokenSplit, type EvalResult } from './data.js';
