/**
 * The playground's language-model task in Node (the browser runs the same
 * code in its worker): for each mixer of the panel, 40 steps of a tiny
 * character model on the built-in text bring the loss (mean of the last 10
 * steps) from about ln(vocab) ≈ 3.5 below 2.6 nats per character, and the
 * sample it generates starts with the prompt and uses only the text's
 * characters.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { LanguageModel } from '../../src/zoo/lm/index.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { LmTask, LM_MIXERS, SAMPLE_TEXT, lmWeightsConfig } from '../../playground/src/lmTask.js';

const mean = (a: number[]): number => a.reduce((s, v) => s + v) / a.length;

describe('playground language-model task', () => {
  it.each(LM_MIXERS)('%s: the loss falls below 2.6 in 40 steps and it samples text', async (mixer) => {
    const task = new LmTask({ mixer, size: 'tiny', seed: 0 });
    expect(task.tokenizer.vocabSize).toBe(new Set(SAMPLE_TEXT).size);
    const first = await task.train(5);
    expect(mean(first)).toBeGreaterThan(2.8);
    const later = [...(await task.train(15)), ...(await task.train(20))];
    expect(task.step).toBe(40);
    expect(mean(later.slice(-10))).toBeLessThan(2.6);
    const s = await task.sample('The ', 30);
    expect(s.startsWith('The ')).toBe(true);
    expect(s.length).toBeGreaterThan(4);
    for (const c of s) expect(SAMPLE_TEXT.includes(c)).toBe(true);
  });

  it('its downloaded safetensors weights rebuild the model and tokenizer in Node with equal logits', async () => {
    const task = new LmTask({ mixer: 'lstm', size: 'tiny', seed: 1 });
    await task.train(3);
    const st = nb.parseSafetensors(await task.weights());
    const md = st.metadata!;
    expect(md.mixer).toBe('lstm');
    const tok = new CharTokenizer(JSON.parse(md.chars!) as string[]);
    const fresh = new LanguageModel({ vocabSize: tok.vocabSize, dModel: Number(md.dModel), layers: Number(md.layers), mixer: md.mixer! }, 99);
    nb.nn.loadStateDict(fresh, st.tensors);
    const x = nb.tensor(Int32Array.from(tok.encode('The miller')), [1, 10], { dtype: 'i32' });
    const a = task.model.forward(x).toF64();
    const b = fresh.forward(x).toF64();
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('weights loaded into a fresh task (rebuilt from the metadata) give equal logits and the same sample; mismatches are named', async () => {
    const text = 'the cat sat on the mat; the dog sat on the log. '.repeat(4);
    const task = new LmTask({ mixer: 'softmax', size: 'tiny', text, seed: 2, context: 16, batch: 4 });
    await task.train(6);
    const st = nb.parseSafetensors(await task.weights());
    const cfg = lmWeightsConfig(st.metadata);
    expect(cfg.mixer).toBe('softmax');
    expect(cfg.size).toBe('tiny');
    // the panel's text may differ: the fresh task keeps the saved characters
    const fresh = new LmTask({ ...cfg, text: 'the cat and the dog sat on the mat, then the log! '.repeat(3), seed: 2, context: 16, batch: 4 });
    expect(fresh.tokenizer.chars).toEqual(task.tokenizer.chars);
    fresh.loadWeights(st);
    expect(fresh.step).toBe(6);
    const x = nb.tensor(Int32Array.from(task.tokenizer.encode('the cat sat')), [1, 11], { dtype: 'i32' });
    expect(Array.from(fresh.model.forward(x).toF64())).toEqual(Array.from(task.model.forward(x).toF64()));
    expect(await fresh.sample('the ', 20)).toBe(await task.sample('the ', 20));
    expect(() => new LmTask({ ...cfg, mixer: 'lstm', text, context: 16 }).loadWeights(st)).toThrow(/weights are of a softmax model \(d = 32, 1 layers\), this task is a lstm model/);
    expect(() => new LmTask({ mixer: 'softmax', size: 'tiny', text: text + 'XYZ', context: 16 }).loadWeights(st)).toThrow(/characters/);
    expect(() => lmWeightsConfig({ mixer: 'softmax', dModel: '48', layers: '3', chars: '["a"]' })).toThrow(/d = 48, 3 layers\) is none of the panel's sizes/);
  });

  it('reports per-layer state norms over a prompt: Mamba and LSTM states grow from zero', async () => {
    for (const mixer of ['mamba', 'lstm'] as const) {
      const task = new LmTask({ mixer, size: 'small', seed: 0 });
      const r = await task.stateNorms('The mill');
      expect(r.chars.join('')).toBe('The mill');
      expect(r.series.length).toBe(4); // 2 layers × 2 state tensors
      for (const s of r.series) {
        expect(s.norms.length).toBe(8);
        expect(s.norms.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      }
    }
  });

  it('trains on a pasted text and names bad settings', async () => {
    const text = 'abcabcabcabc '.repeat(20);
    const task = new LmTask({ mixer: 'lstm', size: 'tiny', text, context: 16, batch: 8 });
    expect(task.tokenizer.vocabSize).toBe(4);
    expect(task.tokensPerStep).toBe(128);
    expect((await task.train(3)).every(Number.isFinite)).toBe(true);
    expect(() => new LmTask({ mixer: 'nope' as never, size: 'tiny' })).toThrow(/unknown mixer 'nope'/);
    expect(() => new LmTask({ mixer: 'softmax', size: 'tiny', text: 'short' })).toThrow(/needs at least 34/);
  });
});
