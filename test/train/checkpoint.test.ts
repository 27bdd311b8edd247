/**
 * Gradient checkpointing (Chen et al. 2016, arXiv 1604.06174): gradients are
 * bit-identical in float64 to the run without it, for inputs and for
 * parameters reached through the closure; dropout keyed by an explicit key
 * replays the same mask; the allocator's high-water mark falls, at the cost of
 * about one extra forward pass (counted); mistakes give clear errors.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { autocast, checkpoint, checkpointSequential, collectParams, segmentBounds } from '../../src/train/index.js';
import { dense, disposeAll, initMlp, type Params } from './mlp.js';

const bits = (t: Tensor): number[] => Array.from(t.toF64());
const expectBitwise = (a: Tensor, b: Tensor): void => expect(bits(a)).toEqual(bits(b));

/** Gradients of `loss` with respect to every parameter (and `x`), as float64 arrays. */
function gradsOf(p: Params, x: Tensor, loss: () => Tensor): Record<string, number[]> {
  const names = Object.keys(p);
  return nb.tidy(() => {
    const gs = nb.gradients([loss()], [...names.map((n) => p[n]!), x]);
    const out: Record<string, number[]> = {};
    names.forEach((n, i) => (out[n] = bits(gs[i]!)));
    out.x = bits(gs[names.length]!);
    return out;
  });
}

