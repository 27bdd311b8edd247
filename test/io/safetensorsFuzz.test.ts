/**
 * Fuzzing the safetensors parser (fast-check): random bytes, valid files with
 * random mutations, and random headers built from plausible and hostile
 * parts. For every input the parser either returns consistent tensors or
 * throws an Error whose message starts with "safetensors:"; it never throws
 * anything else, never leaks a tensor, and never allocates more heap than the
 * file could hold (at most 4× its size: uint8 widens to int32; 1× plus
 * 64-byte alignment for nabla's own dtypes).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tensor, type Tensor } from '../../src/index.js';
import { cpu } from '../../src/backends/cpu/index.js';
import { parseSafetensors, serializeSafetensors, ST_DTYPES } from '../../src/io/index.js';
import { craft } from './craft.js';

const heap = cpu().heap;

interface Outcome {
  ok: boolean;
  tensors: number;
}

const NATIVE: Record<string, string> = { F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I32: 'i32' };

/**
 * After a successful parse, an independent reading of the (now trusted) header
 * must agree: the spans add up to the data region, and each tensor of a nabla
 * dtype holds exactly the bytes of its span, in the header's shape.
 */
function agreesWithHeader(bytes: Uint8Array, tensors: Record<string, Tensor>): void {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete (header as Record<string, unknown>).__metadata__;
  let covered = 0;
  expect(Object.keys(tensors).sort()).toEqual(Object.keys(header).sort());
  for (const [name, e] of Object.entries(header)) {
    const t = tensors[name]!;
    const [b, end] = e.data_offsets;
    covered += end - b;
    expect(t.shape).toEqual(e.shape);
    if (NATIVE[e.dtype]) {
      expect(t.dtype).toBe(NATIVE[e.dtype]);
      const mine = serializeSafetensors({ x: t });
      expect(mine.subarray(mine.length - (end - b))).toEqual(bytes.subarray(8 + n + b, 8 + n + end));
    }
  }
  expect(covered).toBe(bytes.length - 8 - n);
}

/** Parse and check the invariants; returns what happened. */
function check(bytes: Uint8Array): Outcome {
  const live = heap.liveBytes;
  heap.peakBytes = live;
  let out: Outcome;
  let peak: number;
  try {
    const r = parseSafetensors(bytes);
    peak = heap.peakBytes - live;
    const ts = Object.values(r.tensors);
    agreesWithHeader(bytes, r.tensors);
    // what parsed must serialise and parse again to the same bytes
    const again = serializeSafetensors(r.tensors, r.metadata);
    const r2 = parseSafetensors(again);
    expect(serializeSafetensors(r2.tensors, r2.metadata)).toEqual(again);
    out = { ok: true, tensors: ts.length };
    for (const t of [...ts, ...Object.values(r2.tensors)]) t.dispose();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`parser threw a non-Error: ${String(e)}`, { cause: e });
    if (!/^safetensors: ./.test(e.message)) throw new Error(`parser threw an unprefixed error: ${e.stack}`, { cause: e });
    out = { ok: false, tensors: 0 };
    peak = heap.peakBytes - live;
  }
  // the parse alone (not the re-serialisation check above) stays within what the file can hold
  expect(peak).toBeLessThanOrEqual(4 * bytes.length + 64);
  expect(heap.liveBytes).toBe(live);
  return out;
}

const dtypes = Object.keys(ST_DTYPES);
const nablaDtypes = ['f64', 'f32', 'f16', 'bf16', 'i32', 'bool'] as const;

/** A valid file from random tensors. */
const validFile = fc
  .array(
    fc.record({
      name: fc.string({ maxLength: 12 }),
      dtype: fc.constantFrom(...nablaDtypes),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: fc.integer(),
    }),
    { maxLength: 5 },
  )
  .map((specs) => {
    const ts: Record<string, Tensor> = {};
    for (const s of specs) {
      if (s.name === '__metadata__') continue;
      const n = s.shape.reduce((a, b) => a * b, 1);
      const vals = Array.from({ length: n }, (_, i) => ((s.seed + i * 7919) % 200) / 8 - 12);
      ts[s.name] = tensor(s.dtype === 'i32' ? Int32Array.from(vals.map(Math.round)) : vals, s.shape, { dtype: s.dtype });
    }
    const bytes = serializeSafetensors(ts, { k: 'v' });
    for (const t of Object.values(ts)) t.dispose();
    return bytes;
  });

