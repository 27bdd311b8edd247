/**
 * nabla: tensors, automatic differentiation and models, in TypeScript.
 */
import './tensorMethods.js';

export { Tensor } from './core/tensor.js';
export type { DType } from './core/dtype.js';
export type { Shape } from './core/shape.js';
export { tidy, scope, keep, memory, resetPeakMemory, Scope, type MemoryInfo } from './core/memory.js';
export * from './ops/index.js';
export { OPS, type OpName } from './ops/all.js';
export { backward, grad, valueAndGrad, vjp, gradients, zeroGrad, type BackwardOptions } from './autodiff/backward.js';
export { jvp, jvpOnly } from './autodiff/forward.js';
export { customVjp, customJvp } from './autodiff/custom.js';
export { noGrad, withGrad, isGradEnabled, setAnomalyMode, withAnomalyMode } from './autodiff/tape.js';
export { cpu } from './backends/cpu/index.js';
export { webgpu, useBackend, toBackend, syncWebGpu, releaseWebGpu, webgpuUnavailableReason, WebGpuBackend } from './backends/webgpu/index.js';
export { backendOps, formatBackendOps, type BackendOpTable, type OpRow, type OpPath } from './backends/cpu/report.js';
export { setBlas, blasStatus, setBlasMinFlops, blasMinFlops, type BlasStatus } from './backends/cpu/blas.js';
export { HEAP_LIMIT_BYTES } from './core/heap.js';
// modules and layers: all under `nn` (nn.Linear, nn.parameters(m), nn.eval(m), nn.init.kaimingUniform)
export * as nn from './nn/index.js';
// optimisers, schedules and gradient utilities: all under `optim`, the common ones also at the top
export * as optim from './optim/index.js';
export { sgd, adam, adamw, lion, clipGradNorm, globalNorm, type Optimizer, type OptimizerState } from './optim/index.js';
export * from './io/index.js';
export { dynamicLossScale, type LossScaler, type LossScaleConfig, type LossScaleState } from './train/lossScale.js';
export { saveCheckpoint, loadCheckpoint, listCheckpoints, assignWeights, type CheckpointContents, type LoadedCheckpoint } from './train/checkpointFile.js';
// training systems: all under `train`, the common ones also at the top
export * as train from './train/index.js';
// word vectors (SGNS and PPMI + SVD, queries, word2vec text format): all under `words`
export * as words from './zoo/text/index.js';
// softmax attention, FlashAttention and the efficient forms, registered as token mixers: all under `attention`
export * as attention from './zoo/attention/index.js';
// state-space models (Mamba, Mamba-2, S4D, RetNet, LRU, HiPPO) and recurrent networks (RNN, LSTM, GRU), registered as token mixers
export * as ssm from './zoo/ssm/index.js';
export * as rnn from './zoo/rnn/index.js';
// Medusa speculative decoding: heads, trees, tree verification, greedy/typical acceptance
export * as medusa from './zoo/medusa/index.js';
// generative models: diffusion and flow matching, normalising flows, vector quantisation; their ODE solvers, data and metrics
export * as diffusion from './zoo/diffusion/index.js';
export * as flows from './zoo/flows/index.js';
export * as vq from './zoo/vq/index.js';
export * as ode from './zoo/ode/index.js';
export * as data from './zoo/data/index.js';
export * as metrics from './zoo/metrics/index.js';
// language models over any mixer (LanguageModel, generateText, evaluateLM, …) and their tokenizers (bytes, chars, BPE)
export * as lm from './zoo/lm/index.js';
export * as tokenizers from './tokenizers/index.js';
export { autocast, checkpoint, checkpointSequential, trainStep, trainStepAsync, trainLoop, formatProgress, saveTrainingState, loadTrainingState, type Precision } from './train/index.js';
