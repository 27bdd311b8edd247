/**
 * A small typed WebAssembly binary emitter: just enough of the module format
 * (WebAssembly Core Specification 2.0, chapter 5 "Binary Format") and of the
 * fixed-width SIMD and relaxed-SIMD proposals to write nabla's CPU kernels in
 * TypeScript and compile them at load time, with no toolchain beyond npm.
 *
 * Code is built as typed expression trees (`Expr<'i32'>`, `Expr<'v128'>` ...)
 * and statements (`Ins`, flat byte arrays); a function is a list of
 * statements. Expressions carry their value type so TypeScript rejects, say,
 * an f32 where an address belongs. Structured control flow only (block, loop,
 * if), with helpers for counted loops so kernels never hand-count br depths.
 *
 * Every module imports its memory as `env.memory` (the CPU heap), so kernels
 * work in place on tensors.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** A value-producing instruction sequence of a known type. */
export interface Expr<T extends ValType = ValType> {
  readonly t: T;
  readonly c: readonly number[];
}
/** A statement: instructions leaving the stack as they found it. */
export type Ins = readonly number[];
/** A local variable (parameters are locals too). */
export interface Local<T extends ValType = ValType> {
  readonly t: T;
  readonly index: number;
}
type I32 = Expr<'i32'> | number;

// ---------------------------------------------------------------- encoding

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`uleb: ${n} is not a non-negative integer`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (values 2^31..2^32-1 are taken as their i32 bit pattern). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new Error(`sleb: ${n} is not a 32-bit integer`);
  let v = n | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function f32bytes(x: number): number[] {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}

function f64bytes(x: number): number[] {
  return [...new Uint8Array(new Float64Array([x]).buffer)];
}

// ---------------------------------------------------------------- expressions

const e = <T extends ValType>(t: T, c: readonly number[]): Expr<T> => ({ t, c });
const asI32 = (x: I32): Expr<'i32'> => (typeof x === 'number' ? i32.const(x) : x);
const un = <T extends ValType>(t: T, a: Expr, op: readonly number[]): Expr<T> => e(t, [...a.c, ...op]);
const bin = <T extends ValType>(t: T, a: Expr, b: Expr, op: readonly number[]): Expr<T> => e(t, [...a.c, ...b.c, ...op]);
/** memarg: log2 alignment hint and a constant byte offset */
const memarg = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];

export const get = <T extends ValType>(l: Local<T>): Expr<T> => e(l.t, [0x20, ...uleb(l.index)]);
export function set(l: Local<'i32'>, v: I32): Ins;
export function set<T extends ValType>(l: Local<T>, v: Expr<T>): Ins;
export function set(l: Local, v: Expr | number): Ins {
  const x = typeof v === 'number' ? i32.const(v) : v;
  if (x.t !== l.t) throw new Error(`set: local is ${l.t}, value is ${x.t}`);
  return [...x.c, 0x21, ...uleb(l.index)];
}
export const tee = <T extends ValType>(l: Local<T>, v: Expr<T>): Expr<T> => e(l.t, [...v.c, 0x22, ...uleb(l.index)]);

export const i32 = {
  const: (n: number): Expr<'i32'> => e('i32', [0x41, ...sleb(n)]),
  add: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x6a]),
  sub: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x6b]),
  mul: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x6c]),
  divU: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x6e]),
  and: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x71]),
  or: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x72]),
  shl: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x74]),
  eqz: (a: I32) => un('i32', asI32(a), [0x45]),
  eq: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x46]),
  ne: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x47]),
  ltS: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x48]),
  ltU: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x49]),
  gtS: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x4a]),
  leS: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x4c]),
  geS: (a: I32, b: I32) => bin('i32', asI32(a), asI32(b), [0x4e]),
  /** signed minimum, via select */
  minS: (a: I32, b: I32): Expr<'i32'> => {
    const x = asI32(a);
    const y = asI32(b);
    return e('i32', [...x.c, ...y.c, ...x.c, ...y.c, 0x48, 0x1b]);
  },
  load: (addr: I32, offset = 0) => e('i32', [...asI32(addr).c, 0x28, ...memarg(2, offset)]),
  store: (addr: I32, v: I32, offset = 0): Ins => [...asI32(addr).c, ...asI32(v).c, 0x36, ...memarg(2, offset)],
  /** atomic fetch-and-add (threads proposal, 0xfe 0x1e); returns the old value; `addr` must be 4-byte aligned */
  atomicAdd: (addr: I32, v: I32, offset = 0) => e('i32', [...asI32(addr).c, ...asI32(v).c, 0xfe, 0x1e, ...memarg(2, offset)]),
};

