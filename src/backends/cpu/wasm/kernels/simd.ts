/**
 * The WebAssembly instructions the elementwise, reduction and optimiser
 * kernels need beyond what emit.ts offers: the rest of the fixed-width SIMD
 * instruction set they use (opcodes from the WebAssembly 2.0 core
 * specification, §5.4.8 "Vector Instructions": prefix 0xfd, then the LEB128
 * opcode), a few scalar ones (narrow loads and stores, f64 arithmetic) and a
 * typed `if` that yields a value.
 *
 * Naming: F4 is f32x4, I4 is i32x4, D2 is f64x2, V is the bitwise v128 ops
 * and memory access. Every builder returns a typed expression (emit.ts's
 * `Expr`), so operands of the wrong type do not compile.
 */
import { sleb, uleb, type Expr, type Ins } from '../emit.js';

type V128 = Expr<'v128'>;
type I32 = Expr<'i32'>;

const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const vUn = (a: V128, op: number): V128 => ({ t: 'v128', c: [...a.c, ...simd(op)] });
const vBin = (a: V128, b: V128, op: number): V128 => ({ t: 'v128', c: [...a.c, ...b.c, ...simd(op)] });
const memarg = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];

/** A v128 constant from four 32-bit lanes given as float32 values. */
export function c4(x: number): V128 {
  const bytes = [...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
  return { t: 'v128', c: [...simd(0x0c), ...bytes] };
}

/** A v128 constant with the same 32-bit integer (bit pattern) in all four lanes. */
export function i4(n: number): V128 {
  const bytes = [...new Uint8Array(new Int32Array([n, n, n, n]).buffer)];
  return { t: 'v128', c: [...simd(0x0c), ...bytes] };
}

/** A v128 constant with the same float64 in both lanes. */
export function d2c(x: number): V128 {
  const bytes = [...new Uint8Array(new Float64Array([x, x]).buffer)];
  return { t: 'v128', c: [...simd(0x0c), ...bytes] };
}

/** f32x4 arithmetic and comparisons (comparisons give all-ones/all-zeros lane masks). */
export const F4 = {
  abs: (a: V128) => vUn(a, 0xe0),
  neg: (a: V128) => vUn(a, 0xe1),
  sqrt: (a: V128) => vUn(a, 0xe3),
  add: (a: V128, b: V128) => vBin(a, b, 0xe4),
  sub: (a: V128, b: V128) => vBin(a, b, 0xe5),
  mul: (a: V128, b: V128) => vBin(a, b, 0xe6),
  div: (a: V128, b: V128) => vBin(a, b, 0xe7),
  /** IEEE-style min/max: NaN if either lane is NaN; −0 < +0 */
  min: (a: V128, b: V128) => vBin(a, b, 0xe8),
  max: (a: V128, b: V128) => vBin(a, b, 0xe9),
  /** pseudo-min b < a ? b : a (one x86 instruction; NaN in a passes through) */
  pmin: (a: V128, b: V128) => vBin(a, b, 0xea),
  /** pseudo-max a < b ? b : a */
  pmax: (a: V128, b: V128) => vBin(a, b, 0xeb),
  ceil: (a: V128) => vUn(a, 0x67),
  floor: (a: V128) => vUn(a, 0x68),
  trunc: (a: V128) => vUn(a, 0x69),
  /** round half to even */
  nearest: (a: V128) => vUn(a, 0x6a),
  eq: (a: V128, b: V128) => vBin(a, b, 0x41),
  ne: (a: V128, b: V128) => vBin(a, b, 0x42),
  lt: (a: V128, b: V128) => vBin(a, b, 0x43),
  gt: (a: V128, b: V128) => vBin(a, b, 0x44),
  le: (a: V128, b: V128) => vBin(a, b, 0x45),
  ge: (a: V128, b: V128) => vBin(a, b, 0x46),
  splat: (x: Expr<'f32'>): V128 => ({ t: 'v128', c: [...x.c, ...simd(0x13)] }),
  extract: (v: V128, lane: number): Expr<'f32'> => ({ t: 'f32', c: [...v.c, ...simd(0x1f), lane] }),
  /** exact conversion of signed i32 lanes (|n| < 2^24) */
  fromI32: (a: V128) => vUn(a, 0xfa),
  /** f32x4.demote_f64x2_zero: two f64 lanes to f32 lanes 0-1, lanes 2-3 zero */
  demoteD2: (a: V128) => vUn(a, 0x5e),
};

/** i32x4 integer lanes. */
export const I4 = {
  add: (a: V128, b: V128) => vBin(a, b, 0xae),
  sub: (a: V128, b: V128) => vBin(a, b, 0xb1),
  eq: (a: V128, b: V128) => vBin(a, b, 0x37),
  ne: (a: V128, b: V128) => vBin(a, b, 0x38),
  ltS: (a: V128, b: V128) => vBin(a, b, 0x39),
  gtS: (a: V128, b: V128) => vBin(a, b, 0x3b),
  geS: (a: V128, b: V128) => vBin(a, b, 0x3f),
  shl: (a: V128, by: number): V128 => ({ t: 'v128', c: [...a.c, 0x41, ...sleb(by), ...simd(0xab)] }),
  shrS: (a: V128, by: number): V128 => ({ t: 'v128', c: [...a.c, 0x41, ...sleb(by), ...simd(0xac)] }),
  shrU: (a: V128, by: number): V128 => ({ t: 'v128', c: [...a.c, 0x41, ...sleb(by), ...simd(0xad)] }),
  splat: (x: I32): V128 => ({ t: 'v128', c: [...x.c, ...simd(0x11)] }),
  extract: (v: V128, lane: number): I32 => ({ t: 'i32', c: [...v.c, ...simd(0x1b), lane] }),
  /** i32x4.trunc_sat_f32x4_s */
  fromF32: (a: V128) => vUn(a, 0xf8),
  /** i32x4.extend_low_i16x8_u */
  extendLowU16: (a: V128) => vUn(a, 0xa9),
  /** i16x8.extend_low_i8x16_u */
  extendLowU8ToI16: (a: V128) => vUn(a, 0x89),
  /** i16x8.narrow_i32x4_u (saturating, signed i32 lanes to u16) */
  narrowToU16: (a: V128, b: V128) => vBin(a, b, 0x86),
  /** i8x16.narrow_i16x8_u */
  narrowToU8: (a: V128, b: V128) => vBin(a, b, 0x66),
};

/** f64x2 lanes (the optimiser kernel computes in float64, as the JavaScript loop does). */
export const D2 = {
  add: (a: V128, b: V128) => vBin(a, b, 0xf0),
  sub: (a: V128, b: V128) => vBin(a, b, 0xf1),
  mul: (a: V128, b: V128) => vBin(a, b, 0xf2),
  div: (a: V128, b: V128) => vBin(a, b, 0xf3),
  sqrt: (a: V128) => vUn(a, 0xef),
  gt: (a: V128, b: V128) => vBin(a, b, 0x4a),
  ne: (a: V128, b: V128) => vBin(a, b, 0x48),
  /** f64x2.promote_low_f32x4: f32 lanes 0-1 to float64 */
  promoteLow: (a: V128) => vUn(a, 0x5f),
  splat: (x: Expr<'f64'>): V128 => ({ t: 'v128', c: [...x.c, ...simd(0x14)] }),
  extract: (v: V128, lane: number): Expr<'f64'> => ({ t: 'f64', c: [...v.c, ...simd(0x21), lane] }),
};

/** Bitwise ops, lane shuffles and memory access on v128. */
export const V = {
  and: (a: V128, b: V128) => vBin(a, b, 0x4e),
  /** a & ~b */
  andNot: (a: V128, b: V128) => vBin(a, b, 0x4f),
  or: (a: V128, b: V128) => vBin(a, b, 0x50),
  xor: (a: V128, b: V128) => vBin(a, b, 0x51),
  /** bits of a where mask is 1, of b where it is 0 */
  select: (a: V128, b: V128, mask: V128): V128 => ({ t: 'v128', c: [...a.c, ...b.c, ...mask.c, ...simd(0x52)] }),
  anyTrue: (a: V128): I32 => ({ t: 'i32', c: [...a.c, ...simd(0x53)] }),
  /** f32 lanes 2-3 moved to 0-1 (for promoting the high half to f64x2) */
  high64: (a: V128): V128 => ({ t: 'v128', c: [...a.c, ...a.c, ...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15] }),
  /** lanes 0-1 of a then lanes 0-1 of b (as 64-bit halves) */
  concatLow: (a: V128, b: V128): V128 => ({ t: 'v128', c: [...a.c, ...b.c, ...simd(0x0d), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] }),
  load: (addr: I32, offset = 0): V128 => ({ t: 'v128', c: [...addr.c, ...simd(0x00), ...memarg(0, offset)] }),
  store: (addr: I32, v: V128, offset = 0): Ins => [...addr.c, ...v.c, ...simd(0x0b), ...memarg(0, offset)],
  load32Splat: (addr: I32): V128 => ({ t: 'v128', c: [...addr.c, ...simd(0x09), ...memarg(2, 0)] }),
  /** four u16 zero-extended to i32 lanes */
  load16x4U: (addr: I32): V128 => ({ t: 'v128', c: [...addr.c, ...simd(0x04), ...memarg(1, 0)] }),
  load32Zero: (addr: I32): V128 => ({ t: 'v128', c: [...addr.c, ...simd(0x5c), ...memarg(0, 0)] }),
  load64Zero: (addr: I32): V128 => ({ t: 'v128', c: [...addr.c, ...simd(0x5d), ...memarg(0, 0)] }),
  store32Lane: (addr: I32, v: V128, lane: number): Ins => [...addr.c, ...v.c, ...simd(0x5a), ...memarg(0, 0), lane],
  store64Lane: (addr: I32, v: V128, lane: number): Ins => [...addr.c, ...v.c, ...simd(0x5b), ...memarg(0, 0), lane],
};

/** Scalar instructions emit.ts lacks. */
export const S = {
  load8U: (addr: I32): I32 => ({ t: 'i32', c: [...addr.c, 0x2d, ...memarg(0, 0)] }),
  load16U: (addr: I32): I32 => ({ t: 'i32', c: [...addr.c, 0x2f, ...memarg(1, 0)] }),
  store8: (addr: I32, v: I32): Ins => [...addr.c, ...v.c, 0x3a, ...memarg(0, 0)],
  store16: (addr: I32, v: I32): Ins => [...addr.c, ...v.c, 0x3b, ...memarg(1, 0)],
  remU: (a: I32, b: I32): I32 => ({ t: 'i32', c: [...a.c, ...b.c, 0x70] }),
  divU: (a: I32, b: I32): I32 => ({ t: 'i32', c: [...a.c, ...b.c, 0x6e] }),
  /** ~3 & a, for rounding counts down to a multiple of 4 */
  andI: (a: I32, mask: number): I32 => ({ t: 'i32', c: [...a.c, 0x41, ...sleb(mask), 0x71] }),
  f64Load: (addr: I32, offset = 0): Expr<'f64'> => ({ t: 'f64', c: [...addr.c, 0x2b, ...memarg(3, offset)] }),
  f64Store: (addr: I32, v: Expr<'f64'>, offset = 0): Ins => [...addr.c, ...v.c, 0x39, ...memarg(3, offset)],
  f64Add: (a: Expr<'f64'>, b: Expr<'f64'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, ...b.c, 0xa0] }),
  f64Mul: (a: Expr<'f64'>, b: Expr<'f64'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, ...b.c, 0xa2] }),
  f64Div: (a: Expr<'f64'>, b: Expr<'f64'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, ...b.c, 0xa3] }),
  f64Sqrt: (a: Expr<'f64'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, 0x9f] }),
  f64FromI32: (a: I32): Expr<'f64'> => ({ t: 'f64', c: [...a.c, 0xb7] }),
  f64FromF32: (a: Expr<'f32'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, 0xbb] }),
  f32FromF64: (a: Expr<'f64'>): Expr<'f32'> => ({ t: 'f32', c: [...a.c, 0xb6] }),
  f32Div: (a: Expr<'f32'>, b: Expr<'f32'>): Expr<'f32'> => ({ t: 'f32', c: [...a.c, ...b.c, 0x95] }),
  f32Max: (a: Expr<'f32'>, b: Expr<'f32'>): Expr<'f32'> => ({ t: 'f32', c: [...a.c, ...b.c, 0x97] }),
  f32Abs: (a: Expr<'f32'>): Expr<'f32'> => ({ t: 'f32', c: [...a.c, 0x8b] }),
  f32Lt: (a: Expr<'f32'>, b: Expr<'f32'>): I32 => ({ t: 'i32', c: [...a.c, ...b.c, 0x5d] }),
  f64Sub: (a: Expr<'f64'>, b: Expr<'f64'>): Expr<'f64'> => ({ t: 'f64', c: [...a.c, ...b.c, 0xa1] }),
  /** select(a, b, cond): a when cond ≠ 0 (any one value type) */
  select: <T extends 'i32' | 'f32' | 'f64'>(a: Expr<T>, b: Expr<T>, cond: I32): Expr<T> => ({ t: a.t, c: [...a.c, ...b.c, ...cond.c, 0x1b] }),
  ltU: (a: I32, b: I32): I32 => ({ t: 'i32', c: [...a.c, ...b.c, 0x49] }),
  f32Min: (a: Expr<'f32'>, b: Expr<'f32'>): Expr<'f32'> => ({ t: 'f32', c: [...a.c, ...b.c, 0x96] }),
};

/** `if (cond) then else otherwise` yielding a v128. */
export function ifV128(cond: I32, then: readonly Ins[], thenVal: V128, otherwise: readonly Ins[], elseVal: V128): V128 {
  return { t: 'v128', c: [...cond.c, 0x04, 0x7b, ...then.flat(), ...thenVal.c, 0x05, ...otherwise.flat(), ...elseVal.c, 0x0b] };
}
