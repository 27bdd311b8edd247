/**
 * The autocast policy: which ops compute in 16 bits and which in float32,
 * what composites (softmax, norms, losses) end up as, float32 master weights
 * receiving float32 gradients, scopes that nest and restore, no leaks, and
 * 16-bit activation storage taking about half the memory.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { autocast, autocastPrecision, castClassOf, CAST_CLASSES } from '../../src/train/index.js';
import { OPS } from '../../src/ops/all.js';
import { disposeAll, initMlp, mlp } from './mlp.js';

const k = (s: number): nb.Key => nb.randomKey(s);

describe('autocast policy', () => {
  it('classifies ops: matmul lowers, reductions and range-hungry functions go to float32, binary arithmetic narrows', () => {
    for (const op of ['matmul', 'conv', 'convBackpropInput']) expect(castClassOf(op)).toBe('lower');
    for (const op of ['sum', 'prod', 'cumsum', 'exp', 'log', 'pow', 'square', 'rsqrt', 'solve', 'fft']) expect(castClassOf(op)).toBe('float32');
    for (const op of ['add', 'sub', 'mul', 'div', 'where', 'concat']) expect(castClassOf(op)).toBe('narrow');
    for (const op of ['relu', 'tanh', 'reshape', 'max', 'gather']) expect(castClassOf(op)).toBeUndefined();
    // every classified name is a real primitive (a renamed op would silently escape the policy)
    for (const name of CAST_CLASSES.keys()) expect(name in OPS, name).toBe(true);
  });

  it.each(['f16', 'bf16'] as const)('computes dense layers in %s, accumulates statistics and losses in float32', (dt) => {
    const x = nb.normal(k(1), [4, 3]);
    const W = nb.normal(k(2), [3, 5]).requiresGrad_();
    const b = nb.zeros([5]).requiresGrad_();
    const target = nb.tensor([0, 1, 2, 3], { dtype: 'i32' });
    const dtypes = autocast(dt, () =>
      nb.tidy(() => {
        const h = nb.matmul(x, W);
        const y = nb.add(h, b); // float32 bias meets a 16-bit activation: stays 16-bit
        const r = nb.relu(y);
        const ln = nb.div(nb.sub(r, nb.mean(r, -1, true)), nb.sqrt(nb.add(nb.variance(r, -1, { keepdim: true }), 1e-5)));
        return {
          h: h.dtype,
          y: y.dtype,
          r: r.dtype,
          sum: nb.sum(r).dtype,
          mean: nb.mean(r, -1).dtype,
          exp: nb.exp(r).dtype,
          softmax: nb.softmax(r).dtype,
          logSoftmax: nb.logSoftmax(r).dtype,
          norm: ln.dtype,
          crossEntropy: nb.crossEntropy(r, target).dtype,
          mse: nb.mseLoss(r, nb.zeros([4, 5])).dtype,
          statsOnly: nb.add(nb.sum(r), nb.sum(x)).dtype, // float32 ⊕ float32 stays float32
          f64: nb.matmul(nb.ones([2, 2], { dtype: 'f64' }), nb.ones([2, 2], { dtype: 'f64' })).dtype,
        };
      }),
    );
    expect(dtypes).toEqual({
      h: dt,
      y: dt,
      r: dt,
      sum: 'f32',
      mean: 'f32',
      exp: 'f32',
      softmax: 'f32',
      logSoftmax: dt,
      norm: dt,
      crossEntropy: 'f32',
      mse: 'f32',
      statsOnly: 'f32',
      f64: 'f64',
    });
    for (const t of [x, W, b, target]) t.dispose();
  });

  it('leaves ops alone outside the scope, nests, switches off with f32 and restores after a throw', () => {
    const a = nb.ones([2, 2]);
    expect(autocastPrecision()).toBe('f32');
    expect(nb.tidy(() => nb.matmul(a, a).dtype)).toBe('f32');
    autocast('f16', () => {
      expect(autocastPrecision()).toBe('f16');
      autocast('bf16', () => expect(nb.tidy(() => nb.matmul(a, a).dtype)).toBe('bf16'));
      autocast('f32', () => expect(nb.tidy(() => nb.matmul(a, a).dtype)).toBe('f32'));
      expect(nb.tidy(() => nb.matmul(a, a).dtype)).toBe('f16');
    });
    expect(() =>
      autocast('f16', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(autocastPrecision()).toBe('f32');
    expect(nb.tidy(() => nb.matmul(a, a).dtype)).toBe('f32');
    expect(() => autocast('f8' as never, () => 0)).toThrow(/precision must be 'f16', 'bf16' or 'f32'/);
    expect(() => autocast('f16', (async () => 0) as never)).toThrow(/synchronous/);
    a.dispose();
  });

  it('gives float32 master weights float32 gradients close to the float32 ones, and leaks nothing', () => {
    const p = initMlp(k(3), [8, 32, 32, 4]);
    const x = nb.normal(k(4), [16, 8]);
    const y = nb.normal(k(5), [16, 4]);
    const names = Object.keys(p);
    const gradsAt = (prec: 'f32' | 'f16' | 'bf16'): Float64Array[] =>
      nb.tidy(() => nb.gradients([autocast(prec, () => nb.mseLoss(mlp(p, x), y))], names.map((n) => p[n]!)).map((g) => {
        expect(g!.dtype).toBe('f32');
        return g!.toF64();
      }));
    const live = nb.memory().liveTensors;
    const ref = gradsAt('f32');
    const relErr = (a: Float64Array, b: Float64Array): number => {
      let num = 0;
      let den = 0;
      a.forEach((v, i) => ((num += (v - b[i]!) ** 2), (den += b[i]! ** 2)));
      return Math.sqrt(num / den);
    };
    for (const [prec, tol] of [['f16', 5e-3], ['bf16', 4e-2]] as const) {
      const g = gradsAt(prec);
      g.forEach((gi, i) => expect(relErr(gi, ref[i]!)).toBeLessThan(tol));
      expect(g.some((gi, i) => relErr(gi, ref[i]!) > 0)).toBe(true); // it did compute in 16 bits
    }
    expect(nb.memory().liveTensors).toBe(live);
    disposeAll(p);
    x.dispose();
    y.dispose();
  });

  it('runs backward in the dtypes the forward chose, also when backward is called inside the scope', () => {
    const W = nb.normal(k(6), [4, 4]).requiresGrad_();
    const x = nb.normal(k(7), [3, 4]);
    const inside = autocast('f16', () => nb.tidy(() => nb.grad((w: Tensor) => nb.sum(nb.tanh(nb.matmul(x, w))))(W) as Tensor));
    const outside = nb.tidy(() => {
      const loss = autocast('f16', () => nb.sum(nb.tanh(nb.matmul(x, W))));
      return nb.gradients([loss], [W])[0]!;
    });
    expect(Array.from(inside.toF64())).toEqual(Array.from(outside.toF64()));
    for (const t of [W, x, inside, outside]) t.dispose();
  });
});

describe('16-bit activation memory', () => {
  it.each(['f16', 'bf16'] as const)('%s stores the activations of an MLP in about half the bytes of float32', (dt) => {
    const sizes = [64, 128, 128, 128, 128, 16];
    const p = initMlp(k(8), sizes);
    const x = nb.normal(k(9), [1024, 64]);
    /** bytes the graph holds after the forward pass, and the peak over forward + backward */
    const measure = (prec: 'f32' | 'f16' | 'bf16'): { held: number; peak: number } => {
      const before = nb.memory().liveBytes;
      nb.resetPeakMemory();
      const loss = autocast(prec, () => nb.tidy(() => nb.mean(nb.square(mlp(p, x)))));
      const held = nb.memory().liveBytes - before;
      nb.backward(loss);
      loss.dispose();
      return { held, peak: nb.memory().peakBytes - before };
    };
    const full = measure('f32');
    const half = measure(dt);
    const ratio = half.held / full.held;
    console.log(`${dt} activations: ${half.held} vs ${full.held} bytes held after forward (ratio ${ratio.toFixed(3)}); peak ratio ${(half.peak / full.peak).toFixed(3)}`);
    // 0.5 plus the 16-bit copies of the weights and the cast input
    expect(ratio).toBeGreaterThan(0.45);
    expect(ratio).toBeLessThan(0.6);
    expect(half.peak / full.peak).toBeLessThan(0.65);
    disposeAll(p);
    x.dispose();
  });
});
