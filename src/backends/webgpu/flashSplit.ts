/**
 * FlashAttention with operands larger than one storage binding (see
 * split.ts for the general mechanism). Attention is independent across
 * batches and key/value heads, so q (b, h, nq, d), k and v are regrouped as
 * G = b·hkv groups — q as (G, h/hkv, nq, d), k and v as (G, 1, nk, ·): the
 * query heads of one group share its key/value head — and the groups are cut
 * into pieces that fit a binding. Each piece runs the ordinary kernels
 * (`flashAttentionGpu`, forward and backward through its own custom VJP);
 * the pieces are cut from the inputs and joined into the output by buffer
 * copies (contiguous blocks along the group axis), whose VJPs are each
 * other: the cotangents of the pieces are joined into the inputs' gradients
 * and the output's cotangent is cut into the pieces', so gradients cost
 * O(size), not a sum of zero-padded pieces.
 *
 * A single group larger than a binding (one head's q or k over a very long
 * sequence) is refused with an error naming the sizes and the limit.
 */
import { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { sizeOf } from '../../core/shape.js';
import { customVjp } from '../../autodiff/custom.js';
import { contiguous, reshape } from '../../ops/views.js';
import type { WebGpuBackend, GpuStorage } from './backend.js';
import { flashAttentionGpu, type FlashGpuOptions } from './kernels/flash.js';
import { splitStats } from './split.js';

const F32 = 4;

/** Contiguous f32 blocks of `sizes` rows (axis 0) of a contiguous tensor, copied out by the stream. */
function cutRows(b: WebGpuBackend, x: Tensor, sizes: readonly number[]): Tensor[] {
  const rest = x.shape.slice(1);
  const row = sizeOf(rest);
  const src = x.storage as GpuStorage;
  let at = 0;
  return sizes.map((n) => {
    const s = b.alloc('f32', n * row);
    const from = (src.byteOffset ?? 0) + (x.offset + at * row) * F32;
    b.stream.enqueue(() => b.stream.copy(src.pb, from, s.pb, 0, n * row * F32));
    at += n;
    return new Tensor({ storage: s, shape: [n, ...rest], dtype: 'f32' });
  });
}

/** The blocks stacked back along axis 0 (null blocks are zeros). */
function joinRows(b: WebGpuBackend, parts: readonly (Tensor | null)[], sizes: readonly number[], rest: readonly number[]): Tensor {
  const row = sizeOf(rest);
  const total = sizes.reduce((a, n) => a + n, 0);
  const out = b.alloc('f32', total * row);
  let at = 0;
  parts.forEach((p, i) => {
    const n = sizes[i]!;
    if (!p) {
      const z = b.alloc('f32', n * row);
      b.fill(z, 0);
      b.stream.enqueue(() => b.stream.copy(z.pb, 0, out.pb, at * row * F32, n * row * F32));
      b.free(z);
    } else {
      const c = contiguous(p);
      const src = c.storage as GpuStorage;
      const from = (src.byteOffset ?? 0) + c.offset * F32;
      const to = at * row * F32;
      b.stream.enqueue(() => b.stream.copy(src.pb, from, out.pb, to, n * row * F32));
      if (c !== p) c.dispose();
    }
    at += n;
  });
  return new Tensor({ storage: out, shape: [total, ...rest], dtype: 'f32' });
}

/** Cut along axis 0 into pieces (differentiable: the VJP joins the pieces' cotangents). */
function cut(b: WebGpuBackend, x: Tensor, sizes: readonly number[]): Tensor[] {
  const rest = x.shape.slice(1);
  const f = customVjp(
    'webgpu:cutRows',
    (xi) => ({ out: cutRows(b, contiguous(xi!), sizes) }),
    (_saved, cts) => [joinRows(b, cts, sizes, rest)],
  );
  return f(x) as Tensor[];
}

/** Join pieces along axis 0 (differentiable: the VJP cuts the output's cotangent). */
function join(b: WebGpuBackend, parts: readonly Tensor[], sizes: readonly number[]): Tensor {
  const rest = parts[0]!.shape.slice(1);
  const f = customVjp(
    'webgpu:joinRows',
    (...ps) => ({ out: joinRows(b, ps, sizes, rest) }),
    (_saved, [g]) => (g ? cutRows(b, contiguous(g), sizes) : parts.map(() => null)),
  );
  return f(...parts) as Tensor;
}

/**
 * FlashAttention on this backend, in pieces of (batch, kv head) groups when
 * an operand or the output exceeds a binding; the plain kernels otherwise.
 */
export function flashAttentionInPieces(b: WebGpuBackend, q: Tensor, k: Tensor, v: Tensor, o: FlashGpuOptions): Tensor | undefined {
  const limit = b.ctx.limits.maxStorageBindingSize;
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) return flashAttentionGpu(b, q, k, v, o);
  const [B, H, nq, d] = q.shape as [number, number, number, number];
  const [, hkv, nk] = k.shape as [number, number, number, number];
  const dv = v.shape[3]!;
  const big = [q, k, v].some((t) => t.storage.byteLength > limit) || B * H * nq * dv * F32 > limit;
  if (!big) return flashAttentionGpu(b, q, k, v, o);
  if (![q, k, v].every((t) => t.dtype === 'f32')) return undefined;
  const rep = H / hkv;
  const G = B * hkv;
  const perGroup = F32 * Math.max(rep * nq * d, nk * d, nk * dv, rep * nq * dv);
  const g = Math.floor((limit - b.ctx.limits.storageOffsetAlignment) / perGroup);
  if (g < 1) {
    throw new Error(
      `webgpu: flashAttention: q ${JSON.stringify(q.shape)}, k ${JSON.stringify(k.shape)}, v ${JSON.stringify(v.shape)}: one (batch, kv head) group needs ${perGroup} bytes per operand, over the device's maxStorageBufferBindingSize (${limit} bytes); pieces are cut by groups only`,
    );
  }
  const sizes: number[] = [];
  for (let at = 0; at < G; at += g) sizes.push(Math.min(g, G - at));
  splitStats.ops++;
  splitStats.pieces += sizes.length;
  return tidy(() => {
    const qs = cut(b, reshape(contiguous(q), [G, rep, nq, d]), sizes);
    const ks = cut(b, reshape(contiguous(k), [G, 1, nk, d]), sizes);
    const vs = cut(b, reshape(contiguous(v), [G, 1, nk, dv]), sizes);
    const outs = qs.map((qi, i) => {
      const r = flashAttentionGpu(b, qi, ks[i]!, vs[i]!, o);
      if (!r) throw new Error(`webgpu: flashAttention: a piece ${JSON.stringify(qi.shape)} did not fit the kernels`);
      return r;
    });
    return reshape(join(b, outs, sizes), [B, H, nq, dv]);
  });
}
