/**
 * safetensors files: the weight format PyTorch, JAX and the Hugging Face hub
 * share. Writing is deterministic; reading validates everything first (see
 * `safetensorsHeader.ts`) and then reads each tensor's bytes straight into its
 * storage on the CPU heap, so a load holds at most one tensor's worth of
 * extra memory (none for nabla's own dtypes).
 *
 * Layout choices when writing: tensors ordered by element size (largest
 * first) and then by name, so every tensor starts at a multiple of its
 * element size (the header is padded with spaces to 8 bytes) and readers can
 * map the data without copying; keys in the JSON header are sorted by name;
 * `__metadata__`, when given, comes first.
 */
import { Tensor } from '../core/tensor.js';
import { BYTES } from '../core/dtype.js';
import { CpuBackend, cpu } from '../backends/cpu/index.js';
import { isContiguous } from '../backends/cpu/strided.js';
import { copy } from '../ops/views.js';
import { noGrad } from '../autodiff/tape.js';
import { untracked } from '../core/memory.js';
import { atomicWriteFileSync, type AtomicWriteOptions } from './atomicWrite.js';
import { nodeFs } from './node.js';
import { bytesSource, readSafetensorsHeader, type ByteSource, type HeaderOptions } from './safetensorsHeader.js';
import { convertInto, isNative, ST_DTYPES, WRITE_DTYPE } from './safetensorsDtypes.js';

export interface Safetensors {
  /** tensors by name (a null-prototype record, so any name is safe) */
  tensors: Record<string, Tensor>;
  /** the `__metadata__` strings ({} when absent) */
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function assertLittleEndian(fn: string): void {
  if (!LITTLE_ENDIAN) throw new Error(`${fn}: safetensors data is little-endian and this platform is big-endian, which nabla does not support`);
}

interface Planned {
  name: string;
  t: Tensor;
  begin: number;
  end: number;
}

function plan(tensors: Readonly<Record<string, Tensor>>, metadata: Readonly<Record<string, string>> | undefined): { header: Uint8Array; items: Planned[]; total: number } {
  const fn = 'saveSafetensors';
  if (tensors === null || typeof tensors !== 'object') throw new Error(`${fn}: tensors must be a record of name → Tensor`);
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    if (name === '__metadata__') throw new Error(`${fn}: '__metadata__' is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new Error(`${fn}: '${name}' is not a Tensor`);
    t.assertAlive(fn, `tensor '${name}'`);
    if (!(t.storage.backend instanceof CpuBackend)) throw new Error(`${fn}: tensor '${name}' is on the ${t.backend} backend; move it to the CPU first`);
  }
  const meta = metadata ?? {};
  for (const [k, v] of Object.entries(meta)) if (typeof v !== 'string') throw new Error(`${fn}: metadata '${k}' must be a string, got ${typeof v}`);
  // largest element first keeps every tensor aligned to its element size; ties by name for determinism
  const order = names.slice().sort((a, b) => BYTES[tensors[b]!.dtype] - BYTES[tensors[a]!.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  let pos = 0;
  const items: Planned[] = order.map((name) => {
    const t = tensors[name]!;
    const begin = pos;
    pos += t.size * BYTES[t.dtype];
    return { name, t, begin, end: pos };
  });
  const byName = new Map(items.map((it) => [it.name, it]));
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(Object.fromEntries(Object.entries(meta)))}`);
  for (const name of names.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const it = byName.get(name)!;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: WRITE_DTYPE[it.t.dtype], shape: it.t.shape, data_offsets: [it.begin, it.end] })}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, items, total: header.byteLength + pos };
}

/** The bytes of one tensor: a view of the heap when it is contiguous (valid until the heap grows), else a copy. */
function tensorBytes(t: Tensor): Uint8Array {
  const b = cpu();
  const nbytes = t.size * BYTES[t.dtype];
  if (isContiguous(t.shape, t.strides)) {
    const raw = b.raw(t.storage);
    return new Uint8Array(raw.buffer, raw.byteOffset + t.offset * BYTES[t.dtype], nbytes);
  }
  const c = untracked(() => noGrad(() => copy(t)));
  try {
    return tensorBytes(c).slice();
  } finally {
    c.dispose();
  }
}

