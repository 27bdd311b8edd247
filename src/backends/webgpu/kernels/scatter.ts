/**
 * Deterministic scatter kernels: `scatter` (overwrite, the last write in
 * row-major order wins) and `scatterAdd`/`indexAdd` (duplicates accumulate),
 * without atomics, so a sum with repeated indices is the same bits on every
 * run and adds in the CPU reference's order.
 *
 * Why this works: two index entries can only collide when they differ in the
 * scatter axis alone (every other coordinate is copied to the output), so
 * the entries split into independent *lines* along the axis. Two layouts:
 *  - 'lines': one invocation per line walks it in order (j = 0, 1, …) and
 *    writes or adds at out[…, index[j], …]. Lines touch disjoint outputs, so
 *    no two invocations race. Work O(entries), parallelism = number of lines.
 *  - 'elements': one invocation per output element scans its line for the
 *    entries that name it (in order: the last one for scatter; for the adds,
 *    x plus each entry in turn, the association of the 'lines' layout). Work O(outputs × line length), parallelism = outputs; used
 *    when there are few long lines (a 1-D scatter), where 'lines' would be
 *    nearly serial.
 * Only when even that would be too much work (few lines, long lines and a
 * long output axis) do scatterAdd/indexAdd keep the CAS-atomic kernel of
 * indexing.ts, whose sums may differ in the last bits between runs.
 *
 * Indices are clamped on the device like gather's (the CPU path throws).
 * Meta: [count, m, nd, axis, outShape(nd), srcShape(nd), outStrides(nd),
 * srcStrides(nd), iStrides(nd), srcOff, iOff, axisLen].
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { contiguousStrides, sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META, mainHeader, storeType } from '../wgsl.js';
import { copyKernel } from './elementwise.js';

const WG = 64;
/** 'lines' is chosen when it has at least this many lines, or lines this short */
const MANY_LINES = 1024;
const SHORT_LINE = 256;
/** 'elements' is chosen while outputs × line length stays below this */
const ELEMENT_WORK = 1 << 26;

type Mode = 'lines' | 'elements';

function shader(mode: Mode, add: boolean, st: string, nd: number): string {
  const at = (k: number): string => `prm[${4 + k * nd} + d]`; // k: 0 outShape, 1 srcShape, 2 outStrides, 3 srcStrides, 4 iStrides
  const tail = 4 + 5 * nd;
  const fix = `clamp(select(raw, raw + prm[${tail + 2}], raw < 0), 0, prm[${tail + 2}] - 1)`;
  const head = `// scatter:${mode}:${add ? 'add' : 'set'}:${st} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> S: array<${st}>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${st}>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let m = prm[1];
  let axis = prm[3];
  var ps = prm[${tail}];
  var pi = prm[${tail + 1}];
  let sAx = prm[${4 + 3 * nd} + axis];
  let iAx = prm[${4 + 4 * nd} + axis];
  let oAx = prm[${4 + 2 * nd} + axis];`;
  if (mode === 'lines') {
    // gi counts lines: src coordinates with the axis left out
    return `${head}
  var po = 0;
  { var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) {
      if (d == axis) { continue; }
      let s = ${at(1)}; let c = r % s; r = r / s;
      ps += c * ${at(3)}; pi += c * ${at(4)}; po += c * ${at(2)};
    } }
  for (var j = 0; j < m; j++) {
    let raw = I[pi + j * iAx];
    let k = ${fix};
    ${add ? 'out[po + k * oAx] += S[ps + j * sAx];' : 'out[po + k * oAx] = S[ps + j * sAx];'}
  }
}`;
  }
  // gi counts output elements (contiguous, so gi is also the element's offset)
  return `${head}
  var kk = 0;
  { var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) {
      let s = ${at(0)}; let c = r % s; r = r / s;
      if (d == axis) { kk = c; continue; }
      if (c >= ${at(1)}) { return; }
      ps += c * ${at(3)}; pi += c * ${at(4)};
    } }
  ${add ? 'var acc = out[gi];' : 'var last = -1;'}
  for (var j = 0; j < m; j++) {
    let raw = I[pi + j * iAx];
    if (${fix} == kk) { ${add ? 'acc += S[ps + j * sAx];' : 'last = j;'} }
  }
  ${add ? 'out[gi] = acc;' : 'if (last >= 0) { out[gi] = S[ps + last * sAx]; }'}
}`;
}

/**
 * out = x with src scattered along `axis` at `index` (overwrite or add). `index` has src's
 * shape (scatter, scatterAdd) or is 1-D along the axis (indexAdd: `oneD`). Returns undefined
 * when no deterministic layout is affordable (the caller then uses the atomic kernel).
 */
export function scatterKernel(b: WebGpuBackend, add: boolean, x: View, index: View, src: View, axis: number, out: OutMeta, oneD: boolean, force = false): Storage | undefined {
  const nd = src.shape.length;
  const m = src.shape[axis]!;
  const nSrc = sizeOf(src.shape);
  const nOut = sizeOf(out.shape);
  const lines = m === 0 ? 0 : nSrc / m;
  const mode: Mode = lines >= MANY_LINES || m <= SHORT_LINE ? 'lines' : 'elements';
  if (mode === 'elements' && nOut * m > ELEMENT_WORK && add && !force) return undefined;
  const res = copyKernel(b, x, out);
  if (nSrc === 0 || nOut === 0) return res;
  const iStrides = oneD ? src.shape.map((_, d) => (d === axis ? index.strides[0]! : 0)) : index.strides;
  const count = mode === 'lines' ? lines : nOut;
  const ints = [count, m, nd, axis, ...out.shape, ...src.shape, ...contiguousStrides(out.shape), ...src.strides, ...iStrides, src.offset, index.offset, x.shape[axis]!];
  const st = storeType(x.dtype);
  b.launch(`scatter:${mode}:${add}:${st}:${nd}`, () => shader(mode, add, st, nd), [src.storage, index.storage, res], Math.ceil(count / WG), ints);
  return res;
}

/**
 * Register scatter (f32, i32, bool; f16/bf16 reach it as f32 copies through the backend's
 * `widened`) and the deterministic scatterAdd/indexAdd
 * (f32, i32) in front of indexing.ts's atomic ones, which stay the fallback for shapes
 * too large for the deterministic layouts. Call after registerIndexing.
 */
export function registerScatter(b: WebGpuBackend): void {
  const ax = (a: unknown): number => (a as { axis: number }).axis;
  const word = (d: string): boolean => d === 'f32' || d === 'i32' || d === 'bool';
  const scatter: Kernel = ([x, i, s], a, [o]) => (word(x!.dtype) && i!.dtype === 'i32' ? [scatterKernel(b, false, x!, i!, s!, ax(a), o!, false, true)!] : undefined);
  b.kernels.set('scatter', Object.assign(scatter, { dtypes: ['f32', 'i32', 'bool'] as const }));
  for (const [name, oneD] of [
    ['scatterAdd', false],
    ['indexAdd', true],
  ] as const) {
    const atomic = b.kernels.get(name);
    const k: Kernel = (ins, a, outs) => {
      const [x, i, s] = ins;
      if ((x!.dtype !== 'f32' && x!.dtype !== 'i32') || i!.dtype !== 'i32') return undefined;
      const r = scatterKernel(b, true, x!, i!, s!, ax(a), outs[0]!, oneD, x!.dtype === 'i32' || !atomic);
      if (r) return [r];
      return atomic!(ins, a, outs);
    };
    b.kernels.set(name, Object.assign(k, { dtypes: ['f32', 'i32'] as const }));
  }
}
