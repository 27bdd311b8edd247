/**
 * In-place writes into tensor storage, for optimisers, EMA, gradient
 * accumulation, clipping and loss scaling.
 *
 * Why in place: an optimiser step touches every parameter and one to three
 * state buffers per parameter. Building new tensors each step would double the
 * memory those take at the peak and churn the allocator; PyTorch's `param.add_`
 * exists for the same reason. nabla's ops are pure (autodiff needs that), so
 * these helpers are deliberately *outside* the op system: nothing here is
 * recorded on the tape, and they must run after `backward()` (a graph retained
 * across an update would see the new values, as in PyTorch without its version
 * counters).
 *
 * How: `writable(t)` hands out a Float32Array or Float64Array whose elements
 * are the tensor's elements in row-major order.
 * - A contiguous f32/f64 tensor on the CPU backend gets the backend's raw view
 *   of its storage (`CpuBackend.raw`): the loop writes straight into the heap,
 *   with no copy and no allocation, and `commit()` does nothing.
 * - Anything else (f16/bf16, a strided view, another backend) gets a float64
 *   copy; `commit()` writes it back, rounding once to the storage dtype
 *   (`Backend.write` for contiguous windows, a strided scatter on the CPU).
 * So optimiser kernels are plain loops over typed arrays computing in float64,
 * and only their stores round, which is also what a fused GPU kernel does.
 *
 * Raw views are only valid until the heap grows: take them, loop, commit, and
 * allocate nothing in between.
 *
 * Tensors on a backend that reads asynchronously (WebGPU) cannot be handed out
 * as arrays. For them `copyInto`, `addInto`, `scaleInPlace` and `fillInPlace`
 * compute the new values with tensor ops and write them into the existing
 * storage with the backend's `assign` (a device-side copy); `writable`,
 * `readable` and `updateInPlace` throw an error naming the caller.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { CpuBackend } from '../backends/cpu/index.js';
import { forEachIndex, isContiguous } from '../backends/cpu/strided.js';
import { f64ToBf16Bits, f64ToF16Bits } from '../core/float16.js';
import { tidy } from '../core/memory.js';
import { add, astype, mul } from '../ops/elementwise.js';
import { full } from '../ops/creation.js';

export type Floats = Float32Array | Float64Array;

/** Elements of a tensor as a writable flat array; call `commit()` after writing. */
export interface Writable {
  readonly data: Floats;
  /** write `data` back into the tensor's storage (a no-op when `data` is the storage itself) */
  commit(): void;
}

const noop = (): void => {};

function rawFloats(t: Tensor): Floats | null {
  const b = t.storage.backend;
  if (!(b instanceof CpuBackend)) return null;
  if (t.dtype !== 'f32' && t.dtype !== 'f64') return null;
  if (!isContiguous(t.shape, t.strides)) return null;
  const raw = b.raw(t.storage) as Floats;
  return raw.subarray(t.offset, t.offset + t.size) as Floats;
}

/** Whether `t`'s elements can be read and written synchronously on the host (the CPU backend). */
export function onHost(t: Tensor): boolean {
  return t.storage.backend instanceof CpuBackend;
}

function hostOnly(t: Tensor, op: string): void {
  if (!onHost(t)) {
    throw new Error(`${op}: reads ${t.describe()} on the host, which the ${t.storage.backend.name} backend cannot do synchronously; run this on the CPU backend (move the tensors with toBackend)`);
  }
}

/** A backend that can copy one tensor into another's storage on the device. */
interface Assigning {
  assign?(dst: Tensor, src: Tensor): boolean;
}

/**
 * dst ← value (a tensor on dst's backend) without a host read, through the
 * backend's `assign`; `value` is cast to dst's dtype first.
 */
export function assignOnDevice(dst: Tensor, value: Tensor, op: string): void {
  tidy(() => {
    const v = value.dtype === dst.dtype ? value : astype(value, dst.dtype);
    const b = dst.storage.backend as unknown as Assigning;
    if (!b.assign?.(dst, v)) {
      throw new Error(`${op}: cannot update ${dst.describe()} in place on the ${dst.storage.backend.name} backend (it needs a contiguous f32 tensor there); use the CPU backend`);
    }
    return undefined;
  });
}

/** True when some element would be written twice (a broadcast or otherwise overlapping view). */
function overlaps(t: Tensor): boolean {
  const dims = t.shape.map((n, i) => ({ n, s: Math.abs(t.strides[i]!) })).filter((d) => d.n > 1);
  dims.sort((a, b) => a.s - b.s);
  let span = 1; // elements covered by the faster-moving axes
  for (const d of dims) {
    if (d.s < span) return true;
    span = d.s * (d.n - 1) + span;
  }
  return false;
}