/** The file as a sequence of chunks (header, then each tensor's bytes), made lazily, plus its total length. */
export function safetensorsChunks(tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): { byteLength: number; chunks: Iterable<Uint8Array> } {
  assertLittleEndian('saveSafetensors');
  const { header, items, total } = plan(tensors, metadata);
  function* chunks(): Generator<Uint8Array> {
    yield header;
    for (const it of items) if (it.end > it.begin) yield tensorBytes(it.t);
  }
  return { byteLength: total, chunks: { [Symbol.iterator]: chunks } };
}

/** Serialise named tensors (and optional string metadata) to safetensors bytes. */
export function serializeSafetensors(tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { byteLength, chunks } = safetensorsChunks(tensors, metadata);
  const out = new Uint8Array(byteLength);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

/** Atomically write a safetensors file (see `atomicWrite.ts`): a crash mid-save leaves the previous file intact. */
export function saveSafetensors(path: string, tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>, opts: AtomicWriteOptions = {}): void {
  const { chunks } = safetensorsChunks(tensors, metadata);
  atomicWriteFileSync(path, chunks, opts);
}

/** Read validated tensors from any byte source onto the CPU heap. */
export function readSafetensors(src: ByteSource, opts: HeaderOptions = {}): Safetensors {
  assertLittleEndian('loadSafetensors');
  const h = readSafetensorsHeader(src, opts);
  const backend = cpu();
  const tensors: Record<string, Tensor> = Object.create(null);
  const made: Tensor[] = [];
  try {
    for (const e of h.entries) {
      const to = ST_DTYPES[e.dtype].to;
      const storage = backend.alloc(to, e.numel);
      const t = new Tensor({ storage, shape: e.shape, dtype: to });
      made.push(t);
      tensors[e.name] = t;
      const nbytes = e.end - e.begin;
      if (nbytes === 0) continue;
      // take the view only after the allocation: growing the heap may move its buffer
      const raw = backend.raw(storage);
      if (isNative(e.dtype)) {
        src.read(new Uint8Array(raw.buffer, raw.byteOffset, nbytes), h.dataStart + e.begin);
      } else {
        const tmp = new Uint8Array(nbytes);
        src.read(tmp, h.dataStart + e.begin);
        convertInto(e.dtype, tmp, backend.raw(storage) as Int32Array | Uint16Array | Uint8Array, e.numel, e.name);
      }
    }
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
  return { tensors, metadata: { ...h.metadata } };
}

/** Parse safetensors bytes. */
export function parseSafetensors(bytes: Uint8Array, opts: HeaderOptions = {}): Safetensors {
  if (!(bytes instanceof Uint8Array)) throw new Error('parseSafetensors: bytes must be a Uint8Array');
  return readSafetensors(bytesSource(bytes), opts);
}

/** A ByteSource over an open file descriptor. */
export function fileSource(fd: number, size: number, path = 'the file'): ByteSource {
  const fs = nodeFs('loadSafetensors');
  return {
    size,
    read(dst, position) {
      let off = 0;
      while (off < dst.byteLength) {
        const n = fs.readSync(fd, dst, off, dst.byteLength - off, position + off);
        if (n === 0) throw new Error(`safetensors: ${path} ended at byte ${position + off} while reading (was it changed during the load?)`);
        off += n;
      }
    },
  };
}

/** Load a safetensors file (validated; see `readSafetensors`). */
export function loadSafetensors(path: string, opts: HeaderOptions = {}): Safetensors {
  const fs = nodeFs('loadSafetensors');
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    try {
      return readSafetensors(fileSource(fd, size, path), opts);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith('safetensors: ') ? `safetensors: ${path}: ${msg.slice(13)}` : msg, { cause: e });
    }
  } finally {
    fs.closeSync(fd);
  }
}
