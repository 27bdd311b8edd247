/// <reference types="@webgpu/types" />
/**
 * Operands larger than one storage binding. A GPUBuffer may be as large as
 * the device's maxBufferSize, but one binding of it only as large as
 * maxStorageBufferBindingSize (e.g. 2 GiB on an H100 against a 4 GiB score
 * tensor of attention). Such an op runs in pieces:
 *
 * - every op sees its operands as an iteration space of "loops" (an
 *   elementwise op: the output's axes; a reduction: the input's axes; a
 *   matmul: batch, M and N), and a rule (`ruleFor`, splitRules.ts) says which axis of each
 *   operand moves with each loop (null: it does not), which loops a kernel
 *   needs whole (a softmax row, a scanned axis), and how an output that does
 *   not follow a cut loop is combined (the per-piece partial sums of a norm's
 *   weight gradient: summed);
 * - the planner (`planSplit`) cuts the outermost loops: the first d loops one
 *   index at a time and loop d into ranges of r, the smallest d and the
 *   largest r for which every piece of every operand fits a binding;
 * - each piece runs the op's own kernel on narrowed views whose storages are
 *   *windows*: a byte range of the big buffer starting at a multiple of
 *   minStorageBufferOffsetAlignment (256 B), bound with setBindGroup offset
 *   and size; the rest of the way to the piece's first element becomes the
 *   view's element offset, which every kernel already takes as a uniform;
 * - each piece's output is copied into place in the full output by
 *   copyBufferToBuffer (which has no binding limit), or into a stack of
 *   partials that the combining reduction then reduces.
 *
 * An op whose operands fit already costs one comparison per operand (see
 * `needsSplit`); an op whose big inputs are only sliced (a row of a huge
 * tensor) needs no pieces, only windows.
 *
 * An embedding table larger than a binding is cut by its rows instead
 * (tableSplit.ts). Ops without a rule, or whose pieces cannot fit (a matmul
 * whose right operand alone exceeds a binding), throw an error that names
 * the op, the operand, its shape, its bytes and the limit.
 */
import type { OutMeta, Storage, View } from '../backend.js';
import type { DType } from '../../core/dtype.js';
import { contiguousStrides, shapeStr, sizeOf } from '../../core/shape.js';
import type { OpDef } from '../../ops/registry.js';
import { copyOp } from '../../ops/views.js';
import { GPU_BYTES, type GpuStorage, type WebGpuBackend } from './backend.js';
import type { GpuLimits } from './device.js';
import { fillKernel } from './kernels/movement.js';
import { indexAddByRows, indexSelectByRows } from './tableSplit.js';
import { ruleFor, type Axis, type SplitRule } from './splitRules.js';

export { ruleFor, type SplitRule } from './splitRules.js';

/** How many ops ran in pieces, and how many pieces (tests read it to see that a path was taken). */
export const splitStats = { ops: 0, pieces: 0 };

/** Most pieces one op may be cut into (beyond that the op is not worth running piecewise). */
const MAX_PIECES = 1 << 16;

const bytesOf = (d: DType): number => GPU_BYTES[d];
const wordBytes = (bytes: number): number => Math.max(4, Math.ceil(bytes / 4) * 4);

/** Elements a strided view touches from its lowest to its highest, inclusive: [lo, hi). */
function extent(shape: readonly number[], strides: readonly number[], offset: number): [number, number] {
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return [offset, offset];
    const e = (shape[d]! - 1) * strides[d]!;
    if (e < 0) lo += e;
    else hi += e;
  }
  return [lo, hi + 1];
}

/**
 * A window of `s` covering elements [lo, hi): its byte start rounded down to
 * the offset alignment; `shift` is how many elements the window starts after
 * the storage's element 0 (subtract it from a view's offset).
 */
export function windowStorage(b: WebGpuBackend, s: Storage, lo: number, hi: number): { storage: GpuStorage; shift: number } {
  const g = s as GpuStorage & { byteOffset?: number };
  const B = bytesOf(s.dtype);
  const align = b.ctx.limits.storageOffsetAlignment;
  const start = Math.floor((lo * B) / align) * align;
  const byteLength = Math.min(wordBytes(hi * B - start), g.byteLength - start);
  const storage = { backend: b, dtype: s.dtype, size: Math.floor(byteLength / B), byteLength, refs: 0, pb: g.pb, byteOffset: (g.byteOffset ?? 0) + start };
  return { storage, shift: start / B };
}

