/**
 * The fused transformer-step kernels on WebGPU (kernels/fused: softmax,
 * log-softmax and their backward, layer/RMS norm forward and backward, the
 * GELU/SiLU backwards): every case of test/ops/cases/fused.ts through the
 * GPU op checker (values, strided inputs, gradients against float64) with
 * the op required to run in WGSL (no CPU fallback), then shapes the small
 * cases miss (long rows over 256-wide workgroups, non-finite rows, many rows
 * split into column-sum chunks, permuted inputs), then a GPT training step
 * with no fallback at all. Skipped, with the reason, without an adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/core/tensor.js';
import { getDefaultBackend, setDefaultBackend } from '../../src/ops/creation.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { fusedCases } from '../ops/cases/fused.js';
import { TOL, expectClose } from '../helpers/check.js';
import { mulberry32 } from '../helpers/rng.js';
import { Gpt } from '../../bench/gptModel.js';
import { checkOpOnGpu } from './gpuCheck.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

const FUSED = ['softmaxLast', 'logSoftmaxLast', 'softmaxLastGrad', 'layerNormFused', 'layerNormGrad', 'rmsNormFused', 'rmsNormGrad', 'geluGrad', 'geluErfGrad', 'siluGrad'];

function on<R>(b: Backend, f: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(b);
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

const values = (n: number, seed: number, lo = -3, hi = 3): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
};

describe.skipIf(!gpu)(gpu ? 'fused kernels on webgpu' : `fused kernels on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  /** fused ops that ran on the CPU with f32 inputs (16-bit dtypes have no WGSL kernels yet: their fallback is expected) */
  const f32Fallbacks = (): string[] =>
    [...g.fallbacks]
      .filter(([k, d]) => FUSED.includes(k) && [...(typeof d === 'string' ? [d] : (d as Iterable<string>))].some((sig) => sig.split(',').every((x) => x === 'f32')))
      .map(([k]) => k);

  /** f on the GPU (f32) vs f on the CPU (f64) of the same f32-rounded inputs, with no fallback of the fused ops. */
  async function agree(label: string, shapes: number[][], f: (...xs: Tensor[]) => Tensor | Tensor[], tol = TOL.f32, gen?: (i: number, n: number) => number[]): Promise<void> {
    const vals = shapes.map((s, i) => (gen ? gen(i, s.reduce((a, b) => a * b, 1)) : values(s.reduce((a, b) => a * b, 1), 7 + i)).map(Math.fround));
    g.fallbacks.clear();
    const xc = shapes.map((s, i) => nb.tensor(vals[i]!, s, { dtype: 'f64', backend: nb.cpu() }));
    const xg = shapes.map((s, i) => nb.tensor(vals[i]!, s, { dtype: 'f32', backend: g }));
    const yc = [on(nb.cpu(), () => f(...xc))].flat();
    const yg = [on(g, () => f(...xg))].flat();
    for (let k = 0; k < yc.length; k++) expectClose(await g.readF64(yg[k]!), yc[k]!.toF64(), tol, `${label}, output ${k}`);
    expect(f32Fallbacks(), `${label}: fused ops that fell back`).toEqual([]);
    [...xc, ...xg, ...yc, ...yg].forEach((t) => t.dispose());
  }

  for (const c of fusedCases) {
    it(`${c.op}${c.label ? ` (${c.label})` : ''}: equals float64 and runs in WGSL`, async () => {
      g.fallbacks.clear();
      await checkOpOnGpu(c, g);
      expect(f32Fallbacks()).toEqual([]);
    });
  }

  it('softmax and log-softmax over long rows (256-wide workgroups), permuted input', async () => {
    await agree('softmaxLast [3, 1000]', [[3, 1000]], (x) => nb.softmaxLast(x));
    await agree('logSoftmaxLast [1000, 3]ᵀ', [[1000, 3]], (x) => nb.logSoftmaxLast(nb.transpose(x)));
    await agree('softmaxLastGrad [2, 700]', [[2, 700], [2, 700]], (y, gg) => [nb.softmaxLastGrad(nb.softmaxLast(y), gg), nb.softmaxLastGrad(nb.logSoftmaxLast(y), gg, true)]);
  });

  it('softmax rows with -inf, +inf and NaN give the reference NaNs and zeros', async () => {
    const inf = Infinity;
    const rows = [
      [0, -inf, 1, 2],
      [-inf, -inf, -inf, -inf],
      [1, inf, 2, 3],
      [1, NaN, 2, 3],
    ];
    const x = rows.flat();
    const want = nb.softmaxLast(nb.tensor(x, [4, 4], { dtype: 'f64', backend: nb.cpu() })).toF64();
    const got = await g.readF64(on(g, () => nb.softmaxLast(nb.tensor(x, [4, 4], { dtype: 'f32', backend: g }))));
    for (let i = 0; i < 16; i++) {
      if (Number.isNaN(want[i]!)) expect(got[i], `element ${i}`).toBeNaN();
      else expect(got[i]!, `element ${i}`).toBeCloseTo(want[i]!, 6);
    }
  });

  it('layer and RMS norm: many rows (chunked column sums), two normalised axes, permuted input', async () => {
    await agree('layerNormFused [300, 40]', [[300, 40], [40], [40]], (x, w, b) => nb.layerNormFused(x, 1, w, b));
    await agree('layerNormGrad [300, 40]', [[300, 40], [40], [300, 40]], (x, w, gg) => nb.layerNormGrad(x, 1, w, true, gg), 1e-4);
    await agree('rmsNormGrad [5, 8, 6] k=2', [[5, 8, 6], [8, 6], [5, 8, 6]], (x, w, gg) => nb.rmsNormGrad(x, 2, w, gg), 1e-4);
    await agree('layerNormGrad permuted [6, 4, 5]', [[5, 4, 6], [5, 4], [6, 4, 5]], (x, w, gg) => nb.layerNormGrad(nb.permute(x, [2, 1, 0]), 2, nb.transpose(w), false, gg), 1e-4);
    await agree('layerNormFused [2, 1100]', [[2, 1100], [1100]], (x, w) => nb.layerNormFused(x, 1, w, null));
    await agree('layerNormGrad bias only [70, 3]', [[70, 3], [70, 3]], (x, gg) => nb.layerNormGrad(x, 1, null, true, gg), 1e-4);
  });

  it('GELU and SiLU backwards on strided views', async () => {
    const wide = (_i: number, n: number): number[] => values(n, 3, -6, 6);
    await agree('geluGrad tanh', [[9, 11], [11, 9]], (x, gg) => nb.geluGrad(nb.transpose(x), gg, 'tanh'), TOL.f32, wide);
    await agree('geluGrad erf', [[9, 11], [9, 11]], (x, gg) => nb.geluGrad(x, gg), TOL.f32, wide);
    await agree('siluGrad', [[40], [40]], (x, gg) => nb.siluGrad(x, gg), TOL.f32, wide);
  });

  it('a GPT training step runs on the GPU with no CPU fallback and matches the CPU loss and gradients', async () => {
    const c = { vocab: 16, T: 8, d: 16, heads: 2, layers: 1 };
    const idx = Array.from({ length: 2 * c.T }, (_, i) => (i * 5 + 3) % c.vocab);
    const tgt = Array.from({ length: 2 * c.T }, (_, i) => (i * 7 + 1) % c.vocab);
    const step = async (b: Backend): Promise<{ loss: number; grads: Float64Array[] }> => {
      const model = on(b, () => new Gpt(c, 0));
      const params = nb.nn.namedParameters(model);
      const names = Object.keys(params).sort();
      const [loss, ...grads] = on(b, () =>
        nb.tidy(() => {
          const x = nb.tensor(idx, [2, c.T], { dtype: 'i32' });
          const y = nb.tensor(tgt, [2 * c.T], { dtype: 'i32' });
          const l = nb.crossEntropy(nb.reshape(model.forward(x), [2 * c.T, c.vocab]), y);
          return [l, ...nb.gradients([l], names.map((k) => params[k]!))];
        }),
      );
      const read = async (t: Tensor): Promise<Float64Array> => (t.storage.backend === g ? g.readF64(t) : t.toF64());
      const out = { loss: (await read(loss!))[0]!, grads: await Promise.all(grads.map((t) => read(t!))) };
      [loss!, ...grads].forEach((t) => t!.dispose());
      model.disposeMask();
      nb.nn.dispose(model);
      return out;
    };
    const want = await step(nb.cpu());
    g.fallbacks.clear();
    const got = await step(g);
    expect([...g.fallbacks.keys()], 'ops that fell back to the CPU').toEqual([]);
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
    got.grads.forEach((gr, i) => {
      // absolute bound scaled by the gradient's size (the key bias's gradient is 0 up to rounding: softmax ignores a shift)
      const w = want.grads[i]!;
      const scale = Math.max(...Array.from(w, Math.abs), 1e-3);
      const err = Math.max(...Array.from(gr, (v, j) => Math.abs(v - w[j]!)));
      expect(err, `gradient ${i}`).toBeLessThan(1e-4 * scale);
    });
  });
});
