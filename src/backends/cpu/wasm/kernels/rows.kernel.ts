/**
 * Generator of the reduction and softmax kernels (WebAssembly SIMD).
 *
 * Reductions see the input as a 3-d box [A, R, B] (strides in bytes; the
 * caller merges axes) and write out[a, b] = ⊕_r x[a, r, b], contiguous in
 * (a, b), for a ∈ [a0, a1) and b ∈ [b0, b1):
 * - B = 1 with unit R stride: one row per output (sumRow/maxRow of rowsAsm.ts);
 * - unit B stride: eight or four columns at a time, accumulated over r in
 *   registers (column sums such as a bias gradient);
 * - anything else: one element at a time.
 * `sum` accumulates in float64 and writes float32, or float64 when `wide`
 * (partial sums the caller combines in a fixed order with `combine`, so a
 * long reduction split over threads gives the same bits as one thread).
 *
 * `softmax` works on contiguous rows of length D at byte stride sRow: the
 * row max m (NaN-propagating; replaced by 0 where not finite, as the
 * reference does), e = exp(x − m) with Σe in float64, then e·(1/Σe), or for
 * the log form (x − m) − log Σe.
 */
import { ModuleBuilder, call, f32, forUp, get, i32, if_, set, type Expr, type FuncScope, type Ins, type Local } from '../emit.js';
import { D2, F4, I4, S, V } from './simd.js';
import { VMath } from './vmath.js';
import { accF64, addRowHelpers, demote4, hsumF64, loadF64, whileBelow, zero, type RowHelpers } from './rowsAsm.js';

type I32 = Expr<'i32'>;
type V128 = Expr<'v128'>;

const RED = {
  sc: 'i32', out: 'i32', x: 'i32', A: 'i32', R: 'i32', B: 'i32', sA: 'i32', sR: 'i32', sB: 'i32',
  a0: 'i32', a1: 'i32', b0: 'i32', b1: 'i32', wide: 'i32',
} as const;

type Kind = 'sum' | 'max' | 'min';

