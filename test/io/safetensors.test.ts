/**
 * safetensors: round trips of every nabla dtype, the file layout, lossless
 * conversions of the dtypes nabla lacks, and a clear error for every kind of
 * malformed file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, transpose, type Tensor } from '../../src/index.js';
import { loadSafetensors, parseSafetensors, readSafetensorsHeader, bytesSource, saveSafetensors, serializeSafetensors } from '../../src/io/index.js';
import { f16BitsToF32 } from '../../src/core/float16.js';
import { craft, le } from './craft.js';

const dir = mkdtempSync(join(tmpdir(), 'nabla-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(): Record<string, Tensor> {
  const f16 = tensor([0, -0, 1, -2.5, 65504, Infinity, -Infinity, NaN, 2 ** -24], [9], { dtype: 'f16' });
  return {
    'layers.0.weight': tensor([1.5, -2.25, 3e-8, 1e30, -0, Infinity], [2, 3], { dtype: 'f32' }),
    f64: tensor([Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE, NaN], [2, 2], { dtype: 'f64' }),
    f16,
    bf16: tensor([1, -3.140625, 1e38, -Infinity, 2 ** -133], [5], { dtype: 'bf16' }),
    i32: tensor(Int32Array.from([-(2 ** 31), -1, 0, 2 ** 31 - 1]), [4]),
    bool: tensor([true, false, true], [3]),
    scalar: tensor([7], [], { dtype: 'f64' }),
    empty: tensor([], [0, 3]),
    'ünïcødé / "quotes"': tensor([1, 2], [2]),
    __proto__: tensor([9], [1]),
  };
}

const bitsOf = (t: Tensor): number[] => [...new Uint8Array(serializeSafetensors({ x: t }).slice(-t.size * ({ f64: 8, f32: 4, f16: 2, bf16: 2, i32: 4, bool: 1 } as const)[t.dtype]))];

describe('round trip', () => {
  it('keeps every dtype bit for bit, with shapes, names and metadata', () => {
    const ts = sample();
    const bytes = serializeSafetensors(ts, { format: 'pt', note: 'ünï' });
    const back = parseSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'ünï' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(ts).sort());
    for (const [name, t] of Object.entries(ts)) {
      const u = back.tensors[name]!;
      expect(u.dtype, name).toBe(t.dtype);
      expect(u.shape, name).toEqual(t.shape);
      expect(bitsOf(u), name).toEqual(bitsOf(t));
    }
    expect(Object.getPrototypeOf(back.tensors)).toBe(null); // '__proto__' is an ordinary name
    // deterministic: serialising what was read gives the same bytes
    expect(serializeSafetensors(back.tensors, back.metadata)).toEqual(bytes);
  });

  it('writes strided views by value', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'f16' });
    const back = parseSafetensors(serializeSafetensors({ t: transpose(t) })).tensors.t!;
    expect(back.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('lays the file out aligned, larger elements first, header keys sorted', () => {
    const bytes = serializeSafetensors({ b: tensor([1], [1], { dtype: 'f16' }), a: tensor([1], [1], { dtype: 'bool' }), c: tensor([1, 2], [2], { dtype: 'f64' }), d: tensor([1], [1]) });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeLessThan(n); // padded with spaces
    const h = JSON.parse(text);
    expect(Object.keys(h)).toEqual(['a', 'b', 'c', 'd']);
    expect(h.c.data_offsets).toEqual([0, 16]);
    expect(h.d.data_offsets).toEqual([16, 20]);
    expect(h.b.data_offsets).toEqual([20, 22]);
    expect(h.a.data_offsets).toEqual([22, 23]);
    expect(h.b).toEqual({ dtype: 'F16', shape: [1], data_offsets: [20, 22] });
  });

  it('saves atomically to a file and loads it back', () => {
    const path = join(dir, 'model.safetensors');
    saveSafetensors(path, sample(), { step: '3' });
    const back = loadSafetensors(path);
    expect(back.metadata.step).toBe('3');
    expect(back.tensors['layers.0.weight']!.toArray()).toEqual(sample()['layers.0.weight']!.toArray());
    writeFileSync(join(dir, 'bad.safetensors'), readFileSync(path).subarray(0, 100));
    expect(() => loadSafetensors(join(dir, 'bad.safetensors'))).toThrow(`safetensors: ${join(dir, 'bad.safetensors')}: header length`);
  });
});

describe('dtypes nabla lacks', () => {
  const one = (dtype: string, data: Uint8Array, shape = [data.length / ({ I64: 8, U64: 8, U32: 4, I16: 2, U16: 2 } as Record<string, number>)[dtype]! || data.length]) =>
    craft({ x: { dtype, shape, data_offsets: [0, data.length] } }, data);

  it('widen or narrow integers losslessly to int32', () => {
    const cases: [string, Uint8Array, number[]][] = [
      ['I64', le('i64', [-(2n ** 31n), -1, 0, 2 ** 31 - 1]), [-(2 ** 31), -1, 0, 2 ** 31 - 1]],
      ['U64', le('u64', [0, 2 ** 31 - 1]), [0, 2 ** 31 - 1]],
      ['U32', le('u32', [0, 7, 2 ** 31 - 1]), [0, 7, 2 ** 31 - 1]],
      ['I16', le('i16', [-32768, 5, 32767]), [-32768, 5, 32767]],
      ['U16', le('u16', [0, 65535]), [0, 65535]],
      ['I8', le('i8', [-128, 127]), [-128, 127]],
      ['U8', le('u8', [0, 200, 255]), [0, 200, 255]],
    ];
    for (const [dtype, data, want] of cases) {
      const t = parseSafetensors(one(dtype, data)).tensors.x!;
      expect(t.dtype, dtype).toBe('i32');
      expect([...t.dataSync()], dtype).toEqual(want);
    }
  });

  it('refuse integers that do not fit, naming the tensor and the value', () => {
    expect(() => parseSafetensors(one('I64', le('i64', [1, 2n ** 40n])))).toThrow("safetensors: tensor 'x': I64 value 1099511627776 at index 1 does not fit in int32");
    expect(() => parseSafetensors(one('I64', le('i64', [-(2n ** 31n) - 1n])))).toThrow('I64 value -2147483649 at index 0');
    expect(() => parseSafetensors(one('U64', le('u64', [2n ** 63n])))).toThrow('U64 value 9223372036854775808');
    expect(() => parseSafetensors(one('U32', le('u32', [2 ** 31])))).toThrow('U32 value 2147483648');
  });

  it('read float8 exactly as float16, and booleans as 0/1', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const e5m2 = parseSafetensors(one('F8_E5M2', all)).tensors.x!;
    expect(e5m2.dtype).toBe('f16');
    const got = e5m2.toF64();
    for (let b = 0; b < 256; b++) {
      const want = f16BitsToF32(b << 8); // E5M2 is the top byte of a float16
      if (Number.isNaN(want)) expect(got[b]).toBeNaN();
      else expect(got[b], `E5M2 0x${b.toString(16)}`).toBe(want);
    }
    const e4m3 = parseSafetensors(one('F8_E4M3', Uint8Array.from([0x00, 0x01, 0x07, 0x08, 0x38, 0x3c, 0x7e, 0x7f, 0x80, 0xb8, 0xfe, 0xff]))).tensors.x!.toF64();
    expect([...e4m3].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([0, 2 ** -9, 7 * 2 ** -9, 2 ** -6, 1, 1.5, 448, 'NaN', -0, -1, -448, 'NaN']);
    const b = parseSafetensors(craft({ x: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [0, 1, 7])).tensors.x!;
    expect(b.toArray()).toEqual([false, true, true]);
  });
});

describe('validation', () => {
  const f32 = (shape: number[], offs: [number, number]) => ({ dtype: 'F32', shape, data_offsets: offs });
  const data8 = new Uint8Array(8);
  const cases: [string, Uint8Array, string | RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), 'the file is 5 bytes, too short for the 8-byte header length'],
    ['a header length over the limit', craft({}, [], { length: 2n ** 63n }), 'header length 9223372036854775808 bytes exceeds the limit of 100000000 bytes'],
    ['a header length past the end', craft({}, [], { length: 1000 }), 'header length 1000 bytes runs past the end of the file (16 bytes)'],
    ['invalid UTF-8', craft('{"\xff"}', [], { pad: true }).map((b, i) => (i === 10 ? 0xff : b)), 'the header is not valid UTF-8'],
    ['invalid JSON', craft('{"a": '), /the header is not valid JSON/],
    ['a JSON array', craft('[1,2]'), "the header must start with '{'"],
    ['leading spaces', craft(' {}'), "the header must start with '{'"],
    ['an unknown dtype', craft({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), `tensor 'w': unknown dtype "F128"`],
    ['a dtype nabla cannot hold', craft({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, data8), "tensor 'w': dtype C64 is valid safetensors but nabla cannot hold it"],
    ['a missing field', craft({ w: { dtype: 'F32', shape: [2] } }, data8), "tensor 'w': missing field 'data_offsets'"],
    ['an extra field', craft({ w: { ...f32([2], [0, 8]), extra: 1 } }, data8), "tensor 'w': unexpected field 'extra'"],
    ['an entry that is not an object', craft({ w: [1] }, data8), "tensor 'w': entry must be an object"],
    ['a negative dimension', craft({ w: f32([-2], [0, 8]) }, data8), "tensor 'w': shape must be a list of non-negative integers, got [-2]"],
    ['a fractional dimension', craft({ w: f32([1.5], [0, 8]) }, data8), 'shape must be a list of non-negative integers'],
    ['three offsets', craft({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] } }, data8), "tensor 'w': data_offsets must be [begin, end]"],
    ['offsets ending before they begin', craft({ w: f32([0], [8, 0]) }, data8), "tensor 'w': data_offsets [8, 0] end before they begin"],
    ['offsets past the data', craft({ w: f32([4], [0, 16]) }, data8), "tensor 'w': data_offsets [0, 16] run past the end of the data (8 bytes)"],
    ['a size that does not match the shape', craft({ w: f32([3], [0, 8]) }, data8), "tensor 'w': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8"],
    ['a huge shape over a small span', craft({ w: f32([2 ** 30, 2 ** 30, 2 ** 30], [0, 8]) }, data8), "tensor 'w': shape [1073741824,1073741824,1073741824] of F32 needs more than 2^53 bytes"],
    ['overlapping tensors', craft({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, data8), "tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]"],
    ['a gap', craft({ a: f32([1], [0, 4]), b: f32([0], [8, 8]) }, data8), "bytes [4, 8) of the data belong to no tensor (before tensor 'b')"],
    ['trailing bytes', craft({ a: f32([1], [0, 4]) }, data8), 'the tensors cover 4 bytes of data but the file holds 8 (trailing bytes)'],
    ['non-string metadata', craft({ __metadata__: { a: 1 } }), "__metadata__ value of 'a' must be a string, got 1"],
    ['metadata that is not an object', craft({ __metadata__: 'x' }), '__metadata__ must be an object'],
  ];
  it.each(cases)('rejects %s with a clear message', (_what, bytes, msg) => {
    let err: unknown;
    try {
      parseSafetensors(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.startsWith('safetensors: ')).toBe(true);
    if (typeof msg === 'string') expect((err as Error).message).toContain(msg);
    else expect((err as Error).message).toMatch(msg);
  });

  it('accepts an empty file body and zero-sized tensors anywhere in the order', () => {
    expect(Object.keys(parseSafetensors(craft({})).tensors)).toEqual([]);
    const h = readSafetensorsHeader(bytesSource(craft({ z: f32([0, 5], [4, 4]), a: f32([1], [0, 4]), y: f32([0], [0, 0]) }, new Uint8Array(4))));
    expect(h.entries.map((e) => [e.name, e.numel])).toEqual([
      ['z', 0],
      ['a', 1],
      ['y', 0],
    ]);
  });
});
