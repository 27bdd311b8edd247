/**
 * Building blocks shared by the reduction, softmax and normalisation kernel
 * generators: pointer loops with unsigned bounds (heap addresses may pass
 * 2 GiB, where signed compares break), float64 accumulation of float32
 * lanes, and internal per-row functions (Σx, Σ(x − μ)², max, min of a
 * contiguous float32 row).
 *
 * Why float64 accumulators: the reference kernels sum in float64, and a
 * float32 running sum over 10⁴-10⁶ terms drifts by far more than the
 * float32 tolerance; promoting each lane (f64x2.promote_low_f32x4) costs a
 * little arithmetic in a loop that is bound by memory anyway. Four
 * independent accumulators hide the add latency.
 */
import { f32, get, i32, if_, loop, brIf, set, type Expr, type FuncRef, type Ins, type Local, type ModuleBuilder } from '../emit.js';
import { D2, F4, S, V } from './simd.js';

type I32 = Expr<'i32'>;
type V128 = Expr<'v128'>;

export const zero = (): V128 => ({ t: 'v128', c: [0xfd, 0x0c, ...new Array<number>(16).fill(0)] });

/** `while (q < end) { body; q += step }` on unsigned addresses; `end` is re-read each pass (use a local). */
export function whileBelow(q: Local<'i32'>, end: I32, step: number, ...body: Ins[]): Ins {
  return if_(S.ltU(get(q), end), [loop(...body, set(q, i32.add(get(q), step)), brIf(0, S.ltU(get(q), end)))]);
}

/** lo += lanes 0-1 of v, hi += lanes 2-3, in float64 (v must be a cheap expression: a local). */
export function accF64(lo: Local<'v128'>, hi: Local<'v128'>, v: V128): Ins {
  return [...set(lo, D2.add(get(lo), D2.promoteLow(v))), ...set(hi, D2.add(get(hi), D2.promoteLow(V.high64(v))))];
}

/** The two float64 lanes of v added. */
export const hsumF64 = (v: V128): Expr<'f64'> => S.f64Add(D2.extract(v, 0), D2.extract(v, 1));

/** Four f32 lanes from two f64x2 (rounded). */
export const demote4 = (lo: V128, hi: V128): V128 => V.concatLow(F4.demoteD2(lo), F4.demoteD2(hi));

/** f64 of the f32 at `addr` */
export const loadF64 = (addr: I32): Expr<'f64'> => S.f64FromF32(f32.load(addr));

export interface RowHelpers {
  /** Σ x over a contiguous row (p, n), float64 */
  sum: FuncRef<'f64'>;
  /** Σ (x − μ)² over a contiguous row (p, n, μ: f64), float64 */
  sqDev: FuncRef<'f64'>;
  /** max (NaN-propagating) of a contiguous row (p, n), n ≥ 1 */
  max: FuncRef<'f32'>;
  /** min, likewise */
  min: FuncRef<'f32'>;
}

/** Add the internal row functions to a module. */
export function addRowHelpers(m: ModuleBuilder): RowHelpers {
  const sum = m.func('sumRow', { p: 'i32', n: 'i32' }, 'f64', (a, f) => {
    const [end, end8] = [f.local('i32'), f.local('i32')];
    const [s0, s1, s2, s3, v] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const t = f.local('f64');
    return [
      set(end, i32.add(get(a.p), i32.shl(get(a.n), 2))),
      set(end8, i32.add(get(a.p), i32.shl(S.andI(get(a.n), ~7), 2))),
      set(s0, zero()), set(s1, zero()), set(s2, zero()), set(s3, zero()),
      whileBelow(a.p, get(end8), 32,
        set(v, V.load(get(a.p))), accF64(s0, s1, get(v)),
        set(v, V.load(get(a.p), 16)), accF64(s2, s3, get(v)),
      ),
      set(t, hsumF64(D2.add(D2.add(get(s0), get(s1)), D2.add(get(s2), get(s3))))),
      whileBelow(a.p, get(end), 4, set(t, S.f64Add(get(t), loadF64(get(a.p))))),
      get(t).c,
    ];
  });

  const sqDev = m.func('sqDevRow', { p: 'i32', n: 'i32', mu: 'f64' }, 'f64', (a, f) => {
    const [end, end4] = [f.local('i32'), f.local('i32')];
    const [s0, s1, v, mu, d] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const t = f.local('f64');
    const sq = (acc: Local<'v128'>, lanes: V128): Ins => [...set(d, D2.sub(lanes, get(mu))), ...set(acc, D2.add(get(acc), D2.mul(get(d), get(d))))];
    return [
      set(end, i32.add(get(a.p), i32.shl(get(a.n), 2))),
      set(end4, i32.add(get(a.p), i32.shl(S.andI(get(a.n), ~3), 2))),
      set(mu, D2.splat(get(a.mu))),
      set(s0, zero()), set(s1, zero()),
      whileBelow(a.p, get(end4), 16, set(v, V.load(get(a.p))), sq(s0, D2.promoteLow(get(v))), sq(s1, D2.promoteLow(V.high64(get(v))))),
      set(t, hsumF64(D2.add(get(s0), get(s1)))),
      whileBelow(a.p, get(end), 4, set(t, S.f64Add(get(t), S.f64Mul(S.f64Sub(loadF64(get(a.p)), get(a.mu)), S.f64Sub(loadF64(get(a.p)), get(a.mu)))))),
      get(t).c,
    ];
  });

  const extremum = (name: string, op: (a: V128, b: V128) => V128, sop: (a: Expr<'f32'>, b: Expr<'f32'>) => Expr<'f32'>): FuncRef<'f32'> =>
    m.func(name, { p: 'i32', n: 'i32' }, 'f32', (a, f) => {
      const [end, end8] = [f.local('i32'), f.local('i32')];
      const [m0, m1] = [f.local('v128'), f.local('v128')];
      const t = f.local('f32');
      return [
        set(end, i32.add(get(a.p), i32.shl(get(a.n), 2))),
        set(end8, i32.add(get(a.p), i32.shl(S.andI(get(a.n), ~7), 2))),
        set(m0, V.load32Splat(get(a.p))),
        set(m1, get(m0)),
        whileBelow(a.p, get(end8), 32, set(m0, op(get(m0), V.load(get(a.p)))), set(m1, op(get(m1), V.load(get(a.p), 16)))),
        set(m0, op(get(m0), get(m1))),
        set(t, sop(sop(F4.extract(get(m0), 0), F4.extract(get(m0), 1)), sop(F4.extract(get(m0), 2), F4.extract(get(m0), 3)))),
        whileBelow(a.p, get(end), 4, set(t, sop(get(t), f32.load(get(a.p))))),
        get(t).c,
      ];
    });

  return { sum, sqDev, max: extremum('maxRow', F4.max, S.f32Max), min: extremum('minRow', F4.min, S.f32Min) };
}