/** Mutations of a byte string. */
const mutated = fc.tuple(validFile, fc.array(fc.tuple(fc.constantFrom('flip', 'set', 'truncate', 'insert', 'length'), fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 })).map(([bytes, muts]) => {
  let b = bytes.slice();
  for (const [kind, pos, val] of muts) {
    const i = b.length === 0 ? 0 : pos % b.length;
    if (kind === 'flip' && b.length) b[i] = b[i]! ^ (1 << (val % 8));
    else if (kind === 'set' && b.length) b[i] = val;
    else if (kind === 'truncate') b = b.slice(0, i);
    else if (kind === 'insert') b = Uint8Array.from([...b.slice(0, i), val, ...b.slice(i)]);
    else if (kind === 'length' && b.length >= 8) new DataView(b.buffer).setUint32(val % 2 ? 0 : 4, pos, true);
  }
  return b;
});

/** Structured mutations of a valid file's header: one field of one entry changed, the data kept. */
const mutatedHeader = fc
  .tuple(validFile, fc.constantFrom('dim', 'addDim', 'begin', 'end', 'dtype', 'drop', 'dup', 'rename'), fc.nat(), fc.integer({ min: -9, max: 9 }), fc.constantFrom(...dtypes))
  .map(([bytes, op, pick, delta, dtype]) => {
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const data = bytes.subarray(8 + n);
    if (names.length === 0) return craft(h, data);
    const name = names[pick % names.length]!;
    const e = h[name]!;
    if (op === 'dim' && e.shape.length) e.shape[pick % e.shape.length] = Math.max(0, e.shape[pick % e.shape.length]! + delta);
    else if (op === 'addDim') e.shape.push(Math.abs(delta));
    else if (op === 'begin') e.data_offsets[0] = Math.max(0, e.data_offsets[0]! + delta);
    else if (op === 'end') e.data_offsets[1] = Math.max(0, e.data_offsets[1]! + delta);
    else if (op === 'dtype') e.dtype = dtype;
    else if (op === 'drop') delete h[name];
    else if (op === 'dup') h[`${name}_copy`] = { ...e };
    else if (op === 'rename') h[`${name}!`] = h[name]!;
    return craft(h, data);
  });

const hostileNumber = fc.oneof(fc.integer({ min: -4, max: 64 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e300, -0, 0.5, NaN), fc.double());
const entry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom(...dtypes, 'C64', 'F4', 'f32', ''), fc.string(), fc.integer()),
    shape: fc.oneof(fc.array(hostileNumber, { maxLength: 4 }), fc.jsonValue()),
    data_offsets: fc.oneof(fc.tuple(hostileNumber, hostileNumber), fc.array(hostileNumber, { maxLength: 3 }), fc.jsonValue()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
/** Random headers with random data. */
const randomHeader = fc
  .tuple(
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__metadata__', '__proto__', 'constructor')), fc.oneof(entry, fc.jsonValue()), { maxKeys: 5 }),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([h, data]) => craft(h, data));

const RUNS = 2500;

describe('the safetensors parser under fuzzing', () => {
  it('random byte strings', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void check(b)), { numRuns: RUNS });
  });

  it('random byte strings behind a plausible header length', () => {
    fc.assert(
      fc.property(fc.nat(400), fc.uint8Array({ maxLength: 300 }), (n, body) => {
        const b = new Uint8Array(8 + body.length);
        new DataView(b.buffer).setUint32(0, n, true);
        b.set(body, 8);
        check(b);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid files parse; their mutations parse or fail cleanly', () => {
    fc.assert(
      fc.property(validFile, (b) => {
        expect(check(b).ok).toBe(true);
      }),
      { numRuns: 500 },
    );
    let failed = 0;
    fc.assert(
      fc.property(mutated, (b) => {
        if (!check(b).ok) failed++;
      }),
      { numRuns: RUNS },
    );
    expect(failed).toBeGreaterThan(RUNS / 10); // the mutations do reach the validation
  });

  it('valid headers with one field changed', () => {
    let failed = 0;
    fc.assert(
      fc.property(mutatedHeader, (b) => {
        if (!check(b).ok) failed++;
      }),
      { numRuns: RUNS },
    );
    expect(failed).toBeGreaterThan(RUNS / 4);
  });

  it('random headers from plausible and hostile parts', () => {
    fc.assert(fc.property(randomHeader, (b) => void check(b)), { numRuns: RUNS });
  });

  it('deeply nested or huge values in a header', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    check(craft(`{"w":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`));
    check(craft(`{"w":${deep}}`));
    check(craft(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`));
    const longName = 'x'.repeat(1_000_000);
    let msg = '';
    try {
      parseSafetensors(craft({ [longName]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg.length).toBeLessThan(300); // names are cut in messages
    expect(check(craft({ w: { dtype: 'U8', shape: [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20], data_offsets: [0, 8] } }, new Uint8Array(8))).ok).toBe(false);
  });
});
