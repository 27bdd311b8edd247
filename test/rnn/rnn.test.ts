/**
 * The RNN layers beyond PyTorch parity (torchParity.test.ts): variable
 * lengths equal running each sequence alone; dropout between layers equals
 * the layers run one by one with the same masks; state dicts load into a
 * fresh layer; truncated BPTT equals the per-step cells with the state's
 * gradient cut every k steps, differs from full BPTT, equals it when k ≥ L,
 * and holds one chunk in memory; the mixers decode step by step as they run
 * whole sequences; errors name the argument.
 */
import { describe, expect, it } from 'vitest';
import { tidy, nn, randomKey, slice, stack, sum, mul, add, square, memory, resetPeakMemory, astype, tensor, zeros, type Tensor } from '../../src/index.js';
import { GRU, LSTM, RNN } from '../../src/zoo/rnn/rnn.js';
import { truncatedBptt } from '../../src/zoo/rnn/tbptt.js';
import { cellStep } from '../../src/zoo/rnn/cells.ref.js';
import { createMixer } from '../../src/zoo/mixer.js';
import '../../src/zoo/rnn/mixer.js';
import { linear } from '../../src/nn/linear.js';
import { dropout } from '../../src/nn/dropout.js';
import { foldIn } from '../../src/ops/random.js';
import { expectRel, paramGrads, sampler } from '../ssm/helpers.js';

describe('variable lengths', () => {
  it.each(['lstm', 'gru'] as const)('bidirectional 2-layer %s: each sequence equals running it alone', (kind) => {
    tidy(() => {
      const opts = { key: randomKey(1), numLayers: 2, bidirectional: true, dtype: 'f64' as const };
      const m = kind === 'lstm' ? new LSTM(3, 4, opts) : new GRU(3, 4, opts);
      const x = sampler(2).normal([3, 6, 3]);
      const lengths = [6, 2, 4];
      const all = m.forward(x, { lengths });
      lengths.forEach((n, j) => {
        const alone = m.forward(slice(x, [{ start: j, stop: j + 1 }, { stop: n }]));
        expectRel(slice(all.output, [j, { stop: n }]), slice(alone.output, [0]), 1e-12, `output of sequence ${j}`);
        expect([...slice(all.output, [j, { start: n }]).toF64()].every((v) => v === 0)).toBe(true);
        expectRel(slice(all.h, [null, j]), slice(alone.h, [null, 0]), 1e-12, `h_n of sequence ${j}`);
        if (all.c) expectRel(slice(all.c, [null, j]), slice(alone.c!, [null, 0]), 1e-12, `c_n of sequence ${j}`);
      });
      nn.dispose(m);
    });
  });
});

describe('dropout between layers', () => {
  it('equals the two layers run one by one with the same mask; eval mode and a one-layer net have none', () => {
    tidy(() => {
      const m = new LSTM(3, 4, { key: randomKey(3), numLayers: 2, dropout: 0.5, dtype: 'f64' });
      const x = sampler(4).normal([2, 5, 3]);
      const key = randomKey(9);
      const y = m.forward(x, { key }).output;
      const l0 = new LSTM(3, 4, { key: randomKey(0), dtype: 'f64' });
      const l1 = new LSTM(4, 4, { key: randomKey(0), dtype: 'f64' });
      const sd = nn.stateDict(m);
      nn.loadStateDict(l0, Object.fromEntries(Object.entries(sd).filter(([k]) => k.endsWith('_l0'))));
      nn.loadStateDict(l1, Object.fromEntries(Object.entries(sd).filter(([k]) => k.endsWith('_l1')).map(([k, v]) => [k.replace('_l1', '_l0'), v])));
      const mid = dropout(l0.forward(x).output, 0.5, foldIn(key, 0), { training: true });
      expectRel(y, l1.forward(mid).output, 1e-12, 'train mode');
      nn.evalMode(m);
      expectRel(m.forward(x).output, l1.forward(l0.forward(x).output).output, 1e-12, 'eval mode');
      expect(() => nn.train(m).forward(x)).toThrow(/needs a PRNG key/);
      [m, l0, l1].forEach((q) => nn.dispose(q));
    });
  });
});

describe('state dicts', () => {
  it('move into a fresh layer by name and reproduce its outputs', () => {
    tidy(() => {
      const a = new GRU(3, 5, { key: randomKey(1), numLayers: 2, bidirectional: true });
      const b = new GRU(3, 5, { key: randomKey(2), numLayers: 2, bidirectional: true });
      expect(Object.keys(nn.stateDict(a)).slice(0, 8)).toEqual([
        'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse',
      ]);
      nn.loadStateDict(b, nn.stateDict(a));
      const x = astype(sampler(5).normal([2, 4, 3]), 'f32');
      expectRel(b.forward(x).output, a.forward(x).output, 0, 'same outputs');
      nn.dispose(a);
      nn.dispose(b);
    });
  });
});

