/** Messages between the page and the training worker. */
import type { Method, SamplerName, VqVariant } from './tasks.js';
import type { VqMetrics } from '../../src/zoo/vq/index.js';
import type { AttentionForm } from './attentionTiming.js';
import type { LmMixer, LmSize } from './lmTask.js';
import type { AttentionMaps } from './attentionMaps.js';
import type { NfMethod } from './flowTask.js';
import type { DensityMap } from './density.js';
import type { Comparison } from './compare.js';

/** The page's backend choice: 'auto' takes WebGPU when navigator.gpu gives an adapter. */
export type BackendChoice = 'auto' | 'cpu' | 'webgpu';

export type ToWorker =
  // sent first: the worker picks its backend before anything else runs
  | { type: 'init'; backend: BackendChoice }
  // saved weights (safetensors bytes) back into a panel: the worker rebuilds the task their metadata names
  | { type: 'load'; bytes: Uint8Array; lr: number; points?: Float64Array }
  | { type: 'lmLoad'; bytes: Uint8Array; text: string; lr: number }
  // points: the drawing's x, y pairs, for dataset 'drawn'
  | { type: 'train'; dataset: string; method: Method | NfMethod; steps: number; lr: number; seed: number; points?: Float64Array }
  | { type: 'stop' }
  | { type: 'resume' }
  | { type: 'sample'; sampler: SamplerName; nfe: number; n: number }
  | { type: 'density' }
  | { type: 'compare'; nfe: number; n: number }
  | { type: 'save' }
  | { type: 'vq'; steps: number; codes: number }
  | { type: 'attention'; lengths: number[] }
  | { type: 'lmTrain'; mixer: LmMixer; size: LmSize; text: string; steps: number; lr: number; sampleEvery: number }
  | { type: 'lmStop' }
  | { type: 'lmSample'; prompt: string }
  | { type: 'lmSave' }
  | { type: 'lmAttention'; prompt: string }
  | { type: 'lmStates'; prompt: string };

export type FromWorker =
  // gpu: training runs on WebGPU; notice: why WebGPU was asked for and not used (also sent again when it fails later)
  | { type: 'ready'; backend: string; gpu?: boolean; notice?: string }
  | { type: 'loaded'; method: string; dataset: string; step: number }
  | { type: 'lmLoaded'; mixer: LmMixer; size: LmSize; step: number }
  | { type: 'loss'; step: number; losses: number[]; stepsPerSec: number }
  | { type: 'done'; step: number }
  | { type: 'samples'; points: Float64Array; trajectories: Float64Array[]; data: Float64Array; nfe: number; sampler: string }
  | { type: 'density'; map: DensityMap; ms: number }
  | { type: 'compare'; comparison: Comparison; nfe: number }
  | { type: 'weights'; bytes: Uint8Array }
  | { type: 'vq'; step: number; metrics: Record<VqVariant, VqMetrics> }
  | { type: 'attention'; n: number; form: AttentionForm; ms: number; peakBytes: number }
  | { type: 'attentionDone' }
  | { type: 'lmLoss'; step: number; losses: number[]; tokensPerSec: number; vocab: number }
  | { type: 'lmSample'; step: number; text: string }
  | { type: 'lmDone'; step: number }
  | { type: 'lmStates'; chars: string[]; series: { label: string; norms: number[] }[] }
  | { type: 'lmAttention'; maps: AttentionMaps }
  | { type: 'error'; message: string };
