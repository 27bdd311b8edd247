/**
 * Vectorised float32 elementary functions for the WebAssembly SIMD kernels
 * (WebAssembly has no exp, log or tanh instruction). Each function is emitted
 * inline as a statement `fn(dst, x)`: dst ← f(x) lane by lane, with `x`
 * evaluated once. The scratch locals each function needs are declared once
 * per kernel function and reused by every copy of its code.
 *
 * Methods (argument reduction + a minimax polynomial, as in Cephes' float
 * routines, S. L. Moshier, "Methods and Programs for Mathematical Functions",
 * 1989). The coefficients are our own fits, made by scripts/fit-kernel-polys.ts
 * (Lawson's minimax algorithm), whose report gives the float32 accuracy:
 * - exp: x = k·ln2 + r, |r| ≤ ln2/2 (Cody–Waite split of ln2 so k·ln2_hi is
 *   exact), eʳ = 1 + r + r²P(r); 2ᵏ is applied as two factors 2^⌊k/2⌋·2^(k−⌊k/2⌋)
 *   so gradual underflow and overflow to ∞ come out right. ≤ 1 ulp.
 * - log: x = m·2ᵉ with m ∈ [√½, √2), log(1+t) = t − t²/2 + t³Q(t). ≤ 1 ulp;
 *   subnormal inputs are scaled by 2²³ first.
 * - tanh: x + x³R(x²) for |x| < 0.625, else sign(x)·(1 − 2/(e^{2|x|} + 1)). ≤ 2 ulp.
 * - erf: z + z·S(z²) for |z| < 1; else 1 − erfc(|z|), with
 *   erfc(t) = e^{−t²}·G(1/t²)/t on [1, 2) and [2, ∞) (the first G in 1/t² − 0.625). e^{−t²} is computed from
 *   an exact split t = t_hi + t_lo (t_hi keeps 12 bits, so t_hi² is exact):
 *   e^{−t_hi²}·e^{−t_lo(t + t_hi)}, which keeps the relative accuracy of the
 *   tail (t² rounded once would cost ~t² ulps).
 * - GELU (exact form) uses Φ(x) = ½ erfc(−x/√2) in the same way, so its tail
 *   for negative x is accurate relative to its (tiny) value; the tanh form
 *   uses ½(1 + tanh u) = σ(2u), so it needs no cancelling 1 + tanh.
 * - sigmoid: σ(x) = 1/(1 + e^{−|x|}) for x ≥ 0 and e^{−|x|}/(1 + e^{−|x|}) below.
 * - log1p and expm1: W. Kahan's tricks (u = 1 + x; log(u)·x/(u − 1), and
 *   (u − 1)·x/log u for u = eˣ), which cancel the rounding error of u.
 */
import { get, madd, set, type Expr, type FuncScope, type Ins, type Local } from '../emit.js';
import { c4, F4, I4, i4, V } from './simd.js';

type V128 = Expr<'v128'>;

/** eʳ = 1 + r + r²·P(r) on |r| ≤ ln2/2 (P lowest degree first) */
const EXP_P = [0.5, 0.166666657, 0.0416662954, 0.00833349675, 0.00139446498, 0.000197903573];
/** log(1+t) = t − t²/2 + t³·Q(t) on [√½ − 1, √2 − 1] */
const LOG_Q = [0.333333135, -0.250000089, 0.200021192, -0.166679963, 0.142195508, -0.124055915, 0.118881747, -0.116756409, 0.0674660131];
/** tanh(x) = x + x³·R(x²) on |x| ≤ 0.625 */
const TANH_R = [-0.333332807, 0.133314416, -0.0537397154, 0.0206390899, -0.00570499059];
/** erf(z) = z + z·S(z²) on |z| ≤ 1 */
const ERF_S = [0.128379166, -0.37612626, 0.112835854, -0.0268538166, 0.00518833427, -0.000801024726, 0.0000785402517];
/** erfc(t) = e^{−t²}·G(1/t² − 0.625)/t on [1, 2] */
const ERFC_G1 = [0.461354494, -0.105825394, 0.0518401638, -0.0332297459, 0.0246886536, -0.0193748791, 0.0164086353, -0.0223629493, 0.0232683234];
/** and on [2, 10] (beyond, e^{−t²} underflows float32) */
const ERFC_G2 = [0.564189553, -0.282085836, 0.422510028, -1.03526378, 3.22573805, -10.0507574, 24.9300404, -39.7066002, 29.1054726];

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const SIGN = -0x80000000;
const MAGIC = 12582912; // 1.5·2²³
const MAGIC_BITS = 0x4b400000;

