/**
 * Elementwise ops with NumPy broadcasting. Each unary op is one row: its
 * float64 function and its derivative dy/dx written in tensor ops, which the
 * VJP (g·dy/dx) and the JVP (t·dy/dx) share; written in ops, the derivative is
 * itself differentiable, so gradients of gradients come for free.
 */
import { Tensor } from '../core/tensor.js';
import { assertDType, isFloat, toFloat, type DType } from '../core/dtype.js';
import { defineOp, type OpDef, type RuleCtx } from './registry.js';
import { apply } from './apply.js';
import { arithmeticDType, binaryShape, lift, mapBroadcast, type TensorLike } from './broadcast.js';
import { erf as erfF64, sigmoid as sigmoidF64, softplus as softplusF64 } from '../core/special.js';
import { sumTo } from './views.js';
import { defaultFloat, full, scalar, zerosLike } from './creation.js';
import { fusedActivationGrad } from './activationGrad.js';

// ---- unary ---------------------------------------------------------------------

type Deriv = (x: Tensor, y: Tensor, attrs: UnaryAttrs) => Tensor | null;
interface UnaryAttrs {
  alpha?: number;
  beta?: number;
  lo?: number;
  hi?: number;
}
interface UnarySpec {
  f: (x: number, a: UnaryAttrs) => number;
  /** dy/dx in tensor ops; null = zero almost everywhere */
  d: Deriv;
  /** dtype rule: 'float' promotes integers to f32; 'same' keeps the dtype; 'bool' returns bool */
  kind: 'float' | 'same' | 'bool';
  saveOutputs?: boolean;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

const U: Record<string, UnarySpec> = {
  neg: { f: (x) => -x, d: (x) => fullAs(x, -1), kind: 'same' },
  abs: { f: (x) => Math.abs(x), d: (x) => sign(x), kind: 'same' },
  sign: { f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x), d: () => null, kind: 'same' },
  square: { f: (x) => x * x, d: (x) => mul(x, 2), kind: 'same' },
  reciprocal: { f: (x) => 1 / x, d: (_x, y) => neg(mul(y, y)), kind: 'float', saveOutputs: true },
  exp: { f: (x) => Math.exp(x), d: (_x, y) => y, kind: 'float', saveOutputs: true },
  expm1: { f: (x) => Math.expm1(x), d: (_x, y) => add(y, 1), kind: 'float', saveOutputs: true },
  log: { f: (x) => Math.log(x), d: (x) => reciprocal(x), kind: 'float' },
  log1p: { f: (x) => Math.log1p(x), d: (x) => reciprocal(add(x, 1)), kind: 'float' },
  sqrt: { f: (x) => Math.sqrt(x), d: (_x, y) => div(0.5, y), kind: 'float', saveOutputs: true },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), d: (_x, y) => mul(pow(y, 3), -0.5), kind: 'float', saveOutputs: true },
  sin: { f: (x) => Math.sin(x), d: (x) => cos(x), kind: 'float' },
  cos: { f: (x) => Math.cos(x), d: (x) => neg(sin(x)), kind: 'float' },
  tan: { f: (x) => Math.tan(x), d: (x) => add(square(tan(x)), 1), kind: 'float' },
  atan: { f: (x) => Math.atan(x), d: (x) => reciprocal(add(square(x), 1)), kind: 'float' },
  tanh: { f: (x) => Math.tanh(x), d: (_x, y) => sub(1, square(y)), kind: 'float', saveOutputs: true },
  sigmoid: { f: (x) => sigmoidF64(x), d: (_x, y) => mul(y, sub(1, y)), kind: 'float', saveOutputs: true },
  /** softplus(x) = log(1 + e^{βx})/β, linear above the threshold (PyTorch's convention, threshold 20) */
  softplus: {
    f: (x, a) => {
      const b = a.beta ?? 1;
      return b * x > 20 ? x : softplusF64(b * x) / b;
    },
    d: (x, _y, a) => sigmoid(mul(x, a.beta ?? 1)),
    kind: 'float',
  },
  relu: { f: (x) => (x > 0 ? x : x === x ? 0 : x), d: (x) => astype(gt(x, 0), x.dtype), kind: 'same' },
  /** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (Hendrycks & Gimpel 2016, arXiv 1606.08415) */
  gelu: {
    f: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x))),
    d: (x) => {
      const t = tanh(mul(add(x, mul(pow(x, 3), GELU_C)), SQRT_2_OVER_PI));
      const dt = mul(mul(sub(1, square(t)), add(mul(square(x), 3 * GELU_C), 1)), SQRT_2_OVER_PI);
      return add(mul(add(t, 1), 0.5), mul(mul(x, dt), 0.5));
    },
    kind: 'float',
  },
  /** GELU, exact: x·Φ(x) with Φ the standard normal CDF */
  geluErf: {
    f: (x) => 0.5 * x * (1 + erfF64(x / Math.SQRT2)),
    d: (x) => add(mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5), mul(x, mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI)))),
    kind: 'float',
  },
  /** SiLU / swish: x·σ(x) */
  silu: {
    f: (x) => x * sigmoidF64(x),
    d: (x) => {
      const s = sigmoid(x);
      return mul(s, add(mul(x, sub(1, s)), 1));
    },
    kind: 'float',
  },
  /** ELU: x for x > 0, α(eˣ − 1) otherwise */
  elu: {
    f: (x, a) => (x > 0 ? x : (a.alpha ?? 1) * Math.expm1(x)),
    d: (x, _y, a) => where(gt(x, 0), 1, mul(exp(x), a.alpha ?? 1)),
    kind: 'float',
  },
  erf: { f: (x) => erfF64(x), d: (x) => mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI)), kind: 'float' },
  floor: { f: (x) => Math.floor(x), d: () => null, kind: 'same' },
  ceil: { f: (x) => Math.ceil(x), d: () => null, kind: 'same' },
  /** round half to even, like NumPy and PyTorch */
  round: { f: (x) => roundHalfEven(x), d: () => null, kind: 'same' },
  trunc: { f: (x) => Math.trunc(x), d: () => null, kind: 'same' },
  /** clamp to [lo, hi] (either may be absent); the gradient is 1 inside and on the bounds, as in PyTorch */
  clamp: {
    f: (x, a) => (x < (a.lo ?? -Infinity) ? a.lo! : x > (a.hi ?? Infinity) ? a.hi! : x),
    d: (x, _y, a) => {
      const inLo = a.lo === undefined ? null : ge(x, a.lo);
      const inHi = a.hi === undefined ? null : le(x, a.hi);
      const m = inLo && inHi ? logicalAnd(inLo, inHi) : (inLo ?? inHi);
      return m ? astype(m, x.dtype) : fullAs(x, 1);
    },
    kind: 'same',
  },
  logicalNot: { f: (x) => (x ? 0 : 1), d: () => null, kind: 'bool' },
  isnan: { f: (x) => (Number.isNaN(x) ? 1 : 0), d: () => null, kind: 'bool' },
  isfinite: { f: (x) => (Number.isFinite(x) ? 1 : 0), d: () => null, kind: 'bool' },
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function unaryDType(kind: UnarySpec['kind'], d: DType): DType {
  return kind === 'float' ? toFloat(d) : kind === 'bool' ? 'bool' : d;
}