export const f32 = {
  const: (x: number): Expr<'f32'> => e('f32', [0x43, ...f32bytes(x)]),
  add: (a: Expr<'f32'>, b: Expr<'f32'>) => bin('f32', a, b, [0x92]),
  sub: (a: Expr<'f32'>, b: Expr<'f32'>) => bin('f32', a, b, [0x93]),
  mul: (a: Expr<'f32'>, b: Expr<'f32'>) => bin('f32', a, b, [0x94]),
  eq: (a: Expr<'f32'>, b: Expr<'f32'>) => bin('i32', a, b, [0x5b]),
  ne: (a: Expr<'f32'>, b: Expr<'f32'>) => bin('i32', a, b, [0x5c]),
  load: (addr: I32, offset = 0) => e('f32', [...asI32(addr).c, 0x2a, ...memarg(2, offset)]),
  store: (addr: I32, v: Expr<'f32'>, offset = 0): Ins => [...asI32(addr).c, ...v.c, 0x38, ...memarg(2, offset)],
};

export const f64 = {
  const: (x: number): Expr<'f64'> => e('f64', [0x44, ...f64bytes(x)]),
};

/** 128-bit SIMD (fixed-width SIMD proposal, now in the core spec) on four f32 lanes. */
export const v128 = {
  load: (addr: I32, offset = 0, align = 4) => e('v128', [...asI32(addr).c, ...simd(0x00), ...memarg(align, offset)]),
  /** load one f32 and broadcast it to all four lanes */
  load32Splat: (addr: I32, offset = 0) => e('v128', [...asI32(addr).c, ...simd(0x09), ...memarg(2, offset)]),
  store: (addr: I32, v: Expr<'v128'>, offset = 0, align = 4): Ins => [...asI32(addr).c, ...v.c, ...simd(0x0b), ...memarg(align, offset)],
  zero: (): Expr<'v128'> => e('v128', [...simd(0x0c), ...new Array<number>(16).fill(0)]),
};

/** i8x16.shuffle: byte i of the result is byte lanes[i] of a‖b (0-15 from a, 16-31 from b). */
export function shuffleBytes(a: Expr<'v128'>, b: Expr<'v128'>, lanes: readonly number[]): Expr<'v128'> {
  if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new Error(`shuffleBytes: bad lanes ${lanes}`);
  return e('v128', [...a.c, ...b.c, ...simd(0x0d), ...lanes]);
}

export const f32x4 = {
  /** lane i of the result is f32 lane lanes[i] of a‖b (0-3 from a, 4-7 from b) */
  shuffle: (a: Expr<'v128'>, b: Expr<'v128'>, lanes: readonly [number, number, number, number]): Expr<'v128'> =>
    shuffleBytes(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])),
  splat: (x: Expr<'f32'>) => un('v128', x, simd(0x13)),
  extractLane: (v: Expr<'v128'>, lane: number) => e('f32', [...v.c, ...simd(0x1f), lane]),
  add: (a: Expr<'v128'>, b: Expr<'v128'>) => bin('v128', a, b, simd(0xe4)),
  sub: (a: Expr<'v128'>, b: Expr<'v128'>) => bin('v128', a, b, simd(0xe5)),
  mul: (a: Expr<'v128'>, b: Expr<'v128'>) => bin('v128', a, b, simd(0xe6)),
  /**
   * a·b + c, fused or not at the engine's choice (relaxed-SIMD proposal,
   * opcode 0xfd 0x105; 0x100-0x104 are swizzle and the truncations).
   */
  relaxedMadd: (a: Expr<'v128'>, b: Expr<'v128'>, c: Expr<'v128'>) => e('v128', [...a.c, ...b.c, ...c.c, ...simd(0x105)]),
};

/** a·b + c: relaxed (fused) when `fused`, else an f32x4.mul then an f32x4.add. */
export function madd(fused: boolean, a: Expr<'v128'>, b: Expr<'v128'>, c: Expr<'v128'>): Expr<'v128'> {
  return fused ? f32x4.relaxedMadd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

// ---------------------------------------------------------------- control flow

const body = (xs: readonly Ins[]): number[] => xs.flat();
export const block = (...xs: Ins[]): Ins => [0x02, 0x40, ...body(xs), 0x0b];
export const loop = (...xs: Ins[]): Ins => [0x03, 0x40, ...body(xs), 0x0b];
export const br = (depth: number): Ins => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, cond: I32): Ins => [...asI32(cond).c, 0x0d, ...uleb(depth)];
export const if_ = (cond: I32, then: readonly Ins[], otherwise?: readonly Ins[]): Ins => [
  ...asI32(cond).c,
  0x04,
  0x40,
  ...body(then),
  ...(otherwise && otherwise.length > 0 ? [0x05, ...body(otherwise)] : []),
  0x0b,
];
export const unreachable = (): Ins => [0x00];
export const ret = (v?: Expr): Ins => [...(v ? v.c : []), 0x0f];
export const drop = (v: Expr): Ins => [...v.c, 0x1a];
/** a statement sequence as one statement */
export const seq = (...xs: Ins[]): Ins => body(xs);

