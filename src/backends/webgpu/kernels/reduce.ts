/**
 * Reductions: sum, prod, max, min, all, any over any set of axes, and argmax/
 * argmin over one axis or all, reading strided views in place.
 *
 * One workgroup per output element: its 64 invocations stride over the
 * reduced elements (coalesced when the reduced axes are the inner ones), then
 * combine their partials by a tree in workgroup memory (the classic
 * shared-memory reduction, Harris, "Optimizing parallel reduction in CUDA").
 * Summation in f32 by a tree of 64 partial sums also keeps the error growth
 * near O(√n·ε) rather than a serial loop's O(n·ε).
 *
 * Meta: [nOut, R, keptShape(nk), keptStrides(nk), redShape(nr), redStrides(nr), offset].
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, collapse, conv, isFloatish, kernelDtype16 as kernelDtype, storeAs, storeType } from '../wgsl.js';

const WG = 64;

interface Combiner {
  /** initial value in the compute type */
  init: (ct: 'f32' | 'i32') => string;
  /** acc ⊕ v */
  step: (ct: 'f32' | 'i32') => string;
}

const NEG_INF = '-inf_()';
const POS_INF = 'inf_()';

const COMBINE: Record<string, Combiner> = {
  sum: { init: (ct) => (ct === 'f32' ? '0.0' : '0'), step: () => 'acc + v' },
  prod: { init: (ct) => (ct === 'f32' ? '1.0' : '1'), step: () => 'acc * v' },
  max: { init: (ct) => (ct === 'f32' ? NEG_INF : '-2147483647 - 1'), step: (ct) => (ct === 'f32' ? 'max_(acc, v)' : 'max(acc, v)') },
  min: { init: (ct) => (ct === 'f32' ? POS_INF : '2147483647'), step: (ct) => (ct === 'f32' ? 'min_(acc, v)' : 'min(acc, v)') },
  all: { init: () => '1', step: () => 'select(0, 1, acc != 0 && v != 0)' },
  any: { init: () => '0', step: () => 'select(0, 1, acc != 0 || v != 0)' },
};

/** Kept and reduced axes of a view, each collapsed, plus the meta block. */
function plan(v: View, axes: readonly number[]): { ints: number[]; nk: number; nr: number; nOut: number; R: number } {
  const keep = v.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const kept = collapse(
    keep.map((d) => v.shape[d]!),
    [keep.map((d) => v.strides[d]!)],
  );
  const red = collapse(
    axes.map((d) => v.shape[d]!),
    [axes.map((d) => v.strides[d]!)],
  );
  const nOut = sizeOf(kept.shape);
  const R = sizeOf(red.shape);
  const ints = [nOut, R, ...kept.shape, ...kept.strides[0]!, ...red.shape, ...red.strides[0]!, v.offset];
  return { ints, nk: kept.shape.length, nr: red.shape.length, nOut, R };
}

/** WGSL that turns index `idxVar` into an element offset over `n` axes whose shape starts at prm[shapeAt]. */
function offsetCode(target: string, idxVar: string, n: number, shapeAt: string): string {
  if (n === 0) return '';
  return `{ var r = ${idxVar};
    for (var d = ${n - 1}; d >= 0; d--) { let s = prm[${shapeAt} + d]; ${target} += (r % s) * prm[${shapeAt} + ${n} + d]; r = r / s; } }`;
}

function reduceKernel(b: WebGpuBackend, name: string, v: View, axes: readonly number[], out: OutMeta): Storage | undefined {
  const c = COMBINE[name]!;
  const logical = name === 'all' || name === 'any';
  const ct: 'f32' | 'i32' = logical ? 'i32' : isFloatish(out.dtype) ? 'f32' : 'i32';
  if (!logical && out.dtype === 'bool') return undefined;
  const p = plan(v, axes);
  const res = b.alloc(out.dtype, p.nOut);
  if (p.nOut === 0) return res;
  const load = logical ? `select(0, 1, ${conv('inp[off]', v.dtype, 'bool')})` : conv('inp[off]', v.dtype, ct);
  const code = (): string => `// reduce ${name}:${v.dtype}->${out.dtype}
${META}
@group(0) @binding(1) var<storage, read> inp: array<${storeType(v.dtype)}>;
@group(0) @binding(2) var<storage, read_write> out: array<${storeType(out.dtype)}>;
var<workgroup> part: array<${ct}, ${WG}>;
${MATH}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = i32(wid.y * nwg.x + wid.x);
  let R = prm[1];
  var base = prm[${2 + 2 * p.nk + 2 * p.nr}];
  ${offsetCode('base', 'o', p.nk, '2')}
  var acc: ${ct} = ${c.init(ct)};
  for (var t = i32(lid); t < R; t += ${WG}) {
    var off = base;
    ${offsetCode('off', 't', p.nr, `${2 + 2 * p.nk}`)}
    let v = ${load};
    acc = ${c.step(ct)};
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w) { let v = part[lid + w]; let acc = part[lid]; part[lid] = ${c.step(ct)}; }
    workgroupBarrier();
  }
  if (lid == 0u && o < prm[0]) { out[o] = ${storeAs('part[0]', ct, out.dtype)}; }
}`;
  b.launch(`reduce:${name}:${v.dtype}:${out.dtype}:${p.nk}:${p.nr}`, code, [v.storage, res], p.nOut, p.ints);
  return res;
}

