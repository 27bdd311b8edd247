/**
 * The op checker for the WebGPU backend. For one op case (test/ops/cases) it
 * runs the case's function on the GPU in float32 and compares with the CPU
 * float64 result of the same (f32-rounded) inputs:
 *  1. output values, with the f32 tolerance of check.ts's table (× the case's tolScale);
 *  2. the same from non-contiguous (strided) GPU inputs;
 *  3. reverse-mode gradients of Σ⟨c, f(x)⟩ against the float64 CPU gradients;
 *  4. the other dtypes the case lists (f16/bf16: packed 2-byte storage, computed on the GPU in f32;
 *     test/webgpu/f16.test.ts adds strided 16-bit inputs and more ops).
 * The float64 CPU path itself is checked against independent references and
 * finite differences by test/ops/ops.test.ts, so agreement here is agreement
 * with the reference.
 */
import { expect } from 'vitest';
import * as nb from '../../src/index.js';
import { Tensor } from '../../src/core/tensor.js';
import type { DType } from '../../src/core/dtype.js';
import { sizeOf } from '../../src/core/shape.js';
import { getDefaultBackend, setDefaultBackend } from '../../src/ops/creation.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { TOL, expectClose, type InputSpec, type OpCase } from '../helpers/check.js';
import { mulberry32, randn } from '../helpers/rng.js';

/** Gradients chain several f32 ops: a looser bound than values (still far below any real error). */
export const GRAD_TOL_F32 = 2e-4;

/** Thrown when a case reads values synchronously, which a GPU tensor cannot do. */
export class SyncReadError extends Error {}