describe('truncated BPTT', () => {
  const setup = () => {
    const m = new LSTM(2, 3, { key: randomKey(4), dtype: 'f64' });
    const x = sampler(6).normal([2, 10, 2]);
    const target = sampler(7).normal([2, 10, 3]);
    const loss = (out: Tensor, t0: number) => sum(square(add(out, mul(slice(target, [null, { start: t0, stop: t0 + out.shape[1]! }]), -1))));
    return { m, x, loss };
  };

  it('equals the per-step cells with the state gradient cut every k steps, and differs from full BPTT', () => {
    tidy(() => {
      const { m, x, loss } = setup();
      const k = 4;
      const tb = paramGrads(m, () => {
        const r = truncatedBptt(m, x, loss, { k });
        r.h.dispose();
        r.c?.dispose();
        return sum(mul(m.weight('weight_ih', 0)!, 0)); // the gradients are already in .grad
      });
      // independent: the cells step by step, detaching (h, c) at every chunk boundary
      const ref = paramGrads(m, () => {
        const w = { whh: m.weight('weight_hh', 0)!, bhh: m.weight('bias_hh', 0) };
        let h: Tensor = zeros([2, 3], { dtype: 'f64' });
        let c = h;
        let total: Tensor | null = null;
        for (let t0 = 0; t0 < 10; t0 += k) {
          h = h.detach();
          c = c.detach();
          const hs: Tensor[] = [];
          for (let t = t0; t < Math.min(10, t0 + k); t++) {
            const xp = linear(slice(x, [null, t]), m.weight('weight_ih', 0)!, m.weight('bias_ih', 0));
            [h, c] = cellStep('lstm', xp, h, c, w) as [Tensor, Tensor];
            hs.push(h);
          }
          const l = loss(stack(hs, 1), t0);
          total = total ? add(total, l) : l;
        }
        return total!;
      });
      const full = paramGrads(m, () => loss(m.forward(x).output, 0));
      for (const name of Object.keys(ref)) expectRel(tb[name]!, ref[name]!, 1e-10, `d${name}`);
      expect(Object.keys(ref).some((n) => Math.abs(tb[n]![0]! - full[n]![0]!) > 1e-6)).toBe(true);
      nn.dispose(m);
    });
  });

  it('equals full BPTT when k ≥ L, and its peak memory does not grow with L', () => {
    tidy(() => {
      const { m, x, loss } = setup();
      const tb = paramGrads(m, () => {
        const r = truncatedBptt(m, x, loss, { k: 16 });
        r.h.dispose();
        r.c?.dispose();
        return sum(mul(m.weight('weight_ih', 0)!, 0));
      });
      const full = paramGrads(m, () => loss(m.forward(x).output, 0));
      for (const name of Object.keys(full)) expectRel(tb[name]!, full[name]!, 1e-12, `d${name}`);
      const peak = (L: number): number => {
        const big = new LSTM(8, 32, { key: randomKey(1) });
        const xs = astype(sampler(L).normal([2, L, 8]), 'f32');
        const before = memory().liveBytes;
        resetPeakMemory();
        const r = truncatedBptt(big, xs, (o) => sum(o), { k: 16 });
        const p = memory().peakBytes - before;
        r.h.dispose();
        r.c?.dispose();
        nn.dispose(big);
        return p;
      };
      expect(peak(256) / peak(32)).toBeLessThan(1.3);
      nn.dispose(m);
    });
  });
});

describe('recurrent mixers', () => {
  it.each(['lstm', 'gru', 'rnn'])('%s: decoding step by step equals the full causal pass', (kind) => {
    tidy(() => {
      const mx = createMixer(4, { kind, numLayers: 2, dtype: 'f64' }, randomKey(2));
      const x = sampler(3).normal([2, 7, 4]);
      let st = mx.initState(2);
      const ys: Tensor[] = [];
      for (let t = 0; t < 7; t++) {
        const [y, next] = mx.step(slice(x, [null, t]), st);
        ys.push(y);
        st = next;
      }
      st.dispose();
      expectRel(stack(ys, 1), mx.forward(x), 1e-12, 'decode vs full');
      nn.dispose(mx);
    });
  });

  it('bilstm reads the padding mask as lengths and has no step', () => {
    tidy(() => {
      const mx = createMixer(4, { kind: 'bilstm', dtype: 'f64' }, randomKey(2));
      expect(mx.causal).toBe(false);
      const x = sampler(3).normal([2, 5, 4]);
      const padding = tensor([true, true, true, true, true, true, true, false, false, false], [2, 5]);
      const y = mx.forward(x, { padding });
      expectRel(slice(y, [1, { stop: 2 }]), slice(mx.forward(slice(x, [{ start: 1 }, { stop: 2 }])), [0]), 1e-12, 'short sequence');
      expect(() => mx.initState(1)).toThrow(/no decoding state/);
      expect(() => mx.forward(x, { padding: tensor([true, false, true, true, true, true, true, true, true, true], [2, 5]) })).toThrow(/only right padding/);
      nn.dispose(mx);
    });
  });
});

describe('errors name the argument', () => {
  it('shapes of x, h0 and lengths', () => {
    tidy(() => {
      const m = new RNN(3, 2, { key: randomKey(1), numLayers: 2 });
      const x = astype(sampler(1).normal([2, 4, 3]), 'f32');
      expect(() => m.forward(astype(sampler(1).normal([2, 4, 5]), 'f32'))).toThrow(/RNN: x must be \(b, L, 3\), got \[2,4,5\]/);
      expect(() => m.forward(x, { h0: astype(sampler(1).normal([1, 2, 2]), 'f32') })).toThrow(/h0 must be \[2,2,2\]/);
      expect(() => m.forward(x, { lengths: [4, 5] })).toThrow(/lengths must be 2 integers in 0\.\.4/);
      nn.dispose(m);
    });
  });
});
