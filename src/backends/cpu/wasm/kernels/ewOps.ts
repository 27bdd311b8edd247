/**
 * The table of elementwise kernels: for each, its element types in and out
 * and its body on four lanes at a time. Bodies see float32 lanes (f16 and
 * bf16 inputs are decoded by the loader, outputs encoded by the storer) or,
 * for bool, all-ones/all-zeros lane masks; a bool result is a mask.
 *
 * Semantics follow the float64 reference kernels of src/ops/elementwise.ts
 * rounded to float32: NaN propagates through min/max as in the reference,
 * relu(NaN) is NaN, sign keeps ±0 and NaN, logicalNot(NaN) is false (NaN is
 * truthy only to a comparison with 0, and JavaScript treats it as falsy).
 * add, sub, mul, div and sqrt are correctly rounded, so they equal the
 * reference bit for bit; the transcendental functions are within a few ulps
 * (vmath.ts).
 */
import { get, set, type Expr, type FuncScope, type Ins, type Local } from '../emit.js';
import { F4, V } from './simd.js';
import { VMath } from './vmath.js';

export type Kind = 'f32' | 'bool' | 'f16' | 'bf16';

/** Emits dst ← body(xs) for one group of four lanes; `a0`, `a1` are the kernel's float attributes. */
export type BodyEmitter = (dst: Local<'v128'>, xs: readonly Expr<'v128'>[]) => Ins;

export interface EwSpec {
  ins: readonly Kind[];
  out: Kind;
  /** which module holds it (modules are compiled on first use) */
  group: 'basic' | 'expLog' | 'sigmoid' | 'erf';
  /** relative cost per element, for the thread threshold (1 = an add) */
  cost: number;
  body: (vm: VMath, f: FuncScope, a0: Local<'f32'>, a1: Local<'f32'>) => BodyEmitter;
}

type V128 = Expr<'v128'>;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const pure =
  (g: (xs: readonly V128[], a0: Local<'f32'>, a1: Local<'f32'>, vm: VMath) => V128) =>
  (vm: VMath, _f: FuncScope, a0: Local<'f32'>, a1: Local<'f32'>): BodyEmitter =>
  (dst, xs) =>
    set(dst, g(xs, a0, a1, vm));
const fx = (fn: 'exp' | 'log' | 'tanh' | 'sigmoid' | 'silu' | 'geluTanh' | 'geluErf' | 'erf' | 'log1p' | 'expm1') => (vm: VMath) => (dst: Local<'v128'>, xs: readonly V128[]) => vm[fn](dst, xs[0]!);

const u = (g: (x: V128, a0: Local<'f32'>, a1: Local<'f32'>, vm: VMath) => V128, cost = 1): EwSpec => ({ ins: ['f32'], out: 'f32', group: 'basic', cost, body: pure((xs, a0, a1, vm) => g(xs[0]!, a0, a1, vm)) });
const b = (g: (x: V128, y: V128) => V128, out: Kind = 'f32'): EwSpec => ({ ins: ['f32', 'f32'], out, group: 'basic', cost: 1, body: pure((xs) => g(xs[0]!, xs[1]!)) });
const t = (fn: Parameters<typeof fx>[0], group: EwSpec['group'], cost: number): EwSpec => ({ ins: ['f32'], out: 'f32', group, cost, body: fx(fn) });
const cast = (from: Kind, to: Kind, g: (x: V128, vm: VMath) => V128 = (x) => x): EwSpec => ({ ins: [from], out: to, group: 'basic', cost: 1, body: pure((xs, _a0, _a1, vm) => g(xs[0]!, vm)) });
const logical = (g: (x: V128, y: V128) => V128): EwSpec => ({ ins: ['bool', 'bool'], out: 'bool', group: 'basic', cost: 1, body: pure((xs) => g(xs[0]!, xs[1]!)) });