/** The elements of floating tensor `t` as a writable array (see the module comment). */
export function writable(t: Tensor, op = 'writable'): Writable {
  t.assertAlive(op);
  if (!isFloat(t.dtype)) throw new Error(`${op}: can only update floating tensors in place, ${t.describe()} is not`);
  hostOnly(t, op);
  const raw = rawFloats(t);
  if (raw) return { data: raw, commit: noop };
  if (overlaps(t)) throw new Error(`${op}: ${t.describe()} is a broadcast (overlapping) view with strides [${t.strides.join(',')}]; it cannot be updated in place`);
  const data = t.toF64();
  const b = t.storage.backend;
  const commit = (): void => {
    if (isContiguous(t.shape, t.strides)) {
      b.write(t.storage, data, t.offset);
      return;
    }
    if (!(b instanceof CpuBackend)) throw new Error(`${op}: in-place update of a strided view is only supported on the CPU backend (${t.describe()} is on ${b.name})`);
    const dst = b.raw(t.storage);
    const enc = t.dtype === 'f16' ? f64ToF16Bits : t.dtype === 'bf16' ? f64ToBf16Bits : null;
    if (enc) forEachIndex(t.shape, t.strides, t.offset, (k, i) => (dst[i] = enc(data[k]!)));
    else forEachIndex(t.shape, t.strides, t.offset, (k, i) => (dst[i] = data[k]!));
  };
  return { data, commit };
}

/** The elements of `t` for reading: the raw storage when possible, otherwise a float64 copy. Do not write to it. */
export function readable(t: Tensor, op = 'readable'): ArrayLike<number> {
  t.assertAlive(op);
  hostOnly(t, op);
  return rawFloats(t) ?? t.toF64();
}

/** Run `fn` over the writable elements of `t` and commit. */
export function updateInPlace(t: Tensor, fn: (data: Floats) => void, op = 'updateInPlace'): void {
  const w = writable(t, op);
  fn(w.data);
  w.commit();
}

function checkSame(op: string, dst: Tensor, src: Tensor): void {
  if (!(src instanceof Tensor)) throw new Error(`${op}: src must be a Tensor`);
  src.assertAlive(op, 'src');
  if (!shapesEqual(dst.shape, src.shape)) throw new Error(`${op}: dst is ${shapeStr(dst.shape)} but src is ${shapeStr(src.shape)}`);
}

/** dst ← src, in place (any float dtypes; src is rounded to dst's dtype). The assign of an optimiser step or an EMA swap. */
export function copyInto(dst: Tensor, src: Tensor): void {
  checkSame('copyInto', dst, src);
  if (dst.storage === src.storage && dst.offset === src.offset && shapesEqual(dst.strides, src.strides)) return;
  if (!onHost(dst) || !onHost(src)) {
    dst.assertAlive('copyInto');
    if (!isFloat(dst.dtype)) throw new Error(`copyInto: can only update floating tensors in place, ${dst.describe()} is not`);
    if (onHost(src) && isContiguous(dst.shape, dst.strides)) {
      // host values into a device tensor (loading a checkpoint): one upload
      dst.storage.backend.write(dst.storage, src.toF64(), dst.offset);
      return;
    }
    // a fresh copy (mul by 1) so src and dst never share the storage being written
    tidy(() => assignOnDevice(dst, mul(src, 1), 'copyInto'));
    return;
  }
  const s = src.toF64(); // a copy first, so overlapping src and dst are safe
  updateInPlace(dst, (d) => d.set(s), 'copyInto');
}

/** dst ← dst + alpha·src, in place. */
export function addInto(dst: Tensor, src: Tensor, alpha = 1): void {
  checkSame('addInto', dst, src);
  if (!onHost(dst) || !onHost(src)) {
    dst.assertAlive('addInto');
    tidy(() => assignOnDevice(dst, add(dst, alpha === 1 ? src : mul(src, alpha)), 'addInto'));
    return;
  }
  const s = dst.storage === src.storage ? src.toF64() : readable(src);
  updateInPlace(
    dst,
    (d) => {
      for (let i = 0; i < d.length; i++) d[i] = d[i]! + alpha * s[i]!;
    },
    'addInto',
  );
}

/** t ← s·t, in place. */
export function scaleInPlace(t: Tensor, s: number): void {
  if (s === 1) return;
  if (!onHost(t)) {
    t.assertAlive('scaleInPlace');
    tidy(() => assignOnDevice(t, mul(t, s), 'scaleInPlace'));
    return;
  }
  updateInPlace(
    t,
    (d) => {
      for (let i = 0; i < d.length; i++) d[i] = d[i]! * s;
    },
    'scaleInPlace',
  );
}

/** t ← value everywhere, in place. */
export function fillInPlace(t: Tensor, value: number): void {
  if (!onHost(t)) {
    t.assertAlive('fillInPlace');
    tidy(() => assignOnDevice(t, full(t.shape, value, { dtype: t.dtype, backend: t.storage.backend }), 'fillInPlace'));
    return;
  }
  updateInPlace(t, (d) => d.fill(value), 'fillInPlace');
}

