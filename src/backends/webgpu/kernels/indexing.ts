/**
 * Indexing kernels: gather and indexSelect (one invocation per output
 * element, the index read in place), and their adjoints scatterAdd and
 * indexAdd, which must accumulate duplicates: WGSL has no float atomics, so
 * each addition is a compare-and-swap loop on the f32's bits
 * (atomicCompareExchangeWeak on atomic<u32>), the usual emulation.
 * Accumulation order between invocations is unspecified, so sums with
 * duplicate indices may differ in the last bits from run to run.
 *
 * gather and indexSelect move elements in their stored form, packed f16/bf16
 * included: an invocation writes one output word, i.e. two halves (`storeMain`).
 *
 * Indices are not range-checked on the device (the CPU path throws): a
 * negative index counts from the end, one out of range is clamped.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META, arrayType, enableF16, layoutKey, loadElem, mainHeader, outThreads, storeMain } from '../wgsl.js';
import { copyKernel } from './elementwise.js';

const WG = 64;

/** Coordinates → element offset under strides starting at prm[at] (nd axes, shape at prm[2]). */
function offsetLoop(nd: number, targets: { v: string; at: string }[], skipAxis?: string): string {
  const body = targets.map((t) => `${t.v} += c * prm[${t.at} + d];`).join(' ');
  return `{ var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) { let s = prm[2 + d]; let c = r % s; r = r / s; ${skipAxis ? `if (d == ${skipAxis}) { ax = c; continue; }` : ''} ${body} } }`;
}

const fixIndex = (v: string, n: string): string => `clamp(select(${v}, ${v} + ${n}, ${v} < 0), 0, ${n} - 1)`;

/** gather: out (index's shape) = x[…, index[…], …] on `axis`. Meta: [n, nd, shape, xStrides, iStrides, xOff, iOff, axis, axisLen]. */
function gatherKernel(b: WebGpuBackend, x: View, index: View, axis: number, out: OutMeta): Storage {
  const n = sizeOf(out.shape);
  const nd = out.shape.length;
  const res = b.alloc(out.dtype, n);
  if (n === 0) return res;
  const ints = [n, nd, ...out.shape, ...x.strides, ...index.strides, x.offset, index.offset, axis, x.shape[axis]!];
  const st = arrayType(x.dtype, b.half);
  const lk = layoutKey(x.dtype, b.half);
  const tail = 2 + 3 * nd;
  const code = (): string => `${enableF16(b.half, [x.dtype])}// gather:${lk} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${st}>;
fn value(gi: i32) -> ${st} {
  var px = prm[${tail}];
  var pi = prm[${tail + 1}];
  let axis = prm[${tail + 2}];
  var ax = 0;
  { var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) {
      let s = prm[2 + d]; let c = r % s; r = r / s;
      pi += c * prm[${2 + 2 * nd} + d];
      if (d != axis) { px += c * prm[${2 + nd} + d]; }
    } }
  let j = ${fixIndex('I[pi]', `prm[${tail + 3}]`)};
  return ${loadElem('X', `px + j * prm[${2 + nd} + axis]`, x.dtype, b.half)};
}
${mainHeader(WG)}
${storeMain(x.dtype, b.half)}
}`;
  b.launch(`gather:${lk}:${nd}`, code, [x.storage, index.storage, res], Math.ceil(outThreads(x.dtype, b.half, n) / WG), ints);
  return res;
}

/** indexSelect: out = x with axis `axis` re-indexed by a 1-D index. Meta: [n, nd, outShape, xStrides, xOff, iStride, iOff, axis, axisLen]. */
function indexSelectKernel(b: WebGpuBackend, x: View, index: View, axis: number, out: OutMeta): Storage {
  const n = sizeOf(out.shape);
  const nd = out.shape.length;
  const res = b.alloc(out.dtype, n);
  if (n === 0) return res;
  const ints = [n, nd, ...out.shape, ...x.strides, x.offset, index.strides[0]!, index.offset, axis, x.shape[axis]!];
  const st = arrayType(x.dtype, b.half);
  const lk = layoutKey(x.dtype, b.half);
  const tail = 2 + 2 * nd;
  const code = (): string => `${enableF16(b.half, [x.dtype])}// indexSelect:${lk} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${st}>;
fn value(gi: i32) -> ${st} {
  var px = prm[${tail}];
  let axis = prm[${tail + 3}];
  var ax = 0;
  ${offsetLoop(nd, [{ v: 'px', at: `${2 + nd}` }], 'axis')}
  let j = ${fixIndex(`I[prm[${tail + 2}] + ax * prm[${tail + 1}]]`, `prm[${tail + 4}]`)};
  return ${loadElem('X', `px + j * prm[${2 + nd} + axis]`, x.dtype, b.half)};
}
${mainHeader(WG)}
${storeMain(x.dtype, b.half)}
}`;
  b.launch(`indexSelect:${lk}:${nd}`, code, [x.storage, index.storage, res], Math.ceil(outThreads(x.dtype, b.half, n) / WG), ints);
  return res;
}

