/**
 * Gradient utilities: global-norm clipping, accumulation over micro-batches,
 * EMA of weights, optimiser state save/restore, and the in-place helpers.
 */
import { describe, expect, it } from 'vitest';
import { mul, sum, tensor, tidy, transpose, valueAndGrad, type Tensor } from '../../src/index.js';
import {
  accumulateGradients,
  adamw,
  addInto,
  clipGradNorm,
  copyInto,
  ema,
  emaTfWarmup,
  emaWarmup,
  globalNorm,
  gradAccumulator,
  optimizerStateToTensors,
  restoreOptimizerState,
  scaleInPlace,
  writable,
} from '../../src/optim/index.js';
import { broadcastTo } from '../../src/ops/views.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/index.js';
import { mulberry32, randn } from '../helpers/rng.js';

const vals = (n: number, seed: number): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => randn(r));
};
const f64 = (v: number[], shape = [v.length]): Tensor => tensor(v, shape, { dtype: 'f64' });

describe('global-norm clipping', () => {
  it('returns the norm before clipping and scales all gradients to maxNorm', () => {
    const gs = { a: f64([3, 0]), b: f64([0, 4, 0]) };
    expect(globalNorm(gs)).toBe(5);
    expect(globalNorm(gs, Infinity)).toBe(4);
    expect(globalNorm(gs, 1)).toBe(7);
    expect(clipGradNorm(gs, 2)).toBe(5);
    expect(globalNorm(gs)).toBeCloseTo(2 * (5 / (5 + 1e-6)), 14);
    expect([...gs.a.toF64()]).toEqual([3 * (2 / (5 + 1e-6)), 0]);
  });

  it('leaves small gradients alone and reports non-finite norms', () => {
    const gs = [f64([0.3, 0.4]), null];
    expect(clipGradNorm(gs, 1)).toBeCloseTo(0.5, 15);
    expect([...gs[0]!.toF64()]).toEqual([0.3, 0.4]);
    expect(globalNorm([f64([1, NaN])], Infinity)).toBeNaN();
    expect(() => clipGradNorm([f64([Infinity])], 1, { errorIfNonfinite: true })).toThrow(/total norm of the gradients is Infinity/);
  });
});

describe('gradient accumulation', () => {
  // loss(w; x) = Σ w·x / n over a micro-batch: the full-batch gradient is the mean of the micro-batch gradients
  const w = f64([0.5, -1, 2]);
  const lossOf = (x: Tensor) => (wt: Tensor) => mul(sum(mul(wt, x)), 1 / 4);
  const xs = [0, 1, 2, 3].map((i) => f64(vals(3, 20 + i)));

  it('sums micro-batch gradients and scales them to the mean', () => {
    const mean = accumulateGradients(4, (i) => ({ w: (valueAndGrad(lossOf(xs[i]!))(w)[1][0]!) }));
    const want = [0, 1, 2].map((j) => xs.reduce((s, x) => s + x.toF64()[j]!, 0) / 16);
    mean.w!.toF64().forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 15));
  });

  it('reuses its buffers across reset() and refuses mismatched or early use', () => {
    const acc = gradAccumulator();
    acc.add({ w: f64([1, 2, 3]) });
    acc.add({ w: f64([3, 2, 1]), v: null });
    const buf = acc.result().w!;
    expect([...buf.toF64()]).toEqual([2, 2, 2]);
    expect(() => acc.add({ w: f64([1, 1, 1]) })).toThrow(/call reset\(\)/);
    acc.reset();
    acc.add({ w: f64([4, 4, 4]) });
    expect(acc.result(0.5).w).toBe(buf);
    expect([...buf.toF64()]).toEqual([2, 2, 2]);
    expect(() => acc.add({ w: f64([1]) })).toThrow(/call reset/);
    acc.reset();
    expect(() => acc.add({ w: f64([1]) })).toThrow("gradient 'w' is [1] but earlier micro-batches gave [3]");
    acc.dispose();
    expect(buf.disposed).toBe(true);
    expect(() => gradAccumulator().result()).toThrow(/no micro-batch/);
  });
});