/** argmax/argmin: (value, index) pairs; NaN wins (as in NumPy), then the first index on ties. */
function argKernel(b: WebGpuBackend, name: 'argmax' | 'argmin', v: View, axis: number | null): Storage | undefined {
  if (!isFloatish(v.dtype) && v.dtype !== 'i32') return undefined;
  const axes = axis === null ? v.shape.map((_, d) => d) : [axis];
  // the index along the reduced axes must be the logical one, so do not collapse them
  const keep = v.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const kept = collapse(
    keep.map((d) => v.shape[d]!),
    [keep.map((d) => v.strides[d]!)],
  );
  const redShape = axes.map((d) => v.shape[d]!);
  const redStrides = axes.map((d) => v.strides[d]!);
  const nk = kept.shape.length;
  const nr = axes.length;
  const nOut = sizeOf(kept.shape);
  const ints = [nOut, sizeOf(redShape), ...kept.shape, ...kept.strides[0]!, ...redShape, ...redStrides, v.offset];
  const res = b.alloc('i32', nOut);
  if (nOut === 0) return res;
  const better = name === 'argmax' ? 'x > y' : 'x < y';
  const code = (): string => `// ${name}:${v.dtype}
${META}
@group(0) @binding(1) var<storage, read> inp: array<${storeType(v.dtype)}>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
var<workgroup> pv: array<f32, ${WG}>;
var<workgroup> pi: array<i32, ${WG}>;
${MATH}
fn wins(x: f32, i: i32, y: f32, j: i32) -> bool {
  if (j < 0) { return i >= 0; }
  if (i < 0) { return false; }
  if (isnan_(y)) { return isnan_(x) && i < j; }
  if (isnan_(x)) { return true; }
  if (x == y) { return i < j; }
  return ${better};
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = i32(wid.y * nwg.x + wid.x);
  let R = prm[1];
  var base = prm[${2 + 2 * nk + 2 * nr}];
  ${offsetCode('base', 'o', nk, '2')}
  var bv: f32 = 0.0;
  var bi: i32 = -1;
  for (var t = i32(lid); t < R; t += ${WG}) {
    var off = base;
    ${offsetCode('off', 't', nr, `${2 + 2 * nk}`)}
    let x = ${conv('inp[off]', v.dtype, 'f32')};
    if (wins(x, t, bv, bi)) { bv = x; bi = t; }
  }
  pv[lid] = bv;
  pi[lid] = bi;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w && wins(pv[lid + w], pi[lid + w], pv[lid], pi[lid])) { pv[lid] = pv[lid + w]; pi[lid] = pi[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u && o < prm[0]) { out[o] = pi[0]; }
}`;
  b.launch(`${name}:${v.dtype}:${nk}:${nr}`, code, [v.storage, res], nOut, ints);
  return res;
}

export function registerReduce(b: WebGpuBackend): void {
  const declare = (k: Kernel, dtypes: readonly DType[]): Kernel => Object.assign(k, { dtypes });
  for (const name of Object.keys(COMBINE)) {
    const k: Kernel = (inputs, attrs, outs) => {
      const v = inputs[0]!;
      if (!kernelDtype(v.dtype)) return undefined;
      const r = reduceKernel(b, name, v, (attrs as { axes: number[] }).axes, outs[0]!);
      return r ? [r] : undefined;
    };
    b.kernels.set(name, declare(k, ['f32', 'f16', 'bf16', 'i32', 'bool']));
  }
  for (const name of ['argmax', 'argmin'] as const) {
    const k: Kernel = (inputs, attrs) => {
      const r = argKernel(b, name, inputs[0]!, (attrs as { axis: number | null }).axis);
      return r ? [r] : undefined;
    };
    b.kernels.set(name, declare(k, ['f32', 'f16', 'bf16', 'i32']));
  }
}
