/**
 * Operands larger than one storage binding run in pieces (src/backends/
 * webgpu/split.ts). The binding limit is lowered to 4 KiB for these tests
 * (setWebGpuLimitsForTesting), so tensors of a few thousand elements are
 * many bindings large: elementwise ops with broadcasting, strided copies,
 * reductions (partials combined), softmax and norms (with their gradients),
 * matmul, indexSelect, fill, the fused AdamW step and a short training loop
 * all equal the float64 CPU results; an op that cannot be cut says so; and a
 * grid lowered to a few workgroups per dimension gives the same results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { planSplit, ruleFor, setWebGpuLimitsForTesting, splitStats } from '../../src/backends/webgpu/split.js';
import { attentionRef, flashAttention } from '../../src/zoo/attention/index.js';
import type { Backend, View } from '../../src/backends/backend.js';
import { layerNorm } from '../../src/nn/norm.js';
import { gpuForTests } from './device.js';
import { mulberry32 } from '../helpers/rng.js';

const { gpu, reason } = await gpuForTests();
const LIMIT = 4096;

const rand = (n: number, seed: number): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.fround(r() * 2 - 1));
};

/** Run `f` on GPU f32 tensors and on CPU f64 tensors of the same values; compare every output. */
async function same(f: (...xs: nb.Tensor[]) => nb.Tensor | nb.Tensor[], inputs: { shape: number[]; values?: number[]; dtype?: 'f32' | 'f64' | 'i32' }[], tol = 2e-5, split = true): Promise<void> {
  const pieces = splitStats.pieces;
  const vals = inputs.map((s, i) => s.values ?? rand(s.shape.reduce((a, x) => a * x, 1), 11 + i));
  const onGpu = inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype ?? 'f32', backend: gpu! }));
  const onCpu = inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype === 'i32' ? 'i32' : 'f64' }));
  const list = (r: nb.Tensor | nb.Tensor[]): nb.Tensor[] => (Array.isArray(r) ? r : [r]);
  const got = nb.tidy(() => list(f(...onGpu)));
  const want = nb.tidy(() => list(f(...onCpu)));
  expect(got.length).toBe(want.length);
  for (let k = 0; k < got.length; k++) {
    expect(got[k]!.shape).toEqual(want[k]!.shape);
    const a = Array.from(await got[k]!.data(), Number);
    const b = Array.from(await want[k]!.data(), Number);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
    expect(worst, `output ${k}`).toBeLessThan(tol);
  }
  for (const t of [...onGpu, ...onCpu, ...got, ...want]) t.dispose();
  // the GPU run went through the piecewise path (or, for the grid test, did not need to)
  if (split) expect(splitStats.pieces).toBeGreaterThan(pieces);
}

const randT = (shape: number[], seed: number, backend?: Backend): nb.Tensor =>
  nb.tensor(rand(shape.reduce((a, x) => a * x, 1), seed), shape, { dtype: 'f32', ...(backend ? { backend } : {}) });

/** Loss and gradients of a small AdamW-trained MLP whose weights are several bindings large. */
async function train(backend: Backend | undefined, steps: number): Promise<number[]> {
  const x = randT([64, 32], 1, backend);
  const y = randT([64, 4], 2, backend);
  const params: Record<string, nb.Tensor> = { w1: nb.mul(randT([32, 48], 3, backend), 0.3), w2: nb.mul(randT([48, 4], 4, backend), 0.3) };
  const opt = nb.adamw({ lr: 0.01, weightDecay: 0.01 });
  let state = opt.init(params);
  const vg = nb.valueAndGrad((w1: nb.Tensor, w2: nb.Tensor) => nb.mean(nb.square(nb.sub(nb.matmul(nb.tanh(nb.matmul(x, w1)), w2), y))));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const [loss, [g1, g2]] = vg(params.w1!, params.w2!);
    losses.push(Number((await loss.data())[0]));
    state = opt.update({ w1: g1!, w2: g2! }, state, params).state;
    for (const t of [loss, g1!, g2!]) t.dispose();
  }
  losses.push(...Array.from(await params.w1!.data(), Number).slice(0, 50));
  for (const t of [x, y, ...Object.values(params)]) t.dispose();
  nb.optim.disposeOptimizerState(state);
  return losses;
}