/** Code generator for the functions above, bound to one kernel function's locals. */
export class VMath {
  private readonly locals = new Map<string, Local<'v128'>>();
  private readonly consts = new Map<string, Local<'v128'>>();
  private readonly init: Ins[] = [];

  constructor(
    private readonly f_: FuncScope,
    readonly fused: boolean,
  ) {}

  /** A scratch local owned by the function `owner` (never live across a call to the same owner). */
  private t(owner: string, i: number): Local<'v128'> {
    const key = `${owner}.${i}`;
    let l = this.locals.get(key);
    if (!l) this.locals.set(key, (l = this.f_.local('v128')));
    return l;
  }

  /**
   * A float32 constant in all lanes, hoisted: set once in the prologue and
   * read from a local in the loop (V8 rebuilds a v128.const from immediates
   * with ~4 instructions at each use; a local is a register or one load).
   */
  f(x: number): V128 {
    return this.hoist(`f${Object.is(x, -0) ? '-0' : x}`, c4(x));
  }

  /** A 32-bit integer (bit pattern) constant in all lanes, hoisted like `f`. */
  i(n: number): V128 {
    return this.hoist(`i${n | 0}`, i4(n));
  }

  private hoist(key: string, value: V128): V128 {
    let l = this.consts.get(key);
    if (!l) {
      this.consts.set(key, (l = this.f_.local('v128')));
      this.init.push(set(l, value));
    }
    return get(l);
  }

  /** The constants' initialisation: emit it at the start of the kernel function. */
  prologue(): Ins {
    return this.init.flat();
  }

  /** `n` scratch locals of `owner` */
  private ts(owner: string, n: number): Local<'v128'>[] {
    return Array.from({ length: n }, (_, i) => this.t(owner, i));
  }

  /** a·b + c (fused where relaxed SIMD is available) */
  madd(a: V128, b: V128, c: V128): V128 {
    return madd(this.fused, a, b, c);
  }

  /** Horner evaluation of Σ c_j u^j; `u` must be a cheap expression (a local). */
  poly(c: readonly number[], u: V128): V128 {
    let p = this.f(c[c.length - 1]!);
    for (let j = c.length - 2; j >= 0; j--) p = this.madd(p, u, this.f(c[j]!));
    return p;
  }

  exp(dst: Local<'v128'>, x: V128): Ins {
    const [xv, k, r, ki] = this.ts('exp', 4);
    const pow2 = (e: V128): V128 => I4.shl(I4.add(e, this.i(127)), 23);
    return [
      // below −104 the result rounds to 0; above 89 to ∞ (NaN passes through pmin/pmax)
      set(xv, F4.pmin(F4.pmax(x, this.f(-104)), this.f(89))),
      // k = round(x·log2 e) by adding 1.5·2²³: the sum's low mantissa bits are k as an integer
      set(ki, this.madd(get(xv), this.f(LOG2E), this.f(MAGIC))),
      set(k, F4.sub(get(ki), this.f(MAGIC))),
      set(ki, I4.sub(get(ki), this.i(MAGIC_BITS))),
      set(r, F4.sub(F4.sub(get(xv), F4.mul(get(k), this.f(LN2_HI))), F4.mul(get(k), this.f(LN2_LO)))),
      set(dst, F4.add(this.madd(this.poly(EXP_P, get(r)), F4.mul(get(r), get(r)), get(r)), this.f(1))),
      set(k, I4.shrS(get(ki), 1)),
      set(dst, F4.mul(F4.mul(get(dst), pow2(get(k))), pow2(I4.sub(get(ki), get(k))))),
    ].flat();
  }

