/**
 * Elementwise, reduction and normalisation family: float32 add, exp, GELU
 * (tanh approximation, as GPT-2 uses), a row sum, softmax over rows and
 * layer norm with an affine (weight, bias) over rows, on 2^20 elements
 * ([4096, 256] for the row-wise ones, the shape of GPT activations).
 * Throughput in millions of input elements per second.
 *
 * nabla runs whatever kernels are registered when the benchmark runs; each
 * result notes which primitives ran natively and which on the float64
 * reference (probe.ts). Peers: PyTorch, TensorFlow.js wasm and cpu
 * (GELU and layer norm composed from their ops, as a user would write them).
 *
 *   npx tsx bench/elementwise.ts [driver options, see driver.ts]
 */
import { isMain, runFamilies } from './driver.js';
import { measure, pickPeers, progress, runCases, type BenchCase, type Family, type FamilyContext, type Impl } from './harness.js';
import { pathsNote, probePaths } from './probe.js';
import { key, split } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';
import { add, exp, gelu } from '../src/ops/elementwise.js';
import { softmax } from '../src/ops/nn.js';
import { sum } from '../src/ops/reduce.js';
import { normal } from '../src/ops/random.js';
import { layerNorm } from '../src/nn/norm.js';

type Op = 'add' | 'exp' | 'gelu' | 'sum' | 'softmax' | 'layernorm';
const OPS: readonly Op[] = ['add', 'exp', 'gelu', 'sum', 'softmax', 'layernorm'];

function cases(quick: boolean): BenchCase[] {
  const shape = quick ? [64, 32] : [4096, 256];
  const n = shape[0]! * shape[1]!;
  return OPS.map((op) => ({
    family: 'elementwise',
    name: `${op} [${shape.join(', ')}]`,
    spec: { family: 'elementwise', op, shape },
    work: n,
    unit: 'Melem/s' as const,
    series: op,
  }));
}

/** The nabla computation of a case, with its inputs (disposed by the caller). */
function build(op: Op, shape: number[]): { inputs: Tensor[]; run: () => Tensor } {
  const [k1, k2, k3] = split(key(0), 3);
  const x = normal(k1!, shape, { dtype: 'f32' });
  const d = shape[shape.length - 1]!;
  switch (op) {
    case 'add': {
      const y = normal(k2!, shape, { dtype: 'f32' });
      return { inputs: [x, y], run: () => add(x, y) };
    }
    case 'exp':
      return { inputs: [x], run: () => exp(x) };
    case 'gelu':
      return { inputs: [x], run: () => gelu(x, 'tanh') };
    case 'sum':
      return { inputs: [x], run: () => sum(x, -1) };
    case 'softmax':
      return { inputs: [x], run: () => softmax(x, -1) };
    case 'layernorm': {
      const w = normal(k2!, [d], { dtype: 'f32' });
      const b = normal(k3!, [d], { dtype: 'f32' });
      return { inputs: [x, w, b], run: () => layerNorm(x, d, w, b) };
    }
  }
}

const nabla: Impl = {
  name: 'nabla',
  run: async (c, cfg) => {
    const { inputs, run } = build(c.spec.op as Op, c.spec.shape as number[]);
    try {
      const note = pathsNote(probePaths(() => run().dispose()));
      return { ...measure(() => run().dispose(), cfg), note };
    } finally {
      for (const t of inputs) t.dispose();
    }
  },
};

export const elementwiseFamily: Family = {
  name: 'elementwise',
  title: 'elementwise, softmax, layer norm: float32 (millions of elements/s)',
  async run(ctx: FamilyContext) {
    const all = cases(ctx.quick).filter((c) => c.name.includes(ctx.filter));
    const results = await runCases(all, [nabla, ...pickPeers(ctx, ['torch', 'tfjs-wasm', 'tfjs-cpu'])], ctx.cfg, { onResult: progress(ctx.log) });
    const notes = results.map((r) => {
      const m = r.results.find((x) => x.impl === 'nabla');
      return `nabla ${r.name}: ${m?.ok ? (m.note ?? '') : 'not run'}`;
    });
    return {
      family: 'elementwise',
      title: this.title,
      cases: results,
      ratios: [
        ['nabla', 'torch'],
        ['nabla', 'tfjs-wasm'],
      ],
      notes: [`GELU is the tanh approximation everywhere; TensorFlow.js composes it and layer norm from its ops`, ...notes],
    };
  },
};

if (isMain(import.meta.url)) await runFamilies([elementwiseFamily]);
