/**
 * Layers: every functional form through the checker (test/nn/cases.ts), then
 * the properties that the checker cannot see: RoPE's relative-position
 * invariance and KV-cache offsets, causality of the causal convolution,
 * dropout statistics and modes, padding rows, table values of the fixed
 * encodings, and layer defaults.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { checkOp, expectClose } from '../helpers/check.js';
import { layerCases } from './cases.js';

const key = nb.randomKey(11);
const k = (i: number): nb.Key => nb.foldIn(key, i);

describe('layer functions against float64 references and finite differences', () => {
  it.each(layerCases.map((c) => [`${c.op}${c.label ? ` (${c.label})` : ''}`, c] as const))('%s', (_n, c) => checkOp(c));
});

describe('RoPE', () => {
  it.each([false, true])('⟨R_p q, R_s k⟩ depends only on p − s (interleaved %s)', (interleaved) => {
    nb.tidy(() => {
      const rope = new nn.RotaryEmbedding(8, { interleaved });
      const q = nb.normal(k(1), [1, 1, 1, 8], { dtype: 'f64' });
      const kk = nb.normal(k(2), [1, 1, 1, 8], { dtype: 'f64' });
      const score = (p: number, s: number): number => nb.sum(nb.mul(rope.rotate(q, p), rope.rotate(kk, s))).item();
      const base = score(5, 2);
      expect(Math.abs(score(13, 10) - base)).toBeLessThan(1e-12);
      expect(Math.abs(score(3, 0) - base)).toBeLessThan(1e-12);
      // and it does change with the distance
      expect(Math.abs(score(6, 2) - base)).toBeGreaterThan(1e-3);
    });
  });

  it('rotating the last token at offset n − 1 equals the last row of the full sequence (KV cache)', () => {
    nb.tidy(() => {
      const rope = new nn.RotaryEmbedding(4, { base: 500 });
      const x = nb.normal(k(3), [2, 3, 6, 4], { dtype: 'f64' });
      const [q, kk] = rope.forward(x, x);
      const last = nb.slice(x, [null, null, { start: 5 }]);
      expectClose(rope.rotate(last, 5).toF64(), nb.slice(q, [null, null, { start: 5 }]).toF64(), 1e-14, 'offset');
      expectClose(q.toF64(), kk.toF64(), 0, 'q and k rotate alike');
    });
  });

  it('preserves norms and keeps unrotated channels', () => {
    nb.tidy(() => {
      const x = nb.normal(k(4), [3, 5, 6], { dtype: 'f64' });
      const y = nn.applyRotary(x, nn.rotaryTables(5, 4, { offset: 2 }));
      expectClose(nb.norm(y, 2, -1).toF64(), nb.norm(x, 2, -1).toF64(), 1e-14, 'norms');
      expectClose(nb.slice(y, [null, null, { start: 4 }]).toF64(), nb.slice(x, [null, null, { start: 4 }]).toF64(), 0, 'pass-through channels');
    });
  });

  it('rejects odd rotary sizes and tables that do not fit', () => {
    expect(() => new nn.RotaryEmbedding(5)).toThrow(/dim must be even/);
    nb.tidy(() => {
      const x = nb.zeros([2, 3, 4]);
      expect(() => nn.applyRotary(x, nn.rotaryTables(3, 6))).toThrow(/rotate 6 channels but x \[2,3,4\] has 4/);
      expect(() => nn.applyRotary(x, nn.rotaryTables(2, 4))).toThrow(/must be \(n = 3, r\/2\)/);
    });
  });
});

describe('fixed encodings', () => {
  it('sinusoidal positions follow Vaswani et al. §3.5', () => {
    nb.tidy(() => {
      const pe = nn.sinusoidalPositions(4, 6, { offset: 1, dtype: 'f64' }).toArray() as number[][];
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 3; i++) {
          const a = (p + 1) / 10000 ** ((2 * i) / 6);
          expect(pe[p]![2 * i]).toBeCloseTo(Math.sin(a), 14);
          expect(pe[p]![2 * i + 1]).toBeCloseTo(Math.cos(a), 14);
        }
      }
      const enc = new nn.SinusoidalPositionalEncoding(6);
      const x = nb.ones([2, 4, 6], { dtype: 'f64' });
      const y = enc.forward(x, 1);
      expectClose(nb.sub(y, 1).toF64(), nb.broadcastTo(nn.sinusoidalPositions(4, 6, { offset: 1, dtype: 'f64' }), [2, 4, 6]).toF64(), 1e-15, 'added');
    });
  });

  it('ALiBi slopes: geometric for powers of two, the paper rule otherwise', () => {
    expect(nn.alibiSlopes(8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i));
    expect(nn.alibiSlopes(4)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    // 6 heads: the 4 slopes of 4 heads, then slopes 1 and 3 of 8 heads
    expect(nn.alibiSlopes(6)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    expect(nn.alibiSlopes(12).slice(8)).toEqual([2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5]);
    expect(() => nn.alibiSlopes(0)).toThrow(/heads must be a positive integer/);
  });

  it('ALiBi bias is −m·distance with queries last by default', () => {
    nb.tidy(() => {
      const b = nn.alibiBias(2, 2, 5, { dtype: 'f64' }).toArray() as number[][][];
      // query i sits at position 3 + i
      expect(b[0]![0]).toEqual([-3, -2, -1, 0, 1].map((d) => -0.0625 * Math.abs(d)));
      expect(b[1]![1]).toEqual([4, 3, 2, 1, 0].map((d) => -(2 ** -8) * d));
    });
  });

  it('2-D sin-cos: columns in the first half, rows in the second (MAE), class token, SD3 scaling', () => {
    nb.tidy(() => {
      const e = nn.sincos2dPositions(8, [2, 3], { clsToken: true, dtype: 'f64' }).toArray() as number[][];
      expect(e).toHaveLength(7);
      expect(e[0]).toEqual(new Array(8).fill(0));
      const om = [1, 1 / 100];
      const row = (r: number, c: number): number[] => [...om.map((w) => Math.sin(c * w)), ...om.map((w) => Math.cos(c * w)), ...om.map((w) => Math.sin(r * w)), ...om.map((w) => Math.cos(r * w))];
      expect(e[1 + 1 * 3 + 2]).toEqual(row(1, 2));
      const s = nn.sincos2dPositions(4, 4, { baseSize: 2, interpolationScale: 2, dtype: 'f64' }).toArray() as number[][];
      // position 3 of 4 → 3/(4/2)/2 = 0.75
      expect(s[3]![0]).toBeCloseTo(Math.sin(0.75), 15);
      expect(() => nn.sincos2dPositions(6, 2)).toThrow(/multiple of 4/);
    });
  });

  it('Gaussian Fourier features: W fixed unless learnable, shapes, scale', () => {
    nb.tidy(() => {
      const g = new nn.GaussianFourierProjection({ key: k(5), embeddingSize: 512, scale: 16 });
      expect(g.W.requiresGrad).toBe(false);
      expect(Object.keys(nn.namedParameters(g))).toEqual(['W']);
      expect(nb.std(g.W).item()).toBeGreaterThan(14);
      expect(nb.std(g.W).item()).toBeLessThan(18);
      expect(g.forward(nb.tensor([0.1, 0.2])).shape).toEqual([2, 1024]);
      expect(new nn.GaussianFourierProjection({ key: k(5), learnable: true }).W.requiresGrad).toBe(true);
    });
  });
});

describe('dropout', () => {
  it('keeps about 1 − p of the entries, scales them by 1/(1 − p), and is the identity in eval mode', () => {
    nb.tidy(() => {
      const d = new nn.Dropout(0.25);
      const x = nb.ones([100, 100], { dtype: 'f64' });
      const y = d.forward(x, k(6));
      const kept = nb.sum(nb.gt(y, 0)).item() / 1e4;
      expect(Math.abs(kept - 0.75)).toBeLessThan(4 * Math.sqrt((0.75 * 0.25) / 1e4));
      expect(nb.max(y).item()).toBeCloseTo(1 / 0.75, 14);
      expect(d.forward(x, k(6)).toF64()).toEqual(y.toF64());
      expect(d.forward(x, k(7)).toF64()).not.toEqual(y.toF64());
      nn.eval(d);
      expect(d.forward(x).toF64()).toEqual(x.toF64());
    });
  });

  it('needs a key in training mode; p = 1 gives zeros; p outside [0, 1] is refused', () => {
    nb.tidy(() => {
      expect(() => new nn.Dropout(0.5).forward(nb.ones([2]))).toThrow(/training mode needs a PRNG key/);
      expect(nn.dropout(nb.ones([3]), 1, k(1)).toArray()).toEqual([0, 0, 0]);
      expect(() => new nn.Dropout(1.5)).toThrow(/p must be a probability/);
    });
  });
});

describe('layer details', () => {
  it('Linear and Conv default init lies in ±1/√fan_in', () => {
    nb.tidy(() => {
      const lin = new nn.Linear(50, 30, { key: k(8) });
      expect(nb.max(nb.abs(lin.weight)).item()).toBeLessThanOrEqual(1 / Math.sqrt(50));
      expect(nb.max(nb.abs(lin.weight)).item()).toBeGreaterThan(0.9 / Math.sqrt(50));
      expect(nb.max(nb.abs(lin.bias!)).item()).toBeLessThanOrEqual(1 / Math.sqrt(50));
      const c = new nn.Conv1d(8, 8, 4, { key: k(9), groups: 4 });
      expect(c.weight.shape).toEqual([8, 2, 4]);
      expect(nb.max(nb.abs(c.weight)).item()).toBeLessThanOrEqual(1 / Math.sqrt(8));
      expect(nb.max(nb.abs(c.bias!)).item()).toBeLessThanOrEqual(1 / Math.sqrt(8));
    });
  });

  it('causal depthwise Conv1d: output t ignores inputs after t and other channels', () => {
    nb.tidy(() => {
      const c = new nn.Conv1d(3, 3, 4, { key: k(10), groups: 3, padding: 'causal', dtype: 'f64' });
      const x = nb.normal(k(11), [1, 3, 10], { dtype: 'f64' });
      const y = c.forward(x);
      expect(y.shape).toEqual([1, 3, 10]);
      // change the future (t ≥ 6) of every channel and the past of channel 2
      const mask = nb.tensor(Array.from({ length: 30 }, (_, i) => (i % 10 >= 6 || i >= 20 ? 1 : 0)), [1, 3, 10], { dtype: 'f64' });
      const y2 = c.forward(nb.add(x, mask));
      const same = (t: nb.Tensor): number[] => Array.from(t.toF64()).filter((_, i) => i < 20 && i % 10 < 6);
      expect(same(y2)).toEqual(same(y));
      expect(nb.slice(y2, [0, 2]).toF64()).not.toEqual(nb.slice(y, [0, 2]).toF64());
    });
  });

  it('Conv2d forward is conv2d with its own weight and bias, batched or not', () => {
    nb.tidy(() => {
      const c = new nn.Conv2d(2, 4, [3, 2], { key: k(12), stride: 2, padding: 1 });
      const x = nb.normal(k(13), [2, 2, 7, 6]);
      const y = c.forward(x);
      expect(y.shape).toEqual([2, 4, 4, 4]);
      expectClose(y.toF64(), nb.conv2d(x, c.weight, c.bias, { stride: 2, padding: 1 }).toF64(), 0, 'same as conv2d');
      expectClose(c.forward(nb.slice(x, [1])).toF64(), nb.slice(y, [1]).toF64(), 0, 'unbatched');
      expect(() => c.forward(nb.zeros([1, 3, 5, 5]))).toThrow(/x is \[1,3,5,5\] but the layer takes 2 input channels/);
      expect(() => new nn.Conv2d(3, 4, 3, { key, groups: 2 })).toThrow(/groups 2 must divide inChannels 3/);
    });
  });

  it('Embedding: padding row starts at zero and gets no gradient; indices must be i32 and in range', () => {
    nb.tidy(() => {
      const e = new nn.Embedding(6, 3, { key: k(14), paddingIdx: -1 });
      expect(e.config.paddingIdx).toBe(5);
      expect(nb.slice(e.weight, [5]).toArray()).toEqual([0, 0, 0]);
      const idx = nb.tensor([[5, 1, 5, 2]], { dtype: 'i32' });
      const g = nb.grad((w) => nb.sum(nb.square(nn.embedding(idx, w, { paddingIdx: 5 }))))(nb.add(e.weight, 1)) as nb.Tensor;
      const rowsG = g.toArray() as number[][];
      expect(rowsG[5]).toEqual([0, 0, 0]);
      expect(rowsG[1]!.every((v) => v !== 0)).toBe(true);
      expect(rowsG[0]).toEqual([0, 0, 0]);
      expect(() => e.forward(nb.tensor([1.0]))).toThrow(/indices must be i32/);
      expect(() => e.forward(nb.tensor([7], { dtype: 'i32' })).toArray()).toThrow(/7/);
    });
  });

  it('norms: half-precision inputs keep their dtype and match float32 statistics', () => {
    nb.tidy(() => {
      const x = nb.normal(k(15), [4, 64], { mean: 300, std: 40 });
      const ln = new nn.LayerNorm(64);
      const h = ln.forward(nb.astype(x, 'f16'));
      expect(h.dtype).toBe('f16');
      expectClose(h.toF64(), ln.forward(nb.astype(nb.astype(x, 'f16'), 'f32')).toF64(), 2e-3, 'f16 layer norm');
      const r = new nn.RMSNorm(64).forward(nb.astype(x, 'bf16'));
      expect(r.dtype).toBe('bf16');
      expect(Number.isFinite(nb.sum(r).item())).toBe(true);
      expect(() => ln.forward(nb.zeros([4, 32]))).toThrow(/normalized shape is \[64\]/);
    });
  });

  it('norm modules: defaults, affine switches, ScaleNorm starts at √dim', () => {
    nb.tidy(() => {
      expect(Object.keys(nn.namedParameters(new nn.LayerNorm(4, { elementwiseAffine: false })))).toEqual([]);
      expect(Object.keys(nn.namedParameters(new nn.LayerNorm(4, { bias: false })))).toEqual(['weight']);
      expect(new nn.RMSNorm(4).config.eps).toBe(1e-6);
      const s = new nn.ScaleNorm(16);
      expect(s.scale.shape).toEqual([]);
      expect(s.scale.item()).toBe(4);
      const x = nb.normal(k(20), [3, 16], { dtype: 'f64' });
      // every output row has norm g = 4
      expectClose(nb.norm(nb.astype(s.forward(nb.astype(x, 'f32')), 'f64'), 2, -1).toF64(), [4, 4, 4], 1e-6, 'ScaleNorm row norms');
    });
  });

  it('learned positions: rows offset … offset + n − 1 are added and only they get gradients', () => {
    nb.tidy(() => {
      const pe = new nn.LearnedPositionalEmbedding(6, 3, { key: k(21), dtype: 'f64' });
      const x = nb.zeros([2, 2, 3], { dtype: 'f64' });
      const y = pe.forward(x, 3);
      expectClose(nb.slice(y, [1]).toF64(), nb.slice(pe.weight, [{ start: 3, stop: 5 }]).toF64(), 0, 'rows 3, 4');
      nb.backward(nb.sum(y));
      expect(nb.sum(nb.abs(pe.weight.grad!), 1).toArray()).toEqual([0, 0, 0, 6, 6, 0]);
      expect(() => pe.forward(x, 5)).toThrow(/positions 5…6 exceed the table of 6 positions/);
    });
  });

  it('Gaussian Fourier options: log input and cos first', () => {
    nb.tidy(() => {
      const g = new nn.GaussianFourierProjection({ key: k(22), embeddingSize: 3, log: true, flipSinToCos: true, dtype: 'f64' });
      const x = nb.tensor([0.5, 2], { dtype: 'f64' });
      const w = g.W.toF64();
      const want = [0.5, 2].flatMap((t) => [...Array.from(w, (f) => Math.cos(2 * Math.PI * Math.log(t) * f)), ...Array.from(w, (f) => Math.sin(2 * Math.PI * Math.log(t) * f))]);
      expectClose(g.forward(x).toF64(), want, 1e-14, 'features');
    });
  });

  it('MLP: one Linear per width, activation between, dropout driven by the key', () => {
    nb.tidy(() => {
      const m = new nn.MLP(4, [8, 8], 2, { key: k(16), activation: 'silu', dropout: 0.5 });
      expect(Object.keys(nn.namedParameters(m))).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
      const x = nb.normal(k(17), [3, 4]);
      expect(m.forward(x, k(1)).toF64()).toEqual(m.forward(x, k(1)).toF64());
      expect(m.forward(x, k(1)).toF64()).not.toEqual(m.forward(x, k(2)).toF64());
      nn.eval(m);
      const [l0, l1, l2] = m.layers as [nn.Linear, nn.Linear, nn.Linear];
      const want = l2.forward(nb.silu(l1.forward(nb.silu(l0.forward(x)))));
      expectClose(m.forward(x).toF64(), want.toF64(), 0, 'eval forward');
      expect(() => new nn.MLP(4, 8, 2, { key, activation: 'swish' as never })).toThrow(/unknown activation 'swish'/);
    });
  });
});
