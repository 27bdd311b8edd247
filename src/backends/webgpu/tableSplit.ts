/**
 * Embedding tables larger than one storage binding (see split.ts for the
 * general mechanism, which cuts an op by its *output*: that cannot help an
 * indexSelect whose every output row may come from anywhere in the table).
 * Here the *table* is cut into row ranges [v0, v1) along axis 0 instead:
 *
 * - indexSelect (the embedding lookup): one pass per range, each binding a
 *   window of the table's rows; an invocation per output element writes it
 *   only when its (wrapped, clamped) index falls in the range, so every
 *   output element is written by exactly one pass;
 * - indexAdd (its backward, the gradient of the table): the output starts as
 *   a copy of x (itself run in pieces), then one pass per row range adds the
 *   src rows whose index falls in the range into a window of the output, with
 *   the compare-and-swap float addition of kernels/indexing.ts.
 *
 * Indices wrap and clamp as on the uncut kernels (a negative index counts from
 * the end, one out of range is clamped). Output rows (and src rows) larger
 * than a binding are taken in chunks too, each pass binding windows. 32-bit
 * dtypes only (f32, i32, bool for the lookup; f32 for the sum); the index
 * must fit a binding.
 */
import type { OutMeta, Storage, View } from '../backend.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { OpDef } from '../../ops/registry.js';
import { copyOp } from '../../ops/views.js';
import type { WebGpuBackend } from './backend.js';
import { META, mainHeader, storeType } from './wgsl.js';
import { splitStats, windowStorage } from './split.js';

const WG = 64;
const word = (d: string): boolean => d === 'f32' || d === 'i32' || d === 'bool';

/** The table as a contiguous view (a compact copy, itself run in pieces, when it is not). */
function contiguousView(b: WebGpuBackend, v: View): { view: View; temp: Storage | null } {
  const cs = contiguousStrides(v.shape);
  if (v.strides.every((s, d) => s === cs[d] || v.shape[d] === 1)) return { view: v, temp: null };
  const s = b.run(copyOp as OpDef, [v], undefined, [{ shape: v.shape.slice(), dtype: v.dtype }])[0]!;
  return { view: { storage: s, dtype: v.dtype, shape: v.shape.slice(), strides: cs, offset: 0 }, temp: s };
}

/** Row ranges of a table of `V` rows of `inner` words that fit a binding with its alignment slack. */
function rowRanges(b: WebGpuBackend, V: number, inner: number): [number, number][] {
  const rows = Math.max(1, Math.floor((b.ctx.limits.maxStorageBindingSize - b.ctx.limits.storageOffsetAlignment) / (4 * Math.max(1, inner))));
  const out: [number, number][] = [];
  for (let v0 = 0; v0 < V; v0 += rows) out.push([v0, Math.min(V, v0 + rows)]);
  return out;
}

/** Wrap a negative index and clamp (as kernels/indexing.ts does). */
const FIX = `fn fix(i: i32, n: i32) -> i32 { return clamp(select(i, i + n, i < 0), 0, n - 1); }`;

/** indexSelect on axis 0 of a table larger than a binding; undefined when this path does not apply. */
export function indexSelectByRows(b: WebGpuBackend, x: View, index: View, axis: number, out: OutMeta): Storage | undefined {
  const limit = b.ctx.limits.maxStorageBindingSize;
  if (axis !== 0 || !word(x.dtype) || index.dtype !== 'i32' || index.storage.byteLength > limit || x.shape[0] === 0) return undefined;
  const { view: t, temp } = contiguousView(b, x);
  const V = t.shape[0]!;
  const inner = sizeOf(t.shape.slice(1));
  const nIdx = index.shape[0]!;
  const res = b.alloc(out.dtype, nIdx * inner);
  const st = storeType(x.dtype);
  // prm: [n, inner, V, iOff, iStride, v0, v1, xOff, outOff]
  const code = (): string => `// indexSelect by table rows:${st}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${st}>;
${FIX}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let inner = prm[1];
  let v = fix(I[prm[3] + (gi / inner) * prm[4]], prm[2]);
  if (v < prm[5] || v >= prm[6]) { return; }
  out[prm[8] + gi] = X[prm[7] + (v - prm[5]) * inner + gi % inner];
}`;
  const tables = rowRanges(b, V, inner);
  const chunks = rowRanges(b, nIdx, inner);
  count(tables.length * chunks.length);
  const iStride = index.strides[0] ?? 1;
  for (const [j0, j1] of chunks) {
    const o = windowStorage(b, res, j0 * inner, j1 * inner);
    const n = (j1 - j0) * inner;
    for (const [v0, v1] of tables) {
      const w = windowStorage(b, t.storage, t.offset + v0 * inner, t.offset + v1 * inner);
      const ints = [n, inner, V, index.offset + j0 * iStride, iStride, v0, v1, t.offset + v0 * inner - w.shift, j0 * inner - o.shift];
      b.launch(`indexSelectRows:${st}`, code, [w.storage, index.storage, o.storage], Math.ceil(n / WG), ints);
    }
  }
  if (temp) b.free(temp);
  return res;
}

/** indexAdd on axis 0 into a table larger than a binding; undefined when this path does not apply. */
export function indexAddByRows(b: WebGpuBackend, x: View, index: View, src: View, axis: number, out: OutMeta): Storage | undefined {
  const limit = b.ctx.limits.maxStorageBindingSize;
  if (axis !== 0 || x.dtype !== 'f32' || src.dtype !== 'f32' || index.dtype !== 'i32' || index.storage.byteLength > limit) return undefined;
  const V = out.shape[0]!;
  const inner = sizeOf(out.shape.slice(1));
  const res = b.run(copyOp as OpDef, [x], undefined, [out])[0]!;
  const nIdx = src.shape[0]!;
  if (nIdx * inner === 0 || V === 0) return res;
  const { view: sc, temp } = contiguousView(b, src);
  // prm: [n, inner, V, iOff, iStride, v0, v1, outOff, srcOff]
  const code = (): string => `// indexAdd by table rows:f32
${META}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;
${FIX}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let inner = prm[1];
  let v = fix(I[prm[3] + (gi / inner) * prm[4]], prm[2]);
  if (v < prm[5] || v >= prm[6]) { return; }
  let at = prm[7] + (v - prm[5]) * inner + gi % inner;
  let a = S[prm[8] + gi];
  var old = atomicLoad(&out[at]);
  loop {
    let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + a));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`;
  const tables = rowRanges(b, V, inner);
  const chunks = rowRanges(b, nIdx, inner);
  count(tables.length * chunks.length);
  const iStride = index.strides[0] ?? 1;
  for (const [j0, j1] of chunks) {
    const sw = windowStorage(b, sc.storage, sc.offset + j0 * inner, sc.offset + j1 * inner);
    const n = (j1 - j0) * inner;
    for (const [v0, v1] of tables) {
      const w = windowStorage(b, res, v0 * inner, v1 * inner);
      const ints = [n, inner, V, index.offset + j0 * iStride, iStride, v0, v1, v0 * inner - w.shift, sc.offset + j0 * inner - sw.shift];
      b.launch('indexAddRows', code, [sw.storage, index.storage, w.storage], Math.ceil(n / WG), ints);
    }
  }
  if (temp) b.free(temp);
  return res;
}

function count(pieces: number): void {
  splitStats.ops++;
  splitStats.pieces += pieces;
}
