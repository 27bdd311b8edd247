/**
 * The CPU backend's native kernels for reductions (sum, max, min over any
 * axes the kernel can see as one [kept, reduced, kept] box), softmax and
 * log-softmax over the last axis, and layer/RMS norm forward and backward
 * (the fused primitives of src/ops/fused.ts), float32 only.
 *
 * Determinism under threads: work is split by output rows or columns, which
 * never changes a result; where the split would have to cut a reduction
 * (a long sum with few outputs, the ∂w/∂b sums of a norm's backward), the
 * cut points depend on the shapes alone, never on the thread count, and the
 * float64 partial results are combined in order. So one thread and many
 * threads give the same bits.
 */
import type { Kernel, OutMeta, Storage, View } from '../../../backend.js';
import { sizeOf } from '../../../../core/shape.js';
import type { CpuBackend } from '../../index.js';
import { isContiguous } from '../../strided.js';
import { buildRows } from './rows.kernel.js';
import { buildNorm } from './norm.kernel.js';
import { runElementwise } from './ew.js';
import { module, runCalls, simdAvailable, storagePtr, threadsFor, viewPtr } from './run.js';

const rowsModule = () => module('rows', buildRows);
const normModule = () => module('norm', buildNorm);

/** [start, end) pieces of [0, n), at most `parts`, each a multiple of `unit` but the last. */
function pieces(n: number, parts: number, unit = 1): [number, number][] {
  const per = Math.max(unit, Math.ceil(n / Math.max(1, parts) / unit) * unit);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
  return out;
}

/** Rows of length D (the trailing `k` axes) at a uniform stride, unit stride inside a row; undefined if the view is not so. */
function rowLayout(v: View, k: number): { ptr: number; rows: number; D: number; sRow: number } | undefined {
  const nd = v.shape.length;
  const D = sizeOf(v.shape.slice(nd - k));
  const rows = sizeOf(v.shape.slice(0, nd - k));
  if (!isContiguous(v.shape.slice(nd - k), v.strides.slice(nd - k))) return undefined;
  // leading axes must walk rows at one stride
  let stride = -1;
  let span = 1;
  for (let i = nd - k - 1; i >= 0; i--) {
    const n = v.shape[i]!;
    if (n === 1) continue;
    if (stride < 0) stride = v.strides[i]!;
    else if (v.strides[i] !== stride * span) return undefined;
    span *= n;
  }
  return { ptr: viewPtr(v, 4), rows, D, sRow: 4 * (stride < 0 ? D : stride) };
}

/** `v` as contiguous rows: the view itself when it already is, else a contiguous float32 copy (freed by `done`). */
function asRows(be: CpuBackend, v: View, k: number): { ptr: number; rows: number; D: number; sRow: number; done: () => void } {
  const lay = rowLayout(v, k);
  if (lay) return { ...lay, done: () => {} };
  const tmp = be.alloc('f32', Math.max(1, sizeOf(v.shape)));
  runElementwise('cast_f32_f32', [v], storagePtr(tmp), v.shape);
  const nd = v.shape.length;
  const D = sizeOf(v.shape.slice(nd - k));
  return { ptr: storagePtr(tmp), rows: sizeOf(v.shape.slice(0, nd - k)), D, sRow: 4 * D, done: () => be.free(tmp) };
}

// ---- reductions -------------------------------------------------------------------

interface Box {
  A: number;
  R: number;
  B: number;
  sA: number;
  sR: number;
  sB: number;
}

/** The [A, R, B] box of a reduction over `axes` (strides in elements), or undefined if the axes do not form one. */
export function reduceBox(shape: readonly number[], strides: readonly number[], axes: readonly number[]): Box | undefined {
  const groups: { red: boolean; n: number; s: number }[] = [];
  for (let i = shape.length - 1; i >= 0; i--) {
    const n = shape[i]!;
    if (n === 1) continue;
    const red = axes.includes(i);
    const g = groups[0];
    if (g && g.red === red && strides[i] === g.s * g.n) g.n *= n;
    else groups.unshift({ red, n, s: strides[i]! });
  }
  const r = groups.filter((g) => g.red);
  if (r.length > 1) return undefined;
  const at = r.length ? groups.indexOf(r[0]!) : groups.length;
  const before = groups.slice(0, at);
  const after = groups.slice(at + (r.length ? 1 : 0));
  if (before.length > 1 || after.length > 1 || (!r.length && groups.length > 1)) return undefined;
  const [a, b, red] = [before[0], after[0], r[0]];
  return { A: a?.n ?? 1, sA: a?.s ?? 0, R: red?.n ?? 1, sR: red?.s ?? 0, B: b?.n ?? 1, sB: b?.s ?? 0 };
}

/** Long reductions with few outputs are cut into chunks of this many terms (shape-determined, see the module comment). */
const R_CHUNK = 1 << 15;

