/**
 * WGSL building blocks shared by the kernels: element types, conversions,
 * the strided-index prologue and a small library of accurate f32 functions.
 *
 * Storage layout on the GPU: f32 as f32, i32 as i32, bool as u32 (0/1),
 * f16 and bf16 packed two to a 32-bit word (2 bytes per element, element 2w
 * in the low half of word w, as a little-endian Uint16Array), f64 as 8 raw
 * bytes (no WGSL kernel reads f64: those ops take the CPU fallback).
 *
 * 16-bit floats are reached in one of two ways ("half modes"), over the same
 * bytes: 'packed' declares the buffer as array<u32> and extracts or inserts
 * a half by shifts (core WGSL, every adapter), 'native' declares f16 buffers
 * as array<f16> (`enable f16;`, adapters with `shader-f16`; bf16 has no WGSL
 * type and stays packed). In both, the value expressions below work on the
 * element's "stored form": for packed halves its 16 bits in a u32.
 */
import type { DType } from '../../core/dtype.js';

/** The WGSL element type a dtype is stored as. */
export function storeType(d: DType): 'f32' | 'i32' | 'u32' {
  return d === 'f32' ? 'f32' : d === 'i32' ? 'i32' : 'u32';
}

/** How kernels reach 16-bit floats (see the header). */
export type HalfMode = 'packed' | 'native';

/** Whether `d` is read as WGSL f16 under `mode` (native f16 only). */
export const nativeHalf = (d: DType, mode: HalfMode): boolean => mode === 'native' && d === 'f16';

/** The WGSL array element type of a binding of dtype `d`. */
export function arrayType(d: DType, mode: HalfMode = 'packed'): 'f32' | 'i32' | 'u32' | 'f16' {
  return nativeHalf(d, mode) ? 'f16' : storeType(d);
}

/** A pipeline-key fragment naming a dtype's layout (bool and the packed halves are all u32 arrays, but differ). */
export function layoutKey(d: DType, mode: HalfMode = 'packed'): string {
  return nativeHalf(d, mode) ? 'f16n' : is16(d) ? 'h16' : storeType(d);
}

/**
 * The stored form of element `idx` of binding `buf`: for packed halves the
 * 16 bits of half `idx & 1` of word `idx >> 1`, in a u32 (`idx` is evaluated
 * twice, so it must be a side-effect-free expression).
 */
export function loadElem(buf: string, idx: string, d: DType, mode: HalfMode = 'packed'): string {
  if (is16(d) && !nativeHalf(d, mode)) return `((${buf}[u32(${idx}) >> 1u] >> ((u32(${idx}) & 1u) << 4u)) & 0xffffu)`;
  return `${buf}[${idx}]`;
}

/** WGSL that writes one packed half (`bits`, a u32 < 2^16) at element `idx` of an array<atomic<u32>>: clear then set only its own half, so the word's other half may be written concurrently. */
export function storeHalfAtomic(buf: string, idx: string, bits: string): string {
  return `{ let w_ = u32(${idx}) >> 1u; let sh_ = (u32(${idx}) & 1u) << 4u;
    atomicAnd(&${buf}[w_], ~(0xffffu << sh_)); atomicOr(&${buf}[w_], (${bits} & 0xffffu) << sh_); }`;
}

/** Whether a kernel's fresh output of dtype `d` is written two packed halves (one 32-bit word) per invocation. */
export const pairsOut = (d: DType, mode: HalfMode): boolean => is16(d) && !nativeHalf(d, mode);

/**
 * The body of `main` (after `mainHeader`) of a kernel that defines
 * `fn value(e: i32) -> <stored form>` and fills a fresh contiguous `out` of
 * prm[0] elements: one element per invocation, or for packed halves one word
 * (elements 2w, 2w+1; the upper half of an odd end left 0), so no two
 * invocations share a word. Launch `outThreads(n)` invocations.
 */
export function storeMain(out: DType, mode: HalfMode): string {
  if (!pairsOut(out, mode)) return '  if (gi >= prm[0]) { return; }\n  out[gi] = value(gi);';
  return `  let e = gi * 2;
  if (e >= prm[0]) { return; }
  var w = value(e) & 0xffffu;
  if (e + 1 < prm[0]) { w = w | (value(e + 1) << 16u); }
  out[gi] = w;`;
}

/** Invocations `storeMain` needs for n output elements. */
export const outThreads = (out: DType, mode: HalfMode, n: number): number => (pairsOut(out, mode) ? Math.ceil(n / 2) : n);

/** The `enable f16;` directive a shader needs when any of its dtypes is native f16 (must open the module). */
export const enableF16 = (mode: HalfMode, dtypes: readonly DType[]): string => (dtypes.some((d) => nativeHalf(d, mode)) ? 'enable f16;\n' : '');

