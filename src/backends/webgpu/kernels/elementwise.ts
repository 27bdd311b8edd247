/**
 * Elementwise kernels: unary and binary ops, where, astype and copy, over
 * broadcast and strided (transposed, sliced, flipped) inputs in any rank.
 *
 * One generated WGSL shader per (op, dtypes, rank): each invocation owns one
 * output element, turns its flat index into coordinates with the output
 * shape, and each input's element offset from the input's own strides
 * (0 on broadcast axes), so views are read in place, never copied first.
 * Axes that every operand walks contiguously are merged beforehand
 * (`collapse`), so a plain contiguous op runs a one-axis loop.
 *
 * Meta block: [n, shape[0..nd), then per input: offset, strides[0..nd)],
 * then the op's float parameters.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { KERNEL_DTYPES_16, MATH, MATH_F16, META, arrayType, broadcastStrides, collapse, conv, enableF16, is16, isFloatish, kernelDtype16 as kernelDtype, layoutKey, loadElem, mainHeader, metaF, nativeHalf, pairsOut, storeAs, storeHalfAtomic, storeMain, type HalfMode } from '../wgsl.js';

const WG = 64;

type CT = 'f32' | 'i32';
/** An expression template over x (unary) or a, b (binary) in the compute type; result 'same' (the compute type) or 'bool'. */
interface Template {
  f32?: string;
  i32?: string;
  result: 'same' | 'bool';
  /** float params, in order, read from the attrs */
  params?: (attrs: Record<string, number | undefined>) => number[];
}

const P0 = metaF('PB');
const P1 = metaF('PB + 1');

export const UNARY: Record<string, Template> = {
  neg: { f32: '-x', i32: '-x', result: 'same' },
  abs: { f32: 'abs(x)', i32: 'abs(x)', result: 'same' },
  sign: { f32: 'select(select(x, -1.0, x < 0.0), 1.0, x > 0.0)', i32: 'sign(x)', result: 'same' },
  square: { f32: 'x * x', i32: 'x * x', result: 'same' },
  reciprocal: { f32: '1.0 / x', result: 'same' },
  exp: { f32: 'exp(x)', result: 'same' },
  expm1: { f32: 'expm1_(x)', result: 'same' },
  log: { f32: 'select(log(x), nan_(), x < 0.0)', result: 'same' },
  log1p: { f32: 'select(log1p_(x), nan_(), x < -1.0)', result: 'same' },
  sqrt: { f32: 'select(sqrt(x), nan_(), x < 0.0)', result: 'same' },
  rsqrt: { f32: 'select(1.0 / sqrt(x), nan_(), x < 0.0)', result: 'same' },
  sin: { f32: 'sin_(x)', result: 'same' },
  cos: { f32: 'cos_(x)', result: 'same' },
  tan: { f32: 'tan_(x)', result: 'same' },
  atan: { f32: 'atan(x)', result: 'same' },
  tanh: { f32: 'tanh_(x)', result: 'same' },
  sigmoid: { f32: '1.0 / (1.0 + exp(-x))', result: 'same' },
  softplus: { f32: `softplus_(x, ${P0})`, result: 'same', params: (a) => [a.beta ?? 1] },
  relu: { f32: 'select(select(0.0, x, isnan_(x)), x, x > 0.0)', i32: 'max(x, 0)', result: 'same' },
  gelu: { f32: '0.5 * x * (1.0 + tanh_(0.7978845608 * (x + 0.044715 * x * x * x)))', result: 'same' },
  geluErf: { f32: '0.5 * x * (1.0 + erf_(x * 0.70710678118))', result: 'same' },
  silu: { f32: 'x / (1.0 + exp(-x))', result: 'same' },
  elu: { f32: `select(${P0} * expm1_(x), x, x > 0.0)`, result: 'same', params: (a) => [a.alpha ?? 1] },
  erf: { f32: 'erf_(x)', result: 'same' },
  floor: { f32: 'floor(x)', i32: 'x', result: 'same' },
  ceil: { f32: 'ceil(x)', i32: 'x', result: 'same' },
  round: { f32: 'round(x)', i32: 'x', result: 'same' },
  trunc: { f32: 'trunc(x)', i32: 'x', result: 'same' },
  clamp: { f32: `select(select(x, ${P1}, x > ${P1}), ${P0}, x < ${P0})`, result: 'same', params: (a) => [a.lo ?? -Infinity, a.hi ?? Infinity] },
  logicalNot: { f32: '(x == 0.0)', i32: '(x == 0)', result: 'bool' },
  isnan: { f32: 'isnan_(x)', i32: 'false', result: 'bool' },
  isfinite: { f32: 'isfinite_(x)', i32: 'true', result: 'bool' },
};

