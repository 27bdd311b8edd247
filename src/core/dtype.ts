/**
 * Data types. Floating types compute in float64 on the reference backend and
 * round once when stored; f16 and bf16 are stored as 16-bit patterns.
 */
export type DType = 'f64' | 'f32' | 'f16' | 'bf16' | 'i32' | 'bool';

export const DTYPES: readonly DType[] = ['f64', 'f32', 'f16', 'bf16', 'i32', 'bool'];

/** Bytes per element as stored on the heap. */
export const BYTES: Record<DType, number> = { f64: 8, f32: 4, f16: 2, bf16: 2, i32: 4, bool: 1 };

export function isFloat(d: DType): boolean {
  return d === 'f64' || d === 'f32' || d === 'f16' || d === 'bf16';
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

const RANK: Record<DType, number> = { bool: 0, i32: 1, bf16: 2, f16: 2, f32: 3, f64: 4 };

/**
 * Result type of a binary op, NumPy/PyTorch style: bool < i32 < {f16, bf16} < f32 < f64;
 * f16 with bf16 gives f32 (neither holds the other).
 */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === 'f16' && b === 'bf16') || (a === 'bf16' && b === 'f16')) return 'f32';
  return RANK[a] >= RANK[b] ? a : b;
}

/** The floating type an op that needs floats (exp, div, ...) computes in. */
export function toFloat(d: DType): DType {
  return isFloat(d) ? d : 'f32';
}

/** Round a float64 value to what the dtype can hold (used by scalar constants). */
export function assertDType(op: string, arg: string, d: unknown): DType {
  if (!isDType(d)) throw new Error(`${op}: ${arg} must be one of ${DTYPES.join(', ')}, got ${String(d)}`);
  return d;
}