describe('EMA of weights', () => {
  it('follows θ̄ ← dθ̄ + (1 − d)θ with a constant or scheduled decay', () => {
    const p = { w: f64([0, 10]) };
    const e = ema({ decay: 0.9 });
    let st = e.init(p);
    const ref = [0, 10];
    for (let t = 0; t < 5; t++) {
      copyInto(p.w, f64([t + 1, -t]));
      st = e.update(st, p);
      ref[0] = 0.9 * ref[0]! + 0.1 * (t + 1);
      ref[1] = 0.9 * ref[1]! + 0.1 * -t;
    }
    st.shadow.w!.toF64().forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 14));
    expect(st.step).toBe(5);
    e.copyTo(st, p);
    expect([...p.w.toF64()]).toEqual([...st.shadow.w!.toF64()]);
  });

  it('warmup schedules start at 0 (copy the weights) and rise to their cap', () => {
    const d = emaWarmup({ power: 3 / 4, maxDecay: 0.999 });
    expect(d(0)).toBe(0);
    expect(d(1)).toBeCloseTo(1 - 2 ** -0.75, 15);
    for (let t = 1; t < 5000; t += 37) expect(d(t)).toBeGreaterThanOrEqual(d(t - 1));
    expect(d(1e9)).toBe(0.999);
    const tf = emaTfWarmup(0.99);
    expect(tf(0)).toBeCloseTo(0.1, 15);
    expect(tf(10 ** 6)).toBe(0.99);
    const p = { w: f64([1, 2]) };
    const e = ema({ decay: emaWarmup() });
    let st = e.init({ w: f64([0, 0]) });
    st = e.update(st, p);
    expect([...st.shadow.w!.toF64()]).toEqual([1, 2]);
    expect(() => ema({ decay: 1.5 })).toThrow(/decay at step 0 must be in \[0, 1\]/);
  });
});

describe('optimiser state save and restore', () => {
  it('continues bit for bit after a round trip through safetensors', () => {
    const init = { w: vals(12, 30), b: vals(4, 31) };
    const mkParams = () => ({ w: tensor(init.w, [3, 4]), b: tensor(init.b, [4]) });
    const gradAt = (t: number) => ({ w: tensor(vals(12, 100 + t), [3, 4]), b: tensor(vals(4, 200 + t), [4]) });
    const opt = adamw({ lr: 1e-2, weightDecay: 0.1, amsgrad: true });
    const straight = mkParams();
    let s1 = opt.init(straight);
    for (let t = 0; t < 8; t++) s1 = opt.update(gradAt(t), s1, straight).state;

    const resumed = mkParams();
    let s2 = opt.init(resumed);
    for (let t = 0; t < 4; t++) s2 = opt.update(gradAt(t), s2, resumed).state;
    const saved = optimizerStateToTensors(s2);
    const file = parseSafetensors(serializeSafetensors(saved.tensors, { opt: saved.meta }));
    const fresh = opt.init(resumed);
    let s3 = restoreOptimizerState(fresh, { tensors: file.tensors, meta: file.metadata.opt! });
    expect(s3.step).toBe(4);
    for (let t = 4; t < 8; t++) s3 = opt.update(gradAt(t), s3, resumed).state;
    expect([...resumed.w.dataSync()]).toEqual([...straight.w.dataSync()]);
    expect([...resumed.b.dataSync()]).toEqual([...straight.b.dataSync()]);
  });

  it('refuses state that does not fit', () => {
    const ps = { w: tensor([1, 2], [2]) };
    const saved = optimizerStateToTensors(adamw().init(ps));
    expect(() => restoreOptimizerState(adamw().init({ w: tensor([1, 2, 3], [3]) }), saved)).toThrow("'w.expAvg' is [2] in the checkpoint but [3] here");
    expect(() => restoreOptimizerState(adamw().init({ v: tensor([1, 2], [2]) }), saved)).toThrow("no state for parameter 'v'");
    expect(() => restoreOptimizerState(adamw({ amsgrad: true }).init(ps), saved)).toThrow("no tensor 'w.maxExpAvgSq'");
  });
});

describe('in-place helpers', () => {
  it('write through strided views, round to the dtype, and refuse broadcast views', () => {
    const base = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const t = transpose(base);
    addInto(t, f64([10, 20, 30, 40, 50, 60], [3, 2]));
    expect(base.toArray()).toEqual([
      [11, 32, 53],
      [24, 45, 66],
    ]);
    const h = tensor([1, 2], [2], { dtype: 'bf16' });
    scaleInPlace(h, 1 / 3);
    expect([...h.toF64()]).toEqual([0.333984375, 0.66796875]);
    const b = tidy(() => broadcastTo(f64([1]), [3]));
    expect(() => writable(b)).toThrow(/broadcast \(overlapping\) view/);
    expect(() => copyInto(f64([1, 2]), f64([1]))).toThrow('copyInto: dst is [2] but src is [1]');
    expect(() => writable(tensor([1], [1], { dtype: 'i32' }))).toThrow(/only update floating tensors/);
  });
});