/**
 * s ← σ(v), q ← σ(v)σ(−v), both accurate in either tail: with e = e^{−|v|},
 * σ(−|v|) = e/(1 + e) and σ(v)σ(−v) = σ(−|v|)(1 − σ(−|v|)) (1 − x for x ≤ ½
 * never cancels, where 1 − σ(v) would for large v). `m` is scratch.
 */
function sigmoidPair(vm: VMath, s: Local<'v128'>, q: Local<'v128'>, m: Local<'v128'>, v: V128): Ins {
  return [
    set(m, v),
    vm.exp(q, F4.neg(F4.abs(get(m)))),
    set(q, F4.div(get(q), F4.add(get(q), vm.f(1)))),
    set(s, V.select(F4.sub(vm.f(1), get(q)), get(q), F4.ge(get(m), vm.f(0)))),
    set(q, F4.mul(get(q), F4.sub(vm.f(1), get(q)))),
  ].flat();
}

/** Kernels by export name. Op names map to them in `EW_OPS`. */
export const EW: Readonly<Record<string, EwSpec>> = {
  add: b(F4.add),
  sub: b(F4.sub),
  mul: b(F4.mul),
  div: b(F4.div),
  maximum: b(F4.max),
  minimum: b(F4.min),
  eq: b(F4.eq, 'bool'),
  ne: b(F4.ne, 'bool'),
  lt: b(F4.lt, 'bool'),
  le: b(F4.le, 'bool'),
  gt: b(F4.gt, 'bool'),
  ge: b(F4.ge, 'bool'),
  logicalAnd: logical(V.and),
  logicalOr: logical(V.or),
  logicalXor: logical(V.xor),
  where: { ins: ['bool', 'f32', 'f32'], out: 'f32', group: 'basic', cost: 1, body: pure((xs) => V.select(xs[1]!, xs[2]!, xs[0]!)) },

  neg: u(F4.neg),
  abs: u(F4.abs),
  square: u((x) => F4.mul(x, x)),
  sqrt: u(F4.sqrt, 2),
  rsqrt: u((x, _a, _b, vm) => F4.div(vm.f(1), F4.sqrt(x)), 3),
  reciprocal: u((x, _a, _b, vm) => F4.div(vm.f(1), x), 2),
  relu: u((x, _a, _b, vm) => F4.max(x, vm.f(0))),
  floor: u(F4.floor),
  ceil: u(F4.ceil),
  round: u(F4.nearest),
  trunc: u(F4.trunc),
  // x > 0 → 1, x < 0 → −1, else x itself (±0, NaN); x is a local load, cheap to repeat
  sign: u((x, _a, _b, vm) => V.select(vm.f(1), V.select(vm.f(-1), x, F4.lt(x, vm.f(0))), F4.gt(x, vm.f(0)))),
  // x < lo → lo, x > hi → hi, else x (NaN stays NaN)
  clamp: u((x, lo, hi) => V.select(F4.splat(get(lo)), V.select(F4.splat(get(hi)), x, F4.gt(x, F4.splat(get(hi)))), F4.lt(x, F4.splat(get(lo))))),
  isnan: { ...u((x) => F4.ne(x, x)), out: 'bool' },
  isfinite: { ...u((x, _a, _b, vm) => F4.lt(F4.abs(x), vm.f(Infinity))), out: 'bool' },
  logicalNot: { ...u((x, _a, _b, vm) => V.or(F4.eq(x, vm.f(0)), F4.ne(x, x))), out: 'bool' },
  logicalNotBool: { ins: ['bool'], out: 'bool', group: 'basic', cost: 1, body: pure((xs, _a0, _a1, vm) => V.xor(xs[0]!, vm.i(-1))) },

  exp: t('exp', 'expLog', 4),
  log: t('log', 'expLog', 4),
  expm1: t('expm1', 'expLog', 8),
  log1p: t('log1p', 'expLog', 5),
  softplus: {
    ins: ['f32'], out: 'f32', group: 'expLog', cost: 10,
    body: (vm, f, a0) => {
      const beta = f.local('v128');
      return (dst, xs) => [set(beta, F4.splat(get(a0))), vm.softplus(dst, xs[0]!, get(beta))].flat();
    },
  },
  elu: {
    ins: ['f32'], out: 'f32', group: 'expLog', cost: 8,
    body: (vm, f, a0) => {
      const x = f.local('v128');
      return (dst, xs) => [set(x, xs[0]!), vm.expm1(dst, get(x)), set(dst, V.select(get(x), F4.mul(get(dst), F4.splat(get(a0))), F4.gt(get(x), vm.f(0))))].flat();
    },
  },
  tanh: t('tanh', 'sigmoid', 5),
  sigmoid: t('sigmoid', 'sigmoid', 5),
  silu: t('silu', 'sigmoid', 5),
  gelu: t('geluTanh', 'sigmoid', 6),
  geluErf: t('geluErf', 'erf', 12),
  erf: t('erf', 'erf', 12),

  // backward of the activations, (x, g) ↦ g·f′(x) (src/ops/activationGrad.ts)
  siluGrad: {
    ins: ['f32', 'f32'], out: 'f32', group: 'sigmoid', cost: 7,
    body: (vm, f) => {
      const [x, q, m] = [f.local('v128'), f.local('v128'), f.local('v128')];
      // σ(x) + x·σ(x)σ(−x)
      return (dst, xs) => [set(x, xs[0]!), sigmoidPair(vm, dst, q, m, get(x)), set(dst, F4.mul(xs[1]!, vm.madd(get(x), get(q), get(dst))))].flat();
    },
  },
  geluGrad: {
    ins: ['f32', 'f32'], out: 'f32', group: 'sigmoid', cost: 8,
    body: (vm, f) => {
      const [x, x2, q, m] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
      const k = 2 * SQRT_2_OVER_PI;
      // gelu = x·σ(v), v = k(x + c·x³): σ(v) + x·σ(v)σ(−v)·k(1 + 3c·x²)
      return (dst, xs) => [
        set(x, xs[0]!),
        set(x2, F4.mul(get(x), get(x))),
        sigmoidPair(vm, dst, q, m, F4.mul(get(x), vm.madd(get(x2), vm.f(k * GELU_C), vm.f(k)))),
        set(q, F4.mul(F4.mul(get(x), get(q)), vm.madd(get(x2), vm.f(3 * k * GELU_C), vm.f(k)))),
        set(dst, F4.mul(xs[1]!, F4.add(get(dst), get(q)))),
      ].flat();
    },
  },
  geluErfGrad: {
    ins: ['f32', 'f32'], out: 'f32', group: 'erf', cost: 18,
    body: (vm, f) => {
      const [x, phi, e] = [f.local('v128'), f.local('v128'), f.local('v128')];
      // Φ(x) + x·φ(x): Φ = gelu(x)/x (the accurate tails of geluErf), ½ where x is too small to divide by
      return (dst, xs) => [
        set(x, xs[0]!),
        vm.geluErf(phi, get(x)),
        set(phi, V.select(vm.f(0.5), F4.div(get(phi), get(x)), F4.lt(F4.abs(get(x)), vm.f(1e-20)))),
        vm.exp(e, F4.mul(F4.mul(get(x), get(x)), vm.f(-0.5))),
        set(dst, F4.mul(xs[1]!, vm.madd(F4.mul(get(x), get(e)), vm.f(1 / Math.sqrt(2 * Math.PI)), get(phi)))),
      ].flat();
    },
  },

  cast_f32_f32: cast('f32', 'f32'),
  cast_f32_f16: cast('f32', 'f16'),
  cast_f32_bf16: cast('f32', 'bf16'),
  cast_f16_f32: cast('f16', 'f32'),
  cast_bf16_f32: cast('bf16', 'f32'),
  cast_f16_bf16: cast('f16', 'bf16'),
  cast_bf16_f16: cast('bf16', 'f16'),
  cast_bool_f32: cast('bool', 'f32', (m, vm) => V.and(m, vm.f(1))),
  cast_f32_bool: cast('f32', 'bool', (x, vm) => F4.ne(x, vm.f(0))),
};