describe('split planner', () => {
  const view = (shape: number[], strides?: number[]): View => {
    const st = strides ?? shape.map((_, d) => shape.slice(d + 1).reduce((a, x) => a * x, 1));
    const size = shape.reduce((a, x) => a * x, 1);
    return { storage: { backend: null!, dtype: 'f32', size, byteLength: size * 4, refs: 0 }, dtype: 'f32', shape, strides: st, offset: 0 };
  };
  const limits = { maxStorageBindingSize: 4096, storageOffsetAlignment: 256 };
  it('cuts rows of an elementwise op, the largest pieces that fit', () => {
    const rule = ruleFor('add', [view([100, 50]), view([50])], undefined, [{ shape: [100, 50], dtype: 'f32' }])!;
    const p = planSplit(rule, [view([100, 50]), view([50])], [{ shape: [100, 50], dtype: 'f32' }], limits);
    expect(p).toMatchObject({ d: 0, placed: [true] });
    if (typeof p === 'string') return;
    expect(p.r * 50 * 4).toBeLessThanOrEqual(4096);
    expect(p.pieces).toBe(Math.ceil(100 / p.r));
  });
  it('cuts a reduced leading axis into partials and keeps a softmax row whole', () => {
    const sum = ruleFor('sum', [view([400, 8])], { axes: [0], keepdim: false }, [{ shape: [8], dtype: 'f32' }])!;
    expect(planSplit(sum, [view([400, 8])], [{ shape: [8], dtype: 'f32' }], limits)).toMatchObject({ d: 0, placed: [false] });
    const sm = ruleFor('softmaxLast', [view([2, 2000])], undefined, [{ shape: [2, 2000], dtype: 'f32' }])!;
    expect(planSplit(sm, [view([2, 2000])], [{ shape: [2, 2000], dtype: 'f32' }], limits)).toMatch(/whole/);
  });
});