  log(dst: Local<'v128'>, x: V128): Ins {
    const [xv, xs, e, m, z, small] = this.ts('log', 6);
    return [
      set(xv, x),
      // subnormals: scale by 2^23 and remember it in the exponent
      set(small, F4.lt(get(xv), this.f(1.1754943508222875e-38))),
      set(xs, V.select(F4.mul(get(xv), this.f(8388608)), get(xv), get(small))),
      set(e, F4.sub(F4.fromI32(I4.sub(I4.shrU(get(xs), 23), this.i(126))), V.and(get(small), this.f(23)))),
      set(m, V.or(V.and(get(xs), this.i(0x007fffff)), this.i(0x3f000000))), // m ∈ [0.5, 1)
      set(small, F4.lt(get(m), this.f(SQRT1_2))),
      set(e, F4.sub(get(e), V.and(get(small), this.f(1)))),
      set(m, F4.sub(F4.add(get(m), V.and(get(small), get(m))), this.f(1))), // t = m or 2m, minus 1
      set(z, F4.mul(get(m), get(m))),
      set(dst, F4.mul(F4.mul(this.poly(LOG_Q, get(m)), get(z)), get(m))),
      set(dst, this.madd(get(e), this.f(LN2_LO), get(dst))),
      set(dst, this.madd(get(z), this.f(-0.5), get(dst))),
      set(dst, this.madd(get(e), this.f(LN2_HI), F4.add(get(m), get(dst)))),
      // log 0 = −∞, log(x < 0) = NaN, log ∞ = ∞, log NaN = NaN
      set(dst, V.select(this.f(-Infinity), get(dst), F4.eq(get(xv), this.f(0)))),
      set(dst, V.select(this.f(NaN), get(dst), F4.lt(get(xv), this.f(0)))),
      set(dst, V.select(get(xv), get(dst), V.or(F4.eq(get(xv), this.f(Infinity)), F4.ne(get(xv), get(xv))))),
    ].flat();
  }

  tanh(dst: Local<'v128'>, x: V128): Ins {
    const [xv, ax, z, big] = this.ts('tanh', 4);
    return [
      set(xv, x),
      set(ax, F4.abs(get(xv))),
      this.exp(big, F4.add(get(ax), get(ax))),
      set(big, F4.sub(this.f(1), F4.div(this.f(2), F4.add(get(big), this.f(1))))),
      set(big, V.or(get(big), V.and(get(xv), this.i(SIGN)))),
      set(z, F4.mul(get(xv), get(xv))),
      set(z, this.madd(F4.mul(get(xv), get(z)), this.poly(TANH_R, get(z)), get(xv))),
      set(dst, V.select(get(z), get(big), F4.lt(get(ax), this.f(0.625)))),
    ].flat();
  }

  sigmoid(dst: Local<'v128'>, x: V128): Ins {
    const [xv, s] = this.ts('sigmoid', 2);
    return [
      set(xv, x),
      this.exp(s, F4.neg(F4.abs(get(xv)))),
      set(dst, F4.div(this.f(1), F4.add(get(s), this.f(1)))),
      set(dst, V.select(F4.mul(get(s), get(dst)), get(dst), F4.lt(get(xv), this.f(0)))),
    ].flat();
  }

  /**
   * erfc(t) for t = a·scale ≥ 1 (a ≥ 0 exact, scale² a power of two: 1 or ½);
   * e^{−t²} from the exact split of a. Meaningless for t < 1 (the callers select).
   */
  private erfcTail(dst: Local<'v128'>, a: Local<'v128'>, scale: number): Ins {
    const [hi, lo, t, w, g, e2, ac] = this.ts('erfc', 7);
    const s2 = scale * scale;
    return [
      // erfc(t) is 0 in float32 long before t = 14; clamping keeps ∞ − ∞ out of the split (NaN passes)
      set(ac, F4.pmin(get(a), this.f(20))),
      set(hi, V.and(get(ac), this.i(0xfffff000 | 0))),
      set(lo, F4.sub(get(ac), get(hi))),
      set(t, F4.mul(get(ac), this.f(scale))),
      set(w, F4.div(this.f(1), F4.mul(get(t), get(t)))),
      set(g, V.select(this.poly(ERFC_G1, F4.sub(get(w), this.f(0.625))), this.poly(ERFC_G2, get(w)), F4.lt(get(t), this.f(2)))),
      this.exp(dst, F4.mul(F4.mul(get(hi), get(hi)), this.f(-s2))),
      this.exp(e2, F4.mul(F4.mul(get(lo), F4.add(get(ac), get(hi))), this.f(-s2))),
      set(dst, F4.div(F4.mul(F4.mul(get(dst), get(e2)), get(g)), get(t))),
    ].flat();
  }

  erf(dst: Local<'v128'>, x: V128): Ins {
    const [xv, a, s] = this.ts('erf', 3);
    return [
      set(xv, x),
      set(a, F4.abs(get(xv))),
      this.erfcTail(dst, a, 1),
      set(dst, V.or(F4.sub(this.f(1), get(dst)), V.and(get(xv), this.i(SIGN)))),
      set(s, this.madd(get(xv), this.poly(ERF_S, F4.mul(get(xv), get(xv))), get(xv))),
      set(dst, V.select(get(s), get(dst), F4.lt(get(a), this.f(1)))),
    ].flat();
  }

