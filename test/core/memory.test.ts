/**
 * Memory accounting: training loops leak nothing (with tidy and with `using`),
 * the tape frees what it saved, peak tracking, the GC backstop, heap growth
 * and the 4 GiB limit. Every count is exact: the heap rounds each block up to
 * 64 bytes, and the expected figures below do the same.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { ALIGN, HEAP_LIMIT_BYTES } from '../../src/core/heap.js';
import type { Tensor } from '../../src/index.js';

/** Bytes the heap reserves for a tensor's storage (64-byte blocks). */
function heapBytes(ts: Iterable<Tensor>): number {
  const seen = new Set<Tensor['storage']>();
  let n = 0;
  for (const t of ts) {
    if (seen.has(t.storage)) continue;
    seen.add(t.storage);
    n += Math.max(ALIGN, Math.ceil(t.storage.byteLength / ALIGN) * ALIGN);
  }
  return n;
}

interface Params {
  W1: Tensor;
  b1: Tensor;
  W2: Tensor;
  b2: Tensor;
}

/** x [n, i] · W [i, o] + b, as a broadcast product summed over i (no matmul needed). */
function dense(x: Tensor, W: Tensor, b: Tensor): Tensor {
  const [n, i] = x.shape as [number, number];
  return nb.add(nb.sum(nb.mul(nb.reshape(x, [n, i, 1]), W), 1), b);
}

function mse(p: Params, x: Tensor, y: Tensor): Tensor {
  const h = nb.tanh(dense(x, p.W1, p.b1));
  const d = nb.sub(dense(h, p.W2, p.b2), y);
  return nb.div(nb.sum(nb.square(d)), y.size);
}

function initParams(seed: number, hidden = 8): Params {
  const [k1, k2] = nb.splitKey(nb.randomKey(seed));
  return {
    W1: nb.normal(k1!, [2, hidden], { std: 0.7 }).requiresGrad_(),
    b1: nb.zeros([hidden]).requiresGrad_(),
    W2: nb.normal(k2!, [hidden, 1], { std: 0.3 }).requiresGrad_(),
    b2: nb.zeros([1]).requiresGrad_(),
  };
}

function data(seed: number, n = 16): { x: Tensor; y: Tensor } {
  return nb.tidy(() => {
    const x = nb.uniform(nb.randomKey(seed), [n, 2], { lo: -1, hi: 1 });
    const [x1, x2] = [nb.sum(nb.mul(x, nb.tensor([1, 0])), 1, true), nb.sum(nb.mul(x, nb.tensor([0, 1])), 1, true)];
    return { x, y: nb.mul(nb.sin(nb.mul(x1, 3)), x2) };
  });
}

const values = (p: Params): Tensor[] => [p.W1, p.b1, p.W2, p.b2];
const disposeAll = (ts: Iterable<Tensor>): void => {
  for (const t of ts) t.dispose();
};

describe('memory: training loops leak nothing', () => {
  it('1,000 SGD steps inside tidy end at the baseline exactly, and the loss falls', () => {
    const { x, y } = data(1);
    let p = initParams(2);
    const base = nb.memory();
    const lr = 0.2;
    let first = NaN;
    let last = NaN;
    for (let step = 0; step < 1000; step++) {
      p = nb.tidy(() => {
        const loss = mse(p, x, y);
        loss.backward();
        if (step === 0) first = loss.item();
        last = loss.item();
        const next = nb.noGrad(() => ({
          W1: nb.sub(p.W1, nb.mul(p.W1.grad!, lr)),
          b1: nb.sub(p.b1, nb.mul(p.b1.grad!, lr)),
          W2: nb.sub(p.W2, nb.mul(p.W2.grad!, lr)),
          b2: nb.sub(p.b2, nb.mul(p.b2.grad!, lr)),
        }));
        disposeAll(values(p)); // the old parameters and their .grad
        return next;
      });
      values(p).forEach((t) => t.requiresGrad_());
    }
    const after = nb.memory();
    expect(after.liveTensors).toBe(base.liveTensors);
    expect(after.liveBytes).toBe(base.liveBytes);
    expect(last).toBeLessThan(first * 0.5);
    disposeAll([...values(p), x, y]);
  });

  it('accumulated .grad tensors are the only growth, counted exactly; zeroGrad returns to the baseline', () => {
    const { x, y } = data(3);
    const p = initParams(4);
    const base = nb.memory();
    let g1: number[] = [];
    for (let step = 0; step < 100; step++) {
      nb.tidy(() => mse(p, x, y).backward());
      if (step === 0) g1 = Array.from(p.W1.grad!.toF64());
    }
    const grads = values(p).map((t) => t.grad!);
    const after = nb.memory();
    expect(after.liveTensors).toBe(base.liveTensors + 4);
    expect(after.liveBytes).toBe(base.liveBytes + heapBytes(grads));
    // 100 identical steps accumulate 100 times the first gradient
    Array.from(p.W1.grad!.toF64()).forEach((g, i) => expect(g).toBeCloseTo(100 * g1[i]!, 3));
    nb.zeroGrad(values(p));
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    disposeAll([...values(p), x, y]);
  });

  it('the same loop with `using` declarations (and Symbol.dispose) ends at the baseline', () => {
    const { x, y } = data(5);
    let p = initParams(6);
    const base = nb.memory();
    // every intermediate is a `using` binding: disposed at the end of its block, while the tape keeps what backward needs
    const denseUsing = (h: Tensor, W: Tensor, b: Tensor): Tensor => {
      using r = nb.reshape(h, [h.shape[0]!, h.shape[1]!, 1]);
      using prod = nb.mul(r, W);
      using s = nb.sum(prod, 1);
      return nb.add(s, b);
    };
    for (let step = 0; step < 200; step++) {
      {
        using z1 = denseUsing(x, p.W1, p.b1);
        using h = nb.tanh(z1);
        using z2 = denseUsing(h, p.W2, p.b2);
        using d = nb.sub(z2, y);
        using sq = nb.square(d);
        using s = nb.sum(sq);
        using loss = nb.div(s, y.size);
        loss.backward();
      }
      const next = nb.noGrad(() => {
        const upd = (t: Tensor): Tensor => {
          using step = nb.mul(t.grad!, 0.2);
          return nb.sub(t, step).requiresGrad_();
        };
        return { W1: upd(p.W1), b1: upd(p.b1), W2: upd(p.W2), b2: upd(p.b2) };
      });
      for (const t of values(p)) t[Symbol.dispose]();
      p = next;
    }
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    disposeAll([...values(p), x, y]);
  });
});

