/**
 * The language model and its decoding: stepping the mixers' state equals the
 * full causal forward pass for every family; greedy generation equals naive
 * greedy decoding by repeated full passes, with one step per token (no
 * recomputed prefix); hybrid stacks; sampling rules; stop strings.
 */
import { describe, expect, it, vi } from 'vitest';
import { LanguageModel, TokenSampler, applyRepetitionPenalty, argmax, checkSampling, generateText, generateTokens, parseMixers, samplingDistribution } from '../../src/zoo/lm/index.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { parameterCount, dispose } from '../../src/nn/module.js';
import { tensor } from '../../src/ops/creation.js';
import { tidy } from '../../src/core/memory.js';

const V = 23;
const tokens = [3, 7, 1, 19, 4, 4, 12, 0, 22, 9];

function fullLogits(m: LanguageModel, toks: number[]): Float64Array {
  return tidy(() => m.forward(tensor(Int32Array.from(toks), [1, toks.length], { dtype: 'i32' })).toF64());
}

describe('LanguageModel', () => {
  it.each(['softmax', 'mamba', 'lstm', 'retnet', 'linear', 'mamba,softmax'])('%s: stepping the state equals the full forward pass', (mixer) => {
    const m = new LanguageModel({ vocabSize: V, dModel: 16, layers: 2, mixer }, 5);
    const full = fullLogits(m, tokens);
    const st = m.initState(1);
    let num = 0;
    let den = 0;
    tokens.forEach((t, i) => {
      const l = tidy(() => m.step([t], st).toF64());
      for (let j = 0; j < V; j++) {
        num += (l[j]! - full[i * V + j]!) ** 2;
        den += full[i * V + j]! ** 2;
      }
    });
    expect(st.position).toBe(tokens.length);
    st.dispose();
    expect(Math.sqrt(num / den)).toBeLessThan(1e-4);
    dispose(m);
  });

  it.each(['softmax', 'mamba'])('%s: greedy generation equals naive greedy decoding, one step per token', (mixer) => {
    const m = new LanguageModel({ vocabSize: V, dModel: 16, layers: 2, mixer }, 9);
    const prompt = [5, 2, 17];
    const naive = [...prompt];
    for (let i = 0; i < 8; i++) {
      const l = fullLogits(m, naive);
      naive.push(argmax(l.subarray((naive.length - 1) * V)));
    }
    const spy = vi.spyOn(m, 'step');
    const g = generateTokens(m, prompt, { maxTokens: 8, temperature: 0 });
    expect(g.tokens).toEqual(naive.slice(3));
    expect(spy).toHaveBeenCalledTimes(prompt.length + 8 - 1);
    dispose(m);
  });

  it('hybrid stacks cycle the mixer list; bad names and configs are refused', () => {
    expect(parseMixers('mamba,mamba,softmax', 6)).toEqual(['mamba', 'mamba', 'softmax', 'mamba', 'mamba', 'softmax']);
    const m = new LanguageModel({ vocabSize: V, dModel: 16, layers: 3, mixer: 'lstm, softmax' });
    expect(m.mixers).toEqual(['lstm', 'softmax', 'lstm']);
    const tied = new LanguageModel({ vocabSize: V, dModel: 16, layers: 3, mixer: 'lstm,softmax', tieEmbeddings: true });
    expect(parameterCount(m) - parameterCount(tied)).toBe(V * 16);
    expect(fullLogits(tied, [1, 2]).length).toBe(2 * V);
    expect(() => parseMixers('mamba,zzz', 2)).toThrow(/^unknown mixer 'zzz'; choose from .*mamba/);
    expect(() => new LanguageModel({ vocabSize: 0, dModel: 16, layers: 1, mixer: 'lstm' })).toThrow(/vocabSize must be a positive integer, got 0/);
    expect(() => m.step([1, 2], m.initState(1))).toThrow(/2 tokens for a state of batch 1/);
    expect(() => m.step([V], m.initState(1))).toThrow(/token 23 is outside the vocabulary/);
    dispose(m);
    dispose(tied);
  });
});

describe('sampling', () => {
  it('temperature 0 is argmax; top-k and top-p keep what they should, renormalised', () => {
    const logits = Float64Array.from([1, 3, 3, 0]);
    expect(new TokenSampler({ temperature: 0 }).next(logits, [], 0)).toBe(1);
    const lp = Float64Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const k2 = samplingDistribution(lp, checkSampling({ topK: 2 }));
    expect([...k2].map((x) => +x.toFixed(12))).toEqual([0.625, 0.375, 0, 0]);
    const p7 = samplingDistribution(lp, checkSampling({ topP: 0.7 }));
    expect([...p7].map((x) => +x.toFixed(12))).toEqual([0.625, 0.375, 0, 0]);
    const p9 = samplingDistribution(lp, checkSampling({ topP: 0.9 }));
    expect(p9.filter((x) => x > 0)).toHaveLength(3);
    const t2 = samplingDistribution(lp, checkSampling({ temperature: 2 }));
    expect(t2[0]! / t2[1]!).toBeCloseTo(Math.sqrt(0.5 / 0.3), 12);
  });

  it("CTRL's repetition penalty divides positive and multiplies negative logits of seen tokens", () => {
    const l = Float64Array.from([2, -2, 1]);
    applyRepetitionPenalty(l, [0, 1, 1], 2);
    expect([...l]).toEqual([1, -4, 1]);
  });

  it('draws follow the distribution and replay from the seed', () => {
    const logits = Float64Array.from([0, 1, 2, -1]);
    const s = new TokenSampler({ seed: 11 });
    const n = 4000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[s.next(logits, [], i)]!++;
    const z = [...logits].reduce((a, b) => a + Math.exp(b), 0);
    counts.forEach((c, i) => {
      const p = Math.exp(logits[i]!) / z;
      expect(Math.abs(c / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    });
    const seq = (seed: number): number[] => Array.from({ length: 30 }, (_, i) => new TokenSampler({ seed }).next(logits, [], i));
    expect(seq(4)).toEqual(seq(4));
    expect(seq(4)).not.toEqual(seq(5));
    expect(() => checkSampling({ topP: 0 })).toThrow(/top-p must be in \(0, 1\]/);
    expect(() => checkSampling({ temperature: -1 })).toThrow(/temperature must be a number ≥ 0/);
    expect(() => checkSampling({ repetitionPenalty: 0.5 })).toThrow(/repetition penalty must be a number ≥ 1/);
  });

  it('stop strings end generation, are left out, and never leak into the stream', () => {
    const tok = CharTokenizer.fromText('abcdefgh .');
    const m = new LanguageModel({ vocabSize: tok.vocabSize, dModel: 16, layers: 1, mixer: 'lstm' }, 2);
    const free = generateText(m, tok, 'ab', { maxTokens: 40, temperature: 1, seed: 1 });
    expect(free.finish).toBe('length');
    expect([...free.text]).toHaveLength(40);
    const stop = free.text.slice(10, 12);
    const at = free.text.indexOf(stop);
    const pieces: string[] = [];
    const r = generateText(m, tok, 'ab', { maxTokens: 40, temperature: 1, seed: 1, stop: ['never-there', stop], onText: (p) => pieces.push(p) });
    expect(r.finish).toBe('stop');
    expect(r.text).toBe(free.text.slice(0, at));
    expect(pieces.join('')).toBe(r.text);
    expect(r.tokens.length).toBe(at + stop.length);
    dispose(m);
  });
});
