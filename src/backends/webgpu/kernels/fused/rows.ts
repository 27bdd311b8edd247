/**
 * Row kernels' common ground: a tensor seen as `rows` rows of `D` elements
 * (its leading axes, then its trailing k axes), read in place from strided
 * views, plus the workgroup reductions the fused row ops are built from.
 *
 * One workgroup owns one row: its invocations stride over the row (so
 * neighbouring invocations read neighbouring elements: coalesced on a real
 * GPU), then combine their partials by a tree in workgroup memory (Harris,
 * "Optimizing parallel reduction in CUDA"). The workgroup size follows the
 * row length (64 for short rows, the adapter's limit up to 256 for long
 * ones), so short rows do not leave most invocations idle.
 *
 * Operands are 'row' views (the tensor's shape: leading and trailing axes)
 * or 'tail' views (only the trailing axes: a norm's weight and bias). Axes
 * every operand walks as one are merged (`collapse`), so contiguous tensors
 * index with one multiply. Meta: [rows, D, outer shape (no), inner shape (ni),
 * then per operand: offset, outer strides (no), inner strides (ni)].
 */
import type { View } from '../../../backend.js';
import { sizeOf } from '../../../../core/shape.js';
import type { WebGpuBackend } from '../../backend.js';
import { collapse } from '../../wgsl.js';

export interface RowOperand {
  view: View;
  kind: 'row' | 'tail';
}

export interface RowPlan {
  rows: number;
  D: number;
  /** the meta block (without float params) */
  ints: number[];
  /** WGSL: fn base{k}(o: i32) -> i32 (row o's offset in operand k) and fn at{k}(t: i32) -> i32 (element t's offset within the row) */
  index: string;
  /** a key fragment: the collapsed ranks, which the index code depends on */
  key: string;
}

/** Plan the row walk of operands whose row shape is `shape` and whose trailing `k` axes form a row. */
export function rowPlan(shape: readonly number[], k: number, ops: readonly RowOperand[]): RowPlan {
  const nd = shape.length;
  const outerShape = shape.slice(0, nd - k);
  const innerShape = shape.slice(nd - k);
  const outerStrides = ops.map((o) => (o.kind === 'row' ? o.view.strides.slice(0, nd - k) : outerShape.map(() => 0)));
  const innerStrides = ops.map((o) => (o.kind === 'row' ? o.view.strides.slice(nd - k) : o.view.strides.slice()));
  const outer = collapse(outerShape, outerStrides);
  const inner = collapse(innerShape, innerStrides);
  const no = outer.shape.length;
  const ni = inner.shape.length;
  const ints = [sizeOf(outerShape), sizeOf(innerShape), ...outer.shape, ...inner.shape];
  const at: number[] = [];
  ops.forEach((o, i) => {
    at.push(ints.length);
    ints.push(o.view.offset, ...outer.strides[i]!, ...inner.strides[i]!);
  });
  const fns = ops.map((_, i) => {
    const a = at[i]!;
    const baseBody = no === 0 ? `return prm[${a}];` : `var off = prm[${a}]; var r = o;
  for (var d = ${no - 1}; d >= 0; d--) { let s = prm[2 + d]; off += (r % s) * prm[${a + 1} + d]; r = r / s; }
  return off;`;
    let atBody: string;
    if (ni === 0) atBody = 'return 0;';
    else if (ni === 1) atBody = `return t * prm[${a + 1 + no}];`;
    else atBody = `var off = 0; var r = t;
  for (var d = ${ni - 1}; d >= 0; d--) { let s = prm[${2 + no} + d]; off += (r % s) * prm[${a + 1 + no} + d]; r = r / s; }
  return off;`;
    return `fn base${i}(o: i32) -> i32 { ${baseBody} }\nfn at${i}(t: i32) -> i32 { ${atBody} }`;
  });
  return { rows: ints[0]!, D: ints[1]!, ints, index: fns.join('\n'), key: `${no}:${ni}` };
}

/** Invocations per row: 64 for short rows, up to 256 (within the adapter's limit) for long ones. */
export function rowWorkgroup(b: WebGpuBackend, D: number): number {
  const cap = Math.max(64, Math.min(256, b.ctx.limits.maxWorkgroupSize));
  let wg = 64;
  while (wg < cap && wg * 4 <= D) wg *= 2;
  return Math.min(wg, cap);
}

/**
 * Workgroup reductions over `WG` invocations (must be called in uniform
 * control flow: every invocation of the workgroup, no early return between).
 * The trailing barrier lets the scratch be reused by the next reduction.
 */
export function reductions(WG: number): string {
  return `
var<workgroup> red: array<vec2f, ${WG}>;
fn wgSum2(v: vec2f, lid: u32) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgSum(v: f32, lid: u32) -> f32 { return wgSum2(vec2f(v, 0.0), lid).x; }
fn wgMax(v: f32, lid: u32) -> f32 {
  red[lid] = vec2f(v, 0.0);
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w) { red[lid] = vec2f(max_(red[lid].x, red[lid + w].x), 0.0); }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}`;
}

/** The prologue of a row kernel: o is this workgroup's row (uniform), D the row length. */
export function rowMain(WG: number): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = i32(wid.y * nwg.x + wid.x);
  if (o >= prm[0]) { return; }
  let D = prm[1];
  let first = i32(lid);`;
}

/** Every view is f32 (the fused kernels' dtype; others take the CPU fallback). */
export const allF32 = (vs: readonly View[]): boolean => vs.every((v) => v.dtype === 'f32');
