/**
 * The LM panel's attention maps (playground/src/attentionMaps.ts, through
 * `LmTask.attentionMaps`): for a 2-layer softmax LM after a few training
 * steps, every map's rows sum to 1, entries above the diagonal are 0, the
 * maps equal an independent float64 softmax(QKᵀ/√d) (rotary embeddings
 * included) computed from each layer's own projections of the same input,
 * and wo(merge(P V)) from those maps equals the layer's forward output, which
 * ran FlashAttention; a model built with the 'flash-attention' mixer gives
 * the same maps; linear attention gives row-normalised kernel weights;
 * Mamba and LSTM give a note instead of maps.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { MultiHeadAttention } from '../../src/zoo/attention/mha.js';
import { LanguageModel } from '../../src/zoo/lm/model.js';
import { LmTask } from '../../playground/src/lmTask.js';
import { attentionMapsOf } from '../../playground/src/attentionMaps.js';
import { expectClose } from '../helpers/check.js';
import { project, softmaxMapsRef } from '../attention/mapRef.js';

const PROMPT = 'The miller said';

function expectCausalRows(P: Float64Array, T: number, tol: number): void {
  for (let i = 0; i < T; i++) {
    let s = 0;
    for (let j = 0; j < T; j++) {
      const p = P[i * T + j]!;
      if (j > i) expect(p).toBe(0);
      else expect(p).toBeGreaterThanOrEqual(0);
      s += p;
    }
    expect(Math.abs(s - 1)).toBeLessThan(tol);
  }
}

describe('playground attention maps', () => {
  it('softmax LM: causal rows summing to 1, equal to a float64 softmax of the layers’ own projections, and reproducing each layer’s flash forward', async () => {
    const task = new LmTask({ mixer: 'softmax', size: 'small', seed: 0 });
    await task.train(3);
    const r = await task.attentionMaps(PROMPT + '\u2603'); // a character outside the text is dropped
    const T = PROMPT.length;
    expect(r.chars.join('')).toBe(PROMPT);
    expect(r.note).toBeNull();
    expect(r.layers.length).toBe(2);
    const ids = task.tokenizer.encode(PROMPT);
    nb.noGrad(() =>
      nb.tidy(() => {
        let x = task.model.embed.forward(nb.tensor(Int32Array.from(ids), [1, T], { dtype: 'i32' }));
        [...task.model.blocks].forEach((block, l) => {
          const m = block.mixer as MultiHeadAttention;
          const { heads, kvHeads, headDim, ropeDim, ropeBase, dModel: d } = m.config;
          const layer = r.layers[l]!;
          expect(layer.kind).toBe('softmax');
          expect(layer.maps.length).toBe(heads);
          const h = block.norm1.forward(x); // the mixer's input
          const hs = h.toF64();
          const ref = softmaxMapsRef(hs, T, d, m.wq.weight.toF64(), m.wk.weight.toF64(), { heads, kvHeads, headDim, ropeDim, ropeBase, causal: true });
          layer.maps.forEach((P, i) => {
            expect(P.length).toBe(T * T);
            expectCausalRows(P, T, 1e-5);
            expectClose(P, ref[i]!, 1e-5, `layer ${l} head ${i} vs float64 reference`);
          });
          // the output from the maps: O_i = Σ_j P_ij V_j per head, merged, times W_oᵀ (float64 loops)
          const V = project(hs, T, d, m.wv.weight.toF64());
          const merged = new Float64Array(T * heads * headDim);
          layer.maps.forEach((P, i) => {
            const g = Math.floor((i * kvHeads) / heads);
            for (let a = 0; a < T; a++) {
              for (let e = 0; e < headDim; e++) {
                let s = 0;
                for (let b = 0; b < T; b++) s += P[a * T + b]! * V[b * kvHeads * headDim + g * headDim + e]!;
                merged[a * heads * headDim + i * headDim + e] = s;
              }
            }
          });
          const y = project(merged, T, heads * headDim, m.wo.weight.toF64());
          expectClose(y, m.forward(h).toF64(), 1e-4, `layer ${l}: wo(P V) vs the flash forward`);
          x = block.forward(x);
        });
      }),
    );
    nb.nn.dispose(task.model);
  });

  it("a model with the 'flash-attention' mixer gives the same maps as 'softmax' (same seed, same weights)", async () => {
    const cfg = { vocabSize: 20, dModel: 32, layers: 1 };
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const chars = ids.map(String);
    const a = await attentionMapsOf(new LanguageModel({ ...cfg, mixer: 'softmax' }, 5), ids, chars);
    const b = await attentionMapsOf(new LanguageModel({ ...cfg, mixer: 'flash-attention' }, 5), ids, chars);
    expect(b.layers[0]!.kind).toBe('softmax');
    b.layers[0]!.maps.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(a.layers[0]!.maps[i]!)));
  });

  it('linear attention: row-normalised kernel weights; Mamba and LSTM: a note and no maps', async () => {
    const lin = new LmTask({ mixer: 'linear', size: 'tiny', seed: 0 });
    const r = await lin.attentionMaps(PROMPT);
    expect(r.layers[0]!.kind).toBe('kernel');
    for (const P of r.layers[0]!.maps) expectCausalRows(P, PROMPT.length, 1e-4);
    for (const mixer of ['mamba', 'lstm'] as const) {
      const t = new LmTask({ mixer, size: 'tiny', seed: 0 });
      const q = await t.attentionMaps(PROMPT);
      expect(q.layers.map((e) => [e.kind, e.maps.length])).toEqual([[null, 0]]);
      expect(q.note).toMatch(new RegExp(`${mixer} has no attention weights`));
    }
    await expect(lin.attentionMaps('\u2603')).rejects.toThrow(/no characters the model knows/);
  });
});
