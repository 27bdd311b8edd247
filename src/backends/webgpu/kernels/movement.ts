/**
 * Data movement: fill, concat, pad and sliceGrad. Each output starts as a
 * fill (a one-line kernel writing the value's stored bits, so no host array
 * is uploaded) and the inputs are then copied into strided windows of it by
 * the elementwise generator (`launchElementwise` with a `Window`): concat's
 * inputs land side by side on the axis, pad's (cropped) input lands shifted
 * by the leading pads, sliceGrad's cotangent lands on the sliced positions.
 * All word-sized dtypes (everything but f64) move as stored.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { contiguousStrides, sizeOf } from '../../../core/shape.js';
import { encodeHost, type WebGpuBackend } from '../backend.js';
import { META, is16, layoutKey, mainHeader } from '../wgsl.js';
import { launchElementwise } from './elementwise.js';

const WG = 64;
const WORD_DTYPES = ['f32', 'f16', 'bf16', 'i32', 'bool'] as const;

const FILL = `// fill
${META}
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  out[gi] = bitcast<u32>(prm[1]);
}`;

/** Set every element of a storage to `value` (false for f64: the caller writes instead). Packed halves fill whole words with the value twice. */
export function fillKernel(b: WebGpuBackend, s: Storage, value: number): boolean {
  if (s.dtype === 'f64') return false;
  if (s.size === 0) return true;
  let bits = new Int32Array(encodeHost(s.dtype, [value]).buffer)[0]!;
  const words = is16(s.dtype) ? Math.ceil(s.size / 2) : s.size;
  if (is16(s.dtype)) bits = (bits & 0xffff) | (bits << 16);
  b.launch('fill', () => FILL, [s], Math.ceil(words / WG), [words, bits]);
  return true;
}

/** Copy view `v` into a window of `dst` (offset and strides in elements of the output's layout). */
function copyInto(b: WebGpuBackend, v: View, dst: Storage, shape: readonly number[], offset: number, strides: readonly number[]): void {
  if (sizeOf(shape) === 0) return;
  const meta: OutMeta = { shape: shape.slice(), dtype: dst.dtype };
  launchElementwise(b, `place:${layoutKey(v.dtype, b.half)}`, [v], meta, (ld) => [ld[0]!, 'raw'], [], { storage: dst, offset, strides });
}

function filled(b: WebGpuBackend, out: OutMeta, value: number): Storage {
  const s = b.alloc(out.dtype, sizeOf(out.shape));
  fillKernel(b, s, value);
  return s;
}

const wordSized = (...ds: DType[]): boolean => ds.every((d) => d !== 'f64');

export function registerMovement(b: WebGpuBackend): void {
  // packed halves: the window copies write single halves atomically (see elementwise.ts)
  const decl = (k: Kernel): Kernel => Object.assign(k, { dtypes: WORD_DTYPES, packedHalves: true });

  // concat: inputs of one dtype (a mixed list promotes: the CPU path does that)
  b.kernels.set(
    'concat',
    decl((inputs, attrs, [out]) => {
      const { axis } = attrs as { axis: number };
      if (!wordSized(out!.dtype) || inputs.some((v) => v.dtype !== out!.dtype)) return undefined;
      const res = b.alloc(out!.dtype, sizeOf(out!.shape));
      const cs = contiguousStrides(out!.shape);
      let at = 0;
      for (const v of inputs) {
        copyInto(b, v, res, v.shape, at * (cs[axis] ?? 0), cs);
        at += v.shape[axis]!;
      }
      return [res];
    }),
  );

  // pad: fill with the value, then the input (cropped where a pad is negative) shifted by the leading pads
  b.kernels.set(
    'pad',
    decl(([x], attrs, [out]) => {
      const a = attrs as { pads: [number, number][]; value: number };
      if (!wordSized(x!.dtype)) return undefined;
      const res = filled(b, out!, a.value);
      const os = out!.shape;
      const cs = contiguousStrides(os);
      let srcOff = x!.offset;
      let dstOff = 0;
      const shape: number[] = [];
      for (let d = 0; d < x!.shape.length; d++) {
        const before = a.pads[d]![0];
        const lo = Math.max(0, -before);
        const hi = Math.min(x!.shape[d]!, os[d]! - before);
        shape.push(Math.max(0, hi - lo));
        srcOff += lo * x!.strides[d]!;
        dstOff += (lo + before) * cs[d]!;
      }
      if (shape.every((n) => n > 0)) copyInto(b, { ...x!, shape, offset: srcOff }, res, shape, dstOff, cs);
      return [res];
    }),
  );

  // sliceGrad: zeros of the full shape with g on the sliced positions (offset Σ start·stride, strides · step)
  b.kernels.set(
    'sliceGrad',
    decl(([g], attrs, [out]) => {
      const a = attrs as { start: number[]; step: number[]; size: number[]; shape: number[] };
      if (!wordSized(g!.dtype)) return undefined;
      const res = filled(b, out!, 0);
      const cs = contiguousStrides(a.shape);
      const off = a.start.reduce((s, st, d) => s + st * cs[d]!, 0);
      copyInto(b, g!, res, a.size, off, cs.map((c, d) => c * a.step[d]!));
      return [res];
    }),
  );
}
