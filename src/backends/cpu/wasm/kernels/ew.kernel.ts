/**
 * Generator of the elementwise kernels (ewOps.ts) as WebAssembly SIMD
 * functions over the CPU heap, one exported function per kernel with one
 * signature:
 *
 *   (scratch, out, p0, p1, p2, d1, d2, s00, s01, s02, s10, s11, s12, s20, s21, s22,
 *    r0, r1, c0, c1, variant, a0: f32, a1: f32)
 *
 * The iteration space is an already collapsed 3-d box [d0, d1, d2] (the
 * caller merges axes and loops over any further ones): input j's element
 * (i0, i1, i2) is at byte p_j + i0·s_j0 + i1·s_j1 + i2·s_j2 (strides in bytes,
 * 0 on broadcast axes) and the output is contiguous. A call covers rows
 * r ∈ [r0, r1) of the flattened (i0, i1) and columns [c0, c1) of each, so
 * threads can split rows or, for one long row, columns.
 *
 * Inner loop: when every input's innermost stride is its element size or 0
 * (`variant` = 1 + a bit per broadcast input; the caller decides), groups of
 * four lanes are loaded with one v128 load (or a splat), computed and stored
 * at once. The rest of a row, and any other layout (variant 0), goes one
 * element at a time through the same four-lane body (lane 0 is stored), so
 * every kernel is written once, as a vector body. Lanes are independent, so
 * results do not depend on how a call is split.
 *
 * Element formats: f32 as is; bool bytes become lane masks (≠ 0); f16 and
 * bf16 are decoded to f32 on load and encoded on store with round to
 * nearest even, bit-exact with src/core/float16.ts (f16 subnormals by the
 * float-add trick: adding 0.5 makes the hardware round to units of 2⁻²⁴).
 */
import { ModuleBuilder, f32, forUp, get, i32, if_, set, type Expr, type FuncScope, type Ins, type Local } from '../emit.js';
import { F4, I4, S, V } from './simd.js';
import { VMath } from './vmath.js';
import { EW, type EwSpec, type Kind } from './ewOps.js';

type V128 = Expr<'v128'>;
type I32 = Expr<'i32'>;

export const ELEM_BYTES: Readonly<Record<Kind, number>> = { f32: 4, bool: 1, f16: 2, bf16: 2 };

/** f16 bits (low 16 of each i32 lane) → f32 lanes; exact. */
function decodeF16(f: FuncScope, vm: VMath): (dst: Local<'v128'>, h: V128) => Ins {
  const em = f.local('v128');
  const sign = f.local('v128');
  return (dst, h) =>
    [
      set(sign, h),
      set(em, V.and(get(sign), vm.i(0x7fff))),
      set(sign, I4.shl(V.and(get(sign), vm.i(0x8000)), 16)),
      set(dst, I4.add(I4.shl(get(em), 13), V.select(vm.i(224 << 23), vm.i(112 << 23), I4.geS(get(em), vm.i(0x7c00))))),
      set(dst, V.select(F4.mul(F4.fromI32(get(em)), vm.f(2 ** -24)), get(dst), I4.ltS(get(em), vm.i(0x400)))),
      set(dst, V.or(get(dst), get(sign))),
    ].flat();
}

/** f32 lanes → f16 bits in each i32 lane; round to nearest even, overflow to ∞, quiet NaN keeping the top payload. */
function encodeF16(f: FuncScope, vm: VMath): (dst: Local<'v128'>, x: V128) => Ins {
  const abs = f.local('v128');
  const sign = f.local('v128');
  const v = f.local('v128');
  return (dst, x) =>
    [
      set(sign, x),
      set(abs, V.and(get(sign), vm.i(0x7fffffff))),
      set(sign, V.and(I4.shrU(get(sign), 16), vm.i(0x8000))),
      set(v, I4.sub(get(abs), vm.i(0x38000000))),
      set(dst, I4.shrU(I4.add(I4.add(get(v), vm.i(0xfff)), V.and(I4.shrU(get(v), 13), vm.i(1))), 13)),
      set(dst, V.select(I4.sub(F4.add(get(abs), vm.f(0.5)), vm.i(0x3f000000)), get(dst), I4.ltS(get(abs), vm.i(0x38800000)))),
      set(dst, V.select(vm.i(0x7c00), get(dst), I4.geS(get(abs), vm.i(0x47800000)))),
      set(dst, V.select(V.or(V.and(I4.shrU(get(abs), 13), vm.i(0x3ff)), vm.i(0x7e00)), get(dst), I4.gtS(get(abs), vm.i(0x7f800000)))),
      set(dst, V.or(get(dst), get(sign))),
    ].flat();
}

