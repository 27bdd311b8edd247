/**
 * Column reductions: the reduced axes lie outside the innermost kept axis,
 * which is contiguous, e.g. a bias gradient summed over [B·T, d] rows into
 * [d]. reduce.ts gives each output its own workgroup whose invocations
 * stride down one column, so every load is a separate memory transaction;
 * measured on an H100 these sums took 42% of a GPT training step's GPU time.
 *
 * Here each invocation owns one output column and walks down the rows, so a
 * workgroup's 64 invocations read 64 neighbouring columns of a row together
 * (coalesced). Long columns are cut into S chunks of C rows: pass 1 writes
 * partials [S, nOut] (in f32 or i32), pass 2 reduces them as a column
 * reduction again. Chunks and combining order depend on the shapes only, so
 * results are deterministic, and a serial sum over C ≤ 64 rows then S
 * partials keeps the f32 error small.
 *
 * Meta as reduce.ts: [nOut, R, keptShape(nk), keptStrides(nk), redShape(nr), redStrides(nr), offset, S, C].
 */
import type { DType } from '../../../core/dtype.js';
import type { Storage } from '../../backend.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, arrayType, conv, enableF16, loadElem, storeAs, storeType } from '../wgsl.js';

const WG = 64;
/** aim for about this many workgroups in pass 1 */
const TARGET_GROUPS = 2048;
/** rows per chunk at least (shorter chunks cost more partials than they save) */
const MIN_ROWS = 16;

export interface ReducePlan {
  ints: number[];
  nk: number;
  nr: number;
  nOut: number;
  R: number;
}

export interface ColumnCombiner {
  init: (ct: 'f32' | 'i32') => string;
  step: (ct: 'f32' | 'i32') => string;
}

/** Whether a reduction is a column reduction this kernel handles well: the innermost kept axis is contiguous and wide. */
export function isColumnReduce(p: ReducePlan): boolean {
  if (p.nk === 0 || p.nr === 0 || p.nOut < 32) return false;
  const innerKeptStride = p.ints[2 + 2 * p.nk - 1]!;
  return innerKeptStride === 1;
}

/** Chunks per column for nOut outputs over R rows. */
export function columnChunks(nOut: number, R: number): number {
  const blocks = Math.ceil(nOut / WG);
  const s = Math.min(Math.ceil(TARGET_GROUPS / blocks), Math.floor(R / MIN_ROWS));
  return Math.max(1, s);
}

/** WGSL adding the offset of index `idxVar` over `n` axes (shapes at prm[shapeAt], strides after them) to `target`. */
function offsetCode(target: string, idxVar: string, n: number, shapeAt: number): string {
  if (n === 0) return '';
  if (n === 1) return `${target} += ${idxVar} * prm[${shapeAt + 1}];`;
  return `{ var r = ${idxVar};
    for (var d = ${n - 1}; d >= 0; d--) { let s = prm[${shapeAt} + d]; ${target} += (r % s) * prm[${shapeAt} + ${n} + d]; r = r / s; } }`;
}

/**
 * Reduce the view `src` (planned as `p`) into `dst` [nOut] of `outDtype`,
 * with `ct` the compute type. Returns false when it does not apply.
 */
export function reduceColumns(b: WebGpuBackend, name: string, c: ColumnCombiner, inDtype: DType, src: Storage, p: ReducePlan, ct: 'f32' | 'i32', outDtype: DType, dst: Storage): boolean {
  if (!isColumnReduce(p)) return false;
  const S = columnChunks(p.nOut, p.R);
  if (S === 1) {
    columnPass(b, name, c, inDtype, src, p, 1, p.R, ct, outDtype, dst);
    return true;
  }
  const C = Math.ceil(p.R / S);
  const part = b.alloc(ct, S * p.nOut);
  columnPass(b, name, c, inDtype, src, p, S, C, ct, ct, part);
  // the partials [S, nOut] (contiguous), reduced over their first axis
  const pp: ReducePlan = { ints: [p.nOut, S, p.nOut, 1, S, p.nOut, 0], nk: 1, nr: 1, nOut: p.nOut, R: S };
  columnPass(b, name, c, ct, part, pp, 1, S, ct, outDtype, dst);
  b.free(part);
  return true;
}

/** One dispatch: invocation (chunk s, column o) reduces rows [s·C, s·C + C) of column o into dst[s·nOut + o]. */
function columnPass(b: WebGpuBackend, name: string, c: ColumnCombiner, inDtype: DType, src: Storage, p: ReducePlan, S: number, C: number, ct: 'f32' | 'i32', outDtype: DType, dst: Storage): void {
  const logical = name === 'all' || name === 'any';
  const elem = loadElem('inp', 'off', inDtype, b.half);
  const load = logical ? `select(0, 1, ${conv(elem, inDtype, 'bool', b.half)})` : conv(elem, inDtype, ct, b.half);
  const at = 2 + 2 * p.nk + 2 * p.nr;
  const code = (): string => `${enableF16(b.half, [inDtype])}// column reduce ${name}:${inDtype}->${outDtype}
${META}
@group(0) @binding(1) var<storage, read> inp: array<${arrayType(inDtype, b.half)}>;
@group(0) @binding(2) var<storage, read_write> out: array<${storeType(outDtype)}>;
${MATH}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = i32(wid.y * nwg.x + wid.x);
  let nOut = prm[0];
  let blocks = (nOut + ${WG - 1}) / ${WG};
  let o = (g % blocks) * ${WG} + i32(lid);
  let s = g / blocks;
  if (o >= nOut) { return; }
  let R = prm[1];
  let C = prm[${at + 2}];
  let lo = s * C;
  let hi = min(R, lo + C);
  var base = prm[${at}];
  ${offsetCode('base', 'o', p.nk, 2)}
  var acc: ${ct} = ${c.init(ct)};
  for (var t = lo; t < hi; t++) {
    var off = base;
    ${offsetCode('off', 't', p.nr, 2 + 2 * p.nk)}
    let v = ${load};
    acc = ${c.step(ct)};
  }
  out[s * nOut + o] = ${storeAs('acc', ct, outDtype)};
}`;
  const blocks = Math.ceil(p.nOut / WG);
  b.launch(`reduceCols:${name}:${inDtype}:${outDtype}:${p.nk}:${p.nr}:${b.half}`, code, [src, dst], blocks * S, [...p.ints, S, C]);
}
