/**
 * The CPU backend's native kernels for elementwise ops with broadcasting
 * (unary, binary, `where`, `astype`), run in place on the heap by the
 * WebAssembly kernels of ew.kernel.ts.
 *
 * A call: read each input as a strided view broadcast to the output shape
 * (stride 0 on broadcast axes), merge the axes every operand walks as one,
 * hand the innermost three axes to the kernel and loop over any others here
 * (rare: it takes alternating broadcast patterns). Large calls are split by
 * rows, or by columns of a single long row, over the thread pool; lanes are
 * independent, so a split never changes a result.
 *
 * A kernel declines (returns undefined, so the float64 reference runs) for
 * dtypes it has no kernel for: everything here is float32, bool masks, and
 * f16/bf16 conversions.
 */
import type { Kernel, OutMeta, Storage, View } from '../../../backend.js';
import type { DType } from '../../../../core/dtype.js';
import { sizeOf } from '../../../../core/shape.js';
import type { CpuBackend } from '../../index.js';
import { EW, type EwSpec } from './ewOps.js';
import { ELEM_BYTES, buildElementwise } from './ew.kernel.js';
import { broadcastStrides, collapse, forEachIndex, module, runCalls, simdAvailable, storagePtr, threadsFor, viewPtr } from './run.js';

/** The kernel module of a group, compiled on first use. */
const ewModule = (group: EwSpec['group']) => module(`ew.${group}`, (o) => buildElementwise(group, o));

/** [start, end) ranges splitting `n` into at most `parts` pieces, each a multiple of `unit` but the last. */
function ranges(n: number, parts: number, unit: number): [number, number][] {
  const per = Math.max(unit, Math.ceil(n / parts / unit) * unit);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
  return out;
}

/**
 * out ← kernel `name` (ewOps.ts) applied to `inputs` broadcast to `outShape`;
 * `outPtr` is a contiguous output. `a0`, `a1` are the kernel's attributes.
 */
export function runElementwise(name: string, inputs: readonly View[], outPtr: number, outShape: readonly number[], a0 = 0, a1 = 0): void {
  const spec = EW[name];
  if (!spec) throw new Error(`runElementwise: no kernel '${name}'`);
  const n = sizeOf(outShape);
  if (n === 0) return;
  const k = inputs.length;
  const bytes = spec.ins.map((kd) => ELEM_BYTES[kd]);
  const { shape, strides } = collapse(outShape, inputs.map((v) => broadcastStrides(v, outShape)));
  const nd = shape.length;
  const lead = shape.slice(0, Math.max(0, nd - 3));
  const box = [...new Array<number>(Math.max(0, 3 - nd)).fill(1), ...shape.slice(-3)];
  const boxStrides = strides.map((s) => [...new Array<number>(Math.max(0, 3 - nd)).fill(0), ...s.slice(-3)]);
  const [d0, d1, d2] = box as [number, number, number];
  const inner = boxStrides.map((s) => s[2]!);
  const variant = inner.every((s) => s === 0 || s === 1) ? 1 + inner.reduce<number>((acc, s, j) => acc | (s === 0 ? 1 << j : 0), 0) : 0;
  const rows = d0 * d1;
  const work = n * spec.cost;
  const T = threadsFor(work);
  const parts: [number, number, number, number][] = [];
  if (T <= 1) parts.push([0, rows, 0, d2]);
  else if (rows >= T) for (const [r0, r1] of ranges(rows, T, 1)) parts.push([r0, r1, 0, d2]);
  else for (let r = 0; r < rows; r++) for (const [c0, c1] of ranges(d2, Math.ceil(T / rows), 16)) parts.push([r, r + 1, c0, c1]);

  const calls: number[][] = [];
  const ptrs = inputs.map((v, j) => viewPtr(v, bytes[j]!));
  const outBytes = ELEM_BYTES[spec.out];
  let block = 0;
  forEachIndex(lead, (idx) => {
    const p = [0, 0, 0];
    const s = new Array<number>(9).fill(0);
    for (let j = 0; j < k; j++) {
      let off = 0;
      idx.forEach((i, a) => (off += i * strides[j]![a]!));
      p[j] = ptrs[j]! + off * bytes[j]!;
      for (let a = 0; a < 3; a++) s[3 * j + a] = boxStrides[j]![a]! * bytes[j]!;
    }
    const out = outPtr + block++ * rows * d2 * outBytes;
    for (const [r0, r1, c0, c1] of parts) calls.push([out, p[0]!, p[1]!, p[2]!, d1, d2, ...s, r0, r1, c0, c1, variant, a0, a1]);
  });
  runCalls(ewModule(spec.group), name, calls, work);
}

/** The kernel name for op `op` on these dtypes, if there is one. */
function resolve(op: string, ins: readonly DType[], out: DType): string | undefined {
  const candidates = op === 'astype' ? [`cast_${ins[0]}_${out}`] : op === 'logicalNot' ? ['logicalNot', 'logicalNotBool'] : [op];
  return candidates.find((c) => {
    const s = EW[c];
    return s !== undefined && s.out === out && s.ins.length === ins.length && s.ins.every((d, j) => d === ins[j]);
  });
}

/** Float attributes of the ops that have them. */
function attrValues(op: string, attrs: unknown): [number, number] {
  const a = (attrs ?? {}) as { lo?: number; hi?: number; beta?: number; alpha?: number };
  if (op === 'clamp') return [a.lo ?? -Infinity, a.hi ?? Infinity];
  if (op === 'softplus') return [a.beta ?? 1, 0];
  if (op === 'elu') return [a.alpha ?? 1, 0];
  return [0, 0];
}

/** A native kernel for elementwise op `op`; it declines dtypes without a kernel. */
export function elementwiseKernel(be: CpuBackend, op: string): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const meta = outs[0]!;
    const name = resolve(op, inputs.map((v) => v.dtype), meta.dtype);
    if (!name || !simdAvailable()) return undefined;
    const y = be.alloc(meta.dtype, sizeOf(meta.shape));
    const [a0, a1] = attrValues(op, attrs);
    runElementwise(name, inputs, storagePtr(y), meta.shape, a0, a1);
    return [y];
  };
}

/**
 * The `copy` op (a strided view made contiguous: every permute-then-reshape
 * of attention heads) for float32: the identity cast kernel walks any
 * strides. Other dtypes decline.
 */
export function copyKernel(be: CpuBackend): Kernel {
  return (inputs: readonly View[], _attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const x = inputs[0]!;
    if (x.dtype !== 'f32' || outs[0]!.dtype !== 'f32' || !simdAvailable()) return undefined;
    const y = be.alloc('f32', sizeOf(x.shape));
    runElementwise('cast_f32_f32', [x], storagePtr(y), x.shape);
    return [y];
  };
}

/** Op names with elementwise kernels, and the dtypes each runs natively (for the op table). */
export const ELEMENTWISE_OPS: Readonly<Record<string, readonly DType[]>> = (() => {
  const out: Record<string, DType[]> = {};
  for (const [name, spec] of Object.entries(EW)) {
    const op = name.startsWith('cast_') ? 'astype' : name === 'logicalNotBool' ? 'logicalNot' : name;
    const d = spec.ins[spec.ins.length - 1]! as DType;
    const list = (out[op] ??= []);
    if (!list.includes(d)) list.push(d);
  }
  return out;
})();
