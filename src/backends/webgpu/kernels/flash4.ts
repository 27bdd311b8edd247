/**
 * FlashAttention v4 in WGSL: register-tiled forward and FlashAttention-2
 * backward (Dao, arXiv 2307.08691, Algorithms 1 and 2), f32, grouped-query
 * heads, causal masking aligned bottom-right (query i sees key j ≤ i + nk − nq).
 *
 * Each kernel works on a (rows × keys) block of scores held as 4 × 4 register
 * tiles: an invocation owns 4 rows (ty + TY·r) and 4 keys (tx + W·c), so the
 * W invocations of a row group are adjacent lanes. The operand tiles are
 * staged in workgroup memory as vec4 rows whose 16-byte chunks are XOR-
 * swizzled by row (chunk k of row r lives at k ^ (r & 7)), so the lanes of
 * a warp reading consecutive rows at one chunk hit distinct banks; dot
 * products are vec4 FMAs. Probability tiles are written one vec4 per row per
 * invocation with the keys permuted (chunk tx holds keys tx, tx+W, tx+2W,
 * tx+3W), and the product with V reads V's rows in the same order.
 *
 * - forward: one workgroup per (query block, head); online softmax in base 2
 *   (Q pre-scaled by scale·log₂e, exp2), the row max combined across the W
 *   lanes by subgroup shuffles where the adapter's smallest subgroup spans
 *   them, else (partly) through workgroup memory; the row sums are kept per
 *   lane and combined once at the end. Fully masked key tiles are skipped,
 *   only tiles crossing the diagonal or the end are masked. Writes lse.
 * - backward: D = rowsum(dO∘O) by a small kernel; dK, dV by one workgroup per
 *   key block looping over the query blocks that see it (P recomputed from
 *   lse); dQ by a separate pass per query block over its key blocks. FA-2
 *   accumulates dQ across key blocks with atomic adds; WGSL has no float
 *   atomics (a compare-exchange loop on the bits would serialise under
 *   contention and make the sum order, hence the result, non-deterministic),
 *   so the second pass recomputes S and dP instead: two extra block products
 *   per tile, no atomics, deterministic results.
 *
 * Tile sizes are chosen per kernel from the head dims and the device's
 * workgroup-storage limit (largest first).
 */
import type { Storage } from '../../backend.js';
import { Tensor } from '../../../core/tensor.js';
import { customVjp } from '../../../autodiff/custom.js';
import { contiguous } from '../../../ops/views.js';
import type { WebGpuBackend } from '../backend.js';
import { n4, strideOf, type Tiles } from './flash4Tiles.js';
import type { Dims } from './flash.js';
import { flash4ForwardWgsl } from './flash4Fwd.js';
import { flash4DkvWgsl, flash4DotWgsl, flash4DqWgsl } from './flash4Bwd.js';

export type { Tiles } from './flash4Tiles.js';

/** The problem's sizes (flash.ts's `Dims`). */
export type Flash4Dims = Dims;

/** Test hooks: force the workgroup-memory reductions or cap the tile sizes. */
export interface Flash4Overrides {
  subgroups?: boolean;
  maxRows?: number;
  maxKeys?: number;
  /** false: XOR-swizzled tiles only */
  pad?: boolean;
  /** vec4 registers per lane for the next tile's reads (default 8; 0 turns prefetching off) */
  prefetch?: number;
  /** forward with two lanes per score tile where the subgroups span them (off by default) */
  pair?: boolean;
}
/** NABLA_FLASH4="rows=32,keys=16,pad=0,subgroups=0,prefetch=0" caps the tiles / turns features off, for experiments on a GPU. */
function fromEnv(): Flash4Overrides {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_FLASH4;
  const o: Flash4Overrides = {};
  for (const kv of (env ?? '').split(',')) {
    const [k, v] = kv.split('=').map((x) => x.trim());
    if (k === 'rows') o.maxRows = Number(v);
    else if (k === 'keys') o.maxKeys = Number(v);
    else if (k === 'pad') o.pad = v !== '0';
    else if (k === 'subgroups') o.subgroups = v !== '0';
    else if (k === 'prefetch') o.prefetch = Number(v);
    else if (k === 'pair') o.pair = v !== '0';
  }
  return o;
}
let overrides: Flash4Overrides = fromEnv();
export function setFlash4Overrides(o: Flash4Overrides): void {
  overrides = { ...o };
}

/** The subgroup size the row reductions may rely on (0: none). */
export function subgroupSpan(b: WebGpuBackend): number {
  return overrides.subgroups === false ? 0 : b.ctx.subgroupMin;
}

