/**
 * The mixer contract for every recurrent and state-space family member, built
 * by name through the registry (zoo/mixer.ts) as the LM and the benchmarks
 * build them: (b, n, d) → (b, n, d); causal (a change at position t leaves
 * the outputs before t unchanged); step-by-step decoding from initState
 * equals the full forward pass, token by token (float64).
 */
import { describe, expect, it } from 'vitest';
import { tidy, randomKey, nn, stack, slice, concat, ssm, rnn, type Tensor } from '../../src/index.js';
import { createMixer, mixerKinds, type Mixer, type MixerSpec } from '../../src/zoo/mixer.js';
import { expectRel, sampler } from './helpers.js';

// the families register their mixers when their modules load
void ssm;
void rnn;

const D = 8;
const SPECS: MixerSpec[] = [
  { kind: 'mamba', dState: 4 },
  { kind: 'mamba2', dState: 4, headDim: 4, chunk: 4 },
  { kind: 's4d', dState: 4 },
  { kind: 's4d', dState: 4, init: 'legs' },
  { kind: 's4', dState: 4, lMax: 16 },
  { kind: 'retnet', heads: 2, chunk: 4 },
  { kind: 'lru', dState: 6 },
  { kind: 'lstm' },
  { kind: 'gru', numLayers: 2 },
  { kind: 'rnn' },
];

function decode(m: Mixer, x: Tensor): Tensor {
  let st = m.initState(x.shape[0]!);
  const ys: Tensor[] = [];
  for (let t = 0; t < x.shape[1]!; t++) {
    const [y, next] = m.step(slice(x, [null, t]), st);
    ys.push(y);
    st = next;
  }
  st.dispose();
  return stack(ys, 1);
}

describe('recurrent and state-space mixers', () => {
  it('are all registered', () => {
    const kinds = mixerKinds();
    for (const k of ['mamba', 'mamba2', 's4d', 's4', 'retnet', 'lru', 'lstm', 'gru', 'rnn', 'bilstm', 'bigru']) expect(kinds).toContain(k);
  });

  it.each(SPECS.map((s) => [JSON.stringify(s), s] as const))('%s: shape, causality, decoding = forward (float64)', (_, spec) => {
    tidy(() => {
      const m = createMixer(D, { ...spec, dtype: 'f64' }, randomKey(3));
      expect(m.causal).toBe(true);
      expect(m.dModel).toBe(D);
      const s = sampler(11);
      const x = s.normal([2, 11, D]);
      const y = m.forward(x);
      expect(y.shape).toEqual([2, 11, D]);
      // a different future (positions ≥ 6) leaves positions < 6 as they were
      const x2 = concat([slice(x, [null, { stop: 6 }]), s.normal([2, 5, D])], 1);
      expectRel(slice(m.forward(x2), [null, { stop: 6 }]), slice(y, [null, { stop: 6 }]), 1e-12, 'causal prefix');
      expectRel(decode(m, x), y, 1e-9, 'decode vs forward');
      // S4 keeps its decoding matrices until told
      if (spec.kind === 's4') (m as unknown as { ssm: ssm.S4 }).ssm.disposeStep();
      nn.dispose(m);
    });
  });
});