function addReduce(m: ModuleBuilder, kind: Kind, h: RowHelpers): void {
  m.func(kind, RED, null, (p, f) => {
    const [a, b, r, pa, q] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const acc = Array.from({ length: 4 }, () => f.local('v128'));
    const v = f.local('v128');
    const t = f.local('f64');
    const tf = f.local('f32');
    const isSum = kind === 'sum';
    const op = kind === 'max' ? F4.max : F4.min;
    const sop = kind === 'max' ? S.f32Max : S.f32Min;
    /** out element index (a, b) as a byte address, f32 or f64 wide */
    const outAt = (bIdx: I32): I32 => i32.add(get(p.out), i32.shl(i32.add(i32.mul(get(a), get(p.B)), bIdx), 2));
    const outWideAt = (bIdx: I32): I32 => i32.add(get(p.out), i32.shl(i32.add(i32.mul(get(a), get(p.B)), bIdx), 3));
    /** store one result, given as f64 (sum) or f32 (extrema) */
    const storeOne = (bIdx: I32, valF64: Expr<'f64'>): Ins =>
      if_(get(p.wide), [S.f64Store(outWideAt(bIdx), valF64)], [f32.store(outAt(bIdx), S.f32FromF64(valF64))]);

    /** columns [b, b + 4·nv) accumulated over r: sums as f64 pairs, extrema as f32x4 */
    const columns = (nv: 1 | 2): Ins => {
      const init: Ins[] = isSum ? acc.slice(0, 2 * nv).map((l) => set(l, zero())) : acc.slice(0, nv).map((l, k) => set(l, V.load(i32.add(get(q), 16 * k))));
      const step: Ins[] = [];
      for (let k = 0; k < nv; k++) {
        step.push(set(v, V.load(get(q), 16 * k)));
        step.push(isSum ? accF64(acc[2 * k]!, acc[2 * k + 1]!, get(v)) : set(acc[k]!, op(get(acc[k]!), get(v))));
      }
      const store: Ins[] = [];
      for (let k = 0; k < nv; k++) {
        if (isSum) {
          store.push(if_(get(p.wide), [
            V.store(outWideAt(i32.add(get(b), 4 * k)), get(acc[2 * k]!)),
            V.store(outWideAt(i32.add(get(b), 4 * k + 2)), get(acc[2 * k + 1]!)),
          ], [V.store(outAt(i32.add(get(b), 4 * k)), demote4(get(acc[2 * k]!), get(acc[2 * k + 1]!)))]));
        } else store.push(V.store(outAt(i32.add(get(b), 4 * k)), get(acc[k]!)));
      }
      return [
        set(q, i32.add(get(pa), i32.mul(get(b), get(p.sB)))),
        ...init,
        forUp(r, isSum ? 0 : 1, get(p.R), 1, ...(isSum ? [] : [set(q, i32.add(get(q), get(p.sR)))]), ...step, ...(isSum ? [set(q, i32.add(get(q), get(p.sR)))] : [])),
        ...store,
        set(b, i32.add(get(b), 4 * nv)),
      ].flat();
    };
    /** one output by a strided scalar loop */
    const scalar = (): Ins => [
      set(q, i32.add(get(pa), i32.mul(get(b), get(p.sB)))),
      ...(isSum
        ? [set(t, S.f64FromI32(i32.const(0))), forUp(r, 0, get(p.R), 1, set(t, S.f64Add(get(t), loadF64(get(q)))), set(q, i32.add(get(q), get(p.sR)))), storeOne(get(b), get(t))]
        : [set(tf, f32.load(get(q))), forUp(r, 1, get(p.R), 1, set(q, i32.add(get(q), get(p.sR))), set(tf, sop(get(tf), f32.load(get(q))))), storeOne(get(b), S.f64FromF32(get(tf)))]),
    ].flat();
    const rowFn = kind === 'sum' ? h.sum : kind === 'max' ? h.max : h.min;
    const rowCall = (): Expr<'f64'> => (isSum ? call(h.sum, get(pa), get(p.R)) : S.f64FromF32(call(rowFn as RowHelpers['max'], get(pa), get(p.R))));

    return [
      forUp(a, get(p.a0), get(p.a1), 1,
        set(pa, i32.add(get(p.x), i32.mul(get(a), get(p.sA)))),
        set(b, get(p.b0)),
        if_(i32.and(i32.eq(get(p.B), 1), i32.eq(get(p.sR), 4)), [storeOne(i32.const(0), rowCall())], [
          if_(i32.eq(get(p.sB), 4), [
            whileLe(b, 8, p.b1, columns(2)),
            whileLe(b, 4, p.b1, columns(1)),
          ]),
          forUp(b, get(b), get(p.b1), 1, scalar()),
        ]),
      ),
    ];
  }, { export: true });
}

/** `while (b + k ≤ b1) body` (the body advances b) */
function whileLe(b: Local<'i32'>, k: number, b1: Local<'i32'>, body: Ins): Ins {
  const cond = (): I32 => i32.leS(i32.add(get(b), k), get(b1));
  return if_(cond(), [[0x03, 0x40, ...body, ...cond().c, 0x0d, 0x00, 0x0b]]);
}

const SM = { sc: 'i32', out: 'i32', x: 'i32', D: 'i32', sRow: 'i32', r0: 'i32', r1: 'i32', log: 'i32' } as const;