/** A view on a window of its storage (only when the storage is larger than a binding). */
function windowed(b: WebGpuBackend, v: View): View {
  if (v.storage.byteLength <= b.ctx.limits.maxStorageBindingSize) return v;
  const [lo, hi] = extent(v.shape, v.strides, v.offset);
  // an empty view reads nothing: any small window will do
  const w0 = hi <= lo ? windowStorage(b, v.storage, 0, 1) : null;
  if (w0) return { ...v, storage: w0.storage, offset: 0 };
  const w = windowStorage(b, v.storage, lo, hi);
  return { ...v, storage: w.storage, offset: v.offset - w.shift };
}

/** Whether an op's operands exceed a binding (the whole cost of this module on the fast path). */
export function needsSplit(b: WebGpuBackend, inputs: readonly View[], outs: readonly OutMeta[]): boolean {
  const limit = b.ctx.limits.maxStorageBindingSize;
  for (const v of inputs) if (v.storage.byteLength > limit) return true;
  for (const m of outs) if (sizeOf(m.shape) * bytesOf(m.dtype) > limit) return true;
  return false;
}

export interface SplitPlan {
  /** loops before d are cut one index at a time, loop d into ranges of r */
  d: number;
  r: number;
  pieces: number;
  /** per output: copied into place (true) or stacked as partials (false) */
  placed: boolean[];
}

/** A shape with the loops up to d narrowed: 1 before d, `r` at d. */
function narrowShape(shape: readonly number[], map: readonly Axis[], d: number, r: number): number[] {
  const s = shape.slice();
  for (let k = 0; k <= d; k++) {
    const m = map[k];
    if (m !== null && m !== undefined) s[m] = k < d ? 1 : Math.min(r, s[m]!);
  }
  return s;
}

/** Cut the outermost loops so that every piece of every operand fits a binding; a reason when none does. */
export function planSplit(
  rule: SplitRule,
  inputs: readonly View[],
  outs: readonly OutMeta[],
  limits: Pick<GpuLimits, 'maxStorageBindingSize' | 'storageOffsetAlignment'>,
  /** whether an input piece may be copied out compactly (not for the copy op itself) */
  compact = true,
): SplitPlan | string {
  const limit = limits.maxStorageBindingSize;
  const slack = limits.storageOffsetAlignment;
  const L = rule.loops.length;
  const big = inputs.map((v) => v.storage.byteLength > limit);
  const fits = (d: number, r: number, placed: boolean[]): boolean => {
    for (let i = 0; i < inputs.length; i++) {
      if (!big[i]) continue;
      const v = inputs[i]!;
      const shape = narrowShape(v.shape, rule.ins[i]!, d, r);
      const [lo, hi] = extent(shape, v.strides, 0);
      // a piece is bound as a window of the storage, or else copied out compactly (a transposed operand)
      if ((hi - lo) * bytesOf(v.dtype) + slack > limit && (!compact || sizeOf(shape) * bytesOf(v.dtype) > limit)) return false;
    }
    return outs.every((m, o) => sizeOf(placed[o] ? narrowShape(m.shape, rule.outs[o]!, d, r) : m.shape) * bytesOf(m.dtype) <= limit);
  };
  let before = 1;
  for (let d = 0; d < L; d++) {
    const n = rule.loops[d]!;
    if (rule.whole?.has(d)) return `its kernel needs loop ${d} (extent ${n}) whole, and cutting the loops before it is not enough`;
    // an output follows every cut loop in order (its pieces are contiguous blocks) or none (partials)
    const placed: boolean[] = [];
    for (let o = 0; o < outs.length; o++) {
      const m = rule.outs[o]!.slice(0, d + 1);
      if (m.every((a, k) => a === k)) placed.push(true);
      else if (m.every((a) => a === null) && rule.combine?.[o]) placed.push(false);
      else return `output ${o} cannot be assembled from pieces cut along loop ${d}`;
    }
    if (n > 0 && fits(d, 1, placed)) {
      let lo = 1;
      let hi = n;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (fits(d, mid, placed)) lo = mid;
        else hi = mid - 1;
      }
      // a 16-bit output shares 32-bit words between neighbours: its pieces must start on a word (even ranges of odd rows)
      const slabs = outs.map((m, o) => (placed[o] && bytesOf(m.dtype) < 4 ? sizeOf(m.shape.slice(d + 1)) : 0));
      const even = slabs.some((e) => e % 2 === 1);
      if (even && lo < n) {
        if (lo < 2) return `a 16-bit output's pieces would start inside a 32-bit word`;
        lo -= lo % 2;
      }
      const chunks = Math.ceil(n / lo);
      const pieces = before * chunks;
      if (pieces > MAX_PIECES) return `it would take ${pieces} pieces (at most ${MAX_PIECES})`;
      const stacked = outs.find((m, o) => !placed[o] && pieces * sizeOf(m.shape) * bytesOf(m.dtype) > limit);
      if (stacked) return `the ${pieces} partial results of an output ${shapeStr(stacked.shape)} would not fit one binding`;
      return { d, r: even ? lo : Math.ceil(n / chunks), pieces, placed };
    }
    before *= n;
  }
  return 'no cut of its loops makes every operand fit';
}

