/**
 * Optimiser driver behaviour that PyTorch parity does not cover: Lion, in-place
 * updates without allocation, 16-bit and strided parameters, groups and
 * layer-wise multipliers, schedules, hooks, clipping, and clear errors.
 */
import { describe, expect, it } from 'vitest';
import { memory, tensor, transpose, type Tensor } from '../../src/index.js';
import { adamw, lion, sgd, layerwiseDecay, clipValue, scaleGrad, maskGrad, addGradNoise, onlyFor, warmupLinear, disposeOptimizerState } from '../../src/optim/index.js';
import { key } from '../../src/core/random.js';
import { mulberry32, randn } from '../helpers/rng.js';

const vals = (n: number, seed: number, scale = 1): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => randn(r) * scale);
};

describe('Lion', () => {
  it('follows algorithm 2 of Chen et al. on a scalar trajectory, in float64', () => {
    const [b1, b2, lr, wd] = [0.9, 0.99, 0.01, 0.1];
    const p0 = [0.5, -1.5, 2, 0];
    const gs = [vals(4, 1), vals(4, 2), [0, 0, 0, 0], vals(4, 3)];
    const params = { x: tensor(p0, [4], { dtype: 'f64' }) };
    const opt = lion({ lr, betas: [b1, b2], weightDecay: wd });
    let state = opt.init(params);
    // independent scalar reference
    const p = p0.slice();
    const m = [0, 0, 0, 0];
    for (const g of gs) {
      state = opt.update({ x: tensor(g, [4], { dtype: 'f64' }) }, state, params).state;
      for (let i = 0; i < 4; i++) {
        const c = b1 * m[i]! + (1 - b1) * g[i]!;
        p[i] = p[i]! - lr * (Math.sign(c) + wd * p[i]!);
        m[i] = b2 * m[i]! + (1 - b2) * g[i]!;
      }
      const got = params.x.toF64();
      for (let i = 0; i < 4; i++) expect(got[i]).toBeCloseTo(p[i]!, 14);
    }
    expect([...state.params.x!.slots.expAvg!.toF64()].map((v, i) => v - m[i]!).every((d) => Math.abs(d) < 1e-15)).toBe(true);
  });

  it('moves every coordinate by exactly lr when there is no weight decay', () => {
    const params = { x: tensor(vals(50, 4), [50], { dtype: 'f64' }) };
    const before = params.x.toF64();
    const opt = lion({ lr: 0.125 });
    opt.update({ x: tensor(vals(50, 5), [50], { dtype: 'f64' }) }, opt.init(params), params);
    const after = params.x.toF64();
    for (let i = 0; i < 50; i++) expect(Math.abs(after[i]! - before[i]!)).toBeCloseTo(0.125, 12);
  });
});

