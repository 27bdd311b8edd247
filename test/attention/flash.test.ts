import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { attentionRef } from '../../src/zoo/attention/attention.ref.js';
import { flashAttention, type FlashOptions } from '../../src/zoo/attention/flash.js';
import { expectClose } from '../helpers/check.js';
import { peakExtraBytes } from './helpers.js';
import { setFlashSpecialisation } from '../../src/backends/cpu/wasm/flash.js';

const root = nb.randomKey(2022);
const kk = (i: number): nb.Key => nb.foldIn(root, i);

interface Case { b: number; h: number; hkv: number; nq: number; nk: number; d: number; dv: number; causal: boolean; bq: number; bk: number }

function parity(c: Case, dtype: 'f32' | 'f64', impl: FlashOptions['impl'], seed: number, tol: number): void {
  nb.tidy(() => {
    const q = nb.normal(kk(seed), [c.b, c.h, c.nq, c.d], { dtype });
    const k = nb.normal(kk(seed + 1), [c.b, c.hkv, c.nk, c.d], { dtype });
    const v = nb.normal(kk(seed + 2), [c.b, c.hkv, c.nk, c.dv], { dtype });
    const w = nb.normal(kk(seed + 3), [c.b, c.h, c.nq, c.dv], { dtype });
    const loss = (f: (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => nb.Tensor) => (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => nb.sum(nb.mul(f(q, k, v), w));
    const fast = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => flashAttention(q, k, v, { causal: c.causal, blockQ: c.bq, blockK: c.bk, impl });
    const slow = (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => attentionRef(q, k, v, { causal: c.causal });
    expectClose(fast(q, k, v).toF64(), slow(q, k, v).toF64(), tol, 'output');
    const [, gf] = nb.valueAndGrad(loss(fast))(q, k, v);
    const [, gs] = nb.valueAndGrad(loss(slow))(q, k, v);
    ['dq', 'dk', 'dv'].forEach((nm, i) => expectClose(gf[i]!.toF64(), gs[i]!.toF64(), tol, nm));
  });
}

const cases: Case[] = [
  { b: 2, h: 2, hkv: 2, nq: 37, nk: 37, d: 8, dv: 8, causal: false, bq: 16, bk: 8 },
  { b: 1, h: 4, hkv: 2, nq: 37, nk: 37, d: 8, dv: 5, causal: true, bq: 16, bk: 8 },
  { b: 1, h: 3, hkv: 1, nq: 20, nk: 29, d: 6, dv: 7, causal: true, bq: 7, bk: 11 },
  { b: 2, h: 2, hkv: 1, nq: 13, nk: 50, d: 4, dv: 4, causal: false, bq: 64, bk: 64 },
];

describe('FlashAttention (TypeScript kernel) equals naive attention', () => {
  it.each(cases.map((c, i) => [i, c] as const))('f64 case %i', (i, c) => parity(c, 'f64', 'ts', 10 * i, 1e-10));
  it.each(cases.map((c, i) => [i, c] as const))('f32 case %i', (i, c) => parity(c, 'f32', 'ts', 10 * i + 100, 1e-5));
});

const wasmCases: Case[] = [
  { b: 2, h: 2, hkv: 2, nq: 37, nk: 37, d: 8, dv: 8, causal: false, bq: 16, bk: 8 },
  { b: 1, h: 4, hkv: 2, nq: 37, nk: 37, d: 16, dv: 5, causal: true, bq: 12, bk: 16 },
  { b: 1, h: 3, hkv: 1, nq: 20, nk: 29, d: 6, dv: 7, causal: true, bq: 7, bk: 11 },
  { b: 2, h: 2, hkv: 1, nq: 13, nk: 50, d: 4, dv: 4, causal: false, bq: 64, bk: 64 },
  { b: 1, h: 2, hkv: 2, nq: 130, nk: 130, d: 32, dv: 32, causal: true, bq: 64, bk: 64 },
];
describe('FlashAttention (WebAssembly SIMD kernel) equals naive attention', () => {
  it.each(wasmCases.map((c, i) => [i, c] as const))('f32 case %i', (i, c) => parity(c, 'f32', 'wasm', 10 * i + 200, 1e-5));
  it('the generic module (strides as arguments) agrees too', () => {
    setFlashSpecialisation(false);
    try {
      parity({ b: 1, h: 2, hkv: 1, nq: 21, nk: 30, d: 24, dv: 16, causal: true, bq: 8, bk: 8 }, 'f32', 'wasm', 300, 1e-5);
    } finally {
      setFlashSpecialisation(true);
    }
  });
});

describe('FlashAttention memory (allocator high-water mark)', () => {
  const extra = (n: number, f: (q: nb.Tensor, k: nb.Tensor, v: nb.Tensor) => nb.Tensor): number =>
    nb.tidy(() => {
      const [q, k, v] = [0, 1, 2].map((i) => nb.normal(kk(900 + i), [1, 1, n, 16]));
      return peakExtraBytes(() => nb.valueAndGrad((a: nb.Tensor, b: nb.Tensor, c: nb.Tensor) => nb.sum(f(a, b, c)))(q!, k!, v!));
    });
  it('forward + backward at n = 8192 stays within a small multiple of the size of Q, K, V, O; naive attention grows as n²', () => {
    const qkvo = 4 * 8192 * 16 * 4;
    const flash = extra(8192, (q, k, v) => flashAttention(q, k, v, { causal: true }));
    expect(flash).toBeLessThan(2 * qkvo); // measured: 1.28x at every n from 1024 to 8192
    const naive = (n: number) => extra(n, (q, k, v) => attentionRef(q, k, v, { causal: true }));
    const [n1, n2] = [naive(256), naive(1024)];
    expect(n2 / n1).toBeGreaterThan(12);
    // extrapolated to n = 8192 naive attention would need (8192/1024)² times more: hundreds of times flash's bytes
    expect((n2 * 64) / flash).toBeGreaterThan(100);
  });
});