/**
 * `for (i = start; i < end; i += step) body` as a guarded do-while loop: one
 * conditional branch per iteration. `body` must not branch out by depth.
 */
export function forUp(i: Local<'i32'>, start: I32, end: I32, step: I32, ...xs: Ins[]): Ins {
  return seq(set(i, asI32(start)), if_(i32.ltS(get(i), end), [loop(...xs, set(i, i32.add(get(i), step)), brIf(0, i32.ltS(get(i), end)))]));
}

/** `do body while (cond)`; the condition is evaluated after each pass. */
export const doWhile = (cond: I32, ...xs: Ins[]): Ins => loop(...xs, brIf(0, cond));

// ---------------------------------------------------------------- module

export interface FuncRef<R extends ValType | null = ValType | null> {
  readonly index: number;
  readonly name: string;
  readonly result: R;
}

const callCode = (f: FuncRef, args: readonly Expr[]): number[] => [...args.flatMap((a) => a.c), 0x10, ...uleb(f.index)];
/** call of a function that returns a value */
export const call = <R extends ValType>(f: FuncRef<R>, ...args: Expr[]): Expr<R> => {
  if (!f.result) throw new Error(`call: ${f.name} returns nothing; use callS`);
  return e(f.result, callCode(f, args));
};
/** call of a function with no result, as a statement */
export const callS = (f: FuncRef, ...args: Expr[]): Ins => {
  if (f.result) throw new Error(`callS: ${f.name} returns a value; drop(call(...)) it`);
  return callCode(f, args);
};

type Params = Record<string, ValType>;
type Locals<P extends Params> = { [K in keyof P]: Local<P[K]> };

/** Declares extra locals of a function while its body is built. */
export class FuncScope {
  private next: number;
  readonly extra: ValType[] = [];
  constructor(nParams: number) {
    this.next = nParams;
  }
  local<T extends ValType>(t: T): Local<T> {
    this.extra.push(t);
    return { t, index: this.next++ };
  }
}

interface FuncDef {
  name: string;
  type: number;
  locals: ValType[];
  code: number[];
  exported: boolean;
}

export class ModuleBuilder {
  private types: string[] = [];
  private funcs: FuncDef[] = [];
  private memory: { module: string; name: string; min: number; max: number; shared: boolean } | undefined;

  /** Import the linear memory (the CPU heap) as `module.name`. */
  importMemory(module: string, name: string, limits: { min: number; max: number; shared: boolean }): this {
    this.memory = { module, name, ...limits };
    return this;
  }

  private typeIndex(params: readonly ValType[], result: ValType | null): number {
    const sig = [0x60, ...vec(params.map((p) => [VALTYPE[p]])), ...vec(result ? [[VALTYPE[result]]] : [])];
    const key = sig.join(',');
    let i = this.types.indexOf(key);
    if (i < 0) i = this.types.push(key) - 1;
    return i;
  }

  /**
   * Define a function. `build` receives the parameters as locals (in the
   * order of `params`' keys) and a scope to declare more locals, and returns
   * the body's statements.
   */
  func<P extends Params, R extends ValType | null>(
    name: string,
    params: P,
    result: R,
    build: (p: Locals<P>, f: FuncScope) => Ins[],
    opts: { export?: boolean } = {},
  ): FuncRef<R> {
    const keys = Object.keys(params);
    const locals = Object.fromEntries(keys.map((k, i) => [k, { t: params[k], index: i }])) as Locals<P>;
    const scope = new FuncScope(keys.length);
    const code = body(build(locals, scope));
    const index = this.funcs.length;
    this.funcs.push({ name, type: this.typeIndex(keys.map((k) => params[k]!), result), locals: scope.extra, code, exported: opts.export ?? false });
    return { index, name, result };
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(...section(1, vec(this.types.map((k) => k.split(',').map(Number)))));
    if (this.memory) {
      const m = this.memory;
      const limits = [m.shared ? 0x03 : 0x01, ...uleb(m.min), ...uleb(m.max)];
      out.push(...section(2, vec([[...utf8(m.module), ...utf8(m.name), 0x02, ...limits]])));
    }
    out.push(...section(3, vec(this.funcs.map((f) => uleb(f.type)))));
    const exps = this.funcs.map((f, i) => ({ f, i })).filter(({ f }) => f.exported);
    out.push(...section(7, vec(exps.map(({ f, i }) => [...utf8(f.name), 0x00, ...uleb(i)]))));
    const bodies = this.funcs.map((f) => {
      // run-length groups of equal local types
      const groups: number[][] = [];
      for (const t of f.locals) {
        const last = groups[groups.length - 1];
        if (last && last[1] === VALTYPE[t]) last[0]!++;
        else groups.push([1, VALTYPE[t]]);
      }
      const fn = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n!), t!]), ...f.code, 0x0b];
      return [...uleb(fn.length), ...fn];
    });
    out.push(...section(10, vec(bodies)));
    return new Uint8Array(out);
  }
}