/**
 * f32 → native f16 with the same overflow and NaN rule as `f16_` (WGSL leaves
 * an out-of-range conversion undefined). Only for shaders that enable f16.
 */
export const MATH_F16 = `
fn f16n_(x: f32) -> f16 {
  if (isnan_(x)) { return bitcast<vec2<f16>>(0x7e00u).x; }
  if (abs(x) >= 65520.0) { return bitcast<vec2<f16>>(select(0x7c00u, 0xfc00u, x < 0.0)).x; }
  return f16(x);
}
`;

/** Dtypes the arithmetic kernels read and write. */
export const KERNEL_DTYPES: readonly DType[] = ['f32', 'i32', 'bool'];
export const kernelDtype = (d: DType): boolean => d === 'f32' || d === 'i32' || d === 'bool';
/** …and with the 16-bit floats, which the elementwise and reduction kernels decode to f32 and round back on store. */
export const KERNEL_DTYPES_16: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'bool'];
export const kernelDtype16 = (d: DType): boolean => d !== 'f64';
export const is16 = (d: DType): boolean => d === 'f16' || d === 'bf16';
/** Float dtypes compute in f32. */
export const isFloatish = (d: DType): boolean => d === 'f32' || d === 'f16' || d === 'bf16';

/**
 * Convert an expression of stored dtype `from` to the compute type `to`.
 * f16 and bf16 are stored as their bits in a u32: f16 decodes with the core
 * builtin unpack2x16float (no shader-f16 needed), bf16 by a 16-bit shift.
 */
export function conv(expr: string, from: DType, to: 'f32' | 'i32' | 'bool', mode: HalfMode = 'packed'): string {
  if (nativeHalf(from, mode)) return to === 'f32' ? `f32(${expr})` : to === 'i32' ? `i32(${expr})` : `(${expr} != 0.0h)`;
  if (from === 'f16' || from === 'bf16') {
    const f = from === 'f16' ? `unpack2x16float(${expr}).x` : `bitcast<f32>(${expr} << 16u)`;
    return to === 'f32' ? f : to === 'i32' ? `i32(${f})` : `(${f} != 0.0)`;
  }
  if (to === 'bool') return from === 'f32' ? `(${expr} != 0.0)` : from === 'i32' ? `(${expr} != 0)` : `(${expr} != 0u)`;
  if (to === 'f32') return from === 'f32' ? expr : `f32(${expr})`;
  return from === 'i32' ? expr : `i32(${expr})`;
}

/**
 * Store a value of WGSL type `valueType` into an element of dtype `to`
 * (16-bit floats: `f16_` and `bf16_`, round to nearest even; shaders that
 * store them include MATH).
 */
export function storeAs(expr: string, valueType: 'f32' | 'i32' | 'bool', to: DType, mode: HalfMode = 'packed'): string {
  if (to === 'f16' || to === 'bf16') {
    const f = valueType === 'f32' ? expr : valueType === 'i32' ? `f32(${expr})` : `select(0.0, 1.0, ${expr})`;
    return to === 'f16' ? (mode === 'native' ? `f16n_(${f})` : `f16_(${f})`) : `bf16_(${f})`;
  }
  if (to === 'bool') return valueType === 'bool' ? `select(0u, 1u, ${expr})` : `select(0u, 1u, ${conv(expr, valueType === 'f32' ? 'f32' : 'i32', 'bool')})`;
  if (valueType === 'bool') return to === 'f32' ? `select(0.0, 1.0, ${expr})` : `select(0, 1, ${expr})`;
  if (to === 'f32') return valueType === 'f32' ? expr : `f32(${expr})`;
  return valueType === 'i32' ? expr : `i32(${expr})`;
}

export const META = '@group(0) @binding(0) var<storage, read> prm: array<i32>;';

