/**
 * The Mamba-2 block: recurrent decoding equals the full (chunked SSD) pass
 * token by token, with one and with several groups of B and C; the output
 * does not depend on the chunk length; it is registered as a mixer.
 */
import { describe, expect, it } from 'vitest';
import { tidy, randomKey, nn, stack, slice, astype, type Tensor } from '../../src/index.js';
import { createMixer } from '../../src/zoo/mixer.js';
import { Mamba2 } from '../../src/zoo/ssm/mamba2.js';
import { expectRel, sampler } from './helpers.js';

function decode(m: Mamba2, x: Tensor): Tensor {
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

describe('Mamba-2 block', () => {
  it.each([1, 2])('decoding equals the full pass token by token (%i group(s) of B and C)', (nGroups) => {
    tidy(() => {
      const m = new Mamba2(8, { key: randomKey(1), dState: 4, headDim: 4, nGroups, chunk: 4, dtype: 'f64' });
      expect(m.config.nHeads).toBe(4);
      const x = sampler(2).normal([2, 10, 8]);
      expectRel(decode(m, x), m.forward(x), 1e-10, 'decode vs full');
      nn.dispose(m);
    });
  });

  it('the output does not depend on the SSD chunk length; float32 agrees with float64', () => {
    tidy(() => {
      const x = sampler(3).normal([1, 23, 8]);
      const run = (chunk: number, dtype: 'f32' | 'f64') => {
        const m = new Mamba2(8, { key: randomKey(4), dState: 4, headDim: 4, chunk, dtype });
        const y = m.forward(astype(x, dtype)).toF64();
        nn.dispose(m);
        return y;
      };
      const ref = run(64, 'f64');
      expectRel(run(5, 'f64'), ref, 1e-10, 'chunk 5 vs 64');
      expectRel(run(8, 'f32'), ref, 1e-4, 'f32');
    });
  });

  it('parameters have the reference names and shapes; registered as "mamba2"', () => {
    const m = createMixer(8, { kind: 'mamba2', dState: 4, headDim: 4 }, randomKey(1)) as Mamba2;
    expect(m).toBeInstanceOf(Mamba2);
    const ps = nn.namedParameters(m);
    expect(Object.keys(ps)).toEqual(['in_proj.weight', 'conv1d.weight', 'conv1d.bias', 'dt_bias', 'A_log', 'D', 'norm.weight', 'out_proj.weight']);
    expect(ps['in_proj.weight']!.shape).toEqual([2 * 16 + 2 * 4 + 4, 8]);
    const A = ps.A_log!.toF64().map((v) => Math.exp(v));
    for (const a of A) expect(a >= 1 && a <= 16).toBe(true);
    nn.dispose(m);
  });
});
