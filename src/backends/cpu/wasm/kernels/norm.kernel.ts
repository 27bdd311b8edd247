/**
 * Generator of the layer-norm and RMS-norm kernels (WebAssembly SIMD), one
 * pass per statistic over contiguous rows of length D at byte stride sRow:
 *
 *   forward  (Ba, Kiros, Hinton, arXiv 1607.06450; Zhang, Sennrich, arXiv 1910.07467)
 *     μ = Σx/D (0 for RMS norm), σ² = Σ(x − μ)²/D, r = 1/√(σ² + ε),
 *     x̂ = (x − μ)·r,  y = x̂·w + b (w, b optional)
 *   backward, from the cotangent g (the standard closed form):
 *     ĝ = g·w,  c₁ = Σĝ/D (0 for RMS norm),  c₂ = Σĝ·x̂/D,
 *     ∂x = r·(ĝ − c₁ − x̂·c₂),  ∂w += g·x̂,  ∂b += g
 *
 * Statistics, x̂ and the backward sums are float64 (x̂ is rounded to float32
 * only to be stored), so a mean far from zero costs no accuracy. ∂w and ∂b
 * accumulate over this call's rows into a float64 block `part` (2·D values,
 * zeroed here); the caller gives each task its own block and combines them
 * in a fixed order, so threads never change the result.
 */
import { ModuleBuilder, call, f32, forUp, get, i32, set, type Expr, type Ins, type Local } from '../emit.js';
import { D2, F4, S, V, ifV128 } from './simd.js';
import { accF64, addRowHelpers, demote4, hsumF64, loadF64, whileBelow, zero } from './rowsAsm.js';

type V128 = Expr<'v128'>;
type F64 = Expr<'f64'>;

const FWD = { sc: 'i32', out: 'i32', x: 'i32', w: 'i32', b: 'i32', D: 'i32', sRow: 'i32', eps: 'f64', r0: 'i32', r1: 'i32', rms: 'i32' } as const;
const BWD = {
  sc: 'i32', gx: 'i32', part: 'i32', x: 'i32', w: 'i32', g: 'i32', D: 'i32', sRowX: 'i32', sRowG: 'i32', eps: 'f64', r0: 'i32', r1: 'i32', rms: 'i32',
} as const;

const f64c = (x: number): F64 => ({ t: 'f64', c: [0x44, ...new Uint8Array(new Float64Array([x]).buffer)] });

