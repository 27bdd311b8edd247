/**
 * The WebAssembly emitter: LEB128 encodings against the specification's
 * examples, and small modules executed against the same arithmetic in
 * JavaScript (which would catch a wrong opcode or immediate), including the
 * relaxed-SIMD multiply-add and the shuffles the packing routines use.
 */
import { describe, expect, it } from 'vitest';
import {
  ModuleBuilder, block, brIf, call, doWhile, f32, f32x4, forUp, get, i32, if_, loop, madd, set, sleb, uleb, v128,
} from '../../src/backends/cpu/wasm/emit.js';
import { detectFeatures } from '../../src/backends/cpu/wasm/features.js';

function instantiate(m: ModuleBuilder): { exports: Record<string, (...a: number[]) => number>; mem: WebAssembly.Memory } {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true } as WebAssembly.MemoryDescriptor);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(m.toBytes()), { env: { memory: mem } });
  return { exports: inst.exports as Record<string, (...a: number[]) => number>, mem };
}

const memModule = (): ModuleBuilder => new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: true });

describe('emit', () => {
  it('LEB128 encodings', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(0xffffffff)).toEqual([0x7f]); // the i32 bit pattern of -1
    expect(() => uleb(-1)).toThrow(/non-negative/);
  });

  it('integer arithmetic, loops, branches and calls', () => {
    const m = memModule();
    const sq = m.func('sq', { x: 'i32' }, 'i32', (p) => [i32.mul(get(p.x), get(p.x)).c]);
    m.func('sumsq', { n: 'i32' }, 'i32', (p, f) => {
      const i = f.local('i32');
      const s = f.local('i32');
      return [forUp(i, 0, get(p.n), 1, set(s, i32.add(get(s), call(sq, get(i))))), get(s).c];
    }, { export: true });
    m.func('collatz', { x: 'i32' }, 'i32', (p, f) => {
      const steps = f.local('i32');
      return [
        block(
          brIf(0, i32.leS(get(p.x), 1)),
          loop(
            if_(i32.and(get(p.x), 1), [set(p.x, i32.add(i32.mul(get(p.x), 3), 1))], [set(p.x, i32.divU(get(p.x), 2))]),
            set(steps, i32.add(get(steps), 1)),
            brIf(0, i32.gtS(get(p.x), 1)),
          ),
        ),
        get(steps).c,
      ];
    }, { export: true });
    m.func('minS', { a: 'i32', b: 'i32' }, 'i32', (p) => [i32.minS(get(p.a), get(p.b)).c], { export: true });
    const { exports } = instantiate(m);
    expect(exports.sumsq!(10)).toBe(285);
    expect(exports.collatz!(27)).toBe(111);
    expect(exports.minS!(-5, 3)).toBe(-5);
    expect(exports.minS!(7, 3)).toBe(3);
  });

  it('f32 and f32x4 arithmetic and shuffles agree with JavaScript', () => {
    const m = memModule();
    // out[0..4) = a*b + c (unfused); out[4..8) = shuffle(a, b, [0,4,1,5]); out[8..12) = shuffle(a, b, [2,3,6,7]); out[12] = lane 2 of a - b
    m.func('ops', { p: 'i32' }, null, (p) => {
      const a = v128.load(get(p.p), 0);
      const b = v128.load(get(p.p), 16);
      const c = v128.load(get(p.p), 32);
      return [
        v128.store(get(p.p), madd(false, a, b, c), 48),
        v128.store(get(p.p), f32x4.shuffle(a, b, [0, 4, 1, 5]), 64),
        v128.store(get(p.p), f32x4.shuffle(a, b, [2, 3, 6, 7]), 80),
        f32.store(get(p.p), f32x4.extractLane(f32x4.sub(a, b), 2), 96),
        v128.store(get(p.p), f32x4.splat(f32.mul(f32.load(get(p.p), 0), f32.const(0.5))), 112),
        v128.store(get(p.p), v128.load32Splat(get(p.p), 20), 128),
      ];
    }, { export: true });
    m.func('count', { n: 'i32' }, 'i32', (p, f) => {
      const k = f.local('i32');
      return [doWhile(i32.ltS(get(k), get(p.n)), set(k, i32.add(get(k), 3))), get(k).c];
    }, { export: true });
    const { exports, mem } = instantiate(m);
    const v = new Float32Array(mem.buffer, 0, 40);
    v.set([1.5, -2, 3.25, 4, 0.5, 6, -7, 8.5, 1, 2, 3, 4]);
    exports.ops!(0);
    const a = [1.5, -2, 3.25, 4];
    const b = [0.5, 6, -7, 8.5];
    expect([...v.subarray(12, 16)]).toEqual(a.map((x, i) => Math.fround(Math.fround(x * b[i]!) + [1, 2, 3, 4][i]!)));
    expect([...v.subarray(16, 20)]).toEqual([a[0], b[0], a[1], b[1]]);
    expect([...v.subarray(20, 24)]).toEqual([a[2], a[3], b[2], b[3]]);
    expect(v[24]).toBe(a[2]! - b[2]!);
    expect([...v.subarray(28, 32)]).toEqual([0.75, 0.75, 0.75, 0.75]);
    expect([...v.subarray(32, 36)]).toEqual([6, 6, 6, 6]);
    expect(exports.count!(10)).toBe(12);
  });

  it.skipIf(!detectFeatures().relaxed)('f32x4.relaxed_madd (0xfd 0x105) computes a·b + c', () => {
    const m = memModule();
    m.func('fma', { p: 'i32' }, null, (p) => [v128.store(get(p.p), f32x4.relaxedMadd(v128.load(get(p.p)), v128.load(get(p.p), 16), v128.load(get(p.p), 32)), 48)], { export: true });
    const { exports, mem } = instantiate(m);
    const v = new Float32Array(mem.buffer, 0, 16);
    v.set([1, 2, 3, -4, 5, 6, 7, 8, 0.5, 0.25, -1, 2]);
    exports.fma!(0);
    expect([...v.subarray(12, 16)]).toEqual([5.5, 12.25, 20, -30]);
  });

  it('rejects a value of the wrong type for a local', () => {
    const m = memModule();
    expect(() => m.func('bad', { x: 'i32' }, null, (p) => [set(p.x as never, f32.const(1))])).toThrow(/local is i32, value is f32/);
  });
});
