/**
 * Running the FlashAttention kernels of flash.kernel.ts on float32 tensors
 * that live on the CPU heap, on the thread pool:
 * - forward: one task per (head, query block), the longest blocks (the last
 *   ones, when causal) first so the threads finish together; K is packed
 *   once per key/value head beforehand;
 * - backward: one task per query head (its dQ accumulates across key blocks,
 *   so a head stays on one thread); grouped query heads write their own dK,
 *   dV and the caller sums each group.
 *
 * All pointers are byte addresses of contiguous tensors; the caller
 * (zoo/attention/flash.ts) pads d and dv to multiples of 8 and allocates the
 * buffers (so the allocator's high-water mark sees every O(n·d) byte).
 */
import { threadCount, threadPool } from '../threads/index.js';
import type { Task } from '../threads/pool.js';
import { detectFeatures } from './features.js';
import { callerScratch, kernelModule, poolIds, type KernelModule } from './kernels.js';
import { buildFlash, flashScratchBytes } from './flash.kernel.js';

export interface FlashKernelDims {
  b: number;
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  /** widths, multiples of 8 */
  d: number;
  dv: number;
  scale: number;
  causal: boolean;
  /** a multiple of 4 */
  blockQ: number;
  /** a multiple of 8 */
  blockK: number;
}

/** Whether the engine has WebAssembly SIMD (the kernels need it; relaxed SIMD is optional). */
export function flashWasmAvailable(): boolean {
  return detectFeatures().simd;
}

/** Sizes with a module of their own (constant strides); past this many, one generic module serves the rest. */
const MAX_SPECIALISED = 12;
const specialised = new Set<string>();
let specialise = true;

/** Whether new sizes get specialised modules (default true; tests turn it off to exercise the generic module). */
export function setFlashSpecialisation(on: boolean): void {
  specialise = on;
}

/** The kernel module for these widths and key block: specialised (strides baked in) while few sizes are in use. */
function flashModule(d: number, dv: number, bc: number): KernelModule {
  const fused = detectFeatures().relaxed;
  const tag = `${d}.${dv}.${bc}`;
  if (specialised.has(tag) || (specialise && specialised.size < MAX_SPECIALISED)) {
    specialised.add(tag);
    return kernelModule(`flash.${fused ? 'relaxed' : 'simd'}.${tag}`, (shared) => buildFlash({ fused, shared, dims: { d, dv, bc } }));
  }
  return kernelModule(fused ? 'flash.relaxed' : 'flash.simd', (shared) => buildFlash({ fused, shared }));
}

/** Run tasks on the pool (in jobs of at most 256) or on this thread. */
function runTasks(km: KernelModule, fn: 'fwd' | 'bwd' | 'pack8', tasks: number[][], scratch: number, flops: number, threads?: number): void {
  const want = Math.min(threads ?? threadCount(), threadCount());
  const pool = want > 1 && tasks.length > 1 && flops > 1 << 20 ? threadPool() : undefined;
  if (!pool) {
    const s = callerScratch(scratch);
    const f = km.fns[fn]!;
    for (const args of tasks) f(s, ...args);
    return;
  }
  pool.ensureScratch(scratch);
  const id = poolIds(pool, km)[fn]!;
  for (let at = 0; at < tasks.length; at += 256) pool.run(tasks.slice(at, at + 256).map((args): Task => ({ fn: id, args })));
}

function checkDims(p: FlashKernelDims): void {
  if (p.d % 8 || p.dv % 8 || p.blockQ % 4 || p.blockK % 8) throw new Error(`flash kernel: d ${p.d} and dv ${p.dv} must be multiples of 8, blockQ ${p.blockQ} of 4, blockK ${p.blockK} of 8`);
}

/** Rows of a packed K head (padded to 8). */
export const packedRows = (nk: number): number => Math.ceil(nk / 8) * 8;

