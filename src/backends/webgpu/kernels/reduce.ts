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
 * Few outputs over a long reduced extent (a loss summed to one scalar) would
 * leave the GPU with a handful of workgroups, so those reductions run in two
 * passes: the reduced range of each output is cut into S contiguous chunks,
 * S·nOut workgroups each reduce one chunk into a partial (f32 or i32), and a
 * second pass reduces the [nOut, S] partials. The chunking and the combining
 * order are fixed by the shapes alone, so results are deterministic (no float
 * atomics), like the two-kernel reductions of Harris's paper.
 *
 * Meta: [nOut, R, keptShape(nk), keptStrides(nk), redShape(nr), redStrides(nr), offset, S, C]
 * with S chunks of C reduced elements per output (S = 1, C = R in one pass).
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, arrayType, collapse, conv, enableF16, is16, isFloatish, kernelDtype16 as kernelDtype, loadElem, storeAs, storeType } from '../wgsl.js';
import { contiguousStrides } from '../../../core/shape.js';
import { reduceColumns } from './reduceCols.js';

const WG = 64;
/** Reduced extents at least this long, with few outputs, reduce in two passes. */
const SPLIT_MIN_R = 4096;
/** Aim for about this many first-pass workgroups in all. */
const SPLIT_TARGET_GROUPS = 2048;
/** Each first-pass workgroup reduces at least this many elements. */
const SPLIT_MIN_CHUNK = 1024;

/** How many chunks S to cut each output's reduced range into (1: one pass). */
export function splitCount(nOut: number, R: number): number {
  if (R < SPLIT_MIN_R || nOut >= SPLIT_TARGET_GROUPS / 2) return 1;
  const s = Math.min(Math.ceil(R / SPLIT_MIN_CHUNK), Math.ceil(SPLIT_TARGET_GROUPS / nOut));
  return Math.max(1, s);
}

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
  if (is16(out.dtype)) {
    // one workgroup per output: neighbouring packed halves would share a word, so reduce into f32
    // and round once in a cast, which writes whole words
    const r = reduceKernel(b, name, v, axes, { shape: out.shape, dtype: 'f32' });
    if (!r) return r;
    const h = b.kernels.get('astype')!([{ storage: r, dtype: 'f32', shape: out.shape, strides: contiguousStrides(out.shape), offset: 0 }], { dtype: out.dtype }, [out])![0]!;
    b.free(r);
    return h;
  }
  const logical = name === 'all' || name === 'any';
  const ct: 'f32' | 'i32' = logical ? 'i32' : isFloatish(out.dtype) ? 'f32' : 'i32';
  if (!logical && out.dtype === 'bool') return undefined;
  const p = plan(v, axes);
  const res = b.alloc(out.dtype, p.nOut);
  if (p.nOut === 0) return res;
  if (reduceColumns(b, name, COMBINE[name]!, v.dtype, v.storage, p, ct, out.dtype, res)) return res;
  const S = splitCount(p.nOut, p.R);
  if (S === 1) {
    reducePass(b, name, v.dtype, v.storage, p, 1, p.R, out.dtype, res);
    return res;
  }
  // pass 1: chunks into partials kept in the compute type
  const C = Math.ceil(p.R / S);
  const part = b.alloc(ct, p.nOut * S);
  reducePass(b, name, v.dtype, v.storage, p, S, C, ct, part);
  // pass 2: the [nOut, S] partials (contiguous) reduced over their last axis
  const pv: View = { storage: part, dtype: ct, shape: [p.nOut, S], strides: [S, 1], offset: 0 };
  reducePass(b, name, ct, part, plan(pv, [1]), 1, S, out.dtype, res);
  b.free(part);
  return res;
}