export const BINARY: Record<string, Template> = {
  add: { f32: 'a + b', i32: 'a + b', result: 'same' },
  sub: { f32: 'a - b', i32: 'a - b', result: 'same' },
  mul: { f32: 'a * b', i32: 'a * b', result: 'same' },
  div: { f32: 'a / b', result: 'same' },
  pow: { f32: 'pow_(a, b)', result: 'same' },
  maximum: { f32: 'max_(a, b)', i32: 'max(a, b)', result: 'same' },
  minimum: { f32: 'min_(a, b)', i32: 'min(a, b)', result: 'same' },
  atan2: { f32: 'atan2(a, b)', result: 'same' },
  eq: { f32: 'a == b', i32: 'a == b', result: 'bool' },
  ne: { f32: 'a != b', i32: 'a != b', result: 'bool' },
  lt: { f32: 'a < b', i32: 'a < b', result: 'bool' },
  le: { f32: 'a <= b', i32: 'a <= b', result: 'bool' },
  gt: { f32: 'a > b', i32: 'a > b', result: 'bool' },
  ge: { f32: 'a >= b', i32: 'a >= b', result: 'bool' },
  logicalAnd: { f32: '(a != 0.0) && (b != 0.0)', i32: '(a != 0) && (b != 0)', result: 'bool' },
  logicalOr: { f32: '(a != 0.0) || (b != 0.0)', i32: '(a != 0) || (b != 0)', result: 'bool' },
  logicalXor: { f32: '(a != 0.0) != (b != 0.0)', i32: '(a != 0) != (b != 0)', result: 'bool' },
};

/** The compute type: the output's when numeric, else the widest input's. */
function computeType(out: DType, ins: readonly DType[]): CT {
  if (isFloatish(out)) return 'f32';
  if (out === 'i32') return 'i32';
  return ins.some(isFloatish) ? 'f32' : 'i32';
}

/** A strided window of an existing storage that an elementwise kernel writes instead of a fresh output. */
export interface Window {
  storage: Storage;
  offset: number;
  strides: readonly number[];
}

/** What an elementwise shader is generated from (see `elementwiseShader`). */
export interface ElementwiseSpec {
  key: string;
  inputs: readonly DType[];
  out: DType;
  /** axes after collapsing */
  nd: number;
  /** writing a strided window of an existing storage */
  into: boolean;
  /** how 16-bit floats are reached */
  mode: HalfMode;
  body: (loaded: string[], mode: HalfMode) => [string, 'f32' | 'i32' | 'bool' | 'raw'];
}

/** Whether a shader writes its output two halves per invocation (a fresh packed f16/bf16 output). */
const pairs = (s: ElementwiseSpec): boolean => pairsOut(s.out, s.mode) && !s.into;

/**
 * The WGSL of one elementwise shader. `value(e)` computes element e in the
 * output's stored form. Packed 16-bit outputs are written a 32-bit word per
 * invocation (elements 2w and 2w+1, the upper half left 0 past an odd end),
 * so no two invocations share a word; a packed 16-bit *window* of another
 * storage (concat, pad, …) may share words with its neighbours and is
 * written with two atomics per element (`storeHalfAtomic`).
 */