/**
 * Forward: O (b, h, nq, dv) and per row (m, ℓ) into ml (b, h, nq, 2);
 * kPacked (b, hkv, packedRows(nk), d) is scratch the caller allocates.
 */
export function flashForwardWasm(ptr: { q: number; k: number; v: number; o: number; ml: number; kPacked: number }, p: FlashKernelDims, opts: { threads?: number } = {}): void {
  checkDims(p);
  const km = flashModule(p.d, p.dv, p.blockK);
  const { b, h, hkv, nq, nk, d, dv, blockQ: br, blockK: bc } = p;
  const scratch = flashScratchBytes(br, bc, d, dv);
  const nkp = packedRows(nk);
  const packs: number[][] = [];
  for (let t = 0; t < b * hkv; t++) packs.push([ptr.kPacked + 4 * t * nkp * d, ptr.k + 4 * t * nk * d, nk, d]);
  runTasks(km, 'pack8', packs, scratch, b * hkv * nk * d * 8, opts.threads);
  const g = h / hkv;
  const shift = nk - nq;
  const tasks: { cost: number; args: number[] }[] = [];
  for (let bh = 0; bh < b * h; bh++) {
    const kv = Math.floor(bh / h) * hkv + Math.floor((bh % h) / g);
    for (let i0 = 0; i0 < nq; i0 += br) {
      const rows = Math.min(br, nq - i0);
      const keys = p.causal ? Math.min(nk, i0 + rows + shift) : nk;
      tasks.push({
        cost: keys,
        args: [
          ptr.q + 4 * (bh * nq + i0) * d, ptr.kPacked + 4 * kv * nkp * d, ptr.v + 4 * kv * nk * dv, ptr.o + 4 * (bh * nq + i0) * dv,
          ptr.ml + 8 * (bh * nq + i0), rows, nk, i0 + shift, p.causal ? 1 : 0, d, dv, p.scale, br, bc,
        ],
      });
    }
  }
  tasks.sort((x, y) => y.cost - x.cost);
  runTasks(km, 'fwd', tasks.map((t) => t.args), scratch, 2 * b * h * nq * nk * (d + dv), opts.threads);
}

/**
 * Backward: dq (b, h, nq, d) must be zero on entry; dk (b, h, nk, d) and
 * dv (b, h, nk, dv) receive each query head's own gradient; dd (b, h, nq)
 * is scratch for D = rowsum(dO∘O); lse (b, h, nq) is the saved logsumexp.
 */
export function flashBackwardWasm(
  ptr: { q: number; k: number; v: number; o: number; g: number; lse: number; dd: number; dq: number; dk: number; dv: number },
  p: FlashKernelDims,
  opts: { threads?: number } = {},
): void {
  checkDims(p);
  const km = flashModule(p.d, p.dv, p.blockK);
  const { b, h, hkv, nq, nk, d, dv, blockQ: br, blockK: bc } = p;
  const scratch = flashScratchBytes(br, bc, d, dv);
  const g = h / hkv;
  const tasks: number[][] = [];
  for (let bh = 0; bh < b * h; bh++) {
    const kv = Math.floor(bh / h) * hkv + Math.floor((bh % h) / g);
    tasks.push([
      ptr.q + 4 * bh * nq * d, ptr.k + 4 * kv * nk * d, ptr.v + 4 * kv * nk * dv, ptr.o + 4 * bh * nq * dv, ptr.g + 4 * bh * nq * dv,
      ptr.lse + 4 * bh * nq, ptr.dd + 4 * bh * nq, ptr.dq + 4 * bh * nq * d, ptr.dk + 4 * bh * nk * d, ptr.dv + 4 * bh * nk * dv,
      nq, nk, nk - nq, p.causal ? 1 : 0, d, dv, p.scale, br, bc,
    ]);
  }
  runTasks(km, 'bwd', tasks, scratch, 4 * b * h * nq * nk * (d + dv), opts.threads);
}
