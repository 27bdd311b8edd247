/**
 * The backward pass frees each intermediate cotangent, and each VJP rule's
 * temporaries, as soon as nothing needs them, so its peak memory is the saved
 * activations plus a small frontier, not the activations plus every cotangent
 * of the graph (gradient checkpointing's savings depend on this). Shared
 * cotangents (a VJP returning its cotangent itself, a tensor used twice), the
 * caller's cotangents and retained graphs are left intact.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const N = 4096;
const UNIT = N * 4; // bytes of one f32[N]

describe('backward memory', () => {
  it('a deep chain holds a frontier of cotangents, not all of them', () => {
    const x = nb.normal(nb.randomKey(1), [N]).requiresGrad_();
    const depth = 40;
    const before = nb.memory().liveBytes;
    const loss = nb.tidy(() => {
      let h = x;
      for (let i = 0; i < depth; i++) h = nb.tanh(nb.add(h, 0.1)); // add: its VJP hands the cotangent on as it is
      return nb.sum(h);
    });
    const held = nb.memory().liveBytes - before;
    nb.resetPeakMemory();
    nb.backward(loss);
    const extra = nb.memory().peakBytes - before - held;
    // a cotangent, tanh's 1 − y² temporaries and the product: a few units, independent of depth (was ~3 per layer)
    expect(extra).toBeLessThan(6 * UNIT);
    expect(held).toBeGreaterThan(depth * UNIT); // the activations really were there
    // and the gradient is right: d/dx Σ tanh∘(·+0.1)∘… by the chain rule in float64
    const ref = Array.from(x.toF64()).map((v) => {
      let h = v;
      let d = 1;
      for (let i = 0; i < depth; i++) {
        h = Math.tanh(h + 0.1);
        d *= 1 - h * h;
      }
      return d;
    });
    const g = x.grad!.toF64();
    ref.forEach((r, i) => expect(g[i]!).toBeCloseTo(r, 5));
    loss.dispose();
    x.dispose();
  });

  it('keeps shared cotangents, the caller cotangent and retained graphs intact', () => {
    const x = nb.tensor([0.3, -0.7, 1.1], { dtype: 'f64' }).requiresGrad_();
    const ct = nb.tensor([1, 2, 3], { dtype: 'f64' });
    const y = nb.tidy(() => {
      const a = nb.add(x, x); // one cotangent routed to the same leaf twice
      const b = nb.mul(a, a); // used twice by one op
      return nb.add(nb.add(b, a), nb.identity(b)); // VJPs that return their cotangent itself
    });
    nb.backward(y, ct, { retainGraph: true });
    expect(ct.disposed).toBe(false);
    const g1 = Array.from(x.grad!.toF64());
    // y = 2·(2x)² + 2x = 8x² + 2x → dy/dx = 16x + 2, weighted by ct
    const expected = [0.3, -0.7, 1.1].map((v, i) => (16 * v + 2) * (i + 1));
    g1.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
    nb.backward(y, ct); // the retained graph still works
    Array.from(x.grad!.toF64()).forEach((g, i) => expect(g).toBeCloseTo(2 * expected[i]!, 5));
    const live = nb.memory().liveTensors;
    const l = nb.tidy(() => nb.sum(nb.mul(x, x)));
    const [gy] = nb.gradients([l], [x]);
    l.dispose();
    expect(nb.memory().liveTensors).toBe(live + 1); // only the gradient is left
    expect(Array.from(gy!.toF64())).toEqual(Array.from(nb.tidy(() => nb.mul(x, 2)).toF64()));
    for (const t of [x, ct, y, gy!] as Tensor[]) t.dispose();
  });

  it('second-order gradients (createGraph) still work with cotangents freed', () => {
    const x = nb.tensor([0.5, -1.5, 2], { dtype: 'f64' });
    // f = Σ sin(x)·x² → Hessian-vector product with v = 1: diag f'' = (2 − x²) sin x + 4x cos x
    const g = nb.grad((v: Tensor) => nb.sum(nb.grad((u: Tensor) => nb.sum(nb.mul(nb.sin(u), nb.square(u))))(v) as Tensor))(x) as Tensor;
    const want = [0.5, -1.5, 2].map((v) => (2 - v * v) * Math.sin(v) + 4 * v * Math.cos(v));
    Array.from(g.toF64()).forEach((h, i) => expect(h).toBeCloseTo(want[i]!, 12));
    g.dispose();
    x.dispose();
  });
});
