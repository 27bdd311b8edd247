/**
 * Generator of FlashAttention's float32 forward and backward kernels as one
 * WebAssembly SIMD module (T. Dao, "FlashAttention-2", arXiv 2307.08691,
 * Algorithms 1 and 2; the plain statement of both passes is
 * zoo/attention/kernels/flashTs.ts, which this module is tested against).
 *
 * Exports, all working in place on the CPU heap (byte addresses), each
 * receiving its thread's scratch area first:
 * - `pack8(scratch, dst, src, rows, width)`: rows of `width` floats into
 *   slivers of 8 rows (for each column the 8 values of the sliver's rows),
 *   zero past `rows`: the layout the tile loop reads Kᵀ and Vᵀ from.
 * - `fwd(...)`: one query block of one head: for each key block, S = scale·QKᵀ
 *   (K pre-packed), mask (causal diagonal, short last block), online softmax
 *   (running max m and sum ℓ per row, rescaling the accumulator), O += P V;
 *   finally O/ℓ and (m, ℓ) per row.
 * - `bwd(...)`: one head: D = rowsum(dO∘O), then per key block and every
 *   query block that sees it, P = exp(S − L), dV += PᵀdO, dP = dO Vᵀ,
 *   dS = scale·P∘(dP − D), dK += dSᵀQ, dQ += dS K.
 *
 * Every product runs through one register-tiled loop (`gemm`): a 4×8 tile of
 * C in eight f32x4 accumulators, A read by scalar splats at arbitrary row and
 * depth strides (so Q, P and their transposes need no packing), B read as
 * rows of 8 floats. 8 accumulators + 2 B vectors + 1 splat stay within V8's
 * 15 usable xmm registers (see sgemm.kernel.ts).
 *
 * exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-5
 * polynomial, 2ⁿ built in the exponent bits; about 1 ulp), with inputs below
 * −87 flushed to exactly 0, so masked scores (−∞) give P = 0.
 *
 * Requirements the caller meets: d and dv multiples of 8, blockQ a multiple of
 * 4, blockK a multiple of 8; K pre-packed for `fwd` (rows padded to 8).
 */
import {
  ModuleBuilder, callS, doWhile, f32, f32x4, forUp, get, i32, if_, madd, seq, set, v128,
  type Expr, type FuncRef, type FuncScope, type Ins, type Local,
} from './emit.js';

const ex = <T extends 'v128' | 'f32' | 'i32'>(t: T, ...parts: (Expr | readonly number[])[]): Expr<T> =>
  ({ t, c: parts.flatMap((p) => ('t' in p ? [...p.c] : [...p])) }) as Expr<T>;
const simd = (op: number): number[] => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
/** SIMD and scalar instructions the shared emitter does not have (opcodes: WebAssembly SIMD spec, §5.4.8). */
const V = {
  const: (x: number): Expr<'v128'> => ex('v128', [0xfd, 0x0c, ...Array.from({ length: 4 }, () => [...new Uint8Array(new Float32Array([x]).buffer)]).flat()]),
  gt: (a: Expr<'v128'>, b: Expr<'v128'>) => ex('v128', a, b, simd(0x44)),
  and: (a: Expr<'v128'>, b: Expr<'v128'>) => ex('v128', a, b, simd(0x4e)),
  floor: (a: Expr<'v128'>) => ex('v128', a, simd(0x68)),
  /** pmin/pmax: b < a ? b : a and a < b ? b : a (one instruction each on x86; no NaN handling) */
  pmin: (a: Expr<'v128'>, b: Expr<'v128'>) => ex('v128', a, b, simd(0xea)),
  pmax: (a: Expr<'v128'>, b: Expr<'v128'>) => ex('v128', a, b, simd(0xeb)),
  truncSatI32: (a: Expr<'v128'>) => ex('v128', a, simd(0xf8)),
  i32add: (a: Expr<'v128'>, b: Expr<'v128'>) => ex('v128', a, b, simd(0xae)),
  i32shl: (a: Expr<'v128'>, n: Expr<'i32'>) => ex('v128', a, n, simd(0xab)),
  i32splat: (a: Expr<'i32'>) => ex('v128', a, simd(0x11)),
};
const shrU = (a: Expr<'i32'>, n: number): Expr<'i32'> => ex('i32', a, i32.const(n), [0x76]);
const F = {
  max: (a: Expr<'f32'>, b: Expr<'f32'>) => ex('f32', a, b, [0x97]),
  div: (a: Expr<'f32'>, b: Expr<'f32'>) => ex('f32', a, b, [0x95]),
};
const NEG_INF = -Infinity;