function makeUnary(name: string, spec: UnarySpec): OpDef<UnaryAttrs> {
  const deriv = (ctx: RuleCtx<UnaryAttrs>): Tensor | null => spec.d(ctx.inputs[0]!, ctx.outputs[0]!, ctx.attrs);
  const differentiable = spec.kind !== 'bool';
  return defineOp<UnaryAttrs>({
    name,
    infer: ([x], _a) => [{ shape: x!.shape, dtype: unaryDType(spec.kind, x!.dtype) }],
    ref: ([x], _ins, a) => {
      const y = new Float64Array(x!.length);
      for (let i = 0; i < y.length; i++) y[i] = spec.f(x![i]!, a);
      return [y];
    },
    vjp: differentiable
      ? (ctx, [g]) => {
          // gelu/silu: g·f′(x) as one fused op when this backward is not itself recorded
          const fused = fusedActivationGrad(name, ctx.inputs[0]!, g!);
          if (fused) return [fused];
          const d = deriv(ctx);
          return [d ? mul(g!, d) : null];
        }
      : 'none',
    jvp: differentiable
      ? (ctx, [t]) => {
          const d = deriv(ctx);
          return [d ? mul(t!, d) : null];
        }
      : 'none',
    saveOutputs: spec.saveOutputs ?? false,
  });
}

