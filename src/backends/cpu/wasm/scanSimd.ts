/**
 * SIMD instructions the scan and recurrent-network kernels need beyond those
 * emit.ts offers (opcodes from the WebAssembly SIMD proposal, now in the core
 * specification: prefix 0xfd, then the LEB128 opcode), and a vectorised
 * exponential, which WebAssembly does not have as an instruction.
 *
 * exp follows the classic Cody-Waite scheme (as in Cephes' expf): write
 * x = k·ln 2 + r with k = round(x/ln 2) and |r| ≤ ln2/2, evaluate eʳ with a
 * degree-6 minimax polynomial, and build 2ᵏ from its exponent bits. Relative
 * error ≲ 2·10⁻⁷ on the clamped range [−87.3, 88.3] (below it the result is
 * ~1e−38, not 0, which a decay factor never notices).
 *
 * softplus and σ share one exponential t = e^(−|r|) ∈ (0, 1]:
 * softplus(r) = max(r, 0) + log1p(t) with log1p(t) = 2·atanh(s), s = t/(2 + t)
 * ∈ (0, ⅓], summed to s¹³ (truncation < 1e−8); σ(r) = (r ≥ 0 ? 1 : t)/(1 + t).
 */
import { f32, f32x4, get, madd, set, sleb, uleb, type Expr, type FuncScope, type Ins, type Local } from './emit.js';

const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const un = (a: Expr<'v128'>, op: number): Expr<'v128'> => ({ t: 'v128', c: [...a.c, ...simd(op)] });
const bin = (a: Expr<'v128'>, b: Expr<'v128'>, op: number): Expr<'v128'> => ({ t: 'v128', c: [...a.c, ...b.c, ...simd(op)] });

/** A v128 constant with the same f32 in all four lanes (v128.const: no splat at run time). */
export function constF32x4(x: number): Expr<'v128'> {
  const bytes = [...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
  return { t: 'v128', c: [...simd(0x0c), ...bytes] };
}

export const vx = {
  div: (a: Expr<'v128'>, b: Expr<'v128'>) => bin(a, b, 0xe7),
  min: (a: Expr<'v128'>, b: Expr<'v128'>) => bin(a, b, 0xe8),
  max: (a: Expr<'v128'>, b: Expr<'v128'>) => bin(a, b, 0xe9),
  neg: (a: Expr<'v128'>) => un(a, 0xe1),
  abs: (a: Expr<'v128'>) => un(a, 0xe0),
  /** lane mask a ≥ b */
  ge: (a: Expr<'v128'>, b: Expr<'v128'>) => bin(a, b, 0x46),
  /** v128.bitselect: bits of a where mask is 1, of b elsewhere */
  select: (a: Expr<'v128'>, b: Expr<'v128'>, mask: Expr<'v128'>): Expr<'v128'> => ({ t: 'v128', c: [...a.c, ...b.c, ...mask.c, ...simd(0x52)] }),
  nearest: (a: Expr<'v128'>) => un(a, 0x6a),
  /** i32x4.trunc_sat_f32x4_s */
  truncToI32: (a: Expr<'v128'>) => un(a, 0xf8),
  i32Add: (a: Expr<'v128'>, b: Expr<'v128'>) => bin(a, b, 0xae),
  /** i32x4.shl by an i32 scalar */
  i32Shl: (a: Expr<'v128'>, by: number): Expr<'v128'> => ({ t: 'v128', c: [...a.c, 0x41, ...sleb(by), ...simd(0xab)] }),
  i32Splat: (n: number): Expr<'v128'> => ({ t: 'v128', c: [0x41, ...sleb(n), ...simd(0x11)] }),
  /** f32x4.replace_lane */
  replaceLane: (v: Expr<'v128'>, lane: number, x: Expr<'f32'>): Expr<'v128'> => ({ t: 'v128', c: [...v.c, ...x.c, ...simd(0x20), lane] }),
  /** horizontal sum of the four lanes */
  hsum: (v: Expr<'v128'>, tmp: Local<'v128'>): Expr<'f32'> => {
    const s = (i: number): Expr<'f32'> => f32x4.extractLane(get(tmp), i);
    const first: Expr<'f32'> = { t: 'f32', c: [...set(tmp, v), ...s(0).c] };
    return f32.add(f32.add(first, s(1)), f32.add(s(2), s(3)));
  },
};

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** Cephes expf coefficients: eʳ ≈ 1 + r + r²·P(r) */
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/**
 * An exponential that reuses three v128 locals of the calling function:
 * `exp(dst, x)` is the statement dst = eˣ, lane by lane. `x` is evaluated once.
 */
export function expEmitter(f: FuncScope, fused: boolean): (dst: Local<'v128'>, x: Expr<'v128'>) => Ins {
  const xv = f.local('v128');
  const k = f.local('v128');
  const r = f.local('v128');
  return (dst, x) => {
    const ins: Ins[] = [
      set(xv, vx.min(vx.max(x, constF32x4(-87.3)), constF32x4(88.3))),
      set(k, vx.nearest(f32x4.mul(get(xv), constF32x4(LOG2E)))),
      set(r, f32x4.sub(f32x4.sub(get(xv), f32x4.mul(get(k), constF32x4(LN2_HI))), f32x4.mul(get(k), constF32x4(LN2_LO)))),
    ];
    let p: Expr<'v128'> = constF32x4(P[0]!);
    for (let i = 1; i < P.length; i++) p = madd(fused, p, get(r), constF32x4(P[i]!));
    // eʳ = p·r² + r + 1, then scale by 2ᵏ = bits((k + 127) << 23)
    ins.push(set(dst, madd(fused, p, f32x4.mul(get(r), get(r)), f32x4.add(get(r), constF32x4(1)))));
    ins.push(set(dst, f32x4.mul(get(dst), vx.i32Shl(vx.i32Add(vx.truncToI32(get(k)), vx.i32Splat(127)), 23))));
    return ins.flat();
  };
}

/**
 * softplus (and optionally σ) of a v128 local r, with the locals of the
 * calling function: `softplus(sp, sig, r)` is the statement sp = softplus(r),
 * sig = σ(r) (sig may be null).
 */
export function softplusEmitter(f: FuncScope, fused: boolean): (sp: Local<'v128'>, sig: Local<'v128'> | null, r: Local<'v128'>) => Ins {
  const exp = expEmitter(f, fused);
  const t = f.local('v128');
  const s = f.local('v128');
  const s2 = f.local('v128');
  return (sp, sig, r) => {
    let p: Expr<'v128'> = constF32x4(1 / 13);
    for (let k = 11; k >= 1; k -= 2) p = madd(fused, p, get(s2), constF32x4(1 / k));
    const ins: Ins[] = [
      exp(t, vx.neg(vx.abs(get(r)))),
      set(s, vx.div(get(t), f32x4.add(get(t), constF32x4(2)))),
      set(s2, f32x4.mul(get(s), get(s))),
      set(sp, madd(fused, f32x4.mul(get(s), constF32x4(2)), p, vx.max(get(r), v128zero()))),
    ];
    if (sig) ins.push(set(sig, vx.div(vx.select(constF32x4(1), get(t), vx.ge(get(r), v128zero())), f32x4.add(get(t), constF32x4(1)))));
    return ins.flat();
  };
}

const v128zero = (): Expr<'v128'> => constF32x4(0);