/** f32 lanes → bf16 bits; round to nearest even, NaN kept quiet. */
function encodeBf16(f: FuncScope, vm: VMath): (dst: Local<'v128'>, x: V128) => Ins {
  const bits = f.local('v128');
  return (dst, x) =>
    [
      set(bits, x),
      set(dst, I4.shrU(I4.add(I4.add(get(bits), vm.i(0x7fff)), V.and(I4.shrU(get(bits), 16), vm.i(1))), 16)),
      set(dst, V.select(V.or(I4.shrU(get(bits), 16), vm.i(0x40)), get(dst), I4.gtS(V.and(get(bits), vm.i(0x7fffffff)), vm.i(0x7f800000)))),
    ].flat();
}

/** Loads of one input kind: four lanes contiguous, or one element splat to all lanes. */
function loader(kind: Kind, f: FuncScope, vm: VMath): { vec: (dst: Local<'v128'>, a: I32) => Ins; one: (dst: Local<'v128'>, a: I32) => Ins } {
  const mask = (v: V128): V128 => I4.ne(v, vm.i(0));
  switch (kind) {
    case 'f32':
      return { vec: (d, a) => set(d, V.load(a)), one: (d, a) => set(d, V.load32Splat(a)) };
    case 'bool':
      return {
        vec: (d, a) => set(d, mask(I4.extendLowU16(I4.extendLowU8ToI16(V.load32Zero(a))))),
        one: (d, a) => set(d, mask(I4.splat(S.load8U(a)))),
      };
    case 'f16': {
      const dec = decodeF16(f, vm);
      return { vec: (d, a) => dec(d, V.load16x4U(a)), one: (d, a) => dec(d, I4.splat(S.load16U(a))) };
    }
    case 'bf16':
      return { vec: (d, a) => set(d, I4.shl(V.load16x4U(a), 16)), one: (d, a) => set(d, I4.shl(I4.splat(S.load16U(a)), 16)) };
  }
}

/** Stores of one output kind: four lanes, or lane 0 alone. */
function storer(kind: Kind, f: FuncScope, vm: VMath): { vec: (a: I32, v: Local<'v128'>) => Ins; one: (a: I32, v: Local<'v128'>) => Ins } {
  const tmp = f.local('v128');
  switch (kind) {
    case 'f32':
      return { vec: (a, v) => V.store(a, get(v)), one: (a, v) => f32.store(a, F4.extract(get(v), 0)) };
    case 'bool': {
      const bytes = (v: V128): V128 => {
        const w = V.and(v, vm.i(1));
        const h = I4.narrowToU16(w, w);
        return I4.narrowToU8(h, h);
      };
      return { vec: (a, v) => V.store32Lane(a, bytes(get(v)), 0), one: (a, v) => S.store8(a, I4.extract(V.and(get(v), vm.i(1)), 0)) };
    }
    case 'f16':
    case 'bf16': {
      const enc = kind === 'f16' ? encodeF16(f, vm) : encodeBf16(f, vm);
      return {
        vec: (a, v) => [enc(tmp, get(v)), V.store64Lane(a, I4.narrowToU16(get(tmp), get(tmp)), 0)].flat(),
        one: (a, v) => [enc(tmp, get(v)), S.store16(a, I4.extract(get(tmp), 0))].flat(),
      };
    }
  }
}