describe('in-place updates', () => {
  it('update the parameter tensors themselves and allocate nothing per step', () => {
    const params = { w: tensor(vals(64, 6), [8, 8]), b: tensor(vals(8, 7), [8]) };
    const grads = { w: tensor(vals(64, 8), [8, 8]), b: tensor(vals(8, 9), [8]) };
    const opt = adamw({ lr: 1e-2 });
    let state = opt.init(params);
    const storage = params.w.storage;
    state = opt.update(grads, state, params).state; // warm up
    const m0 = memory();
    for (let i = 0; i < 5; i++) {
      const r = opt.update(grads, state, params);
      expect(r.params.w).toBe(params.w);
      state = r.state;
    }
    const m1 = memory();
    expect(params.w.storage).toBe(storage);
    expect(m1.liveBytes).toBe(m0.liveBytes);
    expect(m1.liveTensors).toBe(m0.liveTensors);
    expect(state.step).toBe(6);
    disposeOptimizerState(state);
  });

  it('handles float16 parameters (float32 state) and strided views', () => {
    const base = tensor(vals(6, 10), [2, 3], { dtype: 'f64' });
    const view = transpose(base); // (3, 2) strided view of base
    const plain = tensor(view.toF64(), [3, 2], { dtype: 'f64' });
    const g = tensor(vals(6, 11), [3, 2], { dtype: 'f64' });
    const o = sgd({ lr: 0.5, momentum: 0.9 });
    o.update({ v: g }, o.init({ v: view }), { v: view });
    o.update({ v: g }, o.init({ v: plain }), { v: plain });
    expect([...view.toF64()]).toEqual([...plain.toF64()]);
    expect([...base.toF64()]).toEqual([...transpose(plain).toF64()]); // the write landed in base's storage

    const h = tensor([1, 2, 3], [3], { dtype: 'f16' });
    const oh = adamw({ lr: 0.25, weightDecay: 0 });
    const st = oh.init({ h });
    expect(st.params.h!.slots.expAvg!.dtype).toBe('f32');
    oh.update({ h: tensor([1, -1, 0], [3], { dtype: 'f16' }) }, st, { h });
    // first Adam step moves by lr·sign(g) (m̂/√v̂ = ±1), and 0.75, 2.25, 3 are exact in float16
    expect(h.toArray()).toEqual([0.75, 2.25, 3]);
  });
});

describe('parameter groups and learning rates', () => {
  const mk = (): Record<string, Tensor> => ({
    'embed.weight': tensor([1, 1], [2], { dtype: 'f64' }),
    'layers.0.weight': tensor([1, 1], [2], { dtype: 'f64' }),
    'layers.1.weight': tensor([1, 1], [2], { dtype: 'f64' }),
    'layers.1.bias': tensor([1, 1], [2], { dtype: 'f64' }),
    'head.weight': tensor([1, 1], [2], { dtype: 'f64' }),
  });
  const ones = (ps: Record<string, Tensor>): Record<string, Tensor> => Object.fromEntries(Object.keys(ps).map((n) => [n, tensor([1, 1], [2], { dtype: 'f64' })]));
  const moved = (ps: Record<string, Tensor>): Record<string, number> => Object.fromEntries(Object.entries(ps).map(([n, p]) => [n, 1 - p.toF64()[0]!]));

  it('match by RegExp, list or predicate (first match wins) with their own lr and lrScale', () => {
    const ps = mk();
    const opt = sgd({
      lr: 0.1,
      groups: [
        { match: /bias$/, lr: 0.5 },
        { match: ['head.weight', 'layers.1.bias'], lrScale: 3 },
        { match: (n) => n.startsWith('layers.'), lr: 0.2, lrScale: 0.5 },
      ],
    });
    const st = opt.init(ps);
    expect(Object.fromEntries(Object.entries(st.params).map(([n, s]) => [n, s.group]))).toEqual({
      'embed.weight': 0,
      'layers.0.weight': 3,
      'layers.1.weight': 3,
      'layers.1.bias': 1,
      'head.weight': 2,
    });
    const info = opt.update(ones(ps), st, ps).info;
    expect(info.lr).toEqual([0.1, 0.5, 0.30000000000000004, 0.1]);
    const d = moved(ps);
    expect(d['embed.weight']).toBeCloseTo(0.1, 15);
    expect(d['layers.1.bias']).toBeCloseTo(0.5, 15);
    expect(d['head.weight']).toBeCloseTo(0.3, 15);
    expect(d['layers.0.weight']).toBeCloseTo(0.1, 15);
  });

  it('layer-wise decay multiplies each parameter by decay^(L − depth)', () => {
    const ps = mk();
    const depth = (n: string): number | undefined => (n.startsWith('embed') ? 0 : n.startsWith('head') ? 3 : n.startsWith('layers.') ? Number(n.split('.')[1]) + 1 : undefined);
    const opt = sgd({ lr: 1, lrMultiplier: layerwiseDecay({ decay: 0.5, layers: 3, depthOf: depth }) });
    opt.update(ones(ps), opt.init(ps), ps);
    expect(moved(ps)).toEqual({ 'embed.weight': 0.125, 'layers.0.weight': 0.25, 'layers.1.weight': 0.5, 'layers.1.bias': 0.5, 'head.weight': 1 });
  });

  it('follow a schedule of the global step (0 for the first update)', () => {
    const ps = { x: tensor([0], [1], { dtype: 'f64' }) };
    const sched = warmupLinear({ peak: 1, warmup: 2, total: 4 });
    const opt = sgd({ lr: sched });
    let st = opt.init(ps);
    const lrs: number[] = [];
    for (let t = 0; t < 5; t++) {
      const r = opt.update({ x: tensor([-1], [1], { dtype: 'f64' }) }, st, ps);
      lrs.push(r.info.lr[0]!);
      st = r.state;
    }
    expect(lrs).toEqual([0, 0.5, 1, 0.5, 0]);
    expect(ps.x.item()).toBeCloseTo(2, 15);
  });

  it('skip parameters without a gradient and leave their state alone', () => {
    const ps = { a: tensor([1], [1], { dtype: 'f64' }), b: tensor([1], [1], { dtype: 'f64' }) };
    const opt = adamw({ lr: 0.1 });
    let st = opt.init(ps);
    st = opt.update({ a: tensor([1], [1], { dtype: 'f64' }), b: null }, st, ps).state;
    expect(ps.b.item()).toBe(1);
    expect(st.params.b!.count).toBe(0);
    expect(st.params.a!.count).toBe(1);
  });
});