/** One dispatch: workgroup g reduces chunk g % S (C elements) of output g / S into dst[g]. */
function reducePass(b: WebGpuBackend, name: string, inDtype: DType, src: Storage, p: ReturnType<typeof plan>, S: number, C: number, outDtype: DType, dst: Storage): void {
  const c = COMBINE[name]!;
  const logical = name === 'all' || name === 'any';
  const ct: 'f32' | 'i32' = logical ? 'i32' : isFloatish(outDtype) ? 'f32' : 'i32';
  const elem = loadElem('inp', 'off', inDtype, b.half);
  const load = logical ? `select(0, 1, ${conv(elem, inDtype, 'bool', b.half)})` : conv(elem, inDtype, ct, b.half);
  const at = 2 + 2 * p.nk + 2 * p.nr;
  const code = (): string => `${enableF16(b.half, [inDtype])}// reduce ${name}:${inDtype}->${outDtype}
${META}
@group(0) @binding(1) var<storage, read> inp: array<${arrayType(inDtype, b.half)}>;
@group(0) @binding(2) var<storage, read_write> out: array<${storeType(outDtype)}>;
var<workgroup> part: array<${ct}, ${WG}>;
${MATH}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = i32(wid.y * nwg.x + wid.x);
  let S = prm[${at + 1}];
  let C = prm[${at + 2}];
  let o = g / S;
  let R = prm[1];
  let lo = (g % S) * C;
  let hi = min(R, lo + C);
  var base = prm[${at}];
  ${offsetCode('base', 'o', p.nk, '2')}
  var acc: ${ct} = ${c.init(ct)};
  for (var t = lo + i32(lid); t < hi; t += ${WG}) {
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
  if (lid == 0u && o < prm[0]) { out[g] = ${storeAs('part[0]', ct, outDtype)}; }
}`;
  b.launch(`reduce:${name}:${inDtype}:${outDtype}:${p.nk}:${p.nr}:${b.half}`, code, [src, dst], p.nOut * S, [...p.ints, S, C]);
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
  const R = sizeOf(redShape);
  const ints = [nOut, R, ...kept.shape, ...kept.strides[0]!, ...redShape, ...redStrides, v.offset];
  const res = b.alloc('i32', nOut);
  if (nOut === 0) return res;
  const S = splitCount(nOut, R);
  const C = Math.ceil(R / S);
  const at = 2 + 2 * nk + 2 * nr;
  const better = name === 'argmax' ? 'x > y' : 'x < y';
  // pass 1 (or the only pass) reads the view; pass 2 reads the [nOut, S] (value, index) partials
  const code = (second: boolean) => (): string => `${second ? '' : enableF16(b.half, [v.dtype])}// ${name}:${v.dtype}${second ? ' partials' : ''}
${META}
${
  second
    ? `@group(0) @binding(1) var<storage, read> PV: array<f32>;
@group(0) @binding(2) var<storage, read> PI: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;`
    : `@group(0) @binding(1) var<storage, read> inp: array<${arrayType(v.dtype, b.half)}>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
${S > 1 ? '@group(0) @binding(3) var<storage, read_write> outV: array<f32>;' : ''}`
}
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
  let g = i32(wid.y * nwg.x + wid.x);
  var bv: f32 = 0.0;
  var bi: i32 = -1;
${
  second
    ? `  let o = g;
  let S = prm[1];
  for (var t = i32(lid); t < S; t += ${WG}) {
    let x = PV[o * S + t];
    let i = PI[o * S + t];
    if (wins(x, i, bv, bi)) { bv = x; bi = i; }
  }`
    : `  let S = prm[${at + 1}];
  let C = prm[${at + 2}];
  let o = g / S;
  let lo = (g % S) * C;
  let hi = min(prm[1], lo + C);
  var base = prm[${at}];
  ${offsetCode('base', 'o', nk, '2')}
  for (var t = lo + i32(lid); t < hi; t += ${WG}) {
    var off = base;
    ${offsetCode('off', 't', nr, `${2 + 2 * nk}`)}
    let x = ${conv(loadElem('inp', 'off', v.dtype, b.half), v.dtype, 'f32', b.half)};
    if (wins(x, t, bv, bi)) { bv = x; bi = t; }
  }`
}
  pv[lid] = bv;
  pi[lid] = bi;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w && wins(pv[lid + w], pi[lid + w], pv[lid], pi[lid])) { pv[lid] = pv[lid + w]; pi[lid] = pi[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u && o < prm[0]) { out[g] = pi[0];${!second && S > 1 ? ' outV[g] = pv[0];' : ''} }
}`;
  if (S === 1) {
    b.launch(`${name}:${v.dtype}:${nk}:${nr}:${b.half}`, code(false), [v.storage, res], nOut, [...ints, 1, R]);
    return res;
  }
  const partI = b.alloc('i32', nOut * S);
  const partV = b.alloc('f32', nOut * S);
  b.launch(`${name}:${v.dtype}:${nk}:${nr}:split:${b.half}`, code(false), [v.storage, partI, partV], nOut * S, [...ints, S, C]);
  b.launch(`${name}:partials`, code(true), [partV, partI, res], nOut, [nOut, S]);
  b.free(partI);
  b.free(partV);
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
    b.kernels.set(name, Object.assign(declare(k, ['f32', 'f16', 'bf16', 'i32', 'bool']), { packedHalves: true }));
  }
  for (const name of ['argmax', 'argmin'] as const) {
    const k: Kernel = (inputs, attrs) => {
      const r = argKernel(b, name, inputs[0]!, (attrs as { axis: number | null }).axis);
      return r ? [r] : undefined;
    };
    b.kernels.set(name, Object.assign(declare(k, ['f32', 'f16', 'bf16', 'i32']), { packedHalves: true }));
  }
}