describe('memory: the tape', () => {
  const build = (x: Tensor): Tensor => nb.tidy(() => nb.sum(nb.exp(nb.mul(nb.tanh(x), 2))));

  it('backward frees the saved tensors; retainGraph keeps them for a second backward', () => {
    const x = nb.uniform(nb.randomKey(7), [1000], { dtype: 'f64' }).requiresGrad_();
    const base = nb.memory();
    const loss = build(x);
    const beforeBackward = nb.memory();
    // the tape holds tanh's, mul's and exp's outputs (8,000 bytes each) although tidy disposed the handles
    expect(beforeBackward.liveBytes - base.liveBytes).toBeGreaterThanOrEqual(3 * 8000);
    loss.backward();
    const after = nb.memory();
    expect(after.liveBytes).toBe(base.liveBytes + heapBytes([loss, x.grad!]));
    expect(() => loss.backward()).toThrow(/backward: the graph through '\w+' was already freed by an earlier backward pass; pass \{ retainGraph: true \} to the first one/);
    loss.dispose();
    nb.zeroGrad([x]);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });

    const loss2 = build(x);
    const held = nb.memory().liveBytes;
    loss2.backward(undefined, { retainGraph: true });
    expect(nb.memory().liveBytes).toBe(held + heapBytes([x.grad!]));
    const g1 = Array.from(x.grad!.toF64());
    loss2.backward(); // the graph is still there
    Array.from(x.grad!.toF64()).forEach((g, i) => expect(g).toBeCloseTo(2 * g1[i]!, 12));
    loss2.dispose();
    nb.zeroGrad([x]);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    x.dispose();
  });

  it('disposing the output of a graph that never ran backward frees the whole graph', () => {
    const x = nb.uniform(nb.randomKey(8), [500], { dtype: 'f64' }).requiresGrad_();
    const base = nb.memory();
    const loss = build(x);
    expect(nb.memory().liveTensors).toBeGreaterThan(base.liveTensors + 1);
    loss.dispose();
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    x.dispose();
  });
});

describe('memory: peak, GC backstop, heap growth and limit', () => {
  it('peakBytes rises with an allocation and resetPeakMemory brings it back to liveBytes', () => {
    nb.resetPeakMemory();
    const m0 = nb.memory();
    expect(m0.peakBytes).toBe(m0.liveBytes);
    const big = nb.zeros([1 << 18]); // 1 MiB of f32
    big.dispose();
    const m1 = nb.memory();
    expect(m1.liveBytes).toBe(m0.liveBytes);
    expect(m1.peakBytes).toBe(m0.liveBytes + (1 << 20));
    nb.resetPeakMemory();
    expect(nb.memory().peakBytes).toBe(m0.liveBytes);
  });

  it('a handle dropped without dispose() returns its bytes after garbage collection (FinalizationRegistry)', async () => {
    // expose gc() at run time: no node flag is needed in the vitest config
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const base = nb.memory();
    (() => {
      nb.zeros([1 << 16]); // created outside any scope, then unreachable
    })();
    expect(nb.memory().liveBytes).toBe(base.liveBytes + (1 << 18));
    for (let i = 0; i < 50 && nb.memory().liveBytes !== base.liveBytes; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5)); // finalizers run on a later task
    }
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
  });

  it('the heap grows past its size and earlier tensors stay correct', () => {
    const heap = nb.cpu().heap;
    const a = nb.arange(0, 1000, 1, { dtype: 'f64' });
    const cap0 = heap.capacity;
    const n = Math.ceil((cap0 + (4 << 20)) / 4);
    const big = nb.full([n], 7);
    expect(heap.capacity).toBeGreaterThan(cap0);
    const v = big.dataSync();
    expect([v[0], v[n >> 1], v[n - 1]]).toEqual([7, 7, 7]); // memory past the old end is usable
    expect(Array.from(a.toF64())).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const b = nb.add(a, 1);
    expect(b.toF64()[999]).toBe(1000);
    disposeAll([a, b, big]);
  });

  it('an allocation past the 4 GiB heap limit throws the documented error and leaves the heap usable', () => {
    const base = nb.memory();
    expect(HEAP_LIMIT_BYTES).toBe(2 ** 32);
    expect(() => nb.zeros([2 ** 31])).toThrow(
      /^heap: cannot allocate 8589934592 bytes: the 4 GiB limit of a 32-bit WebAssembly heap would be exceeded \(\d+ bytes live, \d+ bytes reserved\)\. Free tensors with dispose\(\) or scopes/,
    );
    expect(() => nb.zeros([2 ** 30], { dtype: 'f32' })).toThrow(/4 GiB limit/);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    const t = nb.ones([3]);
    expect(Array.from(t.toF64())).toEqual([1, 1, 1]);
    t.dispose();
  });
});
