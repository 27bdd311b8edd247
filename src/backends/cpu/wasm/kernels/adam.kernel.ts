/**
 * Generator of the Adam/AdamW update kernel (WebAssembly SIMD): one pass
 * over the float32 parameter, gradient and moment buffers, in place
 * (Kingma & Ba, arXiv 1412.6980, algorithm 1; Loshchilov & Hutter, arXiv
 * 1711.05101, algorithm 2; AMSGrad: Reddi et al., arXiv 1904.09237).
 *
 * It computes exactly what the JavaScript loop of src/optim/adam.ts computes
 * on float32 arrays, operation for operation in float64 and rounding to
 * float32 where that loop stores (p after the decay, m, v, and p at the end):
 *
 *   gi = g·gScale (+ λ·p, Adam's L2 form)    p ← f32(p·decay)
 *   m ← f32(β₁m + c₁·gi)                      v ← f32(β₂v + (c₁′·gi)·gi)
 *   v̂ = max(v̂, v) (NaN wins) with AMSGrad     p ← f32(p − (s·m)/(√v̂/b + ε))
 *
 * IEEE add, mul, div and sqrt are correctly rounded in both, so the kernel
 * and the loop agree bit for bit (the test says so). Two float64 lanes per
 * f64x2 operation; four elements per pass (a float32 vector split in two),
 * then one at a time (lane 0 of a zero-extended load).
 */
import { ModuleBuilder, forUp, get, i32, if_, set, type Expr, type Ins, type Local } from '../emit.js';
import { D2, F4, S, V } from './simd.js';

type V128 = Expr<'v128'>;

const ARGS = {
  sc: 'i32', p: 'i32', g: 'i32', m: 'i32', v: 'i32', vmax: 'i32', n: 'i32',
  gScale: 'f64', l2: 'f64', decay: 'f64', b1: 'f64', c1: 'f64', b2: 'f64', c2: 'f64', step: 'f64', bc2: 'f64', eps: 'f64',
  useL2: 'i32', ams: 'i32',
} as const;

/** float64 lanes rounded through float32 and back (a float32 store and reload). */
const round32 = (x: V128): V128 => D2.promoteLow(F4.demoteD2(x));

export function buildAdam(opts: { shared: boolean }): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  m.func('adam', ARGS, null, (a, f) => {
    const [i, end4, off] = [f.local('i32'), f.local('i32'), f.local('i32')];
    const k = Object.fromEntries((['gScale', 'l2', 'decay', 'b1', 'c1', 'b2', 'c2', 'step', 'bc2', 'eps'] as const).map((n) => [n, f.local('v128')])) as Record<
      'gScale' | 'l2' | 'decay' | 'b1' | 'c1' | 'b2' | 'c2' | 'step' | 'bc2' | 'eps',
      Local<'v128'>
    >;
    const [pv, gv, mv, vv, xv] = Array.from({ length: 5 }, () => f.local('v128'));
    const [gi, pi, mi, vi, wi] = Array.from({ length: 5 }, () => f.local('v128'));
    const [pOut, mOut, vOut, xOut] = Array.from({ length: 4 }, () => f.local('v128'));
    const at = (base: Local<'i32'>): Expr<'i32'> => i32.add(get(base), get(off));

    /** the update of two elements given as float64 lanes (pi, gi, mi, vi, wi = v̂); results left in pi, mi, vi, wi */
    const lanes = (): Ins =>
      [
        set(gi, D2.mul(get(gi), get(k.gScale))),
        if_(get(a.useL2), [set(gi, D2.add(get(gi), D2.mul(get(k.l2), get(pi))))]),
        set(pi, round32(D2.mul(get(pi), get(k.decay)))),
        set(mi, round32(D2.add(D2.mul(get(k.b1), get(mi)), D2.mul(get(k.c1), get(gi))))),
        set(vi, round32(D2.add(D2.mul(get(k.b2), get(vi)), D2.mul(D2.mul(get(k.c2), get(gi)), get(gi))))),
        if_(get(a.ams), [set(wi, V.select(get(vi), get(wi), V.or(D2.gt(get(vi), get(wi)), D2.ne(get(vi), get(vi)))))], [set(wi, get(vi))]),
        set(pi, D2.sub(get(pi), D2.div(D2.mul(get(k.step), get(mi)), D2.add(D2.div(D2.sqrt(get(wi)), get(k.bc2)), get(k.eps))))),
      ].flat();

    /** run `lanes` on the low (half 0) or high (half 1) pair of the loaded float32 vectors; demoted results into the outputs */
    const half = (h: 0 | 1): Ins => {
      const pick = (x: Local<'v128'>): V128 => D2.promoteLow(h ? V.high64(get(x)) : get(x));
      const put = (dst: Local<'v128'>, x: Local<'v128'>): Ins => set(dst, h ? V.concatLow(get(dst), F4.demoteD2(get(x))) : F4.demoteD2(get(x)));
      return [set(pi, pick(pv)), set(gi, pick(gv)), set(mi, pick(mv)), set(vi, pick(vv)), set(wi, pick(xv)), lanes(), put(pOut, pi), put(mOut, mi), put(vOut, vi), put(xOut, wi)].flat();
    };

    const splat = (Object.keys(k) as (keyof typeof k)[]).map((n) => set(k[n], D2.splat(get(a[n]))));
    return [
      ...splat,
      set(end4, S.andI(get(a.n), ~3)),
      set(xv, D2.splat(get(a.eps))), // v̂ lanes when AMSGrad is off (overwritten by v)
      forUp(i, 0, get(end4), 4,
        set(off, i32.shl(get(i), 2)),
        set(pv, V.load(at(a.p))), set(gv, V.load(at(a.g))), set(mv, V.load(at(a.m))), set(vv, V.load(at(a.v))),
        if_(get(a.ams), [set(xv, V.load(at(a.vmax)))]),
        half(0),
        half(1),
        V.store(at(a.p), get(pOut)), V.store(at(a.m), get(mOut)), V.store(at(a.v), get(vOut)),
        if_(get(a.ams), [V.store(at(a.vmax), get(xOut))]),
      ),
      forUp(i, get(end4), get(a.n), 1,
        set(off, i32.shl(get(i), 2)),
        set(pv, V.load32Zero(at(a.p))), set(gv, V.load32Zero(at(a.g))), set(mv, V.load32Zero(at(a.m))), set(vv, V.load32Zero(at(a.v))),
        if_(get(a.ams), [set(xv, V.load32Zero(at(a.vmax)))]),
        half(0),
        V.store32Lane(at(a.p), get(pOut), 0), V.store32Lane(at(a.m), get(mOut), 0), V.store32Lane(at(a.v), get(vOut), 0),
        if_(get(a.ams), [V.store32Lane(at(a.vmax), get(xOut), 0)]),
      ),
    ];
  }, { export: true });
  return m.toBytes();
}