function addSoftmax(m: ModuleBuilder, h: RowHelpers, fused: boolean): void {
  m.func('softmax', SM, null, (p, f: FuncScope) => {
    const vm = new VMath(f, fused);
    const [r, q, o, end, end4] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const [mv, e, s0, s1, k] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const mx = f.local('f32');
    const t = f.local('f64');
    const rowStart = (): Ins => [...set(q, i32.add(get(p.x), i32.mul(get(r), get(p.sRow)))), ...set(o, i32.add(get(p.out), i32.shl(i32.mul(get(r), get(p.D)), 2)))];
    const bounds = (): Ins => [
      ...set(end, i32.add(get(q), i32.shl(get(p.D), 2))),
      ...set(end4, i32.add(get(q), i32.shl(S.andI(get(p.D), ~3), 2))),
    ];
    const adv = (l: Local<'i32'>, by: number): Ins => set(l, i32.add(get(l), by));
    const body = [
      rowStart(),
      bounds(),
      // m: the row max, 0 where it is not finite (a row of −∞ then gives NaN, as the reference)
      set(mx, call(h.max, get(q), get(p.D))),
      set(mx, S.select(get(mx), f32.const(0), S.f32Lt(S.f32Abs(get(mx)), f32.const(Infinity)))),
      set(mv, F4.splat(get(mx))),
      // e = exp(x − m), Σe in float64; softmax stores e
      set(s0, zero()), set(s1, zero()),
      whileBelow(q, get(end4), 16,
        vm.exp(e, F4.sub(V.load(get(q)), get(mv))),
        accF64(s0, s1, get(e)),
        if_(i32.eqz(get(p.log)), [V.store(get(o), get(e))]),
        adv(o, 16),
      ),
      set(t, hsumF64(D2.add(get(s0), get(s1)))),
      whileBelow(q, get(end), 4,
        vm.exp(e, F4.sub(V.load32Splat(get(q)), get(mv))),
        set(t, S.f64Add(get(t), S.f64FromF32(F4.extract(get(e), 0)))),
        if_(i32.eqz(get(p.log)), [f32.store(get(o), F4.extract(get(e), 0))]),
        adv(o, 4),
      ),
      rowStart(),
      bounds(),
      if_(i32.eqz(get(p.log)), [
        // y = e·(1/Σe)
        set(k, F4.splat(S.f32FromF64(S.f64Div(S.f64FromI32(i32.const(1)), get(t))))),
        set(end4, i32.add(get(o), i32.shl(S.andI(get(p.D), ~3), 2))),
        whileBelow(o, get(end4), 16, V.store(get(o), F4.mul(V.load(get(o)), get(k)))),
        set(end, i32.add(get(p.out), i32.shl(i32.mul(i32.add(get(r), 1), get(p.D)), 2))),
        whileBelow(o, get(end), 4, f32.store(get(o), F4.extract(F4.mul(V.load32Splat(get(o)), get(k)), 0))),
      ], [
        // y = x − (m + log Σe)
        vm.log(k, F4.splat(S.f32FromF64(get(t)))),
        set(k, F4.splat(S.f32FromF64(S.f64Add(S.f64FromF32(get(mx)), S.f64FromF32(F4.extract(get(k), 0)))))),
        whileBelow(q, get(end4), 16, V.store(get(o), F4.sub(V.load(get(q)), get(k))), adv(o, 16)),
        whileBelow(q, get(end), 4, f32.store(get(o), F4.extract(F4.sub(V.load32Splat(get(q)), get(k)), 0)), adv(o, 4)),
      ]),
    ];
    return [vm.prologue(), forUp(r, get(p.r0), get(p.r1), 1, ...body)];
  }, { export: true });
}

const SMB = { sc: 'i32', out: 'i32', y: 'i32', g: 'i32', D: 'i32', r0: 'i32', r1: 'i32', log: 'i32' } as const;

/**
 * softmaxBwd: the VJP of softmax / log-softmax over contiguous rows of length
 * D (y the forward output, g the cotangent, out contiguous):
 *   softmax:      ∂x = y·(g − Σ g·y)
 *   log-softmax:  ∂x = g − e^y·Σ g
 * The row sum in float64, the rest in float32.
 */
