/**
 * Every attention mixer is registered by name and honours the mixer contract:
 * (b, n, d) → (b, n, d), and for causal mixers step() over the sequence
 * equals forward (so the LM, benchmarks and playground can swap them).
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { createMixer, mixerKinds } from '../../src/zoo/mixer.js';
import { attentionMixerKinds, defaultHeads } from '../../src/zoo/attention/index.js';
import { expectDecodeEqualsForward } from './helpers.js';

const key = nb.randomKey(10);

const options: Record<string, Record<string, unknown>> = {
  performer: { features: 8 },
  gau: { s: 8, maxLength: 32 },
  flash: { s: 8, chunk: 4, maxLength: 32 },
  'transformer-vq': { codes: 6, block: 4 },
  'transnormer-diag': { block: 4 },
  cosformer: { maxLength: 64 },
  'sparse-local': { window: 3 },
  'sparse-strided': { stride: 3 },
  'sparse-fixed': { stride: 4, summary: 1 },
  linear: { chunk: 4 },
  'transnormer-norm': { chunk: 4 },
};

describe('attention mixers in the registry', () => {
  it('all kinds are registered', () => {
    for (const k of attentionMixerKinds) expect(mixerKinds()).toContain(k);
    expect(attentionMixerKinds.length).toBe(13);
  });

  it.each(attentionMixerKinds)('%s: shape contract and step() equals forward', (kind) => {
    nb.tidy(() => {
      const m = createMixer(16, { kind, dtype: 'f64', ...options[kind] }, nb.foldIn(key, kind.length));
      nn.evalMode(m);
      const x = nb.normal(nb.foldIn(key, 1), [2, 9, 16], { dtype: 'f64' });
      const y = m.forward(x);
      expect(y.shape).toEqual([2, 9, 16]);
      expect(m.causal).toBe(true);
      expectDecodeEqualsForward(m, x, kind === 'flash-attention' ? 1e-9 : 1e-10, kind);
      nn.dispose(m);
    });
  });

  it('default heads divide the width', () => {
    expect([16, 64, 96, 100, 7].map(defaultHeads)).toEqual([1, 2, 3, 2, 1]);
    expect(() => createMixer(16, { kind: 'nope' }, key)).toThrow(/unknown mixer 'nope'/);
  });
});
