/**
 * Attention maps of a prompt in a language model (zoo/lm LanguageModel):
 * the prompt runs through the model once; at each layer the input of the
 * mixer (the residual stream after the block's first norm) goes to the
 * mixer's `attentionWeights` (zoo/mixer.ts), which returns, per head, the
 * weights with which each position mixes the earlier ones:
 *
 * - softmax attention (MultiHeadAttention, also when its forward runs
 *   FlashAttention): P = softmax(QKᵀ/√d + M), M the causal mask;
 * - feature-map attention (linear attention, Performer, ...): the kernel
 *   weights φ(q_i)·φ(k_j), j ≤ i, divided by their row sum, the weights its
 *   output actually uses (it never forms them itself).
 *
 * Recurrent and state-space mixers (Mamba, LSTM) have no such matrix: their
 * layers are listed with kind null. Free of DOM APIs (Node tests run it).
 */
import type { Tensor } from '../../src/core/tensor.js';
import { tidy } from '../../src/core/memory.js';
import { tensor } from '../../src/ops/creation.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { evalMode, train } from '../../src/nn/module.js';
import { MultiHeadAttention } from '../../src/zoo/attention/mha.js';
import type { LanguageModel } from '../../src/zoo/lm/model.js';
import { readF64 } from './read.js';

export type MapKind = 'softmax' | 'kernel';

export interface LayerMaps {
  layer: number;
  /** the layer's mixer kind (registry name) */
  mixer: string;
  /** what the maps are; null: the mixer has no attention weights */
  kind: MapKind | null;
  /** one T×T map per head, row-major: entry (i, j) is the weight of key j in query i's output */
  maps: Float64Array[];
}

export interface AttentionMaps {
  /** the prompt's characters (the axes' labels) */
  chars: string[];
  layers: LayerMaps[];
  /** set when no layer has attention weights: a sentence for the page */
  note: string | null;
}

/**
 * The maps of `tokens` (one sequence of T ids) through every layer of
 * `model`; `chars` label the axes. Async: values are read with `await
 * t.data()`, as every backend allows (WebGPU included).
 */
export async function attentionMapsOf(model: LanguageModel, tokens: readonly number[], chars: string[]): Promise<AttentionMaps> {
  const T = tokens.length;
  if (T < 1) throw new Error('attention maps: the prompt has no characters the model knows');
  const wasTraining = model.training;
  evalMode(model);
  // one forward pass; P (1, h, T, T) of each layer that has attention weights, null otherwise
  let weights: (Tensor | null)[];
  try {
    weights = noGrad(() =>
      tidy(() => {
        let x = model.embed.forward(tensor(Int32Array.from(tokens), [1, T], { dtype: 'i32' })); // (1, T, d)
        return [...model.blocks].map((block) => {
          const P = block.mixer.attentionWeights ? block.mixer.attentionWeights(block.norm1.forward(x)) : null;
          x = block.forward(x);
          return P;
        });
      }),
    );
  } finally {
    train(model, wasTraining);
  }
  const layers: LayerMaps[] = [];
  for (const [l, P] of weights.entries()) {
    const mixer = [...model.blocks][l]!.mixer;
    const entry: LayerMaps = { layer: l, mixer: model.mixers[l]!, kind: null, maps: [] };
    if (P) {
      const p = await readF64(P);
      entry.kind = mixer instanceof MultiHeadAttention ? 'softmax' : 'kernel';
      entry.maps = Array.from({ length: p.length / (T * T) }, (_, h) => p.slice(h * T * T, (h + 1) * T * T));
    }
    layers.push(entry);
  }
  const kinds = [...new Set(model.mixers)].join(', ');
  const note = layers.some((e) => e.kind) ? null : `${kinds} has no attention weights to map (its memory is a recurrent state: see the state norms)`;
  return { chars, layers, note };
}