function addSoftmaxBwd(m: ModuleBuilder, fused: boolean): void {
  m.func('softmaxBwd', SMB, null, (p, f: FuncScope) => {
    const vm = new VMath(f, fused);
    const [r, yq, gq, o, end, end4] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const [s0, s1, v, sv, e] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const t = f.local('f64');
    const rowStart = (): Ins => [
      ...set(yq, i32.add(get(p.y), i32.shl(i32.mul(get(r), get(p.D)), 2))),
      ...set(gq, i32.add(get(p.g), i32.shl(i32.mul(get(r), get(p.D)), 2))),
      ...set(o, i32.add(get(p.out), i32.shl(i32.mul(get(r), get(p.D)), 2))),
      ...set(end, i32.add(get(yq), i32.shl(get(p.D), 2))),
      ...set(end4, i32.add(get(yq), i32.shl(S.andI(get(p.D), ~3), 2))),
    ];
    const adv = (by: number): Ins => [...set(gq, i32.add(get(gq), by)), ...set(o, i32.add(get(o), by))];
    /** the term summed: g·y, or g for the log form */
    const term = (load: (a: I32) => V128): V128 => V.select(load(get(gq)), F4.mul(load(get(gq)), load(get(yq))), I4.splat(i32.sub(i32.const(0), get(p.log))));
    /** ∂x for four lanes at yq, gq */
    const dx = (load: (a: I32) => V128): Ins =>
      if_(get(p.log), [vm.exp(e, load(get(yq))), set(v, F4.sub(load(get(gq)), F4.mul(get(e), get(sv))))], [set(v, F4.mul(load(get(yq)), F4.sub(load(get(gq)), get(sv))))]);
    const body = [
      rowStart(),
      set(s0, zero()), set(s1, zero()),
      whileBelow(yq, get(end4), 16, set(v, term((a) => V.load(a))), accF64(s0, s1, get(v)), adv(16)),
      set(t, hsumF64(D2.add(get(s0), get(s1)))),
      whileBelow(yq, get(end), 4, set(t, S.f64Add(get(t), S.f64FromF32(F4.extract(term((a) => V.load32Splat(a)), 0)))), adv(4)),
      set(sv, F4.splat(S.f32FromF64(get(t)))),
      rowStart(),
      whileBelow(yq, get(end4), 16, dx((a) => V.load(a)), V.store(get(o), get(v)), adv(16)),
      whileBelow(yq, get(end), 4, dx((a) => V.load32Splat(a)), f32.store(get(o), F4.extract(get(v), 0)), adv(4)),
    ];
    return [vm.prologue(), forUp(r, get(p.r0), get(p.r1), 1, ...body)];
  }, { export: true });
}

/** combine(sc, out, parts, P, n, stride): out[i] = f32(Σ_p parts[p·stride + i]) over float64 partial sums, p in order. */
function addCombine(m: ModuleBuilder): void {
  m.func('combine', { sc: 'i32', out: 'i32', parts: 'i32', P: 'i32', n: 'i32', stride: 'i32' }, null, (p, f) => {
    const [i, k, q] = [f.local('i32'), f.local('i32'), f.local('i32')];
    const t = f.local('f64');
    return [
      forUp(i, 0, get(p.n), 1,
        set(t, S.f64FromI32(i32.const(0))),
        set(q, i32.add(get(p.parts), i32.shl(get(i), 3))),
        forUp(k, 0, get(p.P), 1, set(t, S.f64Add(get(t), S.f64Load(get(q)))), set(q, i32.add(get(q), i32.shl(get(p.stride), 3)))),
        f32.store(i32.add(get(p.out), i32.shl(get(i), 2)), S.f32FromF64(get(t))),
      ),
    ];
  }, { export: true });
}

/** The reductions and softmax module. */
export function buildRows(opts: { fused: boolean; shared: boolean }): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  const h = addRowHelpers(m);
  addReduce(m, 'sum', h);
  addReduce(m, 'max', h);
  addReduce(m, 'min', h);
  addSoftmax(m, h, opts.fused);
  addSoftmaxBwd(m, opts.fused);
  addCombine(m);
  return m.toBytes();
}

export type { V128 };
