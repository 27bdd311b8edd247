/**
 * FlashAttention as a differentiable function with its own VJP: exact softmax
 * attention that never forms the (nq, nk) score matrix, so the extra memory
 * of forward and backward is O(n·d) (the output, the saved logsumexp and the
 * gradients), not O(n²).
 *
 * T. Dao et al., arXiv 2205.14135 (FlashAttention) and arXiv 2307.08691
 * (FlashAttention-2, Algorithms 1 and 2). The algorithm is spelled out in
 * kernels/flashTs.ts; the float32 path runs the WebAssembly SIMD kernels of
 * backends/cpu/wasm/flash.ts (tiled so blocks stay in L1/L2, online softmax,
 * the upper triangle skipped, heads and query blocks spread over the thread
 * pool). Its naive twin is `attentionRef` (attention.ref.ts); the tests hold
 * them equal in values and gradients.
 *
 * Limits (by design; use `attentionRef` for these): no arbitrary masks, bias
 * or dropout; no gradients of second order (the backward writes raw arrays).
 */
import { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import { isGradEnabled } from '../../autodiff/tape.js';
import { customVjp } from '../../autodiff/custom.js';
import { cpu, type CpuStorage } from '../../backends/cpu/index.js';
import { contiguous, reshape } from '../../ops/views.js';
import { pad } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { sum } from '../../ops/reduce.js';
import { attentionDims } from './attention.ref.js';
import { flashBackwardTs, flashForwardTs, type Buf, type FlashDims } from './kernels/flashTs.js';
import { flashWasmAvailable, flashBackwardWasm, flashForwardWasm, packedRows, type FlashKernelDims } from '../../backends/cpu/wasm/flash.js';

export interface FlashOptions {
  /** query i sees key j iff j ≤ i + nk − nq */
  causal?: boolean;
  /** multiplies QKᵀ (default 1/√d) */
  scale?: number;
  /** rows of a query block (default 64) */
  blockQ?: number;
  /** rows of a key/value block (default 64) */
  blockK?: number;
  /** 'wasm' (SIMD kernel, float32 only), 'ts' (TypeScript loops) or 'auto' (wasm for float32 when available) */
  impl?: 'auto' | 'wasm' | 'ts';
}

/** A fresh contiguous CPU tensor, filled with zeros when asked (the allocator does not clear memory). */
export function emptyTensor(shape: readonly number[], dtype: DType, zero = false): Tensor {
  const be = cpu();
  const size = shape.reduce((a, b) => a * b, 1);
  const t = new Tensor({ storage: be.alloc(dtype, size), shape, dtype });
  if (zero) be.fill(t.storage, 0);
  return t;
}

/** The raw array of a contiguous CPU tensor and its element offset. Valid until the next allocation. */
export function bufOf(t: Tensor): Buf {
  return { a: cpu().raw(t.storage) as Float32Array | Float64Array, off: t.offset };
}

/** Byte address of a contiguous float32 CPU tensor's first element. */
export const ptrOf = (t: Tensor): number => (t.storage as CpuStorage).ptr + 4 * t.offset;

function checkBlock(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 4096) throw new Error(`flashAttention: ${name} must be an integer in 1..4096, got ${v}`);
  return v;
}

/** Which kernel runs: float64 always takes the TypeScript loops. */
function useWasm(dtype: DType, impl: FlashOptions['impl']): boolean {
  if (impl === 'ts' || dtype !== 'f32') {
    if (impl === 'wasm') throw new Error(`flashAttention: impl 'wasm' needs float32 inputs, got ${dtype}`);
    return false;
  }
  if (impl === 'wasm' && !flashWasmAvailable()) throw new Error("flashAttention: impl 'wasm' needs WebAssembly SIMD, which this engine lacks");
  return flashWasmAvailable();
}

/**
 * Exact attention softmax(scale·QKᵀ)V without the score matrix.
 * q (b, h, nq, d), k (b, hkv, nk, d), v (b, hkv, nk, dv) → (b, h, nq, dv);
 * h a multiple of hkv (grouped-query heads). Float32 or float64, CPU.
 */
export function flashAttention(q: Tensor, k: Tensor, v: Tensor, opts: FlashOptions = {}): Tensor {
  const { b, h, hkv, nq, nk, d, dv } = attentionDims('flashAttention', q, k, v);
  if (q.dtype !== 'f32' && q.dtype !== 'f64') throw new Error(`flashAttention: dtype must be f32 or f64, got ${q.dtype}`);
  const causal = opts.causal ?? false;
  if (causal && nk < nq) throw new Error(`flashAttention: causal attention needs at least as many keys as queries, got nq ${nq} and nk ${nk}`);
  if (q.backend !== 'cpu') {
    // a device backend with its own kernels (WebGPU: WGSL forward and backward)
    const dev = q.storage.backend as { flashAttention?: (q: Tensor, k: Tensor, v: Tensor, o: { causal: boolean; scale: number }) => Tensor | undefined };
    const r = k.storage.backend === q.storage.backend && v.storage.backend === q.storage.backend ? dev.flashAttention?.(q, k, v, { causal, scale: opts.scale ?? 1 / Math.sqrt(d) }) : undefined;
    if (r) return r;
  }
  for (const [nm, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.backend !== 'cpu') throw new Error(`flashAttention: ${nm} lives on the ${t.backend} backend; this kernel runs on the CPU`);
  }
  const dims: FlashDims = {
    b, h, hkv, nq, nk, d, dv, causal,
    scale: opts.scale ?? 1 / Math.sqrt(d),
    blockQ: checkBlock('blockQ', opts.blockQ ?? 64),
    blockK: checkBlock('blockK', opts.blockK ?? 64),
  };
  const wasm = useWasm(q.dtype, opts.impl ?? 'auto');
  const f = wasm
    ? customVjp('flashAttention', (qi, ki, vi) => forwardWasm(qi!, ki!, vi!, dims), (saved, [g]) => (g ? backwardWasm(saved, g, dims) : [null, null, null]))
    : customVjp('flashAttention', (qi, ki, vi) => forwardTs(qi!, ki!, vi!, dims), (saved, [g]) => (g ? backwardTs(saved, g, dims) : [null, null, null]));
  return f(q, k, v) as Tensor;
}