/** The flat invocation index over a 2-D grid of 1-D workgroups of `wg` threads. */
export function mainHeader(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gi = i32((wid.y * nwg.x + wid.x) * ${wg}u + lid);`;
}

/** A float meta word (stored by the stream as the bits of an f32). */
export const metaF = (k: number | string): string => `bitcast<f32>(prm[${k}])`;

/**
 * Accurate f32 helpers. WGSL's builtins leave NaN handling and the accuracy
 * of tanh/expm1-like cancellations to the implementation, so these are
 * written out: expm1 and log1p by the usual cancellation-free forms
 * (Goldberg 1991, "What every computer scientist should know…", thm. 4),
 * tanh through expm1, erf by its Maclaurin series near 0 and Abramowitz &
 * Stegun 7.1.26 beyond (|error| < 1.5e-7), NaN tests on the bits.
 */
export const MATH = `
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isfinite_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// NaN and inf built from a runtime value: WGSL rejects them as constant expressions
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u | u32(prm[0] & 0)); }
fn inf_() -> f32 { return bitcast<f32>(0x7f800000u | u32(prm[0] & 0)); }
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-2) { return x * (1.0 + x * (0.5 + x * (0.16666667 + x * 0.041666668))); }
  return exp(x) - 1.0;
}
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (isnan_(x) || x > 1e30) { return log(u); }
  return log(u) * x / (u - 1.0);
}
fn tanh_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  if (abs(x) > 10.0) { return sign(x); }
  let t = expm1_(-2.0 * abs(x));
  return -sign(x) * t / (2.0 + t);
}
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  if (isnan_(x)) { return x; }
  if (a < 0.5) {
    let z = x * x;
    return x * 1.1283792 * (1.0 + z * (-0.33333334 + z * (0.1 + z * (-0.023809524 + z * (0.0046296297 - z * 0.00075757573)))));
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.2548296 + t * (-0.28449672 + t * (1.4214138 + t * (-1.4531521 + t * 1.0614054))));
  return sign(x) * (1.0 - p * exp(-a * a));
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnan_(a) || isnan_(b)) { return nan_(); }
  if (a == 0.0) { return select(inf_(), 0.0, b > 0.0); }
  let r = exp2(b * log2(abs(a)));
  if (a > 0.0) { return r; }
  if (floor(b) != b) { return nan_(); }
  let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  return select(r, -r, odd);
}
// sin and cos: Cody–Waite reduction by π/2 in three parts, then Taylor polynomials on [−π/4, π/4]
// (WGSL's builtins may be coarse: SwiftShader's are off by ~1e-4 relative)
fn sincos_(x: f32) -> vec2f {
  if (!isfinite_(x)) { return vec2f(nan_(), nan_()); }
  let k = round(x * 0.636619772);
  var r = x - k * 1.5703125;
  r = r - k * 4.8375129699707031e-4;
  r = r - k * 7.5497899548918821e-8;
  let z = r * r;
  let s = r + r * z * (-0.16666667 + z * (0.0083333333 + z * (-0.00019841270 + z * 2.7557319e-6)));
  let c = 1.0 + z * (-0.5 + z * (0.041666667 + z * (-0.0013888889 + z * (2.4801587e-5 - z * 2.7557319e-7))));
  let q = i32(k) & 3;
  if (q == 0) { return vec2f(s, c); }
  if (q == 1) { return vec2f(c, -s); }
  if (q == 2) { return vec2f(-s, -c); }
  return vec2f(-c, s);
}
fn sin_(x: f32) -> f32 { return sincos_(x).x; }
fn cos_(x: f32) -> f32 { return sincos_(x).y; }
fn tan_(x: f32) -> f32 { let sc = sincos_(x); return sc.x / sc.y; }
// f32 → f16 bits: pack2x16float is left undefined beyond f16's range, so overflow (≥ 65520, which
// rounds past 65504) and NaN are handled first
fn f16_(x: f32) -> u32 {
  if (isnan_(x)) { return 0x7e00u; }
  if (abs(x) >= 65520.0) { return select(0x7c00u, 0xfc00u, x < 0.0); }
  return pack2x16float(vec2f(x, 0.0)) & 0xffffu;
}
// f32 → bf16 bits, rounding to nearest even; NaN stays a quiet NaN
fn bf16_(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0x7fc0u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
fn max_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return max(a, b); }
fn min_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return min(a, b); }
fn softplus_(x: f32, beta: f32) -> f32 {
  let z = beta * x;
  if (z > 20.0) { return x; }
  return (max(z, 0.0) + log1p_(exp(-abs(z)))) / beta;
}
`;

/**
 * Collapse a strided iteration space: adjacent axes merge when every operand
 * steps through them as one (stride[i] = stride[i+1]·shape[i+1]); size-1 axes
 * drop. Fewer axes mean a shorter index loop in the kernel.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k]![last] === s[d]! * n)) {
      sh[last] = sh[last]! * n;
      strides.forEach((s, k) => (st[k]![last] = s[d]!));
      continue;
    }
    sh.push(n);
    strides.forEach((s, k) => st[k]!.push(s[d]!));
  }
  return { shape: sh, strides: st };
}

/** Strides of a view broadcast to `outShape` (0 on broadcast axes, right-aligned). */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], outShape: readonly number[]): number[] {
  const lead = outShape.length - shape.length;
  return outShape.map((n, d) => {
    const k = d - lead;
    if (k < 0) return 0;
    return shape[k] === 1 && n !== 1 ? 0 : strides[k]!;
  });
}