/**
 * scatterAdd / indexAdd, f32: copy x to the output, then every src element
 * adds itself at its target. `select` says how a src coordinate finds its
 * target: 'scatter' (index has src's shape) or 'index' (1-D index on axis).
 * Meta: [n, nd, srcShape, outStrides(contiguous), srcStrides, iStrides, srcOff, iOff, axis, axisLen].
 */
function addAtKernel(b: WebGpuBackend, mode: 'scatter' | 'index', x: View, index: View, src: View, axis: number, out: OutMeta): Storage {
  const res = copyKernel(b, x, out);
  const n = sizeOf(src.shape);
  if (n === 0) return res;
  const nd = src.shape.length;
  const outStrides: number[] = [];
  let acc = 1;
  for (let d = out.shape.length - 1; d >= 0; d--) {
    outStrides[d] = acc;
    acc *= out.shape[d]!;
  }
  const iStrides = mode === 'scatter' ? index.strides : src.shape.map((_, d) => (d === axis ? index.strides[0]! : 0));
  const ints = [n, nd, ...src.shape, ...outStrides, ...src.strides, ...iStrides, src.offset, index.offset, axis, x.shape[axis]!];
  const tail = 2 + 4 * nd;
  const code = (): string => `// ${mode}Add:f32 nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  var po = 0;
  var ps = prm[${tail}];
  var pi = prm[${tail + 1}];
  let axis = prm[${tail + 2}];
  { var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) {
      let s = prm[2 + d]; let c = r % s; r = r / s;
      ps += c * prm[${2 + 2 * nd} + d];
      pi += c * prm[${2 + 3 * nd} + d];
      if (d != axis) { po += c * prm[${2 + nd} + d]; }
    } }
  let j = ${fixIndex('I[pi]', `prm[${tail + 3}]`)};
  let at = po + j * prm[${2 + nd} + axis];
  let v = S[ps];
  var old = atomicLoad(&out[at]);
  loop {
    let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`;
  b.launch(`${mode}Add:${nd}`, code, [src.storage, index.storage, res], Math.ceil(n / WG), ints);
  return res;
}

export function registerIndexing(b: WebGpuBackend): void {
  const words = (d: string): boolean => d !== 'f64';
  const ax = (a: unknown): number => (a as { axis: number }).axis;
  const gather: Kernel = ([x, i], a, [o]) => (words(x!.dtype) && i!.dtype === 'i32' ? [gatherKernel(b, x!, i!, ax(a), o!)] : undefined);
  const select: Kernel = ([x, i], a, [o]) => (words(x!.dtype) && i!.dtype === 'i32' ? [indexSelectKernel(b, x!, i!, ax(a), o!)] : undefined);
  const scatterAdd: Kernel = ([x, i, s], a, [o]) => (x!.dtype === 'f32' && i!.dtype === 'i32' ? [addAtKernel(b, 'scatter', x!, i!, s!, ax(a), o!)] : undefined);
  const indexAdd: Kernel = ([x, i, s], a, [o]) => (x!.dtype === 'f32' && i!.dtype === 'i32' ? [addAtKernel(b, 'index', x!, i!, s!, ax(a), o!)] : undefined);
  const all = ['f32', 'f16', 'bf16', 'i32', 'bool'] as const;
  // gather and indexSelect read and write packed halves themselves (storeMain: a word per invocation)
  b.kernels.set('gather', Object.assign(gather, { dtypes: all, packedHalves: true }));
  b.kernels.set('indexSelect', Object.assign(select, { dtypes: all, packedHalves: true }));
  b.kernels.set('scatterAdd', Object.assign(scatterAdd, { dtypes: ['f32'] as const }));
  b.kernels.set('indexAdd', Object.assign(indexAdd, { dtypes: ['f32'] as const }));
}
