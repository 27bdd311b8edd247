/**
 * Running and windowed extrema with their positions: cummax/cummin (one
 * invocation per line, a serial scan along the axis in the reference's
 * order, so ties and NaNs resolve exactly as on the CPU: the later index
 * wins a tie, the first NaN sticks) and maxPool1d (one invocation per output
 * window, a direct scan of its ≤ kernel elements: the windows are short next
 * to the number of outputs, so the O(L) monotonic deque of the CPU kernel
 * would only serialise the row; first maximum on ties, NaN above +∞, −∞
 * padding, as `core/slidingMax.ts`).
 *
 * The value outputs copy the chosen element, so they need no rounding
 * (f32 and i32; f16/bf16 reach these kernels as f32 copies through the
 * backend's `widened`). Their backward passes are scatterAdd
 * (kernels/scatter.ts) and forward-mode gather, both on the device.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, conv, mainHeader, storeType } from '../wgsl.js';

const WG = 64;
const VALUE_DTYPES = ['f32', 'i32'] as const;
const ok = (d: DType): boolean => (VALUE_DTYPES as readonly string[]).includes(d);

/** The compute type of a value dtype and its NaN test. */
function compute(d: DType): { ct: 'f32' | 'i32'; nan: (e: string) => string } {
  return d === 'i32' ? { ct: 'i32', nan: () => 'false' } : { ct: 'f32', nan: (e) => `isnan_(${e})` };
}

/**
 * cummax (sign 1) / cummin (sign −1) along `axis`. Meta: [lines, n, inner, nd, axis, offset,
 * shape(nd), strides(nd)]; lines enumerate the coordinates off the axis in row-major order.
 */
function cumExtremum(b: WebGpuBackend, x: View, axis: number, sign: 1 | -1, outs: readonly OutMeta[]): Storage[] {
  const size = sizeOf(x.shape);
  const vals = b.alloc(outs[0]!.dtype, size);
  const idx = b.alloc('i32', size);
  if (size === 0) return [vals, idx];
  const n = x.shape[axis]!;
  const lines = size / n;
  const inner = sizeOf(x.shape.slice(axis + 1));
  const nd = x.shape.length;
  const st = storeType(x.dtype);
  const { ct, nan } = compute(x.dtype);
  const beats = sign === 1 ? 'v >= best' : 'v <= best';
  const code = (): string => `// cum${sign === 1 ? 'max' : 'min'}:${x.dtype} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read_write> V: array<${st}>;
@group(0) @binding(3) var<storage, read_write> A: array<i32>;
${MATH}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1]; let inner = prm[2]; let axis = prm[4];
  var p = prm[5];
  { var r = gi;
    for (var d = ${nd - 1}; d >= 0; d--) {
      if (d == axis) { continue; }
      let s = prm[6 + d]; let c = r % s; r = r / s;
      p += c * prm[${6 + nd} + d];
    } }
  let sx = prm[${6 + nd} + axis];
  let ob = (gi / inner) * n * inner + gi % inner;
  var best: ${ct} = ${ct}(0);
  var word: ${st} = X[p];
  var bi = 0;
  for (var t = 0; t < n; t++) {
    let w = X[p + t * sx];
    let v = ${conv('w', x.dtype, ct)};
    if (t == 0 || (!${nan('best')} && (${nan('v')} || ${beats}))) { best = v; word = w; bi = t; }
    V[ob + t * inner] = word;
    A[ob + t * inner] = bi;
  }
}`;
  b.launch(`cum${sign}:${x.dtype}:${nd}`, code, [x.storage, vals, idx], Math.ceil(lines / WG), [lines, n, inner, nd, axis, x.offset, ...x.shape, ...x.strides]);
  return [vals, idx];
}

/**
 * maxPool1d over the last axis. Meta: [count, nOut, L, kernel, stride, padding, nd, offset,
 * shape(nd), strides(nd)]: one invocation per (row, window).
 */
function maxPool(b: WebGpuBackend, x: View, a: { kernel: number; stride: number; padding: number }, outs: readonly OutMeta[]): Storage[] {
  const count = sizeOf(outs[0]!.shape);
  const vals = b.alloc(outs[0]!.dtype, count);
  const idx = b.alloc('i32', count);
  if (count === 0) return [vals, idx];
  const nd = x.shape.length;
  const L = x.shape[nd - 1]!;
  const nOut = outs[0]!.shape[nd - 1]!;
  const st = storeType(x.dtype);
  const code = (): string => `// maxPool1d:${x.dtype} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read_write> V: array<${st}>;
@group(0) @binding(3) var<storage, read_write> A: array<i32>;
${MATH}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let nOut = prm[1]; let L = prm[2]; let kernel = prm[3]; let stride = prm[4]; let pad = prm[5];
  var p = prm[7];
  { var r = gi / nOut;
    for (var d = ${nd - 2}; d >= 0; d--) { let s = prm[8 + d]; let c = r % s; r = r / s; p += c * prm[${8 + nd} + d]; } }
  let sx = prm[${8 + 2 * nd - 1}];
  let start = (gi % nOut) * stride - pad;
  let lo = max(start, 0);
  let hi = min(start + kernel, L);
  // a window of −∞ only ties with its padding: its position is its first real element
  var bi = lo;
  var word = X[p + lo * sx];
  var best = -inf_();
  var nanSeen = false;
  for (var t = lo; t < hi; t++) {
    let w = X[p + t * sx];
    let v = ${conv('w', x.dtype, 'f32')};
    if (!nanSeen && (isnan_(v) || v > best)) { best = v; word = w; bi = t; nanSeen = isnan_(v); }
  }
  V[gi] = word;
  A[gi] = bi;
}`;
  b.launch(`maxPool1d:${x.dtype}:${nd}`, code, [x.storage, vals, idx], Math.ceil(count / WG), [count, nOut, L, a.kernel, a.stride, a.padding, nd, x.offset, ...x.shape, ...x.strides]);
  return [vals, idx];
}

export function registerExtrema(b: WebGpuBackend): void {
  for (const [name, sign] of [
    ['cummax', 1],
    ['cummin', -1],
  ] as const) {
    const k: Kernel = ([x], a, outs) => (ok(x!.dtype) ? cumExtremum(b, x!, (a as { axis: number }).axis, sign, outs) : undefined);
    b.kernels.set(name, Object.assign(k, { dtypes: VALUE_DTYPES }));
  }
  const pool: Kernel = ([x], a, outs) => (x!.dtype === 'f32' ? maxPool(b, x!, a as { kernel: number; stride: number; padding: number }, outs) : undefined);
  b.kernels.set('maxPool1d', Object.assign(pool, { dtypes: ['f32', 'i32'] as const }));
}
