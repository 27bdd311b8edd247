/**
 * The CPU backend's native kernels for the `selectiveScan` and
 * `selectiveScanBackward` ops (src/zoo/ssm/selectiveScan.ts) on float32:
 * the WebAssembly SIMD kernels of scanKernel.ts, run in place on the heap.
 *
 * Around them: A is transposed to (N, d) so that four channels of one state
 * index are one load, and dB, dC are reduced over their four lanes at the
 * end (Δ's bias and softplus happen inside the kernels). Channels are split across the thread pool; each
 * thread accumulates dB and dC in its own buffers.
 *
 * They decline (the float64 reference loops run instead) for other dtypes,
 * without SIMD, or when d is not a multiple of 4.
 */
import type { Kernel, OutMeta, View } from '../../backend.js';
import type { CpuBackend, CpuStorage } from '../index.js';
import { Temps, f32At } from './scanTemps.js';
import { detectFeatures } from './features.js';
import { callerScratch, kernelModule, poolIds, type KernelModule } from './kernels.js';
import { threadCount, threadPool } from '../threads/index.js';
import type { Task } from '../threads/pool.js';
import { buildScan, scanBwdScratch, scanFwdScratch } from './scanKernel.js';

interface ScanAttrs {
  softplus: boolean;
  hasD: boolean;
  hasZ: boolean;
  hasBias: boolean;
  chunk: number;
}

/** Below this many state updates (b·L·d·N) a scan runs on the calling thread. */
export const SCAN_THREAD_MIN = 1 << 16;

function scanModule(): KernelModule | undefined {
  const f = detectFeatures();
  if (!f.simd) return undefined;
  return kernelModule(f.relaxed ? 'scan.relaxed' : 'scan.simd', (shared) => buildScan({ fused: f.relaxed, shared }));
}

interface Prepared {
  u: number; raw: number; bias: number; At: number; B: number; C: number; D: number; z: number; flags: number;
  b: number; L: number; d: number; N: number;
}

/** Pointers to the (contiguous) inputs, Aᵀ, and the kernel's flags (1 D, 2 z, 4 softplus, 8 bias). */
function prepare(be: CpuBackend, tmp: Temps, ins: readonly View[], a: ScanAttrs): Prepared {
  const [b, L, d] = ins[0]!.shape as [number, number, number];
  const N = ins[2]!.shape[1]!;
  let k = 5;
  const Dv = a.hasD ? ins[k++]! : null;
  const zv = a.hasZ ? ins[k++]! : null;
  const biasV = a.hasBias ? ins[k++]! : null;
  const At = tmp.alloc(N * d);
  const p: Prepared = {
    u: tmp.contiguous(ins[0]!), raw: tmp.contiguous(ins[1]!), bias: biasV ? tmp.contiguous(biasV) : 0, At: At.ptr,
    B: tmp.contiguous(ins[3]!), C: tmp.contiguous(ins[4]!), D: Dv ? tmp.contiguous(Dv) : 0, z: zv ? tmp.contiguous(zv) : 0,
    flags: (Dv ? 1 : 0) | (zv ? 2 : 0) | (a.softplus ? 4 : 0) | (biasV ? 8 : 0),
    b, L, d, N,
  };
  const A = f32At(be, tmp.contiguous(ins[2]!), d * N);
  const at = f32At(be, At.ptr, N * d);
  for (let c = 0; c < d; c++) for (let n = 0; n < N; n++) at[n * d + c] = A[c * N + n]!;
  return p;
}

/** Split channels [0, d) into at most `parts` ranges of whole groups of four. */
function channelRanges(d: number, parts: number): [number, number][] {
  const groups = d / 4;
  const per = Math.ceil(groups / parts);
  const out: [number, number][] = [];
  for (let g = 0; g < groups; g += per) out.push([4 * g, 4 * Math.min(groups, g + per)]);
  return out;
}

function usable(ins: readonly View[], outs: readonly OutMeta[]): boolean {
  return ins.every((v) => v.dtype === 'f32') && outs.every((o) => o.dtype === 'f32') && ins[0]!.shape[2]! % 4 === 0;
}

export function scanForwardKernel(be: CpuBackend): Kernel {
  return (inputs, attrs, outs) => {
    if (!usable(inputs, outs)) return undefined;
    const km = scanModule();
    if (!km) return undefined;
    const a = attrs as ScanAttrs;
    const tmp = new Temps(be);
    const [out, last, ckpt] = outs.map((o) => be.alloc('f32', o.shape.reduce((x, y) => x * y, 1))) as [CpuStorage, CpuStorage, CpuStorage];
    try {
      const p = prepare(be, tmp, inputs, a);
      const { b, L, d, N } = p;
      const nc = Math.ceil(L / a.chunk);
      const pool = threadCount() > 1 && b * L * d * N >= SCAN_THREAD_MIN ? threadPool() : undefined;
      const ranges = channelRanges(d, pool ? pool.threads : 1);
      const args = (i: number, [c0, c1]: [number, number]): number[] => [
        p.u + 4 * i * L * d, p.raw + 4 * i * L * d, p.bias, p.At, p.B + 4 * i * L * N, p.C + 4 * i * L * N, p.D, p.z ? p.z + 4 * i * L * d : 0,
        out.ptr + 4 * i * L * d, last.ptr + 4 * i * d * N, ckpt.ptr + 4 * i * nc * N * d, L, d, N, a.chunk, p.flags, c0, c1,
      ];
      if (!pool || ranges.length < 2) {
        const sc = callerScratch(scanFwdScratch(N));
        for (let i = 0; i < b; i++) km.fns.fwd!(sc, ...args(i, [0, d]));
      } else {
        pool.ensureScratch(scanFwdScratch(N));
        const id = poolIds(pool, km).fwd!;
        const tasks: Task[] = [];
        for (let i = 0; i < b; i++) for (const r of ranges) tasks.push({ fn: id, args: args(i, r) });
        pool.run(tasks);
      }
    } catch (e) {
      for (const s of [out, last, ckpt]) be.free(s);
      throw e;
    } finally {
      tmp.free();
    }
    return [out, last, ckpt];
  };
}