const P = {
  sc: 'i32', out: 'i32', p0: 'i32', p1: 'i32', p2: 'i32', d1: 'i32', d2: 'i32',
  s00: 'i32', s01: 'i32', s02: 'i32', s10: 'i32', s11: 'i32', s12: 'i32', s20: 'i32', s21: 'i32', s22: 'i32',
  r0: 'i32', r1: 'i32', c0: 'i32', c1: 'i32', variant: 'i32', a0: 'f32', a1: 'f32',
} as const;

function addKernel(m: ModuleBuilder, name: string, spec: EwSpec, fused: boolean): void {
  m.func(name, P, null, (p, f) => {
    const k = spec.ins.length;
    const vm = new VMath(f, fused);
    const body = spec.body(vm, f, p.a0, p.a1);
    const base = [p.p0, p.p1, p.p2];
    const st = [[p.s00, p.s01, p.s02], [p.s10, p.s11, p.s12], [p.s20, p.s21, p.s22]];
    const [r, c, cv, i0, i1, o] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const q = Array.from({ length: k }, () => f.local('i32'));
    const step4 = Array.from({ length: k }, () => f.local('i32'));
    const xs = Array.from({ length: k }, () => f.local('v128'));
    const y = f.local('v128');
    const loads = spec.ins.map((kind) => loader(kind, f, vm));
    const store = storer(spec.out, f, vm);
    const ob = ELEM_BYTES[spec.out];
    const adv = (l: Local<'i32'>, by: I32 | number): Ins => set(l, i32.add(get(l), by));

    const vectorLoop = (bits: number): Ins =>
      forUp(c, get(c), get(cv), 4,
        ...q.map((qj, j) => ((bits >> j) & 1 ? loads[j]!.one(xs[j]!, get(qj)) : loads[j]!.vec(xs[j]!, get(qj)))),
        body(y, xs.map((x) => get(x))),
        store.vec(get(o), y),
        ...q.map((qj, j) => adv(qj, get(step4[j]!))),
        adv(o, 4 * ob),
      );
    const variants: Ins[] = [];
    for (let bits = 0; bits < 1 << k; bits++) variants.push(if_(i32.eq(get(p.variant), bits + 1), [vectorLoop(bits)]));

    const rowLoop = forUp(r, get(p.r0), get(p.r1), 1,
      ...q.map((qj, j) =>
        set(qj, i32.add(i32.add(get(base[j]!), i32.mul(get(i0), get(st[j]![0]!))), i32.add(i32.mul(get(i1), get(st[j]![1]!)), i32.mul(get(p.c0), get(st[j]![2]!))))),
      ),
      set(o, i32.add(get(p.out), i32.mul(i32.add(i32.mul(get(r), get(p.d2)), get(p.c0)), ob))),
      set(c, get(p.c0)),
      set(cv, i32.add(get(p.c0), S.andI(i32.sub(get(p.c1), get(p.c0)), ~3))),
      ...variants,
      forUp(c, get(c), get(p.c1), 1,
        ...q.map((qj, j) => loads[j]!.one(xs[j]!, get(qj))),
        body(y, xs.map((x) => get(x))),
        store.one(get(o), y),
        ...q.map((qj, j) => adv(qj, get(st[j]![2]!))),
        adv(o, ob),
      ),
      adv(i1, 1),
      if_(i32.eq(get(i1), get(p.d1)), [set(i1, 0), adv(i0, 1)]),
    );
    return [
      vm.prologue(), // after the loops are generated: it sets the constants they use
      set(i1, S.remU(get(p.r0), get(p.d1))),
      set(i0, S.divU(get(p.r0), get(p.d1))),
      ...q.map((_, j) => set(step4[j]!, i32.shl(get(st[j]![2]!), 2))),
      rowLoop,
    ];
  }, { export: true });
}

/** The module of one group of kernels (ewOps.ts `group`). */
export function buildElementwise(group: EwSpec['group'], opts: { fused: boolean; shared: boolean }): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  for (const [name, spec] of Object.entries(EW)) if (spec.group === group) addKernel(m, name, spec, opts.fused);
  return m.toBytes();
}