function noSecondOrder(): void {
  if (isGradEnabled()) throw new Error('flashAttention: gradients of second order are not supported (the backward kernel is not differentiable); use attentionRef');
}

function forwardTs(q: Tensor, k: Tensor, v: Tensor, p: FlashDims): { out: Tensor; saved: Tensor[] } {
  const [qc, kc, vc] = [contiguous(q), contiguous(k), contiguous(v)];
  const o = emptyTensor([p.b, p.h, p.nq, p.dv], q.dtype);
  const lse = emptyTensor([p.b, p.h, p.nq], q.dtype);
  flashForwardTs(bufOf(qc), bufOf(kc), bufOf(vc), bufOf(o), bufOf(lse), p);
  return { out: o, saved: [qc, kc, vc, o, lse] };
}

function backwardTs(saved: Tensor[], g: Tensor, p: FlashDims): Tensor[] {
  noSecondOrder();
  const [qc, kc, vc, o, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const gc = contiguous(g);
  const dq = emptyTensor([p.b, p.h, p.nq, p.d], g.dtype);
  const dk = emptyTensor([p.b, p.hkv, p.nk, p.d], g.dtype, true);
  const dv = emptyTensor([p.b, p.hkv, p.nk, p.dv], g.dtype, true);
  flashBackwardTs(bufOf(qc), bufOf(kc), bufOf(vc), bufOf(o), bufOf(lse), bufOf(gc), bufOf(dq), bufOf(dk), bufOf(dv), p);
  gc.dispose();
  return [dq, dk, dv];
}

const up = (x: number, m: number): number => Math.ceil(x / m) * m;

/** x (…, w) zero-padded to (…, w2) when w2 > w (the kernel's widths are multiples of 8). */
function padLast(x: Tensor, w2: number): Tensor {
  const w = x.shape[x.ndim - 1]!;
  return w2 === w ? contiguous(x) : pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as [number, number]), [0, w2 - w]]);
}

/** The first w entries of the last axis. */
const cut = (x: Tensor, w: number): Tensor => (x.shape[x.ndim - 1] === w ? x : slice(x, [null, null, null, { stop: w }]));

function kernelDims(p: FlashDims): FlashKernelDims {
  return { ...p, d: up(p.d, 8), dv: up(p.dv, 8), blockQ: up(p.blockQ, 4), blockK: up(p.blockK, 8) };
}

function forwardWasm(q: Tensor, k: Tensor, v: Tensor, p: FlashDims): { out: Tensor; saved: Tensor[] } {
  const kd = kernelDims(p);
  const [qp, kp, vp] = [padLast(q, kd.d), padLast(k, kd.d), padLast(v, kd.dv)];
  const o = emptyTensor([p.b, p.h, p.nq, kd.dv], 'f32');
  const ml = emptyTensor([p.b, p.h, p.nq, 2], 'f32');
  const kPacked = emptyTensor([p.b, p.hkv, packedRows(p.nk), kd.d], 'f32');
  flashForwardWasm({ q: ptrOf(qp), k: ptrOf(kp), v: ptrOf(vp), o: ptrOf(o), ml: ptrOf(ml), kPacked: ptrOf(kPacked) }, kd);
  kPacked.dispose();
  // L = m + log ℓ, the logsumexp the backward recomputes P from
  const lse = emptyTensor([p.b, p.h, p.nq], 'f32');
  const mlA = bufOf(ml);
  const lA = bufOf(lse);
  for (let i = 0; i < p.b * p.h * p.nq; i++) lA.a[lA.off + i] = mlA.a[mlA.off + 2 * i]! + Math.log(mlA.a[mlA.off + 2 * i + 1]!);
  ml.dispose();
  return { out: cut(o, p.dv), saved: [qp, kp, vp, o, lse] };
}

function backwardWasm(saved: Tensor[], g: Tensor, p: FlashDims): Tensor[] {
  noSecondOrder();
  const kd = kernelDims(p);
  const [qp, kp, vp, o, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const gp = padLast(g, kd.dv);
  const dd = emptyTensor([p.b, p.h, p.nq], 'f32');
  const dq = emptyTensor([p.b, p.h, p.nq, kd.d], 'f32', true);
  let dk = emptyTensor([p.b, p.h, p.nk, kd.d], 'f32');
  let dv = emptyTensor([p.b, p.h, p.nk, kd.dv], 'f32');
  flashBackwardWasm({ q: ptrOf(qp), k: ptrOf(kp), v: ptrOf(vp), o: ptrOf(o), g: ptrOf(gp), lse: ptrOf(lse), dd: ptrOf(dd), dq: ptrOf(dq), dk: ptrOf(dk), dv: ptrOf(dv) }, kd);
  dd.dispose();
  gp.dispose();
  const group = p.h / p.hkv;
  if (group > 1) {
    // each query head wrote its own dK, dV: a key/value head's gradient is the sum over its group
    dk = sum(reshape(dk, [p.b, p.hkv, group, p.nk, kd.d]), 2);
    dv = sum(reshape(dv, [p.b, p.hkv, group, p.nk, kd.dv]), 2);
  }
  return [cut(dq, p.d), cut(dk, p.d), cut(dv, p.dv)];
}