export function scanBackwardKernel(be: CpuBackend): Kernel {
  return (inputs, attrs, outs) => {
    const n = inputs.length - 3;
    if (!usable(inputs, outs)) return undefined;
    const km = scanModule();
    if (!km) return undefined;
    const a = attrs as ScanAttrs;
    const tmp = new Temps(be);
    const res = outs.map((o) => be.alloc('f32', o.shape.reduce((x, y) => x * y, 1))) as CpuStorage[];
    try {
      const p = prepare(be, tmp, inputs.slice(0, n), a);
      const { b, L, d, N } = p;
      const nc = Math.ceil(L / a.chunk);
      const ckpt = tmp.contiguous(inputs[n]!);
      const g = tmp.contiguous(inputs[n + 1]!);
      const gl = tmp.contiguous(inputs[n + 2]!);
      const [du, ddl, dA, dB, dC] = res as [CpuStorage, CpuStorage, CpuStorage, CpuStorage, CpuStorage];
      let k = 5;
      const dD = a.hasD ? res[k++]! : null;
      const dz = a.hasZ ? res[k++]! : null;
      const dbias = a.hasBias ? res[k++]! : null;
      const dAt = tmp.alloc(N * d);
      const pool = threadCount() > 1 && b * L * d * N >= SCAN_THREAD_MIN ? threadPool() : undefined;
      const ranges = channelRanges(d, pool ? pool.threads : 1);
      const acc = tmp.alloc(ranges.length * 2 * L * N * 4); // per range: dB4 then dC4
      const scratch = scanBwdScratch(N, a.chunk, d);
      // scratch first: growing the heap later would leave the views below behind
      const sc = pool && ranges.length > 1 ? 0 : callerScratch(scratch);
      if (pool && ranges.length > 1) pool.ensureScratch(scratch);
      f32At(be, dAt.ptr, N * d).fill(0);
      if (dD) f32At(be, dD.ptr, d).fill(0);
      if (dbias) f32At(be, dbias.ptr, d).fill(0);
      const dBo = f32At(be, dB.ptr, b * L * N);
      const dCo = f32At(be, dC.ptr, b * L * N);
      const accBytes = 4 * 2 * L * N * 4;
      const args = (i: number, r: number, [c0, c1]: [number, number]): number[] => [
        p.u + 4 * i * L * d, p.raw + 4 * i * L * d, p.bias, p.At, p.B + 4 * i * L * N, p.C + 4 * i * L * N, p.D, p.z ? p.z + 4 * i * L * d : 0,
        ckpt + 4 * i * nc * N * d, g + 4 * i * L * d, gl + 4 * i * d * N, du.ptr + 4 * i * L * d, ddl.ptr + 4 * i * L * d, dAt.ptr,
        acc.ptr + r * accBytes, acc.ptr + r * accBytes + accBytes / 2, dD ? dD.ptr : 0, dz ? dz.ptr + 4 * i * L * d : 0, dbias ? dbias.ptr : 0,
        L, d, N, a.chunk, p.flags, c0, c1,
      ];
      for (let i = 0; i < b; i++) {
        f32At(be, acc.ptr, ranges.length * 2 * L * N * 4).fill(0);
        if (sc) km.fns.bwd!(sc, ...args(i, 0, [0, d]));
        else {
          const id = poolIds(pool!, km).bwd!;
          pool!.run(ranges.map((rg, r) => ({ fn: id, args: args(i, r, rg) })));
        }
        // reduce the per-lane (and per-thread) partial sums of dB and dC
        const ac = f32At(be, acc.ptr, ranges.length * 2 * L * N * 4);
        for (let q = 0; q < L * N; q++) {
          let sb = 0;
          let scc = 0;
          for (let r = 0; r < ranges.length; r++) {
            const o = r * 2 * L * N * 4 + 4 * q;
            const oc = o + L * N * 4;
            sb += ac[o]! + ac[o + 1]! + ac[o + 2]! + ac[o + 3]!;
            scc += ac[oc]! + ac[oc + 1]! + ac[oc + 2]! + ac[oc + 3]!;
          }
          dBo[i * L * N + q] = sb;
          dCo[i * L * N + q] = scc;
        }
      }
      const at = f32At(be, dAt.ptr, N * d);
      const dAo = f32At(be, dA.ptr, d * N);
      for (let c = 0; c < d; c++) for (let q = 0; q < N; q++) dAo[c * N + q] = at[q * d + c]!;
    } catch (e) {
      for (const s of res) be.free(s);
      throw e;
    } finally {
      tmp.free();
    }
    return res;
  };
}