/** Workgroup bytes of each kernel for a tiling. */
export const forwardBytes = (d: number, dv: number, t: Tiles, sg: number): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  const W = t.keys / 4;
  return 16 * (t.rows * z(n4(d)) + t.keys * z(n4(d)) + t.keys * z(n4(dv)) + t.rows * z(W) + (Math.min(sg, W) < W ? (t.rows * t.keys) / 16 : 0));
};
export const dqBytes = (d: number, dv: number, t: Tiles): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  return 16 * (t.rows * z(n4(d)) + t.rows * z(n4(dv)) + t.keys * z(n4(d)) + Math.max(t.keys * z(n4(dv)), t.rows * z(t.keys / 4)));
};
export const dkvBytes = (d: number, dv: number, t: Tiles): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  return 16 * (t.keys * z(n4(d)) + t.keys * z(n4(dv)) + t.rows * z(n4(d)) + t.rows * z(n4(dv)) + 2 * t.keys * z(t.rows / 4)) + 8 * t.rows;
};

const CANDIDATES: Omit<Tiles, 'pad' | 'prefetch'>[] = [
  { rows: 64, keys: 32 },
  { rows: 64, keys: 16 },
  { rows: 32, keys: 32 },
  { rows: 32, keys: 16 },
  { rows: 16, keys: 32 },
  { rows: 16, keys: 16 },
  { rows: 16, keys: 8 },
  { rows: 8, keys: 8 },
  { rows: 8, keys: 4 },
  { rows: 4, keys: 4 },
];

/** The first (largest) tile that fits the device's workgroup memory and invocation limits, padded when that fits too. */
export function chooseTiles(bytes: (t: Tiles) => number, limitBytes: number, maxInvocations: number): Tiles | undefined {
  for (const c of CANDIDATES) {
    if (c.rows > (overrides.maxRows ?? 64) || c.keys > (overrides.maxKeys ?? 64) || (c.rows * c.keys) / 16 > maxInvocations) continue;
    for (const pad of overrides.pad === false ? [false] : [true, false]) {
      const t = { ...c, pad, prefetch: overrides.prefetch ?? 8 };
      if (bytes(t) <= limitBytes) return t;
    }
  }
  return undefined;
}

function fresh(b: WebGpuBackend, shape: number[]): Tensor {
  const n = shape.reduce((a, x) => a * x, 1);
  return new Tensor({ storage: b.alloc('f32', n), shape, dtype: 'f32' });
}

const st = (...ts: Tensor[]): Storage[] => ts.map((t) => t.storage);

/** The tiles of the three kernels for these head dims on this device, or undefined when one does not fit. */
export function flash4Plan(b: WebGpuBackend, d: number, dv: number): { fwd: Tiles; dq: Tiles; dkv: Tiles; sg: number } | undefined {
  const lim = b.ctx.limits;
  const sg = subgroupSpan(b);
  const fwd = chooseTiles((t) => forwardBytes(d, dv, t, sg), lim.workgroupStorageSize, lim.maxWorkgroupSize);
  // lane pairs: the pair sums its halves by one shuffle and the row groups (2W lanes) reduce by shuffles alone
  if (fwd && overrides.pair && sg >= fwd.keys / 2 && n4(d) % 2 === 0 && (fwd.rows * fwd.keys) / 8 <= lim.maxWorkgroupSize) fwd.pair = true;
  const dq = chooseTiles((t) => dqBytes(d, dv, t), lim.workgroupStorageSize, lim.maxWorkgroupSize);
  // the dK/dV kernel runs two lane groups over each score tile
  const dkv = chooseTiles((t) => dkvBytes(d, dv, t), lim.workgroupStorageSize, Math.floor(lim.maxWorkgroupSize / 2));
  return fwd && dq && dkv ? { fwd, dq, dkv, sg } : undefined;
}

type Source = [key: string, code: () => string];

