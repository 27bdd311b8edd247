/**
 * safetensors dtypes and how nabla holds each one.
 *
 * nabla's own dtypes are stored byte for byte. The others are converted on
 * load only where that loses nothing: small integers widen to int32, 64-bit
 * and unsigned 32-bit integers narrow to int32 when every value fits (and fail
 * naming the tensor and the first value that does not), and the two float8
 * formats widen exactly to float16 (their exponent ranges and mantissas fit).
 * Types nabla cannot hold (complex, sub-byte floats) fail with a clear error.
 */
import type { DType } from '../core/dtype.js';
import { f64ToF16Bits } from '../core/float16.js';

/** The safetensors dtypes nabla reads. */
export type StDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I32' | 'BOOL' | 'I64' | 'U64' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'F8_E4M3' | 'F8_E5M2';

interface Info {
  /** bytes per element in the file */
  bytes: number;
  /** the nabla dtype it loads as */
  to: DType;
}

export const ST_DTYPES: Readonly<Record<StDType, Info>> = {
  F64: { bytes: 8, to: 'f64' },
  F32: { bytes: 4, to: 'f32' },
  F16: { bytes: 2, to: 'f16' },
  BF16: { bytes: 2, to: 'bf16' },
  I32: { bytes: 4, to: 'i32' },
  BOOL: { bytes: 1, to: 'bool' },
  I64: { bytes: 8, to: 'i32' },
  U64: { bytes: 8, to: 'i32' },
  U32: { bytes: 4, to: 'i32' },
  I16: { bytes: 2, to: 'i32' },
  U16: { bytes: 2, to: 'i32' },
  I8: { bytes: 1, to: 'i32' },
  U8: { bytes: 1, to: 'i32' },
  F8_E4M3: { bytes: 1, to: 'f16' },
  F8_E5M2: { bytes: 1, to: 'f16' },
};

/** Valid in the format but not representable in nabla. */
export const UNSUPPORTED_ST_DTYPES: readonly string[] = ['C64', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2'];

/** nabla dtype → the safetensors dtype it is written as. */
export const WRITE_DTYPE: Readonly<Record<DType, StDType>> = { f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', bool: 'BOOL' };

export function isStDType(s: unknown): s is StDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ST_DTYPES, s);
}

/** True when the file bytes can be copied into nabla storage unchanged. */
export function isNative(d: StDType): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16' || d === 'I32';
}

let e4m3Table: Uint16Array | undefined;
/** float8 E4M3 ("fn": no infinities, S.1111.111 is NaN; Micikevicius et al., arXiv 2209.05433) → float16 bits, exact. */
function e4m3ToF16Table(): Uint16Array {
  if (e4m3Table) return e4m3Table;
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const e = (b >> 3) & 0xf;
    const m = b & 7;
    let v: number;
    if (e === 15 && m === 7) v = NaN;
    else if (e === 0) v = m * 2 ** -9;
    else v = (1 + m / 8) * 2 ** (e - 7);
    t[b] = f64ToF16Bits(sign * v);
  }
  return (e4m3Table = t);
}

/**
 * Convert `n` elements of file dtype `d` (little-endian bytes in `src`) into
 * `dst`, the raw storage of the nabla dtype `ST_DTYPES[d].to`. Throws, naming
 * the tensor, when a value does not fit.
 */
export function convertInto(d: StDType, src: Uint8Array, dst: Int32Array | Uint16Array | Uint8Array, n: number, name: string): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const misfit = (i: number, v: string): never => {
    throw new Error(`safetensors: tensor '${name}': ${d} value ${v} at index ${i} does not fit in int32 (nabla has no 64-bit or unsigned 32-bit integers)`);
  };
  const out32 = dst as Int32Array;
  switch (d) {
    case 'BOOL':
      for (let i = 0; i < n; i++) (dst as Uint8Array)[i] = src[i] !== 0 ? 1 : 0;
      return;
    case 'U8':
      for (let i = 0; i < n; i++) out32[i] = src[i]!;
      return;
    case 'I8':
      for (let i = 0; i < n; i++) out32[i] = dv.getInt8(i);
      return;
    case 'I16':
      for (let i = 0; i < n; i++) out32[i] = dv.getInt16(2 * i, true);
      return;
    case 'U16':
      for (let i = 0; i < n; i++) out32[i] = dv.getUint16(2 * i, true);
      return;
    case 'U32':
      for (let i = 0; i < n; i++) {
        const v = dv.getUint32(4 * i, true);
        if (v > 0x7fffffff) misfit(i, String(v));
        out32[i] = v;
      }
      return;
    case 'I64':
    case 'U64':
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(8 * i, true);
        const hi = dv.getInt32(8 * i + 4, true);
        // fits iff the high word is the sign extension of the low word (and, unsigned, that is 0)
        const fits = d === 'I64' ? hi === lo >> 31 : hi === 0 && lo >= 0;
        if (!fits) misfit(i, (d === 'I64' ? dv.getBigInt64(8 * i, true) : dv.getBigUint64(8 * i, true)).toString());
        out32[i] = lo;
      }
      return;
    case 'F8_E5M2':
      // E5M2 is the top byte of a float16: same sign, exponent width and bias
      for (let i = 0; i < n; i++) (dst as Uint16Array)[i] = src[i]! << 8;
      return;
    case 'F8_E4M3': {
      const t = e4m3ToF16Table();
      for (let i = 0; i < n; i++) (dst as Uint16Array)[i] = t[src[i]!]!;
      return;
    }
    default:
      throw new Error(`safetensors: tensor '${name}': no conversion from ${d}`);
  }
}