/** out = exp(x) on four lanes (Cephes expf); x < −87 (and −∞) give exactly 0. */
function expInto(fused: boolean, f: FuncScope, out: Local<'v128'>, x: Expr<'v128'>): Ins {
  const t = f.local('v128');
  const n = f.local('v128');
  const keep = f.local('v128');
  const y = f.local('v128');
  const c = V.const;
  const p = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  let poly: Expr<'v128'> = c(p[0]!);
  for (let i = 1; i < p.length; i++) poly = madd(fused, poly, get(t), c(p[i]!));
  return seq(
    set(t, x),
    set(keep, V.gt(get(t), c(-87))),
    set(t, V.pmin(V.pmax(get(t), c(-87)), c(88))),
    set(n, V.floor(madd(fused, get(t), c(Math.LOG2E), c(0.5)))),
    set(t, f32x4.sub(f32x4.sub(get(t), f32x4.mul(get(n), c(0.693359375))), f32x4.mul(get(n), c(-2.12194440e-4)))),
    set(y, poly),
    set(y, f32x4.add(madd(fused, get(y), f32x4.mul(get(t), get(t)), get(t)), c(1))),
    set(out, f32x4.mul(get(y), V.i32shl(V.i32add(V.truncSatI32(get(n)), V.i32splat(i32.const(127))), i32.const(23)))),
    set(out, V.and(get(out), get(keep))),
  );
}

/**
 * C (+)= α·A·B over `rows` rows (in tiles of 4; stores of rows ≥ `rows` are
 * skipped) and `groups` groups of 8 columns, depth kLen. A[r][k] is at
 * a + r·aRs + k·aKs; B[k][8g..8g+7] at b + g·bNs + k·bKs; C[r][8g..] at
 * c + r·cRs + 32g. `accum` ≠ 0 adds to C, else overwrites it.
 */