function reduceKernel(be: CpuBackend, kind: 'sum' | 'max' | 'min'): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const x = inputs[0]!;
    const meta = outs[0]!;
    if (x.dtype !== 'f32' || meta.dtype !== 'f32' || !simdAvailable()) return undefined;
    const box = reduceBox(x.shape, x.strides, (attrs as { axes: number[] }).axes);
    if (!box) return undefined;
    const y = be.alloc('f32', sizeOf(meta.shape));
    const nOut = box.A * box.B;
    if (nOut === 0) return [y];
    if (box.R === 0) {
      be.fill(y, 0); // an empty sum (max and min refuse empty groups in infer)
      return [y];
    }
    const km = rowsModule();
    const xp = viewPtr(x, 4);
    const { A, R, B } = box;
    const [sA, sR, sB] = [4 * box.sA, 4 * box.sR, 4 * box.sB];
    const work = A * R * B;
    const call = (out: number, xPtr: number, R_: number, a0: number, a1: number, b0: number, b1: number, wide: number): number[] => [out, xPtr, A, R_, B, sA, sR, sB, a0, a1, b0, b1, wide];
    if (nOut <= 16 && R > R_CHUNK) {
      // cut r into fixed chunks: float64 partial sums (or float32 partial extrema), then combined in order
      const chunks = pieces(R, Math.ceil(R / R_CHUNK));
      const P = chunks.length;
      const parts = be.alloc(kind === 'sum' ? 'f64' : 'f32', P * nOut);
      try {
        const pp = storagePtr(parts);
        const eb = kind === 'sum' ? 8 : 4;
        runCalls(km, kind, chunks.map(([r0, r1], k) => call(pp + k * nOut * eb, xp + r0 * sR, r1 - r0, 0, A, 0, B, kind === 'sum' ? 1 : 0)), work);
        if (kind === 'sum') runCalls(km, 'combine', [[storagePtr(y), pp, P, nOut, nOut]], 0);
        else runCalls(km, kind, [[storagePtr(y), pp, 1, P, nOut, 0, 4 * nOut, 4, 0, 1, 0, nOut, 0]], 0);
      } finally {
        be.free(parts);
      }
      return [y];
    }
    const T = threadsFor(work);
    const calls: number[][] = [];
    if (T > 1 && A >= T) for (const [a0, a1] of pieces(A, T)) calls.push(call(storagePtr(y), xp, R, a0, a1, 0, B, 0));
    else if (T > 1 && B >= 16 * T) for (const [b0, b1] of pieces(B, T, 8)) calls.push(call(storagePtr(y), xp, R, 0, A, b0, b1, 0));
    else calls.push(call(storagePtr(y), xp, R, 0, A, 0, B, 0));
    runCalls(km, kind, calls, work);
    return [y];
  };
}

// ---- softmax ------------------------------------------------------------------------

function softmaxKernel(be: CpuBackend, log: boolean): Kernel {
  return (inputs: readonly View[], _attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const x = inputs[0]!;
    if (x.dtype !== 'f32' || outs[0]!.dtype !== 'f32' || x.shape.length === 0 || !simdAvailable()) return undefined;
    const y = be.alloc('f32', sizeOf(x.shape));
    const rows = asRows(be, x, 1);
    try {
      if (rows.rows * rows.D > 0) {
        const work = 4 * rows.rows * rows.D;
        const calls = pieces(rows.rows, threadsFor(work)).map(([r0, r1]) => [storagePtr(y), rows.ptr, rows.D, rows.sRow, r0, r1, log ? 1 : 0]);
        runCalls(rowsModule(), 'softmax', calls, work);
      }
    } finally {
      rows.done();
    }
    return [y];
  };
}

/** The softmax / log-softmax backward over contiguous rows (strided inputs are copied first). */
function softmaxBwdKernel(be: CpuBackend): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const [y, g] = inputs as [View, View];
    if (y.dtype !== 'f32' || g.dtype !== 'f32' || outs[0]!.dtype !== 'f32' || y.shape.length === 0 || !simdAvailable()) return undefined;
    const out = be.alloc('f32', sizeOf(y.shape));
    const yr = asContiguousRows(be, y);
    const gr = asContiguousRows(be, g);
    try {
      if (yr.rows * yr.D > 0) {
        const work = 4 * yr.rows * yr.D;
        const calls = pieces(yr.rows, threadsFor(work)).map(([r0, r1]) => [storagePtr(out), yr.ptr, gr.ptr, yr.D, r0, r1, (attrs as { log: boolean }).log ? 1 : 0]);
        runCalls(rowsModule(), 'softmaxBwd', calls, work);
      }
    } finally {
      yr.done();
      gr.done();
    }
    return [out];
  };
}

/** Rows of the last axis at a row stride of exactly D (the backward kernel's layout): the view, or a copy. */
function asContiguousRows(be: CpuBackend, v: View): { ptr: number; rows: number; D: number; done: () => void } {
  const r = asRows(be, v, 1);
  if (r.sRow === 4 * r.D || r.rows <= 1) return r;
  r.done();
  const tmp = be.alloc('f32', Math.max(1, sizeOf(v.shape)));
  runElementwise('cast_f32_f32', [v], storagePtr(tmp), v.shape);
  return { ptr: storagePtr(tmp), rows: r.rows, D: r.D, done: () => be.free(tmp) };
}