  /** GELU, exact: x·Φ(x), Φ(x) = ½(1 + erf(x/√2)) near 0 and ½erfc(|x|/√2) (or 1 minus it) beyond. */
  geluErf(dst: Local<'v128'>, x: V128): Ins {
    const [xv, a, z, s] = this.ts('geluErf', 4);
    return [
      set(xv, x),
      set(a, F4.abs(get(xv))),
      this.erfcTail(dst, a, SQRT1_2),
      set(dst, F4.mul(get(dst), this.f(0.5))),
      set(dst, V.select(F4.sub(this.f(1), get(dst)), get(dst), F4.gt(get(xv), this.f(0)))),
      set(z, F4.mul(get(xv), this.f(SQRT1_2))),
      // ½(1 + erf z) = ½((1 + z) + z·S(z²)): for z < 0, 1 + z is exact where it cancels
      set(s, F4.mul(this.madd(get(z), this.poly(ERF_S, F4.mul(get(z), get(z))), F4.add(get(z), this.f(1))), this.f(0.5))),
      set(dst, V.select(get(s), get(dst), F4.lt(get(a), this.f(Math.SQRT2)))),
      set(dst, F4.mul(get(xv), get(dst))),
    ].flat();
  }

  /** GELU, tanh form: ½x(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³). */
  geluTanh(dst: Local<'v128'>, x: V128): Ins {
    const [xv, u] = this.ts('geluTanh', 2);
    const k = 2 * SQRT_2_OVER_PI;
    return [
      set(xv, x),
      set(u, F4.mul(get(xv), this.madd(F4.mul(get(xv), get(xv)), this.f(k * GELU_C), this.f(k)))),
      this.sigmoid(dst, get(u)),
      set(dst, F4.mul(get(xv), get(dst))),
    ].flat();
  }

  silu(dst: Local<'v128'>, x: V128): Ins {
    const xv = this.t('silu', 0);
    return [set(xv, x), this.sigmoid(dst, get(xv)), set(dst, F4.mul(get(xv), get(dst)))].flat();
  }

  /** log(1 + x), Kahan: log(u)·x/(u − 1) with u = 1 + x (x itself where u rounds to 1). */
  log1p(dst: Local<'v128'>, x: V128): Ins {
    const [xv, u] = this.ts('log1p', 2);
    return [
      set(xv, x),
      set(u, F4.add(get(xv), this.f(1))),
      this.log(dst, get(u)),
      set(dst, F4.div(F4.mul(get(dst), get(xv)), F4.sub(get(u), this.f(1)))),
      set(dst, V.select(get(xv), get(dst), V.or(F4.eq(get(u), this.f(1)), F4.eq(get(xv), this.f(Infinity))))),
    ].flat();
  }

  /** eˣ − 1, Kahan: (u − 1)·x/log u with u = eˣ (x where u rounds to 1, −1 where u − 1 does). */
  expm1(dst: Local<'v128'>, x: V128): Ins {
    const [xv, u, um1] = this.ts('expm1', 3);
    return [
      set(xv, x),
      this.exp(u, get(xv)),
      set(um1, F4.sub(get(u), this.f(1))),
      this.log(dst, get(u)),
      set(dst, F4.div(F4.mul(get(um1), get(xv)), get(dst))),
      set(dst, V.select(get(xv), get(dst), V.or(F4.eq(get(u), this.f(1)), F4.eq(get(xv), this.f(Infinity))))),
      set(dst, V.select(this.f(-1), get(dst), F4.eq(get(um1), this.f(-1)))),
    ].flat();
  }

  /** softplus with slope β: x where βx > 20 (PyTorch's threshold), else (max(y, 0) + log1p(e^{−|y|}))/β, y = βx. */
  softplus(dst: Local<'v128'>, x: V128, beta: V128): Ins {
    const [xv, y, e] = this.ts('softplus', 3);
    return [
      set(xv, x),
      set(y, F4.mul(get(xv), beta)),
      this.exp(e, F4.neg(F4.abs(get(y)))),
      this.log1p(dst, get(e)),
      set(dst, F4.div(F4.add(F4.max(get(y), this.f(0)), get(dst)), beta)),
      set(dst, V.select(get(xv), get(dst), F4.gt(get(y), this.f(20)))),
    ].flat();
  }
}