function oversizeList(b: WebGpuBackend, inputs: readonly View[], outs: readonly OutMeta[]): string {
  const limit = b.ctx.limits.maxStorageBindingSize;
  const parts: string[] = [];
  inputs.forEach((v, i) => {
    if (v.storage.byteLength > limit) parts.push(`input ${i} ${v.dtype}${shapeStr(v.shape)} (storage of ${v.storage.byteLength} bytes)`);
  });
  outs.forEach((m, o) => {
    const bytes = sizeOf(m.shape) * bytesOf(m.dtype);
    if (bytes > limit) parts.push(`output ${o} ${m.dtype}${shapeStr(m.shape)} (${bytes} bytes)`);
  });
  return parts.join(', ');
}

/** The error for an op that cannot run in pieces. */
export function splitError(b: WebGpuBackend, op: string, inputs: readonly View[], outs: readonly OutMeta[], why: string): Error {
  return new Error(
    `webgpu: ${op}: ${oversizeList(b, inputs, outs)} over the device's maxStorageBufferBindingSize (${b.ctx.limits.maxStorageBindingSize} bytes), and it cannot run in pieces: ${why}`,
  );
}

/** Narrow a view along the cut loops (index `idx[k]` before d, range [start, start+len) at d). */
function narrowView(v: View, map: readonly Axis[], d: number, idx: readonly number[], start: number, len: number): View {
  const shape = v.shape.slice();
  let offset = v.offset;
  for (let k = 0; k <= d; k++) {
    const m = map[k];
    if (m === null || m === undefined) continue;
    const at = k < d ? idx[k]! : start;
    offset += at * v.strides[m]!;
    shape[m] = k < d ? 1 : len;
  }
  return { ...v, shape, offset };
}

/**
 * Run `op` (whose operands exceed a binding) in pieces, each through
 * `b.run` on windows of the operands (see the module comment).
 */
