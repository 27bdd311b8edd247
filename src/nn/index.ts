/**
 * nn: modules as typed data (module.ts), initialisers (`nn.init`), and the
 * layers. Exported from the package root as the namespace `nn`
 * (`nn.Linear`, `nn.parameters(model)`, `nn.eval(model)`, `nn.init.xavierUniform`).
 */
export {
  Module,
  param,
  namedParameters,
  parameters,
  trainableParameters,
  namedModules,
  parameterCount,
  train,
  evalMode,
  evalMode as eval,
  freeze,
  unfreeze,
  namedGrads,
  zeroGrad,
  dispose,
  stateDict,
  loadStateDict,
  mapParameters,
  type LoadResult,
} from './module.js';
export * as init from './init.js';
export type { Nonlinearity, FanMode, KaimingOptions, InitOptions } from './init.js';
export { activationFn, type Activation, type ActivationName } from './activation.js';
export { ModuleList, Sequential, type Layer, type SequentialItem } from './containers.js';
export { linear, Linear, type LinearConfig, type LinearOptions } from './linear.js';
export { embedding, Embedding, type EmbeddingConfig, type EmbeddingOptions } from './embedding.js';
export { layerNorm, rmsNorm, scaleNorm, LayerNorm, RMSNorm, ScaleNorm, type LayerNormOptions } from './norm.js';
export { dropout, Dropout } from './dropout.js';
export { MLP, glu, geglu, swiglu, GatedFeedForward, GEGLU, SwiGLU, type MLPOptions, type GatedFeedForwardOptions } from './mlp.js';
export { Conv1d, Conv2d, type ConvLayerOptions, type ConvConfig } from './conv.js';
export { sinusoidalPositions, SinusoidalPositionalEncoding, LearnedPositionalEmbedding, alibiSlopes, alibiBias, sincos2dPositions, type SinCos2dOptions } from './positional.js';
export { rotaryTables, applyRotary, RotaryEmbedding, type RotaryTables, type RotaryOptions } from './rope.js';
export { timestepEmbedding, GaussianFourierProjection, type TimestepEmbeddingOptions, type GaussianFourierOptions } from './timestep.js';