describe('checkpoint', () => {
  it('gives bitwise-identical float64 gradients for inputs and closure parameters, with one extra forward', () => {
    const p = initMlp(nb.randomKey(3), [6, 16, 16, 4], 'f64');
    const x = nb.normal(nb.randomKey(4), [5, 6], { dtype: 'f64' }).requiresGrad_();
    let calls = 0;
    const seg = (h: Tensor): Tensor => {
      calls++;
      return dense(p, 1, dense(p, 0, h, false), false);
    };
    const plain = gradsOf(p, x, () => nb.sum(nb.square(dense(p, 2, seg(x), true))));
    expect(calls).toBe(1);
    calls = 0;
    const ck = gradsOf(p, x, () => nb.sum(nb.square(dense(p, 2, checkpoint(seg, x, p), true))));
    expect(calls).toBe(2); // the forward pass and its recomputation in backward
    expect(ck).toEqual(plain);
    disposeAll(p);
    x.dispose();
  });

  it('handles several inputs and outputs, null cotangents, non-float inputs and inputs that need no gradient', () => {
    const a = nb.normal(nb.randomKey(1), [3, 4], { dtype: 'f64' }).requiresGrad_();
    const b = nb.normal(nb.randomKey(2), [3, 4], { dtype: 'f64' }); // no gradient
    const idx = nb.tensor([2, 0, 1], { dtype: 'i32' });
    const w = nb.normal(nb.randomKey(3), [4], { dtype: 'f64' }).requiresGrad_();
    const fn = (u: Tensor, v: Tensor, i: Tensor): Tensor[] => {
      const s = nb.mul(nb.tanh(u), w);
      return [nb.add(s, v), nb.indexSelect(s, 0, i), nb.exp(v)];
    };
    const lossOf = (outs: Tensor[]): Tensor => nb.add(nb.sum(nb.square(outs[0]!)), nb.sum(nb.sin(outs[1]!))); // outs[2] unused
    const [ga, gw] = nb.tidy(() => nb.gradients([lossOf(fn(a, b, idx))], [a, w]));
    const [ca, cw] = nb.tidy(() => nb.gradients([lossOf(checkpoint(fn as never, [a, b, idx], [w]) as unknown as Tensor[])], [a, w]));
    expectBitwise(ca!, ga!);
    expectBitwise(cw!, gw!);
    for (const t of [a, b, idx, w, ga, gw, ca, cw]) t!.dispose();
  });

  it('accumulates into .grad with backward(), finds parameters in object trees, and leaks nothing', () => {
    const p = initMlp(nb.randomKey(5), [4, 8, 8], 'f64');
    const model = { layers: [{ W: p.W0, b: p.b0 }, { W: p.W1, b: p.b1 }], name: 'm', frozen: nb.ones([2]) };
    expect(collectParams(model)).toEqual([p.W0, p.b0, p.W1, p.b1]);
    const x = nb.normal(nb.randomKey(6), [3, 4], { dtype: 'f64' });
    const run = (ck: boolean): Record<string, number[]> => {
      nb.zeroGrad(Object.values(p));
      const live = nb.memory().liveTensors;
      nb.tidy(() => {
        const f = (h: Tensor): Tensor => dense(p, 1, dense(p, 0, h, false), false);
        nb.backward(nb.sum(ck ? checkpoint(f, x, model) : f(x)));
      });
      expect(nb.memory().liveTensors).toBe(live + 4); // the four .grad tensors
      return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, bits(v.grad!)]));
    };
    expect(run(true)).toEqual(run(false));
    disposeAll(p);
    model.frozen.dispose();
    x.dispose();
  });

  it('replays dropout exactly when the key is passed explicitly', () => {
    const p = initMlp(nb.randomKey(7), [8, 32, 8], 'f64');
    const x = nb.normal(nb.randomKey(8), [16, 8], { dtype: 'f64' }).requiresGrad_();
    const key = nb.randomKey(99);
    const dropout = (h: Tensor, k: nb.Key, rate: number): Tensor => nb.where(nb.bernoulli(k, 1 - rate, h.shape), nb.div(h, 1 - rate), 0);
    const seg = (h: Tensor): Tensor => dense(p, 1, dropout(dense(p, 0, h, false), key, 0.5), true);
    const plain = gradsOf(p, x, () => nb.sum(nb.square(seg(x))));
    const ck = gradsOf(p, x, () => nb.sum(nb.square(checkpoint(seg, x, p))));
    expect(ck).toEqual(plain);
    // and the mask matters: another key gives other gradients
    const other = gradsOf(p, x, () => nb.sum(nb.square(dense(p, 1, dropout(dense(p, 0, x, false), nb.randomKey(100), 0.5), true))));
    expect(other.W0).not.toEqual(plain.W0);
    disposeAll(p);
    x.dispose();
  });

  it('recomputes under the autocast precision of the forward pass', () => {
    const p = initMlp(nb.randomKey(9), [8, 16, 16, 4]);
    const x = nb.normal(nb.randomKey(10), [6, 8]).requiresGrad_();
    const seg = (h: Tensor): Tensor => dense(p, 1, dense(p, 0, h, false), false);
    const f16 = (ck: boolean) => gradsOf(p, x, () => autocast('f16', () => nb.sum(dense(p, 2, ck ? checkpoint(seg, x, p) : seg(x), true))));
    const plain = f16(false);
    expect(f16(true)).toEqual(plain);
    const f32 = gradsOf(p, x, () => nb.sum(dense(p, 2, seg(x), true)));
    expect(f32.W0).not.toEqual(plain.W0); // the f16 run really differed
    disposeAll(p);
    x.dispose();
  });

  it('throws, naming the tensor, when a parameter that requires grad is not passed', () => {
    const p = initMlp(nb.randomKey(11), [3, 4], 'f64');
    p.W0!.name = 'W0';
    const x = nb.normal(nb.randomKey(12), [2, 3], { dtype: 'f64' }).requiresGrad_();
    const y = checkpoint((h) => dense(p, 0, h, true), x, [p.b0]);
    expect(() => nb.backward(nb.sum(y))).toThrow(/uses 'W0' f64\[3,4\], which requires grad but is neither among its inputs nor its params/);
    y.dispose();
    const computed = nb.mul(p.W0!, 2);
    expect(() => checkpoint((h) => nb.matmul(h, computed), x, [computed])).toThrow(/was computed by 'mul'; parameters must be leaf tensors/);
    expect(() => checkpoint(null as never, x)).toThrow(/fn must be a function/);
    expect(() => checkpoint((h) => h, [x, 3 as never])).toThrow(/inputs\[1\] must be a Tensor/);
    computed.dispose();
    disposeAll(p);
    x.dispose();
  });

  it('refuses grad of grad through a segment with a clear error', () => {
    const x = nb.tensor([0.5, -1], { dtype: 'f64' });
    const f = (v: Tensor): Tensor => nb.sum(nb.square(checkpoint((u) => nb.sin(u), v)));
    const g = nb.grad((v: Tensor) => nb.sum(nb.grad(f)(v) as Tensor));
    expect(() => g(x)).toThrow(/grad of grad\) is not supported/);
    // first order inside grad() works
    const g1 = nb.grad(f)(x) as Tensor;
    const ref = nb.grad((v: Tensor) => nb.sum(nb.square(nb.sin(v))))(x) as Tensor;
    expectBitwise(g1, ref);
    for (const t of [x, g1, ref]) t.dispose();
  });
});

