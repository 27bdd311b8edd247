/** Building safetensors byte strings by hand, for tests. */
export function craft(header: unknown, data: Uint8Array | number[] = [], opts: { length?: number | bigint; pad?: boolean } = {}): Uint8Array {
  let json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  if (opts.pad !== false) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const bytes = data instanceof Uint8Array ? data : Uint8Array.from(data);
  const out = new Uint8Array(8 + json.length + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(opts.length ?? json.length), true);
  out.set(json, 8);
  out.set(bytes, 8 + json.length);
  return out;
}

/** Little-endian bytes of typed values. */
export function le(kind: 'i64' | 'u64' | 'u32' | 'i16' | 'u16' | 'i8' | 'u8', values: (number | bigint)[]): Uint8Array {
  const size = { i64: 8, u64: 8, u32: 4, i16: 2, u16: 2, i8: 1, u8: 1 }[kind];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    if (kind === 'i64') dv.setBigInt64(o, BigInt(v), true);
    else if (kind === 'u64') dv.setBigUint64(o, BigInt(v), true);
    else if (kind === 'u32') dv.setUint32(o, Number(v), true);
    else if (kind === 'i16') dv.setInt16(o, Number(v), true);
    else if (kind === 'u16') dv.setUint16(o, Number(v), true);
    else if (kind === 'i8') dv.setInt8(o, Number(v));
    else dv.setUint8(o, Number(v));
  });
  return out;
}