// ---- layer norm, RMS norm -------------------------------------------------------------

export interface NormKernelAttrs {
  /** trailing axes normalised */
  k: number;
  eps: number;
  weight: boolean;
  bias?: boolean;
}

/** A contiguous float32 pointer for a parameter view (copied when strided; `done` frees the copy). */
function paramPtr(be: CpuBackend, v: View | undefined): { ptr: number; done: () => void } {
  if (!v) return { ptr: 0, done: () => {} };
  if (isContiguous(v.shape, v.strides)) return { ptr: viewPtr(v, 4), done: () => {} };
  const r = asRows(be, v, v.shape.length);
  return { ptr: r.ptr, done: r.done };
}

function normFwdKernel(be: CpuBackend, rms: boolean): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const a = attrs as NormKernelAttrs;
    if (inputs.some((v) => v.dtype !== 'f32') || outs[0]!.dtype !== 'f32' || !simdAvailable()) return undefined;
    const [x, ...rest] = inputs as [View, ...View[]];
    const w = a.weight ? rest.shift() : undefined;
    const b = !rms && a.bias ? rest.shift() : undefined;
    const y = be.alloc('f32', sizeOf(x.shape));
    const rows = asRows(be, x, a.k);
    const [wp, bp] = [paramPtr(be, w), paramPtr(be, b)];
    try {
      if (rows.rows * rows.D > 0) {
        const work = 3 * rows.rows * rows.D;
        const calls = pieces(rows.rows, threadsFor(work)).map(([r0, r1]) => [storagePtr(y), rows.ptr, wp.ptr, bp.ptr, rows.D, rows.sRow, a.eps, r0, r1, rms ? 1 : 0]);
        runCalls(normModule(), 'lnFwd', calls, work);
      }
    } finally {
      rows.done();
      wp.done();
      bp.done();
    }
    return [y];
  };
}

/** Row chunks of a norm's backward: fixed by the row count (≤ 8 chunks of ≥ 64 rows), never by the thread count. */
const normChunks = (rows: number): [number, number][] => pieces(rows, Math.min(8, Math.ceil(rows / 64)));

function normBwdKernel(be: CpuBackend, rms: boolean): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const a = attrs as NormKernelAttrs;
    if (inputs.some((v) => v.dtype !== 'f32') || outs.some((o) => o.dtype !== 'f32') || !simdAvailable()) return undefined;
    const x = inputs[0]!;
    const w = a.weight ? inputs[1] : undefined;
    const g = inputs[inputs.length - 1]!;
    const gx = be.alloc('f32', sizeOf(x.shape));
    const extra = outs.slice(1).map((o) => be.alloc('f32', sizeOf(o.shape)));
    const xr = asRows(be, x, a.k);
    const gr = asRows(be, g, a.k);
    const wp = paramPtr(be, w);
    const { rows, D } = xr;
    const chunks = rows > 0 ? normChunks(rows) : [];
    const parts = be.alloc('f64', Math.max(1, chunks.length * 2 * D));
    try {
      if (rows * D > 0) {
        const pp = storagePtr(parts);
        const calls = chunks.map(([r0, r1], c) => [storagePtr(gx), pp + c * 16 * D, xr.ptr, wp.ptr, gr.ptr, D, xr.sRow, gr.sRow, a.eps, r0, r1, rms ? 1 : 0]);
        runCalls(normModule(), 'lnBwd', calls, 4 * rows * D);
      }
      // ∂w then ∂b: each the in-order sum of the chunks' partials (zero without rows)
      const which = [...(a.weight ? [0] : []), ...(!rms && a.bias ? [1] : [])];
      extra.forEach((s, j) => {
        if (D === 0) return;
        if (chunks.length === 0) be.fill(s, 0);
        else runCalls(rowsModule(), 'combine', [[storagePtr(s), storagePtr(parts) + which[j]! * 8 * D, chunks.length, D, 2 * D]], 0);
      });
    } finally {
      be.free(parts);
      xr.done();
      gr.done();
      wp.done();
    }
    return [gx, ...extra];
  };
}

/** Kernel factories by op name. */
export const ROW_KERNELS: Readonly<Record<string, (be: CpuBackend) => Kernel>> = {
  sum: (be) => reduceKernel(be, 'sum'),
  max: (be) => reduceKernel(be, 'max'),
  min: (be) => reduceKernel(be, 'min'),
  softmaxLast: (be) => softmaxKernel(be, false),
  logSoftmaxLast: (be) => softmaxKernel(be, true),
  softmaxLastGrad: (be) => softmaxBwdKernel(be),
  layerNormFused: (be) => normFwdKernel(be, false),
  rmsNormFused: (be) => normFwdKernel(be, true),
  layerNormGrad: (be) => normBwdKernel(be, false),
  rmsNormGrad: (be) => normBwdKernel(be, true),
};