export const unaryOps = Object.fromEntries(Object.entries(U).map(([k, v]) => [k, makeUnary(k, v)])) as Record<keyof typeof U, OpDef<UnaryAttrs>>;

function unary(name: keyof typeof U, x: Tensor, attrs: UnaryAttrs = {}): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${name}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  return apply(unaryOps[name], [x], attrs)[0]!;
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tan = (x: Tensor): Tensor => unary('tan', x);
export const atan = (x: Tensor): Tensor => unary('atan', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const softplus = (x: Tensor, beta = 1): Tensor => unary('softplus', x, { beta });
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** GELU: exact x·Φ(x) by default (PyTorch's default); `approximate: 'tanh'` for the GPT-2 form. */
export const gelu = (x: Tensor, approximate: 'tanh' | 'none' = 'none'): Tensor => unary(approximate === 'none' ? 'geluErf' : 'gelu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const elu = (x: Tensor, alpha = 1): Tensor => unary('elu', x, { alpha });
export const erf = (x: Tensor): Tensor => unary('erf', x);
export const floor = (x: Tensor): Tensor => unary('floor', x);
export const ceil = (x: Tensor): Tensor => unary('ceil', x);
export const round = (x: Tensor): Tensor => unary('round', x);
export const trunc = (x: Tensor): Tensor => unary('trunc', x);
export const logicalNot = (x: Tensor): Tensor => unary('logicalNot', x);
export const isnan = (x: Tensor): Tensor => unary('isnan', x);
export const isfinite = (x: Tensor): Tensor => unary('isfinite', x);
export function clamp(x: Tensor, lo?: number, hi?: number): Tensor {
  if (lo !== undefined && hi !== undefined && lo > hi) throw new Error(`clamp: lo (${lo}) must not exceed hi (${hi})`);
  if ((lo !== undefined && Number.isNaN(lo)) || (hi !== undefined && Number.isNaN(hi))) throw new Error('clamp: lo and hi must not be NaN');
  return unary('clamp', x, { lo, hi });
}

// ---- binary --------------------------------------------------------------------

interface BinarySpec {
  f: (a: number, b: number) => number;
  /** cotangent/tangent contributions: da = ∂y/∂a, db = ∂y/∂b in tensor ops (null = zero) */
  da?: (a: Tensor, b: Tensor, y: Tensor) => Tensor | null;
  db?: (a: Tensor, b: Tensor, y: Tensor) => Tensor | null;
  kind: 'arith' | 'float' | 'bool';
  saveOutputs?: boolean;
  /** linear ops take a cheaper rule: the tangent/cotangent itself */
  linear?: [number, number];
}

const B: Record<string, BinarySpec> = {
  add: { f: (a, b) => a + b, kind: 'arith', linear: [1, 1] },
  sub: { f: (a, b) => a - b, kind: 'arith', linear: [1, -1] },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a, kind: 'arith' },
  div: { f: (a, b) => a / b, da: (_a, b) => reciprocal(b), db: (_a, b, y) => neg(div(y, b)), kind: 'float', saveOutputs: true },
  pow: {
    f: (a, b) => Math.pow(a, b),
    da: (a, b) => mul(b, pow(a, sub(b, 1))),
    // d/db a^b = a^b·log a; defined as 0 where a = 0 and b > 0 (the limit), NaN for a < 0 as in PyTorch
    db: (a, _b, y) => where(eq(a, 0), 0, mul(y, log(a))),
    kind: 'float',
    saveOutputs: true,
  },
  /** maximum/minimum: at ties the gradient is split equally, as in PyTorch */
  maximum: {
    f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
    da: (a, b) => tieSplit(gt(a, b), eq(a, b), a.dtype),
    db: (a, b) => tieSplit(lt(a, b), eq(a, b), a.dtype),
    kind: 'arith',
  },
  minimum: {
    f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
    da: (a, b) => tieSplit(lt(a, b), eq(a, b), a.dtype),
    db: (a, b) => tieSplit(gt(a, b), eq(a, b), a.dtype),
    kind: 'arith',
  },
  atan2: {
    f: (a, b) => Math.atan2(a, b),
    da: (a, b) => div(b, add(square(a), square(b))),
    db: (a, b) => div(neg(a), add(square(a), square(b))),
    kind: 'float',
  },
  eq: { f: (a, b) => (a === b ? 1 : 0), kind: 'bool' },
  ne: { f: (a, b) => (a !== b ? 1 : 0), kind: 'bool' },
  lt: { f: (a, b) => (a < b ? 1 : 0), kind: 'bool' },
  le: { f: (a, b) => (a <= b ? 1 : 0), kind: 'bool' },
  gt: { f: (a, b) => (a > b ? 1 : 0), kind: 'bool' },
  ge: { f: (a, b) => (a >= b ? 1 : 0), kind: 'bool' },
  logicalAnd: { f: (a, b) => (a && b ? 1 : 0), kind: 'bool' },
  logicalOr: { f: (a, b) => (a || b ? 1 : 0), kind: 'bool' },
  logicalXor: { f: (a, b) => (!a !== !b ? 1 : 0), kind: 'bool' },
};

function tieSplit(win: Tensor, tie: Tensor, dtype: DType): Tensor {
  return add(astype(win, dtype), mul(astype(tie, dtype), 0.5));
}

function binaryDType(kind: BinarySpec['kind'], a: DType, b: DType): DType {
  if (kind === 'bool') return 'bool';
  const d = arithmeticDType(a, b);
  return kind === 'float' ? toFloat(d) : d;
}

function makeBinary(name: string, spec: BinarySpec): OpDef<undefined> {
  const partials = (ctx: RuleCtx<undefined>): [Tensor | null, Tensor | null] => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const y = ctx.outputs[0]!;
    return [spec.da ? spec.da(a, b, y) : null, spec.db ? spec.db(a, b, y) : null];
  };
  const diff = spec.kind !== 'bool';
  return defineOp<undefined>({
    name,
    infer: ([a, b]) => [{ shape: binaryShape(name, a!.shape, b!.shape), dtype: binaryDType(spec.kind, a!.dtype, b!.dtype) }],
    ref: (xs, ins, _a, outs) => [mapBroadcast(xs, [ins[0]!.shape, ins[1]!.shape], outs[0]!.shape, spec.f)],
    vjp: !diff
      ? 'none'
      : (ctx, [g]) => {
          const [a, b] = ctx.inputs as [Tensor, Tensor];
          if (spec.linear) {
            const [ca, cb] = spec.linear;
            return [sumTo(ca === 1 ? g! : mul(g!, ca), a.shape), sumTo(cb === 1 ? g! : mul(g!, cb), b.shape)];
          }
          const [da, db] = partials(ctx);
          return [da ? sumTo(mul(g!, da), a.shape) : null, db ? sumTo(mul(g!, db), b.shape) : null];
        },
    jvp: !diff
      ? 'none'
      : (ctx, [ta, tb]) => {
          if (spec.linear) {
            const [, cb] = spec.linear;
            const tbs = tb ? (cb === 1 ? tb : mul(tb, cb)) : null;
            const shape = ctx.outputs[0]!.shape;
            const r = ta && tbs ? add(ta, tbs) : (ta ?? tbs);
            return [r && !sameShape(r, shape) ? broadcastLike(r, ctx.outputs[0]!) : r];
          }
          const [da, db] = partials(ctx);
          const parts: Tensor[] = [];
          if (ta && da) parts.push(mul(ta, da));
          if (tb && db) parts.push(mul(tb, db));
          if (parts.length === 0) return [null];
          const r = parts.length === 2 ? add(parts[0]!, parts[1]!) : parts[0]!;
          return [sameShape(r, ctx.outputs[0]!.shape) ? r : broadcastLike(r, ctx.outputs[0]!)];
        },
    saveOutputs: spec.saveOutputs ?? false,
  });
}

function sameShape(t: Tensor, shape: readonly number[]): boolean {
  return t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
}

function broadcastLike(t: Tensor, like: Tensor): Tensor {
  return add(t, zerosLike(like, { dtype: t.dtype }));
}

export const binaryOps = Object.fromEntries(Object.entries(B).map(([k, v]) => [k, makeBinary(k, v)])) as Record<keyof typeof B, OpDef<undefined>>;

function binary(name: keyof typeof B, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(name, a, b);
  try {
    return apply(binaryOps[name], [x, y], undefined)[0]!;
  } finally {
    // a JS number was lifted to a 0-d tensor the caller cannot see: free its handle (the tape keeps its own alias)
    disposeLifted([x, y], [a, b]);
  }
}

function disposeLifted(lifted: readonly Tensor[], given: readonly unknown[]): void {
  lifted.forEach((t) => {
    if (!given.includes(t)) t.dispose();
  });
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const atan2 = (a: TensorLike, b: TensorLike): Tensor => binary('atan2', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
export const logicalAnd = (a: TensorLike, b: TensorLike): Tensor => binary('logicalAnd', a, b);
export const logicalOr = (a: TensorLike, b: TensorLike): Tensor => binary('logicalOr', a, b);
export const logicalXor = (a: TensorLike, b: TensorLike): Tensor => binary('logicalXor', a, b);

// ---- where, cast ---------------------------------------------------------------

/** where(cond, a, b): a where cond is true, else b; all three broadcast together. */
export const whereOp = defineOp<undefined>({
  name: 'where',
  infer: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new Error(`where: cond must be bool, got ${c!.dtype}`);
    const shape = binaryShape('where', c!.shape, binaryShape('where', a!.shape, b!.shape));
    return [{ shape, dtype: arithmeticDType(a!.dtype, b!.dtype) }];
  },
  ref: (xs, ins, _a, outs) => [mapBroadcast(xs, ins.map((m) => m.shape), outs[0]!.shape, (c, a, b) => (c ? a : b))],
  vjp: (ctx, [g]) => {
    const [c, a, b] = ctx.inputs as [Tensor, Tensor, Tensor];
    const z = zerosLike(g!);
    return [null, sumTo(where(c, g!, z), a.shape), sumTo(where(c, z, g!), b.shape)];
  },
  jvp: (ctx, [, ta, tb]) => {
    const c = ctx.inputs[0]!;
    const o = ctx.outputs[0]!;
    const za = ta ?? zerosLike(o);
    const zb = tb ?? zerosLike(o);
    return [where(c, za, zb)];
  },
});

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) throw new Error('where: cond must be a bool Tensor');
  const [x, y] = a instanceof Tensor || b instanceof Tensor ? lift('where', a, b) : lift('where', floatScalarLike(a, cond), b);
  try {
    return apply(whereOp, [cond, x, y], undefined)[0]!;
  } finally {
    disposeLifted([x, y], [a, b]);
  }
}

