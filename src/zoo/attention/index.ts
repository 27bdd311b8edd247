/**
 * The attention family: softmax attention and its efficient forms, each a
 * token mixer registered by name (zoo/mixer.ts) so the language model, the
 * benchmarks and the playground can swap them:
 *
 *   softmax           multi-head softmax attention (GQA/MQA, RoPE, QK-norm, KV cache; FlashAttention for float32)
 *   flash-attention   the same, always through the FlashAttention kernels
 *   linear            linear attention (Katharopoulos et al.), elu+1 / relu features
 *   performer         FAVOR+ (Choromanski et al.)
 *   cosformer         cosFormer (Qin et al.)
 *   transnormer-norm  TransNormer's NormAttention;  transnormer-diag  its DiagAttention
 *   gau               the Gated Attention Unit;  flash  FLASH's mixed chunk attention (Hua et al.)
 *   transformer-vq    Transformer-VQ (Lingle)
 *   sparse-local, sparse-strided, sparse-fixed   sparse patterns (Child et al.)
 *
 * Options of a spec are passed to the mixer's constructor (heads, chunk,
 * features, window, ...); `heads` defaults to dModel/32 rounded down to a
 * divisor of dModel (at least 1).
 */
import type { Key } from '../../core/random.js';
import { registerMixer, mixerKinds, type Mixer, type MixerSpec } from '../mixer.js';
import { MultiHeadAttention } from './mha.js';
import { LinearAttention } from './linear.js';
import { Performer } from './performer.js';
import { Cosformer } from './cosformer.js';
import { DiagAttention, NormAttention } from './transnormer.js';
import { GAU } from './gau.js';
import { FLASH } from './flashMixed.js';
import { TransformerVQ } from './vqMixer.js';
import { SparseAttention } from './sparse.js';

export { attentionRef, attentionWeights, maskedSoftmax, combinedMask, type AttentionOptions } from './attention.ref.js';
export { causalMask, treeMask, treeDepths, maskFromPattern, causalPattern, slidingWindowPattern, blockDiagonalPattern, stridedPattern, fixedPattern, type Pattern } from './masks.js';
export { flashAttention, type FlashOptions } from './flash.js';
export { MultiHeadAttention, KVCache, type MultiHeadAttentionOptions, type ExtendOptions } from './mha.js';
export { partialSoftmax, mergePartials, type PartialSoftmax } from './partial.js';
export { linearAttentionParallel, reweightedAttentionParallel, applyAttentionMap, type LinearAttentionOptions } from './linear.ref.js';
export { linearAttentionChunked, linearAttentionRecurrent, linearAttentionStep, eluPlusOne, featureMapFn, KernelAttention, KernelState, LinearAttention, type FeatureMap, type KernelAttentionOptions, type LinearAttentionMixerOptions } from './linear.js';
export { Performer, favorFeatures, randomFeatureMatrix, type PerformerOptions } from './performer.js';
export { Cosformer, cosformerFeatures, cosformerQuadratic, type CosformerOptions } from './cosformer.js';
export { NormAttention, DiagAttention, blockDiagonalAttention, transNormerLayerKinds, transNormerMixers, type NormAttentionOptions, type DiagAttentionOptions } from './transnormer.js';
export { GAU, ScaleOffset, RelativeBias, GauProjections, type GauOptions } from './gau.js';
export { FLASH, mixedChunkAttention, type FlashMixerOptions } from './flashMixed.js';
export { mixedChunkAttentionDirect } from './flashMixed.ref.js';
export { TransformerVQ, VQState, type TransformerVQOptions } from './vqMixer.js';
export { quantizeKeys, commitmentLoss, vqAttention, codeCounts, type Quantized } from './vq.js';
export { vqAttentionQuadratic } from './vq.ref.js';
export { SparseAttention, sparseAttention, sparsePredicate, bandPartial, type SparsePattern } from './sparse.js';

/** A head count that divides d: about d/32, at least 1. */
export function defaultHeads(d: number): number {
  for (let h = Math.max(1, Math.floor(d / 32)); h > 1; h--) if (d % h === 0) return h;
  return 1;
}

type Factory = (d: number, o: Record<string, unknown>, key: Key) => Mixer;

const factories: Record<string, Factory> = {
  softmax: (d, o, key) => new MultiHeadAttention(d, { heads: defaultHeads(d), ...o, key }),
  'flash-attention': (d, o, key) => new MultiHeadAttention(d, { heads: defaultHeads(d), ...o, impl: 'flash', key }),
  linear: (d, o, key) => new LinearAttention(d, { heads: defaultHeads(d), ...o, key }),
  performer: (d, o, key) => new Performer(d, { heads: defaultHeads(d), ...o, key }),
  cosformer: (d, o, key) => new Cosformer(d, { heads: defaultHeads(d), ...o, key }),
  'transnormer-norm': (d, o, key) => new NormAttention(d, { heads: defaultHeads(d), ...o, key }),
  'transnormer-diag': (d, o, key) => new DiagAttention(d, { heads: defaultHeads(d), ...o, key }),
  gau: (d, o, key) => new GAU(d, { ...o, key }),
  flash: (d, o, key) => new FLASH(d, { ...o, key }),
  'transformer-vq': (d, o, key) => new TransformerVQ(d, { heads: defaultHeads(d), ...o, key }),
  'sparse-local': (d, o, key) => new SparseAttention(d, { heads: defaultHeads(d), pattern: { kind: 'local', window: (o.window as number) ?? 64, causal: (o.causal as boolean) ?? true }, ...o, key }),
  'sparse-strided': (d, o, key) => new SparseAttention(d, { heads: defaultHeads(d), pattern: { kind: 'strided', stride: (o.stride as number) ?? 64 }, ...o, key }),
  'sparse-fixed': (d, o, key) => new SparseAttention(d, { heads: defaultHeads(d), pattern: { kind: 'fixed', stride: (o.stride as number) ?? 64, summary: (o.summary as number) ?? 8 }, ...o, key }),
};

/** The mixer kinds this family registers. */
export const attentionMixerKinds = Object.keys(factories);

// register once per module instance (a second registration of the same name would throw)
const known = new Set(mixerKinds());
for (const [kind, make] of Object.entries(factories)) {
  if (!known.has(kind)) registerMixer(kind, (d: number, spec: MixerSpec, key: Key) => {
    const { kind: _k, ...opts } = spec;
    return make(d, opts, key);
  });
}
