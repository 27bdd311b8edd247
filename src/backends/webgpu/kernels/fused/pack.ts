/**
 * Packing views into one buffer, and summing partials: the glue that keeps
 * the sequence kernels within 8 storage bindings per shader stage (WebGPU's
 * guaranteed minimum: binding 0 is the parameter block, so 7 are left).
 * Several small or same-shaped operands are copied, contiguous, into one
 * packed buffer at known offsets; a kernel's several outputs are written
 * into one packed buffer and sliced out afterwards; a sum over partials
 * (per channel group, per batch element) runs as one small kernel each.
 */
import type { Storage, View } from '../../../backend.js';
import { sizeOf } from '../../../../core/shape.js';
import type { WebGpuBackend } from '../../backend.js';
import { META, collapse, mainHeader } from '../../wgsl.js';
import { copyKernel } from '../elementwise.js';

const WG = 64;

/** Copy f32 view `v` (any strides) into `dst` at element `at`, in row-major order. */
export function packInto(b: WebGpuBackend, v: View, dst: Storage, at: number): void {
  const n = sizeOf(v.shape);
  if (n === 0) return;
  const c = collapse(v.shape, [v.strides]);
  const nd = c.shape.length;
  const ints = [n, at, v.offset, ...c.shape, ...c.strides[0]!];
  const code = (): string => `// pack into
${META}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  var off = prm[2];
  var r = gi;
  for (var d = ${nd - 1}; d >= 0; d--) { let s = prm[3 + d]; off += (r % s) * prm[${3 + nd} + d]; r = r / s; }
  dst[prm[1] + gi] = src[off];
}`;
  b.launch(`fused:pack:${nd}`, code, [v.storage, dst], Math.ceil(n / WG), ints);
}

/** Pack views one after another into a new buffer; returns it and each view's offset. */
export function pack(b: WebGpuBackend, views: readonly (View | null)[]): { storage: Storage; at: number[] } {
  const at: number[] = [];
  let n = 0;
  for (const v of views) {
    at.push(n);
    if (v) n += sizeOf(v.shape);
  }
  const storage = b.alloc('f32', Math.max(1, n));
  views.forEach((v, i) => v && packInto(b, v, storage, at[i]!));
  return { storage, at };
}

/** A contiguous copy of `n` elements of packed buffer `s` from element `at`. */
export function slice(b: WebGpuBackend, s: Storage, at: number, n: number): Storage {
  return copyKernel(b, { storage: s, dtype: 'f32', shape: [n], strides: [1], offset: at }, { shape: [n], dtype: 'f32' });
}

/** out[e] = Σ_{j<J} part[at + j·stride + e] for e < n: the sum of J partial results laid side by side. */
export function sumPartials(b: WebGpuBackend, part: Storage, at: number, J: number, stride: number, n: number): Storage {
  const out = b.alloc('f32', Math.max(1, n));
  if (n === 0) return out;
  const code = (): string => `// sum partials
${META}
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  var s = 0.0;
  for (var j = 0; j < prm[2]; j++) { s += part[prm[1] + j * prm[3] + gi]; }
  out[gi] = s;
}`;
  b.launch('fused:sumPartials', code, [part, out], Math.ceil(n / WG), [n, at, J, stride]);
  return out;
}
