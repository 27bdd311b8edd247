/**
 * Reading and validating a safetensors header (format: huggingface/safetensors).
 *
 *   [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header][data]
 *
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end]}
 * (offsets relative to the start of the data) plus an optional
 * "__metadata__" map of strings. Nothing in a file is trusted: every field is
 * checked before a single tensor byte is allocated, so a hostile or truncated
 * file gives an Error naming the tensor and the fault, never a huge
 * allocation, a hang or a crash. The checks:
 * - the file holds the 8-byte length; N ≤ the header limit (100 MB by
 *   default) and N ≤ what follows in the file;
 * - the header is valid UTF-8, valid JSON, an object starting with '{';
 * - each entry has exactly dtype, shape and data_offsets; the dtype is known;
 *   the shape is a list of non-negative integers; the offsets are two
 *   integers, begin ≤ end ≤ the data length; end − begin = numel × dtype size;
 * - the tensors cover the data exactly: sorted by offset, each begins where
 *   the previous ended, the first at 0 and the last at the end of the file
 *   (no overlaps, gaps or trailing bytes).
 */
import { isStDType, ST_DTYPES, UNSUPPORTED_ST_DTYPES, type StDType } from './safetensorsDtypes.js';

/** The default limit on the header's size, as in the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where the bytes come from: a buffer in memory or an open file. `read` fills `dst` exactly from `position`. */
export interface ByteSource {
  readonly size: number;
  read(dst: Uint8Array, position: number): void;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read(dst, position) {
      if (position < 0 || position + dst.byteLength > bytes.byteLength) throw new Error(`safetensors: read of ${dst.byteLength} bytes at ${position} is past the end (${bytes.byteLength} bytes)`);
      dst.set(bytes.subarray(position, position + dst.byteLength));
    },
  };
}

export interface HeaderEntry {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly numel: number;
  /** byte offsets relative to the start of the data */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** in header order */
  readonly entries: readonly HeaderEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** file offset of the data region: 8 + N */
  readonly dataStart: number;
  readonly dataBytes: number;
}

export interface HeaderOptions {
  maxHeaderBytes?: number;
}

const fail = (msg: string): never => {
  throw new Error(`safetensors: ${msg}`);
};

/** A short JSON rendering of a hostile value for error messages (bounded length; never throws on deep nesting). */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[…]' : typeof v === 'object' ? '{…}' : String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A tensor name for messages, cut to a readable length. */
const nm = (name: string): string => `'${name.length > 100 ? `${name.slice(0, 97)}...` : name}'`;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const ENTRY_KEYS = new Set(['dtype', 'shape', 'data_offsets']);

function checkEntry(name: string, raw: unknown, dataBytes: number): HeaderEntry {
  const where = `tensor ${nm(name)}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(`${where}: entry must be an object {dtype, shape, data_offsets}, got ${show(raw)}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!ENTRY_KEYS.has(k)) fail(`${where}: unexpected field ${nm(k)} (expected dtype, shape, data_offsets)`);
  for (const k of ENTRY_KEYS) if (!(k in o)) fail(`${where}: missing field '${k}'`);
  const dtype = o.dtype;
  if (!isStDType(dtype)) {
    if (typeof dtype === 'string' && UNSUPPORTED_ST_DTYPES.includes(dtype)) fail(`${where}: dtype ${dtype} is valid safetensors but nabla cannot hold it`);
    fail(`${where}: unknown dtype ${show(dtype)} (known: ${Object.keys(ST_DTYPES).join(', ')})`);
  }
  const st = dtype as StDType;
  const shape = o.shape;
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`${where}: shape must be a list of non-negative integers, got ${show(shape)}`);
  const offs = o.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !isCount(offs[0]) || !isCount(offs[1])) {
    return fail(`${where}: data_offsets must be [begin, end], two non-negative integers, got ${show(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes) fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes)`);
  // numel in exact integer arithmetic: stop once it passes 2^53 (no such tensor fits in a file anyway)
  const size = ST_DTYPES[st].bytes;
  const span = end - begin;
  const dims = shape as number[];
  let numel = 1;
  for (const d of dims) {
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) break;
  }
  if (dims.includes(0)) numel = 0;
  const huge = numel > Number.MAX_SAFE_INTEGER;
  if (huge || numel * size !== span) {
    fail(`${where}: shape ${show(dims)} of ${st} needs ${huge ? 'more than 2^53' : numel * size} bytes, but data_offsets [${begin}, ${end}] span ${span}`);
  }
  return { name, dtype: st, shape: dims.slice(), numel, begin, end };
}

function checkCoverage(entries: HeaderEntry[], dataBytes: number): void {
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: HeaderEntry | undefined;
  for (const e of sorted) {
    if (e.begin < pos) fail(`tensor ${nm(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${nm(prev!.name)} [${prev!.begin}, ${prev!.end}]`);
    if (e.begin > pos) fail(`bytes [${pos}, ${e.begin}) of the data belong to no tensor (before tensor ${nm(e.name)})`);
    pos = e.end;
    if (e.end > e.begin) prev = e;
  }
  if (pos !== dataBytes) fail(`the tensors cover ${pos} bytes of data but the file holds ${dataBytes} (trailing bytes)`);
}

/** Read and fully validate the header of a safetensors source. */
export function readSafetensorsHeader(src: ByteSource, opts: HeaderOptions = {}): SafetensorsHeader {
  const limit = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  const size = src.size;
  if (size < 8) fail(`the file is ${size} bytes, too short for the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  src.read(lenBytes, 0);
  const dv = new DataView(lenBytes.buffer);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo; // exact below 2^53, and anything near that fails the limit anyway
  if (n > limit) fail(`header length ${hi >= 2 ** 21 ? dv.getBigUint64(0, true).toString() : n} bytes exceeds the limit of ${limit} bytes`);
  if (n > size - 8) fail(`header length ${n} bytes runs past the end of the file (${size} bytes)`);
  if (n < 2) fail(`header length ${n} bytes is too short for a JSON object`);
  const headerBytes = new Uint8Array(n);
  src.read(headerBytes, 8);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(`the header must start with '{', got ${show(text.slice(0, 16))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('the header must be a JSON object');
  const dataStart = 8 + n;
  const dataBytes = size - dataStart;
  const metadata: Record<string, string> = Object.create(null);
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ must be an object mapping strings to strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of ${nm(k)} must be a string, got ${show(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(checkEntry(name, raw, dataBytes));
  }
  checkCoverage(entries, dataBytes);
  return { entries, metadata, dataStart, dataBytes };
}