describe('checkpointSequential', () => {
  it('splits into segments whose lengths differ by at most one', () => {
    expect(segmentBounds(8, 3)).toEqual([[0, 3], [3, 6], [6, 8]]);
    expect(segmentBounds(5, 5)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    expect(segmentBounds(7, 1)).toEqual([[0, 7]]);
  });

  it('matches the plain stack bitwise for any segment count, recomputing all but the last segment', () => {
    const L = 8;
    const p = initMlp(nb.randomKey(13), Array(L + 1).fill(12), 'f64');
    const x = nb.normal(nb.randomKey(14), [4, 12], { dtype: 'f64' }).requiresGrad_();
    let calls = 0;
    const layers = Array.from({ length: L }, (_, l) => (h: Tensor) => (calls++, dense(p, l, h, false)));
    const plain = gradsOf(p, x, () => nb.sum(layers.reduce((h, f) => f(h), x)));
    for (const segments of [undefined, 1, 2, 4, 8, 20]) {
      calls = 0;
      const ck = gradsOf(p, x, () => nb.sum(checkpointSequential(layers, segments, x, { params: p })));
      expect(ck).toEqual(plain);
      const s = Math.min(segments ?? Math.ceil(Math.sqrt(L)), L);
      const last = segmentBounds(L, s).at(-1)!;
      expect(calls).toBe(L + (s === 1 ? 0 : last[0])); // one extra forward of every checkpointed layer
    }
    disposeAll(p);
    x.dispose();
  });

  it('searches object layers for their parameters and validates its arguments', () => {
    const p = initMlp(nb.randomKey(15), [5, 5, 5, 5], 'f64');
    const x = nb.normal(nb.randomKey(16), [2, 5], { dtype: 'f64' }).requiresGrad_();
    const layers = [0, 1, 2].map((l) => ({ W: p[`W${l}`]!, b: p[`b${l}`]!, forward: (h: Tensor) => dense(p, l, h, false) }));
    const plain = gradsOf(p, x, () => nb.sum(layers.reduce((h, m) => m.forward(h), x)));
    expect(gradsOf(p, x, () => nb.sum(checkpointSequential(layers, 3, x)))).toEqual(plain);
    expect(() => checkpointSequential([], undefined, x)).toThrow(/non-empty array/);
    expect(() => checkpointSequential([{} as never], undefined, x)).toThrow(/layer 0 must be a function or have a forward/);
    expect(() => checkpointSequential(layers, 0, x)).toThrow(/segments must be a positive integer/);
    expect(() => checkpointSequential([() => 3 as never], 1, x)).toThrow(/layer 0 returned number/);
    disposeAll(p);
    x.dispose();
  });
});

/** Peak bytes above the baseline over forward + backward of `loss`. */
function peakOf(loss: () => Tensor): { peak: number; held: number } {
  const before = nb.memory().liveBytes;
  nb.resetPeakMemory();
  const l = nb.tidy(loss);
  const held = nb.memory().liveBytes - before;
  nb.backward(l);
  l.dispose();
  return { peak: nb.memory().peakBytes - before, held };
}

describe('checkpointing memory (allocator high-water mark)', () => {
  it('an 8-layer MLP stack: peak falls (measured 0.52×) for one extra forward of the 6 checkpointed layers', () => {
    const L = 8;
    const p = initMlp(nb.randomKey(17), Array(L + 1).fill(128));
    const x = nb.normal(nb.randomKey(18), [512, 128]);
    let calls = 0;
    const layers = Array.from({ length: L }, (_, l) => (h: Tensor) => (calls++, dense(p, l, h, false)));
    const plain = peakOf(() => nb.mean(nb.square(layers.reduce((h, f) => f(h), x))));
    expect(calls).toBe(8);
    calls = 0;
    const ck = peakOf(() => nb.mean(nb.square(checkpointSequential(layers, undefined, x, { params: p }))));
    expect(calls).toBe(14);
    const ratio = ck.peak / plain.peak;
    console.log(`8-layer MLP (512×128): peak ${ck.peak} vs ${plain.peak} bytes, ratio ${ratio.toFixed(3)}; held after forward ${(ck.held / plain.held).toFixed(3)}`);
    expect(ratio).toBeLessThan(0.65);
    expect(ck.held / plain.held).toBeLessThan(0.4);
    disposeAll(p);
    x.dispose();
  });

  it('a stack of transformer-like blocks (pre-norm attention + GELU MLP): peak falls too', () => {
    const [B, N, D, L] = [2, 64, 32, 8];
    const keys = nb.splitKey(nb.randomKey(19), L);
    const blocks = keys.map((k) => {
      const [a, b, c, d, e, f] = nb.splitKey(k, 6);
      const w = (kk: nb.Key, i: number, o: number): Tensor => nb.normal(kk, [i, o], { std: 1 / Math.sqrt(i) }).requiresGrad_();
      return { Wq: w(a!, D, D), Wk: w(b!, D, D), Wv: w(c!, D, D), Wo: w(d!, D, D), W1: w(e!, D, 4 * D), W2: w(f!, 4 * D, D) };
    });
    const norm = (x: Tensor): Tensor => nb.div(nb.sub(x, nb.mean(x, -1, true)), nb.sqrt(nb.add(nb.variance(x, -1, { keepdim: true, correction: 0 }), 1e-5)));
    const block = (blk: (typeof blocks)[number]) => (x: Tensor): Tensor => {
      const h = norm(x); // (b, n, d)
      const q = nb.matmul(h, blk.Wq);
      const k = nb.matmul(h, blk.Wk);
      const v = nb.matmul(h, blk.Wv);
      const att = nb.softmax(nb.mul(nb.matmul(q, nb.transpose(k)), 1 / Math.sqrt(D))); // (b, n, n)
      const x1 = nb.add(x, nb.matmul(nb.matmul(att, v), blk.Wo));
      return nb.add(x1, nb.matmul(nb.gelu(nb.matmul(norm(x1), blk.W1)), blk.W2));
    };
    const layers = blocks.map(block);
    const x = nb.normal(nb.randomKey(20), [B, N, D]);
    const plain = peakOf(() => nb.mean(nb.square(layers.reduce((h, f) => f(h), x))));
    const ck = peakOf(() => nb.mean(nb.square(checkpointSequential(layers, undefined, x, { params: blocks }))));
    const ratio = ck.peak / plain.peak;
    console.log(`8 transformer-like blocks (b=${B}, n=${N}, d=${D}): peak ${ck.peak} vs ${plain.peak} bytes, ratio ${ratio.toFixed(3)}; held after forward ${(ck.held / plain.held).toFixed(3)}`);
    expect(ratio).toBeLessThan(0.65);
    for (const b of blocks) for (const t of Object.values(b)) t.dispose();
    x.dispose();
  });
});