function floatScalarLike(v: TensorLike, like: Tensor): Tensor {
  if (typeof v !== 'number') throw new Error('where: a and b must be Tensors or numbers');
  return scalar(v, { dtype: defaultFloat(), backend: like.storage.backend });
}

/** Fill with `value` where mask is true. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

export const astypeOp = defineOp<{ dtype: DType }>({
  name: 'astype',
  infer: ([x], a) => [{ shape: x!.shape, dtype: a.dtype }],
  ref: ([x], _ins, a) => {
    // float → integer truncates toward zero like C and PyTorch; storage rounding happens on store
    if (a.dtype === 'bool') return [x!.map((v) => (v !== 0 ? 1 : 0))];
    return [x!];
  },
  vjp: (ctx, [g]) => [isFloat(ctx.attrs.dtype) && isFloat(ctx.inputs[0]!.dtype) ? astype(g!, ctx.inputs[0]!.dtype) : null],
  jvp: (ctx, [t]) => [isFloat(ctx.attrs.dtype) && isFloat(ctx.inputs[0]!.dtype) ? astype(t!, ctx.attrs.dtype) : null],
  saveInputs: true,
});

/** Convert to another dtype (a copy, or the same tensor when the dtype already matches). */
export function astype(x: Tensor, dtype: DType): Tensor {
  if (!(x instanceof Tensor)) throw new Error('astype: x must be a Tensor');
  return apply(astypeOp, [x], { dtype: assertDType('astype', 'dtype', dtype) })[0]!;
}

/** A tensor of x's shape (and dtype unless given) filled with v. */
function fullAs(x: Tensor, v: number, dtype?: DType): Tensor {
  return full(x.shape, v, { dtype: dtype ?? x.dtype, backend: x.storage.backend });
}