function genValues(spec: InputSpec, rng: () => number): number[] {
  const n = sizeOf(spec.shape);
  if (spec.gen) return spec.gen(rng, n);
  const [lo, hi] = spec.range ?? [-2, 2];
  if (spec.dtype === 'bool') return Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
  if (spec.dtype === 'i32') return Array.from({ length: n }, () => Math.floor(lo + (hi - lo) * rng()));
  return Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

const outs = (r: Tensor | Tensor[]): Tensor[] => (Array.isArray(r) ? r : [r]);
const isNum = (t: Tensor): boolean => t.dtype !== 'bool' && t.dtype !== 'i32';

function contract(fn: OpCase['fn'], xs: Tensor[], cts: (Tensor | null)[]): Tensor {
  let acc: Tensor | null = null;
  outs(fn(...xs)).forEach((y, k) => {
    if (!isNum(y) || !cts[k]) return;
    const term = nb.sum(nb.mul(y, cts[k]!));
    acc = acc ? nb.add(acc, term) : term;
  });
  return acc ?? nb.scalar(0);
}

/**
 * A GPU tensor whose values sit at the odd elements 1, 3, 5, … of a larger
 * storage (odd offset, stride 2: not contiguous, and every packed half shares
 * its word); the gaps hold `gap`.
 */
export function stridedOn(b: WebGpuBackend, values: ArrayLike<number>, shape: number[], dtype: DType, gap = 0): Tensor {
  const n = sizeOf(shape);
  const s = b.alloc(dtype, 2 * n + 1);
  const spread = new Float64Array(2 * n + 1).fill(gap);
  for (let i = 0; i < n; i++) spread[1 + 2 * i] = values[i]!;
  b.write(s, spread);
  const st: number[] = [];
  let acc = 2;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return new Tensor({ storage: s, shape, dtype, strides: st, offset: 1 });
}

/** Run `f` with new tensors going to backend `b`, translating a synchronous read into SyncReadError. */
function on<R>(b: nb.Tensor['storage']['backend'], f: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(b);
  try {
    return f();
  } catch (e) {
    if (/reads asynchronously/.test((e as Error).message)) throw new SyncReadError((e as Error).message);
    throw e;
  } finally {
    setDefaultBackend(prev);
  }
}

async function readAll(g: WebGpuBackend, ts: Tensor[]): Promise<Float64Array[]> {
  const r: Float64Array[] = [];
  for (const t of ts) {
    expect(t.backend, 'output lives on the GPU').toBe('webgpu');
    r.push(await g.readF64(t));
  }
  return r;
}

export async function checkOpOnGpu(c: OpCase, g: WebGpuBackend): Promise<void> {
  const rng = mulberry32(c.seed ?? 1234);
  const vals = c.inputs.map((s) => genValues(s, rng));
  const tolScale = c.tolScale ?? 1;
  await nb.scope(async () => {
    // float64 reference of the f32-rounded inputs, on the CPU
    const cpu = nb.cpu();
    const x32c = c.inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype ?? 'f32', backend: cpu }));
    const x64c = x32c.map((x, i) => (c.inputs[i]!.dtype ? x : nb.astype(x, 'f64')));
    const ref = on(cpu, () => outs(c.fn(...x64c)));
    const refVals = ref.map((y) => y.toF64());
    const cpuDtypes = on(cpu, () => outs(c.fn(...x32c)).map((y) => y.dtype));

    // 1. values
    const xg = c.inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype ?? 'f32', backend: g }));
    const yg = on(g, () => outs(c.fn(...xg)));
    expect(yg.map((y) => y.dtype), `${c.op}: output dtypes`).toEqual(cpuDtypes);
    const got = await readAll(g, yg);
    got.forEach((v, k) => expectClose(v, refVals[k]!, TOL.f32 * tolScale, `${c.op} webgpu f32 vs f64, output ${k}`));

    // 2. strided inputs
    const xs = c.inputs.map((s, i) => stridedOn(g, vals[i]!.map((v) => (s.dtype ? v : Math.fround(v))), s.shape, s.dtype ?? 'f32'));
    const ys = await readAll(g, on(g, () => outs(c.fn(...xs))));
    ys.forEach((v, k) => expectClose(v, refVals[k]!, TOL.f32 * tolScale, `${c.op} webgpu strided inputs, output ${k}`));

    // 3. gradients
    const diff = c.inputs.map((s) => !s.dtype && !s.noGrad);
    const argnums = diff.map((d, i) => (d ? i : -1)).filter((i) => i >= 0);
    if (!c.noGrad && argnums.length > 0) {
      const ctVals = ref.map((y) => (isNum(y) ? Array.from({ length: y.size }, () => randn(rng)) : null));
      const ctsCpu = ctVals.map((v, k) => (v ? nb.tensor(v, ref[k]!.shape, { dtype: 'f64', backend: cpu }) : null));
      const ctsGpu = ctVals.map((v, k) => (v ? nb.tensor(v, ref[k]!.shape, { dtype: 'f32', backend: g }) : null));
      const gc = on(cpu, () => nb.grad((...a: Tensor[]) => contract(c.fn, a, ctsCpu), { argnums })(...x64c)) as Tensor[];
      const gg = on(g, () => nb.grad((...a: Tensor[]) => contract(c.fn, a, ctsGpu), { argnums })(...xg)) as Tensor[];
      const gv = await readAll(g, gg);
      gv.forEach((v, k) => expectClose(v, gc[k]!.toF64(), GRAD_TOL_F32 * tolScale, `${c.op} webgpu gradient of input ${argnums[k]} vs f64`));
    }

    // 4. 16-bit dtypes the case lists
    for (const d of (c.dtypes ?? []).filter((x) => x === 'f16' || x === 'bf16')) {
      const xd = c.inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype ?? d, backend: g }));
      const xdc = c.inputs.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: s.dtype ?? d, backend: cpu }));
      const r16 = on(cpu, () => outs(c.fn(...xdc.map((x, i) => (c.inputs[i]!.dtype ? x : nb.astype(x, 'f64')))))).map((y) => y.toF64());
      const y16 = await readAll(g, on(g, () => outs(c.fn(...xd))));
      y16.forEach((v, k) => expectClose(v, r16[k]!, Math.max(TOL[d] * tolScale, TOL.f64), `${c.op} webgpu ${d} vs f64, output ${k}`));
    }
  });
  await g.sync();
}