/** The pipeline keys and WGSL sources of the four kernels for these head dims on this device. */
function kernels(b: WebGpuBackend, d: number, dv: number): { fwd: Source; dot: Source; dq: Source; dkv: Source; plan: NonNullable<ReturnType<typeof flash4Plan>> } | undefined {
  const plan = flash4Plan(b, d, dv);
  if (!plan) return undefined;
  const { fwd: f, dq: q, dkv: k, sg } = plan;
  const tag = `${d}:${dv}`;
  return {
    plan,
    fwd: [`flash4:fwd:${tag}:${f.rows}x${f.keys}:${f.pad}:${f.prefetch}:${f.pair ? 2 : 1}:${sg}`, () => flash4ForwardWgsl(d, dv, f, sg)],
    dot: [`flash4:dot:${dv}`, () => flash4DotWgsl(dv)],
    dq: [`flash4:dq:${tag}:${q.rows}x${q.keys}:${q.pad}:${q.prefetch}`, () => flash4DqWgsl(d, dv, q)],
    dkv: [`flash4:dkv:${tag}:${k.rows}x${k.keys}:${k.pad}:${k.prefetch}`, () => flash4DkvWgsl(d, dv, k)],
  };
}

/**
 * Build the four pipelines for these head dims ahead of use, one at a time
 * with a turn of the event loop between them: shader compilation blocks the
 * thread (seconds each on a CPU driver), and one long block can starve
 * whatever else the process serves. False when v4 does not fit the device.
 */
export async function warmFlash4(b: WebGpuBackend, d: number, dv: number): Promise<boolean> {
  const ks = kernels(b, d, dv);
  if (!ks) return false;
  for (const [key, code] of [ks.fwd, ks.dot, ks.dq, ks.dkv]) {
    b.pipeline(key, code);
    await new Promise((r) => setTimeout(r, 0));
  }
  return true;
}

/**
 * FlashAttention v4 (q (b,h,nq,d), k (b,hkv,nk,d), v (b,hkv,nk,dv), contiguous
 * f32 on this backend, head dims ≥ 1), as a function with its own VJP;
 * undefined when no tiling fits the device. `backward` replaces v4's backward
 * (the v3 one is faster for long sequences on some GPUs).
 */
export function flashAttentionGpu4(
  b: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  dm: Flash4Dims,
  o: { causal: boolean; scale: number },
  /** another backward to run instead of v4's, from the saved [q, k, v, out, lse] (natural-log lse) */
  backward?: (saved: readonly Tensor[], g: Tensor) => [Tensor, Tensor, Tensor],
): Tensor | undefined {
  const ks = kernels(b, dm.d, dm.dv);
  if (!ks) return undefined;
  const { fwd, dq: tq, dkv: tk } = ks.plan;
  const meta = (blocks: number, bh: number): number[] => [blocks, dm.h, dm.hkv, dm.nq, dm.nk, o.causal ? 1 : 0, dm.nk - dm.nq, bh];
  const f = customVjp(
    'flashAttention',
    (qi, ki, vi) => {
      const [qc, kc, vc] = [contiguous(qi!), contiguous(ki!), contiguous(vi!)];
      const out = fresh(b, [dm.b, dm.h, dm.nq, dm.dv]);
      const lse = fresh(b, [dm.b, dm.h, dm.nq]);
      const blocks = dm.b * dm.h * Math.ceil(dm.nq / fwd.rows);
      b.launch(...ks.fwd, st(qc, kc, vc, out, lse), blocks, meta(blocks, dm.b * dm.h), [o.scale]);
      return { out, saved: [qc, kc, vc, out, lse] };
    },
    (saved, [g]) => {
      if (!g) return [null, null, null];
      if (backward) return backward(saved as Tensor[], g);
      const [qc, kc, vc, out, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const gc = contiguous(g);
      const rows = dm.b * dm.h * dm.nq;
      const dd = fresh(b, [dm.b, dm.h, dm.nq]);
      b.launch(...ks.dot, st(gc, out, dd), Math.ceil(rows / 128), [rows]);
      const dq = fresh(b, [dm.b, dm.h, dm.nq, dm.d]);
      const dk = fresh(b, [dm.b, dm.hkv, dm.nk, dm.d]);
      const dv = fresh(b, [dm.b, dm.hkv, dm.nk, dm.dv]);
      const qBlocks = dm.b * dm.h * Math.ceil(dm.nq / tq.rows);
      b.launch(...ks.dq, st(qc, kc, vc, gc, lse, dd, dq), qBlocks, meta(qBlocks, dm.b * dm.h), [o.scale]);
      const kBlocks = dm.b * dm.hkv * Math.ceil(dm.nk / tk.keys);
      b.launch(...ks.dkv, st(qc, kc, vc, gc, lse, dd, dk, dv), kBlocks, meta(kBlocks, dm.b * dm.hkv), [o.scale]);
      gc.dispose();
      dd.dispose();
      return [dq, dk, dv];
    },
  );
  return f(q, k, v) as Tensor;
}