describe('gradient hooks', () => {
  const run = (hooks: Parameters<typeof sgd>[0], g: number[], p: number[] = [0, 0, 0, 0]): number[] => {
    const ps = { w: tensor(p, [4], { dtype: 'f64' }), v: tensor([0, 0, 0, 0], [4], { dtype: 'f64' }) };
    const opt = sgd({ lr: 1, ...hooks });
    opt.update({ w: tensor(g, [4], { dtype: 'f64' }), v: tensor(g, [4], { dtype: 'f64' }) }, opt.init(ps), ps);
    return [...ps.w.toF64()].map((x) => 0 - x); // 0 − x, not −x: no negative zeros
  };

  it('clip by value, scale, mask and restrict to some parameters', () => {
    expect(run({ hooks: [clipValue(1)] }, [-3, 0.5, 2, -0.25])).toEqual([-1, 0.5, 1, -0.25]);
    expect(run({ hooks: [scaleGrad(0.5)] }, [2, 4, 6, 8])).toEqual([1, 2, 3, 4]);
    expect(run({ hooks: [scaleGrad((n) => (n === 'w' ? 2 : 1))] }, [1, 1, 1, 1])).toEqual([2, 2, 2, 2]);
    expect(run({ hooks: [maskGrad(tensor([1, 0, 1, 0], [4], { dtype: 'f64' }))] }, [5, 5, 5, 5])).toEqual([5, 0, 5, 0]);
    expect(run({ hooks: [maskGrad((n) => n !== 'w')] }, [5, 5, 5, 5])).toEqual([0, 0, 0, 0]);
    expect(run({ hooks: [onlyFor(['v'], scaleGrad(0))] }, [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    // optimiser-wide hooks run before group hooks
    expect(run({ hooks: [scaleGrad(2)], groups: [{ match: ['w'], hooks: [clipValue(3)] }] }, [1, 2, 3, 4])).toEqual([2, 3, 3, 3]);
  });

  it('add noise that is deterministic per (key, step, name) with variance η/(1+t)^γ', () => {
    const n = 20000;
    const draw = (step: number, name = 'w'): Float64Array => {
      const ps = { [name]: tensor(new Float64Array(n), [n], { dtype: 'f64' }) };
      const opt = sgd({ lr: -1, hooks: [addGradNoise({ key: key(3), eta: 0.5, gamma: 0.55 })] });
      const st = { ...opt.init(ps), step };
      opt.update({ [name]: tensor(new Float64Array(n), [n], { dtype: 'f64' }) }, st, ps);
      return ps[name]!.toF64();
    };
    const a = draw(7);
    expect([...draw(7)]).toEqual([...a]);
    expect(draw(8)[0]).not.toBe(a[0]);
    expect(draw(7, 'other')[0]).not.toBe(a[0]);
    const mean = a.reduce((s, x) => s + x, 0) / n;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    const want = 0.5 / 8 ** 0.55;
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(want / n));
    expect(Math.abs(variance / want - 1)).toBeLessThan(0.05);
  });

  it('free what hooks allocate and reject hooks that change the shape', () => {
    const ps = { w: tensor([1, 2], [2]) };
    const g = { w: tensor([1, 1], [2]) };
    const opt = sgd({ lr: 0.1, hooks: [scaleGrad(2), clipValue(1)] });
    let st = opt.init(ps);
    st = opt.update(g, st, ps).state;
    const before = memory().liveTensors;
    opt.update(g, st, ps);
    expect(memory().liveTensors).toBe(before);
    const bad = sgd({ hooks: [() => tensor([1], [1])] });
    expect(() => bad.update(g, bad.init(ps), ps)).toThrow(/hook for 'w' returned \[1\], expected the gradient's shape \[2\]/);
  });
});

describe('global-norm clipping inside the optimiser', () => {
  it('reports the norm before clipping and scales the step by maxNorm/(norm + 1e-6)', () => {
    const ps = { a: tensor([0, 0], [2], { dtype: 'f64' }), b: tensor([0], [1], { dtype: 'f64' }) };
    const opt = sgd({ lr: 1, clipNorm: 1 });
    const r = opt.update({ a: tensor([3, 0], [2], { dtype: 'f64' }), b: tensor([4], [1], { dtype: 'f64' }) }, opt.init(ps), ps);
    expect(r.info.gradNorm).toBe(5);
    const c = 1 / (5 + 1e-6);
    expect(ps.a.toF64()[0]).toBeCloseTo(-3 * c, 15);
    expect(ps.b.item()).toBeCloseTo(-4 * c, 15);
  });
});

describe('errors name the optimiser, the parameter and the fault', () => {
  const ps = { w: tensor([1, 2, 3], [3]) };
  it.each([
    [() => sgd({ nesterov: true }), /sgd: Nesterov momentum needs momentum > 0/],
    [() => adamw({ betas: [0.9, 1] }), /adamw: betas\[1\] must be in \[0, 1\), got 1/],
    [() => adamw({ groups: [{ match: [], eps: -1 }] }), /adamw: eps in groups\[0\] must be a non-negative number/],
    [() => adamw({ momentum: 0.9 } as never), /adamw: unknown option 'momentum'/],
    [() => sgd({ clipNorm: 0 }), /clipNorm must be a positive number/],
  ])('%#', (make, msg) => {
    expect(make).toThrow(msg);
  });
  it('at update time', () => {
    const opt = adamw();
    const st = opt.init(ps);
    expect(() => opt.update({ w: tensor([1, 2], [2]) }, st, ps)).toThrow("adamw.update: gradient 'w' is [2] but the parameter is [3]");
    expect(() => opt.update({ v: tensor([1], [1]) }, st, ps)).toThrow("adamw.update: gradient 'v' has no parameter of that name");
    expect(() => opt.update({}, st, { ...ps, z: tensor([1], [1]) })).toThrow("parameter 'z' has no optimiser state");
    expect(() => sgd().update({}, st, ps)).toThrow("the state was made by 'adamw', not by sgd");
    expect(() => sgd({ groups: [{ match: ['nope'] }] }).init(ps)).toThrow("groups[0] names 'nope', which is not a parameter");
    expect(() => sgd().init({ i: tensor([1], [1], { dtype: 'i32' }) })).toThrow("parameter 'i' is i32[1]; only floating tensors can be optimised");
  });
});