function gemm(m: ModuleBuilder, fused: boolean): FuncRef {
  const params = { a: 'i32', aRs: 'i32', aKs: 'i32', b: 'i32', bKs: 'i32', bNs: 'i32', c: 'i32', cRs: 'i32', rows: 'i32', groups: 'i32', kLen: 'i32', accum: 'i32', alpha: 'f32' } as const;
  return m.func('gemm', params, null, (p, f) => {
    const acc = Array.from({ length: 8 }, () => f.local('v128'));
    const [b0, b1, x, va] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const ap = Array.from({ length: 4 }, () => f.local('i32'));
    const [bp, kk, r0, g, cp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const step: Ins[] = [set(b0, v128.load(get(bp), 0, 2)), set(b1, v128.load(get(bp), 16, 2))];
    for (let r = 0; r < 4; r++) {
      step.push(set(x, v128.load32Splat(get(ap[r]!))));
      step.push(set(acc[2 * r]!, madd(fused, get(x), get(b0), get(acc[2 * r]!))));
      step.push(set(acc[2 * r + 1]!, madd(fused, get(x), get(b1), get(acc[2 * r + 1]!))));
    }
    for (let r = 0; r < 4; r++) step.push(set(ap[r]!, i32.add(get(ap[r]!), get(p.aKs))));
    step.push(set(bp, i32.add(get(bp), get(p.bKs))), set(kk, i32.sub(get(kk), 1)));
    const storeRow = (r: number, accum: boolean): Ins => {
      const v0 = f32x4.mul(get(acc[2 * r]!), get(va));
      const v1 = f32x4.mul(get(acc[2 * r + 1]!), get(va));
      return seq(
        v128.store(get(cp), accum ? f32x4.add(v128.load(get(cp), 0, 2), v0) : v0, 0, 2),
        v128.store(get(cp), accum ? f32x4.add(v128.load(get(cp), 16, 2), v1) : v1, 16, 2),
      );
    };
    const stores = (accum: boolean): Ins[] =>
      [0, 1, 2, 3].map((r) => seq(if_(i32.ltS(i32.add(get(r0), r), get(p.rows)), [storeRow(r, accum)]), set(cp, i32.add(get(cp), get(p.cRs)))));
    return [
      set(va, f32x4.splat(get(p.alpha))),
      forUp(
        r0, 0, get(p.rows), 4,
        forUp(
          g, 0, get(p.groups), 1,
          ...acc.map((a) => set(a, v128.zero())),
          set(ap[0]!, i32.add(get(p.a), i32.mul(get(r0), get(p.aRs)))),
          ...[1, 2, 3].map((r) => set(ap[r]!, i32.add(get(ap[r - 1]!), get(p.aRs)))),
          set(bp, i32.add(get(p.b), i32.mul(get(g), get(p.bNs)))),
          set(kk, get(p.kLen)),
          if_(i32.gtS(get(kk), 0), [doWhile(i32.gtS(get(kk), 0), ...step)]),
          set(cp, i32.add(i32.add(get(p.c), i32.mul(get(r0), get(p.cRs))), i32.shl(get(g), 5))),
          if_(get(p.accum), stores(true), stores(false)),
        ),
      ),
    ];
  });
}

/** Constant byte strides of one product site (see `gemm`). */
interface Strides {
  aRs: number;
  aKs: number;
  bKs: number;
  bNs: number;
  cRs: number;
}

/**
 * `gemm` with every stride a constant baked into the code: A's four rows are
 * read at constant offsets from one pointer (one add per depth step instead
 * of four), C's rows likewise. Params: a, b, c, rows, groups, kLen, accum, alpha.
 */
function gemmConst(m: ModuleBuilder, fused: boolean, st: Strides, name: string): FuncRef {
  const params = { a: 'i32', b: 'i32', c: 'i32', rows: 'i32', groups: 'i32', kLen: 'i32', accum: 'i32', alpha: 'f32' } as const;
  return m.func(name, params, null, (p, f) => {
    const acc = Array.from({ length: 8 }, () => f.local('v128'));
    const [b0, b1, x, va] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const [ap, aEnd, bp, r0, g, cp] = Array.from({ length: 6 }, () => f.local('i32'));
    const step: Ins[] = [set(b0, v128.load(get(bp), 0, 2)), set(b1, v128.load(get(bp), 16, 2))];
    for (let r = 0; r < 4; r++) {
      step.push(set(x, v128.load32Splat(get(ap), r * st.aRs)));
      step.push(set(acc[2 * r]!, madd(fused, get(x), get(b0), get(acc[2 * r]!))));
      step.push(set(acc[2 * r + 1]!, madd(fused, get(x), get(b1), get(acc[2 * r + 1]!))));
    }
    step.push(set(ap, i32.add(get(ap), st.aKs)), set(bp, i32.add(get(bp), st.bKs)));
    const storeRow = (r: number, accum: boolean): Ins => {
      const v0 = f32x4.mul(get(acc[2 * r]!), get(va));
      const v1 = f32x4.mul(get(acc[2 * r + 1]!), get(va));
      const o = r * st.cRs;
      return seq(
        v128.store(get(cp), accum ? f32x4.add(v128.load(get(cp), o, 2), v0) : v0, o, 2),
        v128.store(get(cp), accum ? f32x4.add(v128.load(get(cp), o + 16, 2), v1) : v1, o + 16, 2),
      );
    };
    const stores = (accum: boolean): Ins[] => [0, 1, 2, 3].map((r) => if_(i32.ltS(i32.add(get(r0), r), get(p.rows)), [storeRow(r, accum)]));
    return [
      set(va, f32x4.splat(get(p.alpha))),
      forUp(
        r0, 0, get(p.rows), 4,
        forUp(
          g, 0, get(p.groups), 1,
          ...acc.map((a) => set(a, v128.zero())),
          set(ap, i32.add(get(p.a), i32.mul(get(r0), st.aRs))),
          set(aEnd, i32.add(get(ap), i32.mul(get(p.kLen), st.aKs))),
          set(bp, i32.add(get(p.b), i32.mul(get(g), st.bNs))),
          if_(i32.gtS(get(p.kLen), 0), [doWhile(i32.ne(get(ap), get(aEnd)), ...step)]),
          set(cp, i32.add(i32.add(get(p.c), i32.mul(get(r0), st.cRs)), i32.shl(get(g), 5))),
          if_(get(p.accum), stores(true), stores(false)),
        ),
      ),
    ];
  });
}

/** dst[(s·width + c)·8 + t] = src[(8s + t)·width + c] for rows 8s + t < rows, else 0. */
function pack8(m: ModuleBuilder): FuncRef {
  return m.func('pack8', { scratch: 'i32', dst: 'i32', src: 'i32', rows: 'i32', width: 'i32' }, null, (p, f) => {
    const [s, t, c, row, sp, dp] = Array.from({ length: 6 }, () => f.local('i32'));
    return [
      forUp(
        s, 0, get(p.rows), 8,
        forUp(
          t, 0, 8, 1,
          set(row, i32.add(get(s), get(t))),
          set(sp, i32.add(get(p.src), i32.shl(i32.mul(get(row), get(p.width)), 2))),
          set(dp, i32.add(get(p.dst), i32.shl(i32.add(i32.mul(get(s), get(p.width)), get(t)), 2))),
          forUp(
            c, 0, get(p.width), 1,
            f32.store(get(dp), if_f32(i32.ltS(get(row), get(p.rows)), f32.load(get(sp)), f32.const(0))),
            set(sp, i32.add(get(sp), 4)),
            set(dp, i32.add(get(dp), 32)),
          ),
        ),
      ),
    ];
  }, { export: true });
}

/** select(a, b, cond) as an f32 expression. */
function if_f32(cond: Expr<'i32'>, a: Expr<'f32'>, b: Expr<'f32'>): Expr<'f32'> {
  return ex('f32', a, b, cond, [0x1b]);
}

/** n floats from src to dst (n a multiple of 4), by vectors. */
function copyVec(f: FuncScope, dst: Expr<'i32'>, src: Expr<'i32'>, nFloats: Expr<'i32'>): Ins {
  const [i, dp, sp] = [f.local('i32'), f.local('i32'), f.local('i32')];
  return seq(set(dp, dst), set(sp, src), forUp(i, 0, nFloats, 4, v128.store(get(dp), v128.load(get(sp), 0, 2), 0, 2), set(dp, i32.add(get(dp), 16)), set(sp, i32.add(get(sp), 16))));
}

/** n floats at dst set to the vector v (n a multiple of 4). */
function fillVec(f: FuncScope, dst: Expr<'i32'>, nFloats: Expr<'i32'>, v: Expr<'v128'>): Ins {
  const [i, dp] = [f.local('i32'), f.local('i32')];
  return seq(set(dp, dst), forUp(i, 0, nFloats, 4, v128.store(get(dp), v, 0, 2), set(dp, i32.add(get(dp), 16))));
}

/** Horizontal reductions of a v128 to an f32. */
const hsum = (v: Expr<'v128'>, t: Local<'v128'>): Expr<'f32'> =>
  ex('f32', set(t, v), f32.add(f32.add(f32x4.extractLane(get(t), 0), f32x4.extractLane(get(t), 1)), f32.add(f32x4.extractLane(get(t), 2), f32x4.extractLane(get(t), 3))));
const hmax = (v: Expr<'v128'>, t: Local<'v128'>): Expr<'f32'> =>
  ex('f32', set(t, v), F.max(F.max(f32x4.extractLane(get(t), 0), f32x4.extractLane(get(t), 1)), F.max(f32x4.extractLane(get(t), 2), f32x4.extractLane(get(t), 3))));

/**
 * S[r][c] = −∞ for the columns a row may not see: c ≥ kc (past the block's
 * keys) and, when causal, c > qpos + r − j0 (past the diagonal). Rows 0..rows−1.
 */
function maskBlock(f: FuncScope, s: Expr<'i32'>, bcB: Expr<'i32'>, rows: Expr<'i32'>, kc: Expr<'i32'>, kcPad: Expr<'i32'>, causal: Expr<'i32'>, qposMinusJ0: Expr<'i32'>): Ins {
  const [r, c, lim, rp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  return forUp(
    r, 0, rows, 1,
    set(lim, kc),
    if_(causal, [set(lim, i32.minS(get(lim), i32.add(i32.add(qposMinusJ0, get(r)), 1)))]),
    set(rp, i32.add(s, i32.mul(get(r), bcB))),
    forUp(c, i32.minS(kcPad, ex('i32', get(lim), i32.const(0), get(lim), i32.const(0), [0x4a, 0x1b])), kcPad, 1, f32.store(i32.add(get(rp), i32.shl(get(c), 2)), f32.const(NEG_INF))),
  );
}

/**
 * The whole module; `fused` selects relaxed-SIMD multiply-adds, `shared` the
 * memory import. With `dims` (d, dv, blockK) every product's strides are
 * constants baked into specialised tile loops; without, one generic loop takes
 * them as arguments (and the module serves any sizes).
 */
export function buildFlash(opts: { fused: boolean; shared: boolean; dims?: { d: number; dv: number; bc: number } }): Uint8Array<ArrayBuffer> {
  const { fused } = opts;
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  const mm = gemm(m, fused);
  const special = new Map<string, FuncRef>();
  const call: GemmCall = (a, aRs, aKs, b, bKs, bNs, c, cRs, rows, groups, kLen, accum, alpha) => {
    const st = [aRs, aKs, bKs, bNs, cRs];
    if (st.every((x) => typeof x === 'number')) {
      const [nRs, nKs, nbKs, nbNs, ncRs] = st as number[];
      const key = st.join(',');
      let fn = special.get(key);
      if (!fn) special.set(key, (fn = gemmConst(m, fused, { aRs: nRs!, aKs: nKs!, bKs: nbKs!, bNs: nbNs!, cRs: ncRs! }, `gemm_${special.size}`)));
      return callS(fn, a, b, c, lit(rows), lit(groups), lit(kLen), lit(accum), alpha);
    }
    return callS(mm, ...[a, aRs, aKs, b, bKs, bNs, c, cRs, rows, groups, kLen, accum].map(lit), alpha);
  };
  const pk = pack8(m);
  const dims = opts.dims ? { dB: opts.dims.d * 4, dvB: opts.dims.dv * 4, bcB: opts.dims.bc * 4 } : undefined;
  forward(m, fused, call, dims);
  backward(m, fused, call, pk, dims);
  return m.toBytes();
}

type I32 = number | Expr<'i32'>;
const lit = (x: I32): Expr<'i32'> => (typeof x === 'number' ? i32.const(x) : x);
const times = (x: I32, k: number): I32 => (typeof x === 'number' ? x * k : k === 8 ? i32.shl(x, 3) : i32.mul(x, k));
/** Byte strides known when the module is built, or undefined (read from the arguments). */
type Consts = { dB: number; dvB: number; bcB: number } | undefined;

type GemmCall = (a: Expr<'i32'>, aRs: I32, aKs: I32, b: Expr<'i32'>, bKs: I32, bNs: I32, c: Expr<'i32'>, cRs: I32, rows: I32, groups: I32, kLen: I32, accum: I32, alpha: Expr<'f32'>) => Ins;

function forward(m: ModuleBuilder, fused: boolean, gemmCall: GemmCall, K: Consts): void {
  const params = {
    scratch: 'i32', q: 'i32', kp: 'i32', v: 'i32', o: 'i32', ml: 'i32', rows: 'i32', nk: 'i32', qpos: 'i32', causal: 'i32',
    d: 'i32', dv: 'i32', scale: 'f32', br: 'i32', bc: 'i32',
  } as const;
  m.func('fwd', params, null, (p, f) => {
    const L = (): Local<'i32'> => f.local('i32');
    const [qb, s, acc, mrow, lrow, rowsPad, jEnd, j0, kc, kcPad, r, c, rp, ap, dB, dvB, bcB] = Array.from({ length: 17 }, L);
    const [vmx, vm, vsum, e, t, va] = Array.from({ length: 6 }, () => f.local('v128'));
    const [mOld, mNew, alpha, inv] = Array.from({ length: 4 }, () => f.local('f32'));
    const [cd, cdv, cbc]: I32[] = K ? [K.dB, K.dvB, K.bcB] : [get(dB), get(dvB), get(bcB)];
    const softmaxRow: Ins[] = [
      set(rp, i32.add(get(s), i32.mul(get(r), get(bcB)))),
      set(vmx, V.const(NEG_INF)),
      forUp(c, 0, get(kcPad), 4, set(vmx, V.pmax(get(vmx), v128.load(i32.add(get(rp), i32.shl(get(c), 2)), 0, 2)))),
      set(mOld, f32.load(i32.add(get(mrow), i32.shl(get(r), 2)))),
      set(mNew, F.max(get(mOld), hmax(get(vmx), t))),
      expInto(fused, f, e, f32x4.splat(f32.sub(get(mOld), get(mNew)))),
      set(alpha, f32x4.extractLane(get(e), 0)),
      set(vm, f32x4.splat(get(mNew))),
      set(vsum, v128.zero()),
      forUp(
        c, 0, get(kcPad), 4,
        expInto(fused, f, e, f32x4.sub(v128.load(i32.add(get(rp), i32.shl(get(c), 2)), 0, 2), get(vm))),
        v128.store(i32.add(get(rp), i32.shl(get(c), 2)), get(e), 0, 2),
        set(vsum, f32x4.add(get(vsum), get(e))),
      ),
      f32.store(i32.add(get(lrow), i32.shl(get(r), 2)), f32.add(f32.mul(get(alpha), f32.load(i32.add(get(lrow), i32.shl(get(r), 2)))), hsum(get(vsum), t))),
      f32.store(i32.add(get(mrow), i32.shl(get(r), 2)), get(mNew)),
      // rescale the accumulator row by e^{m_old − m_new}
      if_(f32.ne(get(alpha), f32.const(1)), [
        set(va, f32x4.splat(get(alpha))),
        set(ap, i32.add(get(acc), i32.mul(get(r), get(dvB)))),
        forUp(c, 0, get(p.dv), 4, v128.store(get(ap), f32x4.mul(v128.load(get(ap), 0, 2), get(va)), 0, 2), set(ap, i32.add(get(ap), 16))),
      ]),
    ];
    return [
      set(dB, i32.shl(get(p.d), 2)),
      set(dvB, i32.shl(get(p.dv), 2)),
      set(bcB, i32.shl(get(p.bc), 2)),
      set(rowsPad, i32.and(i32.add(get(p.rows), 3), -4)),
      // scratch: Q block (br×d), S (br×bc), accumulator (br×dv), m, ℓ
      set(qb, get(p.scratch)),
      set(s, i32.add(get(qb), i32.mul(get(p.br), get(dB)))),
      set(acc, i32.add(get(s), i32.mul(get(p.br), get(bcB)))),
      set(mrow, i32.add(get(acc), i32.mul(get(p.br), get(dvB)))),
      set(lrow, i32.add(get(mrow), i32.shl(get(p.br), 2))),
      copyVec(f, get(qb), get(p.q), i32.mul(get(p.rows), get(p.d))),
      fillVec(f, i32.add(get(qb), i32.mul(get(p.rows), get(dB))), i32.mul(i32.sub(get(rowsPad), get(p.rows)), get(p.d)), v128.zero()),
      fillVec(f, get(mrow), get(rowsPad), V.const(NEG_INF)),
      fillVec(f, get(lrow), get(rowsPad), v128.zero()),
      fillVec(f, get(acc), i32.mul(get(rowsPad), get(p.dv)), v128.zero()),
      set(jEnd, get(p.nk)),
      if_(get(p.causal), [set(jEnd, i32.minS(get(jEnd), i32.add(get(p.qpos), get(p.rows))))]),
      forUp(
        j0, 0, get(jEnd), get(p.bc),
        set(kc, i32.minS(get(p.bc), i32.sub(get(jEnd), get(j0)))),
        set(kcPad, i32.and(i32.add(get(kc), 7), -8)),
        // S = scale · Q Kᵀ   (br × kcPad)
        gemmCall(get(qb), cd, 4, i32.add(get(p.kp), i32.mul(get(j0), get(dB))), 32, times(cd, 8), get(s), cbc, get(rowsPad), shrU(get(kcPad), 3), get(p.d), 0, get(p.scale)),
        if_(i32.or(i32.ltS(get(kc), get(kcPad)), i32.and(get(p.causal), i32.gtS(i32.add(get(j0), get(kc)), i32.add(get(p.qpos), 1)))), [
          maskBlock(f, get(s), get(bcB), get(p.rows), get(kc), get(kcPad), get(p.causal), i32.sub(get(p.qpos), get(j0))),
        ]),
        forUp(r, 0, get(p.rows), 1, ...softmaxRow),
        // O += P V_j   (br × dv, depth kc)
        gemmCall(get(s), cbc, 4, i32.add(get(p.v), i32.mul(get(j0), get(dvB))), cdv, 32, get(acc), cdv, get(rowsPad), shrU(get(p.dv), 3), get(kc), 1, f32.const(1)),
      ),
      forUp(
        r, 0, get(p.rows), 1,
        set(inv, F.div(f32.const(1), f32.load(i32.add(get(lrow), i32.shl(get(r), 2))))),
        set(va, f32x4.splat(get(inv))),
        set(ap, i32.add(get(acc), i32.mul(get(r), get(dvB)))),
        set(rp, i32.add(get(p.o), i32.mul(get(r), get(dvB)))),
        forUp(c, 0, get(p.dv), 4, v128.store(get(rp), f32x4.mul(v128.load(get(ap), 0, 2), get(va)), 0, 2), set(ap, i32.add(get(ap), 16)), set(rp, i32.add(get(rp), 16))),
        f32.store(i32.add(get(p.ml), i32.shl(get(r), 3)), f32.load(i32.add(get(mrow), i32.shl(get(r), 2)))),
        f32.store(i32.add(get(p.ml), i32.shl(get(r), 3)), f32.load(i32.add(get(lrow), i32.shl(get(r), 2))), 4),
      ),
    ];
  }, { export: true });
}

function backward(m: ModuleBuilder, fused: boolean, gemmCall: GemmCall, pk: FuncRef, K: Consts): void {
  const params = {
    scratch: 'i32', q: 'i32', k: 'i32', v: 'i32', o: 'i32', g: 'i32', lse: 'i32', dd: 'i32', dq: 'i32', dk: 'i32', dvo: 'i32',
    nq: 'i32', nk: 'i32', shift: 'i32', causal: 'i32', d: 'i32', dv: 'i32', scale: 'f32', br: 'i32', bc: 'i32',
  } as const;
  m.func('bwd', params, null, (p, f) => {
    const L = (): Local<'i32'> => f.local('i32');
    const [qb, gb, lb, db, kp, vp, s, dp, dka, dva] = Array.from({ length: 10 }, L);
    const [dB, dvB, bcB, i, c, j0, kc, kcPad, i0, rows, rowsPad, r, rp, pp, iFirst, a1, a2] = Array.from({ length: 17 }, L);
    const [acc, t, e, vl, vd, vs] = Array.from({ length: 6 }, () => f.local('v128'));
    const [cd, cdv, cbc]: I32[] = K ? [K.dB, K.dvB, K.bcB] : [get(dB), get(dvB), get(bcB)];
    const pack = (dst: Expr<'i32'>, src: Expr<'i32'>, n: Expr<'i32'>, w: Expr<'i32'>): Ins => callS(pk, get(p.scratch), dst, src, n, w);
    // P = exp(S − L_r) and, once dP is known, dS = scale·P∘(dP − D_r), row by row over kcPad columns
    const expRows: Ins = forUp(
      r, 0, get(rowsPad), 1,
      set(vl, f32x4.splat(f32.load(i32.add(get(lb), i32.shl(get(r), 2))))),
      set(rp, i32.add(get(s), i32.mul(get(r), get(bcB)))),
      forUp(c, 0, get(kcPad), 4, expInto(fused, f, e, f32x4.sub(v128.load(get(rp), 0, 2), get(vl))), v128.store(get(rp), get(e), 0, 2), set(rp, i32.add(get(rp), 16))),
    );
    const dsRows: Ins = forUp(
      r, 0, get(rowsPad), 1,
      set(vd, f32x4.splat(f32.load(i32.add(get(db), i32.shl(get(r), 2))))),
      set(rp, i32.add(get(s), i32.mul(get(r), get(bcB)))),
      set(pp, i32.add(get(dp), i32.mul(get(r), get(bcB)))),
      forUp(c, 0, get(kcPad), 4, v128.store(get(pp), f32x4.mul(f32x4.mul(v128.load(get(rp), 0, 2), f32x4.sub(v128.load(get(pp), 0, 2), get(vd))), get(vs)), 0, 2), set(rp, i32.add(get(rp), 16)), set(pp, i32.add(get(pp), 16))),
    );
    const queryBlock: Ins[] = [
      set(rows, i32.minS(get(p.br), i32.sub(get(p.nq), get(i0)))),
      set(rowsPad, i32.and(i32.add(get(rows), 3), -4)),
      copyVec(f, get(qb), i32.add(get(p.q), i32.mul(get(i0), get(dB))), i32.mul(get(rows), get(p.d))),
      fillVec(f, i32.add(get(qb), i32.mul(get(rows), get(dB))), i32.mul(i32.sub(get(rowsPad), get(rows)), get(p.d)), v128.zero()),
      copyVec(f, get(gb), i32.add(get(p.g), i32.mul(get(i0), get(dvB))), i32.mul(get(rows), get(p.dv))),
      fillVec(f, i32.add(get(gb), i32.mul(get(rows), get(dvB))), i32.mul(i32.sub(get(rowsPad), get(rows)), get(p.dv)), v128.zero()),
      // padded rows: L = +∞ (so P = 0) and D = 0
      fillVec(f, get(lb), get(rowsPad), V.const(Infinity)),
      fillVec(f, get(db), get(rowsPad), v128.zero()),
      forUp(
        r, 0, get(rows), 1,
        f32.store(i32.add(get(lb), i32.shl(get(r), 2)), f32.load(i32.add(get(p.lse), i32.shl(i32.add(get(i0), get(r)), 2)))),
        f32.store(i32.add(get(db), i32.shl(get(r), 2)), f32.load(i32.add(get(p.dd), i32.shl(i32.add(get(i0), get(r)), 2)))),
      ),
      // S = scale · Q_i K_jᵀ, masked, then P = exp(S − L)
      gemmCall(get(qb), cd, 4, get(kp), 32, times(cd, 8), get(s), cbc, get(rowsPad), shrU(get(kcPad), 3), get(p.d), 0, get(p.scale)),
      if_(i32.or(i32.ltS(get(kc), get(kcPad)), i32.and(get(p.causal), i32.gtS(i32.add(get(j0), get(kc)), i32.add(i32.add(get(p.shift), get(i0)), 1)))), [
        maskBlock(f, get(s), get(bcB), get(rows), get(kc), get(kcPad), get(p.causal), i32.sub(i32.add(get(p.shift), get(i0)), get(j0))),
      ]),
      expRows,
      // dV_j += Pᵀ dO_i   (keys × dv, depth rowsPad)
      gemmCall(get(s), 4, cbc, get(gb), cdv, 32, get(dva), cdv, get(kcPad), shrU(get(p.dv), 3), get(rowsPad), 1, f32.const(1)),
      // dP = dO_i V_jᵀ   (rowsPad × kcPad, depth dv)
      gemmCall(get(gb), cdv, 4, get(vp), 32, times(cdv, 8), get(dp), cbc, get(rowsPad), shrU(get(kcPad), 3), get(p.dv), 0, f32.const(1)),
      dsRows,
      // dK_j += dSᵀ Q_i   (keys × d, depth rowsPad)
      gemmCall(get(dp), 4, cbc, get(qb), cd, 32, get(dka), cd, get(kcPad), shrU(get(p.d), 3), get(rowsPad), 1, f32.const(1)),
      // dQ_i += dS K_j   (rows × d, depth kc), straight into dQ
      gemmCall(get(dp), cbc, 4, i32.add(get(p.k), i32.mul(get(j0), get(dB))), cd, 32, i32.add(get(p.dq), i32.mul(get(i0), get(dB))), cd, get(rows), shrU(get(p.d), 3), get(kc), 1, f32.const(1)),
    ];
    return [
      set(dB, i32.shl(get(p.d), 2)),
      set(dvB, i32.shl(get(p.dv), 2)),
      set(bcB, i32.shl(get(p.bc), 2)),
      set(vs, f32x4.splat(get(p.scale))),
      // scratch: Q_i, dO_i, L_i, D_i, packed K_j and V_j, S/P, dP/dS, dK_j, dV_j
      set(qb, get(p.scratch)),
      set(gb, i32.add(get(qb), i32.mul(get(p.br), get(dB)))),
      set(lb, i32.add(get(gb), i32.mul(get(p.br), get(dvB)))),
      set(db, i32.add(get(lb), i32.shl(get(p.br), 2))),
      set(kp, i32.add(get(db), i32.shl(get(p.br), 2))),
      set(vp, i32.add(get(kp), i32.mul(get(p.bc), get(dB)))),
      set(s, i32.add(get(vp), i32.mul(get(p.bc), get(dvB)))),
      set(dp, i32.add(get(s), i32.mul(get(p.br), get(bcB)))),
      set(dka, i32.add(get(dp), i32.mul(get(p.br), get(bcB)))),
      set(dva, i32.add(get(dka), i32.mul(get(p.bc), get(dB)))),
      // D_i = rowsum(dO_i ∘ O_i)
      forUp(
        i, 0, get(p.nq), 1,
        set(acc, v128.zero()),
        set(a1, i32.add(get(p.g), i32.mul(get(i), get(dvB)))),
        set(a2, i32.add(get(p.o), i32.mul(get(i), get(dvB)))),
        forUp(c, 0, get(p.dv), 4, set(acc, madd(fused, v128.load(get(a1), 0, 2), v128.load(get(a2), 0, 2), get(acc))), set(a1, i32.add(get(a1), 16)), set(a2, i32.add(get(a2), 16))),
        f32.store(i32.add(get(p.dd), i32.shl(get(i), 2)), hsum(get(acc), t)),
      ),
      forUp(
        j0, 0, get(p.nk), get(p.bc),
        set(kc, i32.minS(get(p.bc), i32.sub(get(p.nk), get(j0)))),
        set(kcPad, i32.and(i32.add(get(kc), 7), -8)),
        pack(get(kp), i32.add(get(p.k), i32.mul(get(j0), get(dB))), get(kc), get(p.d)),
        pack(get(vp), i32.add(get(p.v), i32.mul(get(j0), get(dvB))), get(kc), get(p.dv)),
        fillVec(f, get(dka), i32.mul(get(kcPad), get(p.d)), v128.zero()),
        fillVec(f, get(dva), i32.mul(get(kcPad), get(p.dv)), v128.zero()),
        // causal: query blocks that see none of these keys are skipped
        set(iFirst, 0),
        if_(get(p.causal), [set(iFirst, i32.sub(get(j0), get(p.shift))), if_(i32.ltS(get(iFirst), 0), [set(iFirst, 0)])]),
        set(iFirst, i32.mul(i32.divU(get(iFirst), get(p.br)), get(p.br))),
        forUp(i0, get(iFirst), get(p.nq), get(p.br), ...queryBlock),
        copyVec(f, i32.add(get(p.dk), i32.mul(get(j0), get(dB))), get(dka), i32.mul(get(kc), get(p.d))),
        copyVec(f, i32.add(get(p.dvo), i32.mul(get(j0), get(dvB))), get(dva), i32.mul(get(kc), get(p.dv))),
      ),
    ];
  }, { export: true });
}

/** Scratch bytes per thread for `fwd` and `bwd` at these sizes. */
export function flashScratchBytes(br: number, bc: number, d: number, dv: number): number {
  const fwd = 4 * (br * d + br * bc + br * dv + 2 * br);
  const bwd = 4 * (br * d + br * dv + 2 * br + bc * d + bc * dv + 2 * br * bc + bc * d + bc * dv);
  return Math.max(fwd, bwd) + 64;
}