export function runSplit(b: WebGpuBackend, op: OpDef, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] {
  const limit = b.ctx.limits.maxStorageBindingSize;
  const align = b.ctx.limits.storageOffsetAlignment;
  // no cut needed when the big inputs are only read through slices and the outputs fit
  const views = inputs.map((v) => windowed(b, v));
  if (!needsSplit(b, views, outs)) return b.run(op, views, attrs, outs);
  // an op without a kernel runs on the CPU, which reads and writes whole buffers (no binding involved)
  if (!b.kernels.has(op.name)) return b.fallback(op, inputs, attrs, outs);
  // an embedding table larger than a binding: cut the table's rows (tableSplit.ts), not the output
  const byRows = tableByRows(b, op.name, inputs, attrs, outs);
  if (byRows) return byRows;
  const rule = ruleFor(op.name, inputs, attrs, outs);
  if (!rule) return fail(b, op.name, inputs, outs, 'the op has no split rule (see docs/webgpu.md)');
  const plan = planSplit(rule, inputs, outs, b.ctx.limits, op.name !== 'copy');
  if (typeof plan === 'string') return fail(b, op.name, inputs, outs, plan);
  const { d, r, pieces, placed } = plan;
  splitStats.ops++;
  splitStats.pieces += pieces;
  const full = outs.map((m, o) => (placed[o] ? b.alloc(m.dtype, sizeOf(m.shape)) : null));
  const stacks = outs.map((m, o) => (placed[o] ? null : b.alloc(m.dtype, pieces * sizeOf(m.shape))));
  const outStrides = outs.map((m) => contiguousStrides(m.shape));
  const chunks = Math.ceil(rule.loops[d]! / r);
  const idx = new Array<number>(d).fill(0);
  for (let p = 0; p < pieces; p++) {
    let q = Math.floor(p / chunks);
    for (let k = d - 1; k >= 0; k--) {
      idx[k] = q % rule.loops[k]!;
      q = Math.floor(q / rule.loops[k]!);
    }
    const start = (p % chunks) * r;
    const len = Math.min(r, rule.loops[d]! - start);
    const temps: Storage[] = [];
    const pv = inputs.map((v, i) => {
      const nv = narrowView(v, rule.ins[i]!, d, idx, start, len);
      if (v.storage.byteLength <= limit) return nv;
      const [lo, hi] = extent(nv.shape, nv.strides, nv.offset);
      if ((hi - lo) * bytesOf(v.dtype) + align <= limit) return windowed(b, nv);
      // its elements are spread too far apart to share one window: a compact copy (itself run in pieces)
      const copied = b.run(copyOp as OpDef, [nv], undefined, [{ shape: nv.shape.slice(), dtype: nv.dtype }])[0]!;
      temps.push(copied);
      return { storage: copied, dtype: nv.dtype, shape: nv.shape.slice(), strides: contiguousStrides(nv.shape), offset: 0 };
    });
    const po = outs.map((m, o): OutMeta => ({ dtype: m.dtype, shape: placed[o] ? narrowShape(m.shape, rule.outs[o]!, d, len) : m.shape.slice() }));
    const res = b.run(op, pv, attrs, po);
    res.forEach((s, o) => {
      const m = outs[o]!;
      const B = bytesOf(m.dtype);
      const n = sizeOf(po[o]!.shape);
      let at: number;
      let dst: Storage;
      if (placed[o]) {
        at = start * outStrides[o]![d]!;
        for (let k = 0; k < d; k++) at += idx[k]! * outStrides[o]![k]!;
        dst = full[o]!;
      } else {
        at = p * n;
        dst = stacks[o]!;
      }
      if ((at * B) % 4 !== 0 || ((n * B) % 4 !== 0 && at + n < dst.size)) {
        throw new Error(`webgpu: ${op.name}: a piece of the ${m.dtype} output ${shapeStr(m.shape)} starts or ends inside a 32-bit word; pieces of 16-bit outputs need even lengths`);
      }
      const src = s as GpuStorage & { byteOffset?: number };
      const target = (dst as GpuStorage).pb;
      b.stream.enqueue(() => b.stream.copy(src.pb, src.byteOffset ?? 0, target, at * B, wordBytes(n * B)));
      if (!inputs.some((v) => v.storage === s) && !pv.some((v) => v.storage === s)) b.free(s);
    });
    for (const t of temps) b.free(t);
  }
  return outs.map((m, o) => {
    if (placed[o]) return full[o]!;
    const stack = stacks[o]!;
    const name = rule.combine![o]!;
    const k = b.kernels.get(name);
    const view: View = { storage: stack, dtype: m.dtype, shape: [pieces, ...m.shape], strides: contiguousStrides([pieces, ...m.shape]), offset: 0 };
    const r2 = k?.([view], { axes: [0], keepdim: false }, [m]);
    if (!r2) throw new Error(`webgpu: ${op.name}: combining the pieces of output ${o} needs a '${name}' kernel for ${m.dtype}`);
    b.free(stack);
    return r2[0]!;
  });
}

