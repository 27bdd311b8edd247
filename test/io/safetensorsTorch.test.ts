/**
 * safetensors between nabla and PyTorch, both ways: PyTorch reads what nabla
 * writes (values exact), nabla reads what PyTorch writes (with PyTorch's own
 * tensor order and dtypes such as int64 and uint8). The Python side uses the
 * `safetensors` package when installed, otherwise a 20-line reader/writer of
 * the format (test/fixtures/torch/safetensors_io.py).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../src/index.js';
import { loadSafetensors, saveSafetensors, serializeSafetensors } from '../../src/io/index.js';
import { hasTorch, runScript, torchSkipReason } from '../fixtures/torch/torch.js';
import { mulberry32, randn } from '../helpers/rng.js';

interface Summary {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
}

const dir = mkdtempSync(join(tmpdir(), 'nabla-st-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

function mine(): Record<string, Tensor> {
  const r = mulberry32(5);
  const rn = (n: number) => Array.from({ length: n }, () => randn(r));
  return {
    'encoder.layers.0.attn.qkv.weight': tensor(rn(24), [4, 6]),
    f64: tensor(rn(5), [5], { dtype: 'f64' }),
    f16: tensor(rn(6), [2, 3], { dtype: 'f16' }),
    bf16: tensor(rn(7), [7], { dtype: 'bf16' }),
    i32: tensor(Int32Array.from([-(2 ** 31), -5, 0, 2 ** 31 - 1]), [2, 2]),
    mask: tensor([true, false, false, true], [4]),
    scalar: tensor([0.25], []),
    empty: tensor([], [3, 0], { dtype: 'f64' }),
  };
}

const ST: Record<string, string> = { f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', bool: 'BOOL' };

describe.skipIf(!hasTorch())(`safetensors interoperates with PyTorch${torchSkipReason()}`, () => {
  it('PyTorch reads files nabla writes, value for value', () => {
    const ts = mine();
    const path = join(dir, 'nabla.safetensors');
    saveSafetensors(path, ts, { producer: 'nabla' });
    runScript('safetensors_io.py', ['read', path, join(dir, 'nabla.json')]);
    const s = readJson<Summary>(join(dir, 'nabla.json'));
    expect(s.metadata).toEqual({ producer: 'nabla' });
    expect(Object.keys(s.tensors).sort()).toEqual(Object.keys(ts).sort());
    for (const [name, t] of Object.entries(ts)) {
      const u = s.tensors[name]!;
      expect(u.dtype, name).toBe(ST[t.dtype]);
      expect(u.shape, name).toEqual(t.shape);
      expect(u.values, name).toEqual([...t.toF64()]);
    }
  });

  it('nabla reads the same tensors back from a file PyTorch wrote, byte for byte', () => {
    const ts = mine();
    const src = join(dir, 'a.safetensors');
    const dst = join(dir, 'b.safetensors');
    saveSafetensors(src, ts);
    runScript('safetensors_io.py', ['copy', src, dst]); // PyTorch's writer: its own order and offsets
    const back = loadSafetensors(dst).tensors;
    for (const [name, t] of Object.entries(ts)) {
      expect(back[name]!.dtype, name).toBe(t.dtype);
      expect(serializeSafetensors({ x: back[name]! }), name).toEqual(serializeSafetensors({ x: t }));
    }
  });

  it('nabla reads a file made by PyTorch, converting int64/int16/int8/uint8 losslessly', () => {
    const path = join(dir, 'torch.safetensors');
    runScript('safetensors_io.py', ['make', path, join(dir, 'torch.json')]);
    const want = readJson<Summary>(join(dir, 'torch.json'));
    const got = loadSafetensors(path);
    expect(got.metadata).toEqual(want.metadata);
    expect(Object.keys(got.tensors).sort()).toEqual(Object.keys(want.tensors).sort());
    const to: Record<string, string> = { F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I32: 'i32', BOOL: 'bool', I64: 'i32', I16: 'i32', I8: 'i32', U8: 'i32' };
    for (const [name, w] of Object.entries(want.tensors)) {
      const t = got.tensors[name]!;
      expect(t.dtype, name).toBe(to[w.dtype]);
      expect(t.shape, name).toEqual(w.shape);
      expect([...t.toF64()], name).toEqual(w.values);
    }
  });
});
