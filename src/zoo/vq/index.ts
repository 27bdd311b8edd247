/**
 * Vector quantisation: VQ-VAE's quantiser with the straight-through estimator
 * or the rotation trick, EMA codebooks with dead-code restarts, SimVQ,
 * residual VQ, usage and perplexity metrics, and small VQ-VAEs. See
 * docs/flows.md for the measured comparison.
 */
export { squaredDistances, nearestCode, codeCounts, codebookUsage, perplexity } from './codebook.js';
export { rotationTrick, rotationMatrix } from './rotation.js';
export { assignmentStats, emaCodebookStep, emaUsageStep, restartDeadCodes, type EmaState } from './ema.js';
export { quantize, straightThrough, VectorQuantizer, setCodebook, type GradientPath, type QuantizeResult, type QuantizeOptions, type VectorQuantizerOptions } from './quantizer.js';
export { SimVQ, type SimVQOptions } from './simvq.js';
export { ResidualVQ, type Quantizer, type ResidualResult } from './residual.js';
export { VQVAE, ConvEncoder, ConvDecoder, mlpVQVAE, convVQVAE, upsample2x, type QuantizerLike, type VQVAEOutput } from './vqvae.js';
export { trainVq, evaluateVq, type VqTrainOptions, type VqMetrics } from './train.js';