/** indexSelect and indexAdd on axis 0 of a table larger than a binding, by ranges of its rows. */
function tableByRows(b: WebGpuBackend, op: string, inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined {
  const axis = (attrs as { axis?: number } | undefined)?.axis;
  const limit = b.ctx.limits.maxStorageBindingSize;
  if (axis === undefined) return undefined;
  if (op === 'indexSelect' && inputs[0]!.storage.byteLength > limit) {
    const r = indexSelectByRows(b, inputs[0]!, inputs[1]!, axis, outs[0]!);
    return r ? [r] : undefined;
  }
  if (op === 'indexAdd' && sizeOf(outs[0]!.shape) * bytesOf(outs[0]!.dtype) > limit) {
    const r = indexAddByRows(b, inputs[0]!, inputs[1]!, inputs[2]!, axis, outs[0]!);
    return r ? [r] : undefined;
  }
  return undefined;
}

function fail(b: WebGpuBackend, op: string, inputs: readonly View[], outs: readonly OutMeta[], why: string): never {
  throw splitError(b, op, inputs, outs, why);
}

/**
 * Lower the device limits the backend plans with, for tests of the split
 * paths on small tensors (a binding limit of a few KiB, a grid of a few
 * workgroups per dimension). Values must not exceed the device's real
 * limits; binding sizes should be multiples of 256. Returns a function that
 * restores the previous limits.
 */
export function setWebGpuLimitsForTesting(b: WebGpuBackend, over: Partial<Pick<GpuLimits, 'maxStorageBindingSize' | 'maxWorkgroupsPerDim'>>): () => void {
  const l = b.ctx.limits;
  const saved = { maxStorageBindingSize: l.maxStorageBindingSize, maxWorkgroupsPerDim: l.maxWorkgroupsPerDim };
  if (over.maxStorageBindingSize !== undefined) l.maxStorageBindingSize = Math.min(over.maxStorageBindingSize, saved.maxStorageBindingSize);
  if (over.maxWorkgroupsPerDim !== undefined) l.maxWorkgroupsPerDim = Math.min(over.maxWorkgroupsPerDim, saved.maxWorkgroupsPerDim);
  return () => Object.assign(l, saved);
}

/** Fill a storage larger than a binding, one aligned window at a time. */
export function fillInPieces(b: WebGpuBackend, s: Storage, value: number): void {
  if (s.dtype === 'f64') return b.write(s, new Float64Array(s.size).fill(value));
  const B = bytesOf(s.dtype);
  const align = b.ctx.limits.storageOffsetAlignment;
  const step = (Math.max(1, Math.floor((b.ctx.limits.maxStorageBindingSize - align) / align)) * align) / B;
  for (let at = 0; at < s.size; at += step) fillKernel(b, windowStorage(b, s, at, Math.min(s.size, at + step)).storage, value);
}

/** An operand of a flat kernel: its storage and the element offset of the kernel's element 0 in it. */
export interface FlatOperand {
  storage: Storage;
  offset: number;
}

/**
 * Launch a kernel with one invocation per element over `n` elements (the
 * optimiser step, the in-place assign). When an operand exceeds a binding,
 * the range is cut into pieces of whole alignment units and every operand is
 * bound as a window; `ints(count, offsets)` builds a piece's meta, `offsets`
 * being each operand's element offset of the piece's first element within its
 * binding (0 for an operand at offset 0: its window starts at the piece).
 */
export function launchFlat(
  b: WebGpuBackend,
  key: string,
  code: () => string,
  ops: readonly FlatOperand[],
  n: number,
  wg: number,
  ints: (count: number, offsets: number[]) => number[],
  floats: readonly number[] = [],
): void {
  const limit = b.ctx.limits.maxStorageBindingSize;
  if (ops.every((o) => o.storage.byteLength <= limit)) {
    b.launch(key, code, ops.map((o) => o.storage), Math.ceil(n / wg), ints(n, ops.map((o) => o.offset)), floats);
    return;
  }
  const align = b.ctx.limits.storageOffsetAlignment;
  const B = Math.max(...ops.map((o) => bytesOf(o.storage.dtype)));
  const unit = align / Math.min(...ops.map((o) => bytesOf(o.storage.dtype)));
  const step = Math.max(unit, Math.floor((limit - 2 * align) / B / unit) * unit);
  for (let at = 0; at < n; at += step) {
    const count = Math.min(step, n - at);
    const ws = ops.map((o) => windowStorage(b, o.storage, o.offset + at, o.offset + at + count));
    b.launch(key, code, ws.map((w) => w.storage), Math.ceil(count / wg), ints(count, ops.map((o, i) => o.offset + at - ws[i]!.shift)), floats);
  }
}