export function elementwiseShader(s: ElementwiseSpec): string {
  const { nd, mode } = s;
  const k = s.inputs.length;
  const decl = s.inputs.map((d, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${arrayType(d, mode)}>;`);
  const ptr = s.inputs.map((_, i) => `  var p${i} = prm[${1 + nd + i * (nd + 1)}];`);
  const ops = s.into ? k + 1 : k; // the output window walks like one more operand
  const steps = Array.from({ length: ops }, (_, i) => `p${i} += c * prm[${1 + nd + i * (nd + 1) + 1} + d];`).join(' ');
  const outPtr = s.into ? `  var p${k} = prm[${1 + nd + k * (nd + 1)}];` : '';
  const loaded = s.inputs.map((d, i) => loadElem(`in${i}`, `p${i}`, d, mode));
  const [expr, type] = s.body(loaded, mode);
  const store = type === 'raw' ? expr : storeAs(expr, type, s.out, mode);
  const atomic = is16(s.out) && !nativeHalf(s.out, mode) && s.into;
  const outType = atomic ? 'atomic<u32>' : arrayType(s.out, mode);
  const main = !s.into
    ? storeMain(s.out, mode)
    : `  if (gi >= prm[0]) { return; }
  let v = value(gi);
  ${atomic ? storeHalfAtomic('out', 'op_', 'v') : 'out[op_] = v;'}`;
  return `${enableF16(mode, [...s.inputs, s.out])}// ${s.key}
${META}
${decl.join('\n')}
@group(0) @binding(${k + 1}) var<storage, read_write> out: array<${outType}>;
${s.into ? 'var<private> op_: i32;' : ''}
const PB: i32 = ${k * (nd + 1) + 1 + nd + (s.into ? nd + 1 : 0)};
${MATH}${enableF16(mode, [...s.inputs, s.out]) ? MATH_F16 : ''}
fn value(e: i32) -> ${arrayType(s.out, mode)} {
${ptr.join('\n')}
${outPtr}
  var r = e;
  for (var d = ${nd - 1}; d >= 0; d--) {
    let s = prm[1 + d];
    let c = r % s;
    r = r / s;
    ${steps}
  }
  ${s.into ? `op_ = p${k};` : ''}
  return ${store};
}
${mainHeader(WG)}
${main}
}`;
}

/**
 * Generate and launch one elementwise shader. `body` maps the loaded input
 * names (each of its stored type) to [expression, its WGSL type], 'raw' storing it as is.
 */
export function launchElementwise(
  b: WebGpuBackend,
  key: string,
  inputs: readonly View[],
  out: OutMeta,
  body: (loaded: string[], mode: HalfMode) => [string, 'f32' | 'i32' | 'bool' | 'raw'],
  floats: readonly number[] = [],
  into?: Window,
): Storage {
  const n = sizeOf(out.shape);
  const res = into ? into.storage : b.alloc(out.dtype, n);
  if (n === 0) return res;
  const bs = inputs.map((v) => broadcastStrides(v.shape, v.strides, out.shape));
  const c = collapse(out.shape, into ? [...bs, into.strides] : bs);
  const nd = c.shape.length;
  const ints = [n, ...c.shape];
  inputs.forEach((v, i) => ints.push(v.offset, ...c.strides[i]!));
  if (into) ints.push(into.offset, ...c.strides[inputs.length]!);
  const spec: ElementwiseSpec = { key, inputs: inputs.map((v) => v.dtype), out: out.dtype, nd, into: !!into, mode: b.half, body };
  const threads = pairs(spec) ? Math.ceil(n / 2) : n;
  b.launch(`ew:${key}:${nd}${into ? ':into' : ''}:${b.half}`, () => elementwiseShader(spec), [...inputs.map((v) => v.storage), res], Math.ceil(threads / WG), ints, floats);
  return res;
}

function templateKernel(b: WebGpuBackend, name: string, t: Template, arity: 1 | 2): Kernel {
  return (inputs, attrs, outs) => {
    const out = outs[0]!;
    const dts = inputs.map((v) => v.dtype);
    if (!kernelDtype(out.dtype) || !dts.every(kernelDtype)) return undefined;
    const ct = computeType(out.dtype, dts);
    const tpl = t[ct];
    if (!tpl) return undefined;
    const params = t.params ? t.params((attrs ?? {}) as Record<string, number | undefined>) : [];
    const key = `${name}:${dts.join(',')}->${out.dtype}`;
    return [
      launchElementwise(b, key, inputs, out, (ld, h) => {
        const vars: Record<string, string> = arity === 1 ? { x: conv(ld[0]!, dts[0]!, ct, h) } : { a: conv(ld[0]!, dts[0]!, ct, h), b: conv(ld[1]!, dts[1]!, ct, h) };
        // substitute whole identifiers only (x, a, b), wrapping each in parentheses
        const e = tpl.replace(/\b([xab])\b/g, (m) => `(${vars[m] ?? m})`);
        return [e, t.result === 'bool' ? 'bool' : ct];
      }, params),
    ];
  };
}

export function registerElementwise(b: WebGpuBackend): void {
  const declare = (k: Kernel): Kernel => Object.assign(k, { dtypes: KERNEL_DTYPES_16, packedHalves: true });
  for (const [name, t] of Object.entries(UNARY)) b.kernels.set(name, declare(templateKernel(b, name, t, 1)));
  for (const [name, t] of Object.entries(BINARY)) b.kernels.set(name, declare(templateKernel(b, name, t, 2)));

  b.kernels.set(
    'where',
    declare((inputs, _attrs, outs) => {
      const out = outs[0]!;
      const dts = inputs.map((v) => v.dtype);
      if (!kernelDtype(out.dtype) || !dts.every(kernelDtype)) return undefined;
      const ct: CT = isFloatish(out.dtype) ? 'f32' : 'i32';
      return [launchElementwise(b, `where:${dts.join(',')}`, inputs, out, (ld, h) => [`select(${conv(ld[2]!, dts[2]!, ct, h)}, ${conv(ld[1]!, dts[1]!, ct, h)}, ${conv(ld[0]!, dts[0]!, 'bool', h)})`, ct])];
    }),
  );

  b.kernels.set(
    'astype',
    declare((inputs, _attrs, outs) => {
      const out = outs[0]!;
      const from = inputs[0]!.dtype;
      if (from === out.dtype && from !== 'f64') return [copyKernel(b, inputs[0]!, out)];
      if (!kernelDtype(out.dtype) || !kernelDtype(from)) return undefined;
      const to = out.dtype === 'bool' ? 'bool' : isFloatish(out.dtype) ? 'f32' : 'i32';
      return [launchElementwise(b, `astype:${from}->${out.dtype}`, inputs, out, (ld, h) => [conv(ld[0]!, from, to, h), to])];
    }),
  );

  // copy moves the stored elements as they are, so it serves every dtype but f64
  b.kernels.set(
    'copy',
    Object.assign(((inputs, _attrs, outs) => (inputs[0]!.dtype === 'f64' ? undefined : [copyKernel(b, inputs[0]!, outs[0]!)])) as Kernel, {
      dtypes: ['f32', 'f16', 'bf16', 'i32', 'bool'] as const,
      packedHalves: true,
    }),
  );
}

/** A contiguous copy of a view, element for element in the stored form. */
export function copyKernel(b: WebGpuBackend, v: View, out: OutMeta): Storage {
  return launchElementwise(b, `copy:${layoutKey(v.dtype, b.half)}`, [v], out, (ld) => [ld[0]!, 'raw']);
}