describe.skipIf(!gpu)(gpu ? 'webgpu: operands larger than a binding' : `webgpu: operands larger than a binding (skipped: ${reason})`, () => {
  let restore: () => void = () => {};
  beforeAll(() => {
    restore = setWebGpuLimitsForTesting(gpu!, { maxStorageBindingSize: LIMIT });
  });
  afterAll(async () => {
    restore();
    await releaseWebGpu();
  });

  it('elementwise unary and binary ops with broadcasting', async () => {
    await same((a, b) => [nb.add(a!, b!), nb.mul(a!, nb.exp(b!)), nb.tanh(a!)], [{ shape: [40, 60] }, { shape: [60] }]);
    await same((a, b) => nb.sub(a!, b!), [{ shape: [30, 1, 50] }, { shape: [7, 50] }]);
    await same((a, b, c) => nb.where(nb.gt(a!, b!), a!, c!), [{ shape: [3000] }, { shape: [3000] }, { shape: [1] }]);
  });

  it('contiguous copies of strided views (transpose, slice with step)', async () => {
    await same((a) => nb.contiguous(nb.transpose(a!)), [{ shape: [30, 50] }]);
    await same((a) => nb.mul(nb.transpose(a!), 2), [{ shape: [20, 70] }]);
  });

  it('concat, pad, cumsum and the gradient of a slice (sliceGrad); f64 pieces on the CPU fallback', async () => {
    await same((a, b) => [nb.concat([a!, b!], 1), nb.pad(a!, [[0, 0], [2, 3]], 0.5)], [{ shape: [40, 30] }, { shape: [40, 20] }]);
    await same((a) => nb.grad((x: nb.Tensor) => nb.sum(nb.sin(nb.slice(x, [null, { start: 10, stop: 60, step: 2 }]))))(a!) as nb.Tensor, [{ shape: [40, 100] }]);
    await same((a) => nb.cumsum(a!, 1), [{ shape: [40, 60] }], 1e-4);
    // f64 has no kernels: each piece takes the CPU fallback, which reads its window of the big buffer
    await same((a) => nb.exp(a!), [{ shape: [3000], dtype: 'f64' }]);
  });

  it('reductions along an axis, over a leading axis (partials) and in full; mean; argmax', async () => {
    await same((a) => [nb.sum(a!, 1), nb.max(a!, -1), nb.mean(a!, 1, true)], [{ shape: [40, 100] }]);
    await same((a) => [nb.sum(a!, 0), nb.min(a!, 0)], [{ shape: [300, 12] }], 1e-4);
    await same((a) => [nb.sum(a!), nb.max(a!)], [{ shape: [5000] }], 1e-4);
    await same((a) => nb.argmax(a!, 1), [{ shape: [30, 90] }]);
  });

  it('softmax, log-softmax and layer norm, values and gradients', async () => {
    await same((a) => [nb.softmax(a!, -1), nb.logSoftmax(a!, -1)], [{ shape: [30, 100] }]);
    await same(
      (x, w, b) => nb.grad((x2: nb.Tensor, w2: nb.Tensor, b2: nb.Tensor) => nb.sum(nb.mul(layerNorm(x2, [100], w2, b2), nb.sin(x2))), { argnums: [0, 1, 2] })(x!, w!, b!) as nb.Tensor[],
      [{ shape: [30, 100] }, { shape: [100] }, { shape: [100] }],
      1e-4,
    );
  });

  it('matmul: plain, batched, transposed, with outputs larger than a binding', async () => {
    await same((a, b) => nb.matmul(a!, b!), [{ shape: [60, 40] }, { shape: [40, 20] }]);
    await same((a, b) => nb.matmul(a!, b!), [{ shape: [6, 20, 30] }, { shape: [6, 30, 10] }]);
    await same((a, b) => nb.matmul(nb.transpose(a!), b!), [{ shape: [16, 90] }, { shape: [16, 30] }]);
  });

  it('indexSelect (an embedding lookup) with an output larger than a binding (cut by output rows)', async () => {
    const idx = Array.from({ length: 300 }, (_, i) => (i * 7) % 50);
    await same((t, i) => nb.indexSelect(t!, 0, i!), [{ shape: [50, 16] }, { shape: [300], values: idx, dtype: 'i32' }]);
  });

  it('fill and creation of tensors larger than a binding; no bytes leak', async () => {
    const before = gpu!.memory().liveBytes;
    const z = nb.full([3000], 1.5, { dtype: 'f32', backend: gpu! });
    expect(Array.from(await z.data()).every((v) => v === 1.5)).toBe(true);
    z.dispose();
    await same((a) => nb.sum(nb.mul(a!, a!), 0), [{ shape: [200, 20] }], 1e-4);
    expect(gpu!.memory().liveBytes).toBe(before);
  });

  it('a short AdamW training loop equals the unsplit run (fused step in windowed pieces)', async () => {
    const pieces = splitStats.pieces;
    const split = await train(gpu!, 2);
    expect(splitStats.pieces).toBeGreaterThan(pieces);
    const undo = setWebGpuLimitsForTesting(gpu!, { maxStorageBindingSize: 1 << 30 });
    let whole: number[];
    try {
      whole = await train(gpu!, 2);
    } finally {
      undo();
    }
    const onCpu = await train(undefined, 2);
    for (let i = 0; i < split.length; i++) {
      expect(Math.abs(split[i]! - whole[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(whole[i]!)));
      expect(Math.abs(split[i]! - onCpu[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(onCpu[i]!)));
    }
  });

  it('flash attention forward and backward in pieces of heads equal naive attention', async () => {
    const shapes = [
      [2, 4, 40, 8],
      [2, 2, 40, 8],
      [2, 2, 40, 8],
    ];
    const vals = shapes.map((sh, i) => rand(sh.reduce((a, x) => a * x, 1), 40 + i));
    const ct = rand(2 * 4 * 40 * 8, 50);
    const run = async (backend: Backend | undefined, f: typeof flashAttention): Promise<number[][]> => {
      const ts = shapes.map((sh, i) => nb.tensor(vals[i]!, sh, { dtype: backend ? 'f32' : 'f64', ...(backend ? { backend } : {}) }));
      const c = nb.tensor(ct, [2, 4, 40, 8], { dtype: backend ? 'f32' : 'f64', ...(backend ? { backend } : {}) });
      const [y, grads] = nb.valueAndGrad((q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => nb.sum(nb.mul(f(q, k, v, { causal: true }), c)), { argnums: [0, 1, 2] })(...ts);
      const out = nb.noGrad(() => f(ts[0]!, ts[1]!, ts[2]!, { causal: true }));
      const res = [Array.from(await out.data(), Number), [Number((await y.data())[0])]];
      for (const gr of grads as nb.Tensor[]) res.push(Array.from(await gr.data(), Number));
      for (const t of [...ts, c, y, out, ...(grads as nb.Tensor[])]) t.dispose();
      return res;
    };
    // the one-row-per-invocation kernels (v3) compile in a tenth of the time of the tiled ones on SwiftShader; the cut is the same
    const kernel = process.env.NABLA_FLASH_KERNEL;
    process.env.NABLA_FLASH_KERNEL = 'v3';
    const pieces = splitStats.pieces;
    let got: number[][];
    try {
      got = await run(gpu!, flashAttention);
    } finally {
      if (kernel === undefined) delete process.env.NABLA_FLASH_KERNEL;
      else process.env.NABLA_FLASH_KERNEL = kernel;
    }
    expect(splitStats.pieces).toBeGreaterThanOrEqual(pieces + 8); // 4 (batch, kv head) groups, forward twice
    const want = await run(undefined, attentionRef as typeof flashAttention);
    got.forEach((a, k) => {
      let worst = 0;
      a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[k]![i]!) / (1 + Math.abs(want[k]![i]!)))));
      expect(worst, `output ${k}`).toBeLessThan(1e-4);
    });
  });

  it('a grid lowered to 7 workgroups per dimension gives the same results (2-D dispatch)', async () => {
    const undo = setWebGpuLimitsForTesting(gpu!, { maxStorageBindingSize: 1 << 30, maxWorkgroupsPerDim: 7 });
    try {
      await same((a, b) => [nb.add(a!, b!), nb.sum(a!, 1), nb.softmax(a!, -1), nb.matmul(a!, nb.transpose(a!))], [{ shape: [60, 50] }, { shape: [50] }], 1e-4, false);
      await same((a) => [nb.exp(a!), nb.sum(a!)], [{ shape: [5000] }], 1e-4, false);
    } finally {
      undo();
    }
  });

  it('an embedding table larger than a binding: lookup and its gradient by ranges of table rows', async () => {
    const idx = Array.from({ length: 50 }, (_, i) => (i * 37 + 5) % 600);
    await same((t, i) => nb.indexSelect(t!, 0, i!), [{ shape: [600, 8] }, { shape: [50], values: idx, dtype: 'i32' }]);
    // an output (and, for the gradient, a cotangent) larger than a binding too: index rows in chunks
    const many = Array.from({ length: 300 }, (_, i) => (i * 53 + 1) % 600);
    await same((t, i) => nb.indexSelect(nb.transpose(t!), 0, i!), [{ shape: [8, 600] }, { shape: [300], values: many, dtype: 'i32' }]);
    await same(
      (t, i, c) => nb.grad((w: nb.Tensor) => nb.sum(nb.mul(nb.indexSelect(w, 0, i!), c!)))(t!) as nb.Tensor,
      [{ shape: [600, 8] }, { shape: [50], values: idx, dtype: 'i32' }, { shape: [50, 8] }],
    );
    await same(
      (t, i, c) => nb.grad((w: nb.Tensor) => nb.sum(nb.mul(nb.indexSelect(w, 0, i!), c!)))(t!) as nb.Tensor,
      [{ shape: [600, 8] }, { shape: [300], values: many, dtype: 'i32' }, { shape: [300, 8] }],
    );
  });

  it('an op that cannot run in pieces names the op, the operand, its bytes and the limit', () => {
    const m = nb.zeros([100, 100], { dtype: 'f32', backend: gpu! });
    expect(() => nb.tril(m)).toThrow(/tril: input 0 f32\[100,100\] \(storage of 40000 bytes\), output 0 f32\[100,100\] \(40000 bytes\) over the device's maxStorageBufferBindingSize \(4096 bytes\), and it cannot run in pieces: the op has no split rule/);
    m.dispose();
  });
});
