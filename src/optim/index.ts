/** Optimisers, schedules and gradient utilities. */
export { makeOptimizer, disposeOptimizerState, layerwiseDecay, slotDType } from './optimizer.js';
export type { Optimizer, OptimizerOptions, OptimizerState, ParamState, GroupOptions, UpdateResult, UpdateInfo, UpdateRule, RuleArgs, Params, Grads } from './optimizer.js';
export { sgd, sgdRule, type SgdHyper } from './sgd.js';
export { adam, adamw, adamRule, adamwRule, type AdamHyper } from './adam.js';
export { lion, lionRule, type LionHyper } from './lion.js';
export { constant, warmupCosine, warmupLinear, stepDecay, multiStep, oneCycle, scaled, asSchedule } from './schedules.js';
export type { Schedule, WarmupDecayOptions, OneCycleOptions } from './schedules.js';
export { clipValue, scaleGrad, maskGrad, addGradNoise, onlyFor, applyHooks, runHooks, matches } from './hooks.js';
export type { GradHook, HookContext, ParamMatch, GradNoiseOptions } from './hooks.js';
export { globalNorm, globalNormTensor, clipGradNorm, clipCoefficient, clipCoefficientTensor, type ClipOptions, type GradList } from './clip.js';
export { gradAccumulator, accumulateGradients, type GradAccumulator } from './accumulate.js';
export { ema, emaWarmup, emaTfWarmup, type Ema, type EmaState, type EmaWarmupOptions } from './ema.js';
export { optimizerStateToTensors, restoreOptimizerState, type SavedOptimizerState } from './state.js';
export { writable, readable, updateInPlace, copyInto, addInto, scaleInPlace, fillInPlace, type Writable, type Floats } from './inplace.js';