export function buildNorm(opts: { fused: boolean; shared: boolean }): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  const h = addRowHelpers(m);

  /** μ and r of the row at `q` into f64 locals (μ = 0 when `rms`). */
  const stats = (q: Local<'i32'>, D: Local<'i32'>, eps: Local<'f64'>, rms: Local<'i32'>, mu: Local<'f64'>, rs: Local<'f64'>): Ins =>
    [
      set(mu, S.select(f64c(0), S.f64Div(call(h.sum, get(q), get(D)), S.f64FromI32(get(D))), get(rms))),
      set(rs, S.f64Div(f64c(1), S.f64Sqrt(S.f64Add(S.f64Div(call(h.sqDev, get(q), get(D), get(mu)), S.f64FromI32(get(D))), get(eps))))),
    ].flat();

  m.func('lnFwd', FWD, null, (p, f) => {
    const [r, q, o, i, end4, wq, bq] = Array.from({ length: 7 }, () => f.local('i32'));
    const [mu, rs] = [f.local('f64'), f.local('f64')];
    const [muv, rsv, v, y] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const xhat = (lanes: V128): V128 => D2.mul(D2.sub(lanes, get(muv)), get(rsv));
    const affine = (val: V128, wAddr: Expr<'i32'>, bAddr: Expr<'i32'>, load: (a: Expr<'i32'>) => V128): V128 => {
      const withW = ifV128(get(p.w), [], F4.mul(val, load(wAddr)), [], val);
      return ifV128(get(p.b), [set(y, withW)], F4.add(get(y), load(bAddr)), [], withW);
    };
    return [
      forUp(r, get(p.r0), get(p.r1), 1,
        set(q, i32.add(get(p.x), i32.mul(get(r), get(p.sRow)))),
        set(o, i32.add(get(p.out), i32.shl(i32.mul(get(r), get(p.D)), 2))),
        stats(q, p.D, p.eps, p.rms, mu, rs),
        set(muv, D2.splat(get(mu))),
        set(rsv, D2.splat(get(rs))),
        set(wq, get(p.w)),
        set(bq, get(p.b)),
        set(end4, i32.add(get(q), i32.shl(S.andI(get(p.D), ~3), 2))),
        whileBelow(q, get(end4), 16,
          set(v, V.load(get(q))),
          set(v, demote4(xhat(D2.promoteLow(get(v))), xhat(D2.promoteLow(V.high64(get(v)))))),
          V.store(get(o), affine(get(v), get(wq), get(bq), (a) => V.load(a))),
          set(o, i32.add(get(o), 16)), set(wq, i32.add(get(wq), 16)), set(bq, i32.add(get(bq), 16)),
        ),
        forUp(i, S.andI(get(p.D), ~3), get(p.D), 1,
          set(v, F4.splat(S.f32FromF64(S.f64Mul(S.f64Sub(loadF64(get(q)), get(mu)), get(rs))))),
          f32.store(get(o), F4.extract(affine(get(v), get(wq), get(bq), (a) => V.load32Splat(a)), 0)),
          set(q, i32.add(get(q), 4)), set(o, i32.add(get(o), 4)), set(wq, i32.add(get(wq), 4)), set(bq, i32.add(get(bq), 4)),
        ),
      ),
    ];
  }, { export: true });

  m.func('lnBwd', BWD, null, (p, f) => {
    const [r, q, gq, wq, o, pw, i, end4] = Array.from({ length: 8 }, () => f.local('i32'));
    const [mu, rs, c1, c2] = [f.local('f64'), f.local('f64'), f.local('f64'), f.local('f64')];
    const [muv, rsv, xv, gv, wv, s1a, s1b, s2a, s2b, c1v, c2v] = Array.from({ length: 11 }, () => f.local('v128'));
    const [xh0, xh1, gh0, gh1] = Array.from({ length: 4 }, () => f.local('v128'));
    const D = get(p.D);
    /** the f64 lane pairs of x̂ and ĝ for the four elements at q, gq, wq */
    const lanes = (load: (a: Expr<'i32'>) => V128): Ins =>
      [
        set(xv, load(get(q))),
        set(gv, load(get(gq))),
        set(wv, ifV128(get(p.w), [], load(get(wq)), [], F4.splat(f32.const(1)))),
        set(xh0, D2.mul(D2.sub(D2.promoteLow(get(xv)), get(muv)), get(rsv))),
        set(xh1, D2.mul(D2.sub(D2.promoteLow(V.high64(get(xv))), get(muv)), get(rsv))),
        set(gh0, D2.mul(D2.promoteLow(get(gv)), D2.promoteLow(get(wv)))),
        set(gh1, D2.mul(D2.promoteLow(V.high64(get(gv))), D2.promoteLow(V.high64(get(wv))))),
      ].flat();
    /** ∂w, ∂b partial sums for `n` (4 or 1) elements at pw */
    const params = (n: 4 | 1): Ins => {
      const gw0 = D2.mul(D2.promoteLow(get(gv)), get(xh0));
      const gw1 = D2.mul(D2.promoteLow(V.high64(get(gv))), get(xh1));
      if (n === 1) {
        return [
          S.f64Store(get(pw), S.f64Add(S.f64Load(get(pw)), D2.extract(gw0, 0))),
          S.f64Store(i32.add(get(pw), i32.shl(D, 3)), S.f64Add(S.f64Load(i32.add(get(pw), i32.shl(D, 3))), S.f64FromF32(F4.extract(get(gv), 0)))),
        ].flat();
      }
      const gb = (k: number, lanesV: V128): Ins => V.store(i32.add(i32.add(get(pw), i32.shl(D, 3)), k), D2.add(V.load(i32.add(i32.add(get(pw), i32.shl(D, 3)), k)), lanesV));
      return [
        V.store(get(pw), D2.add(V.load(get(pw)), gw0)),
        V.store(i32.add(get(pw), 16), D2.add(V.load(get(pw), 16), gw1)),
        gb(0, D2.promoteLow(get(gv))),
        gb(16, D2.promoteLow(V.high64(get(gv)))),
      ].flat();
    };
    const gxOf = (gh: Local<'v128'>, xh: Local<'v128'>): V128 => D2.mul(D2.sub(D2.sub(get(gh), get(c1v)), D2.mul(get(xh), get(c2v))), get(rsv));
    const rowPtrs = (): Ins =>
      [
        set(q, i32.add(get(p.x), i32.mul(get(r), get(p.sRowX)))),
        set(gq, i32.add(get(p.g), i32.mul(get(r), get(p.sRowG)))),
        set(wq, get(p.w)),
        set(pw, get(p.part)),
        set(o, i32.add(get(p.gx), i32.shl(i32.mul(get(r), D), 2))),
        set(end4, i32.add(get(q), i32.shl(S.andI(D, ~3), 2))),
      ].flat();
    const advance = (n: number): Ins =>
      [set(q, i32.add(get(q), 4 * n)), set(gq, i32.add(get(gq), 4 * n)), set(wq, i32.add(get(wq), 4 * n)), set(pw, i32.add(get(pw), 8 * n)), set(o, i32.add(get(o), 4 * n))].flat();
    return [
      forUp(i, 0, i32.shl(D, 1), 1, S.f64Store(i32.add(get(p.part), i32.shl(get(i), 3)), f64c(0))),
      forUp(r, get(p.r0), get(p.r1), 1,
        set(q, i32.add(get(p.x), i32.mul(get(r), get(p.sRowX)))),
        stats(q, p.D, p.eps, p.rms, mu, rs),
        set(muv, D2.splat(get(mu))),
        set(rsv, D2.splat(get(rs))),
        // pass 1: c₁ = Σĝ/D, c₂ = Σĝ·x̂/D, and the ∂w, ∂b partials
        rowPtrs(),
        set(s1a, zero()), set(s1b, zero()), set(s2a, zero()), set(s2b, zero()),
        whileBelow(q, get(end4), 16,
          lanes((a) => V.load(a)),
          set(s1a, D2.add(get(s1a), get(gh0))), set(s1b, D2.add(get(s1b), get(gh1))),
          set(s2a, D2.add(get(s2a), D2.mul(get(gh0), get(xh0)))), set(s2b, D2.add(get(s2b), D2.mul(get(gh1), get(xh1)))),
          params(4),
          set(gq, i32.add(get(gq), 16)), set(wq, i32.add(get(wq), 16)), set(pw, i32.add(get(pw), 32)), set(o, i32.add(get(o), 16)),
        ),
        set(c1, hsumF64(D2.add(get(s1a), get(s1b)))),
        set(c2, hsumF64(D2.add(get(s2a), get(s2b)))),
        forUp(i, S.andI(D, ~3), D, 1,
          lanes((a) => V.load32Splat(a)),
          set(c1, S.f64Add(get(c1), D2.extract(get(gh0), 0))),
          set(c2, S.f64Add(get(c2), D2.extract(D2.mul(get(gh0), get(xh0)), 0))),
          params(1),
          advance(1),
        ),
        set(c1v, D2.splat(S.select(f64c(0), S.f64Div(get(c1), S.f64FromI32(D)), get(p.rms)))),
        set(c2v, D2.splat(S.f64Div(get(c2), S.f64FromI32(D)))),
        // pass 2: ∂x
        rowPtrs(),
        whileBelow(q, get(end4), 16,
          lanes((a) => V.load(a)),
          V.store(get(o), demote4(gxOf(gh0, xh0), gxOf(gh1, xh1))),
          set(gq, i32.add(get(gq), 16)), set(wq, i32.add(get(wq), 16)), set(o, i32.add(get(o), 16)),
        ),
        forUp(i, S.andI(D, ~3), D, 1,
          lanes((a) => V.load32Splat(a)),
          f32.store(get(o), F4.extract(F4.demoteD2(gxOf(gh0, xh0)), 0)),
          advance(1),
        ),
      ),
    ];
  }, { export: true });

  return m.toBytes();
}

export { accF64 };
