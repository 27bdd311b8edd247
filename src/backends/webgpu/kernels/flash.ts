/**
 * FlashAttention on WebGPU: exact softmax(scale·QKᵀ)V without the score
 * matrix (Dao et al., "FlashAttention", arXiv 2205.14135; the backward of
 * FlashAttention-2, arXiv 2307.08691), f32, grouped-query heads, causal
 * masking aligned bottom-right (query i sees keys j ≤ i + nk − nq, as the
 * CPU kernels do).
 *
 * Forward: a workgroup owns 64 query rows of one (batch, head); K and V are
 * staged through workgroup memory 16 keys at a time, and each invocation
 * keeps its row's running max, normaliser and output accumulator (online
 * softmax). It also writes lse = m + log ℓ per row for the backward.
 * Backward, two passes: (1) per query row, D = dO·O and dQ = scale·Σⱼ Pᵢⱼ(dPᵢⱼ − D)kⱼ;
 * (2) per key row of a KV head, over every query head of its group,
 * dV = Σᵢ Pᵢⱼ dOᵢ and dK = scale·Σᵢ Pᵢⱼ(dPᵢⱼ − Dᵢ)qᵢ, with P recomputed
 * from lse — so no pass needs atomics and results are deterministic.
 * Head dims up to 128 (the per-invocation rows live in registers, sized to
 * the head dims rounded up to 16).
 */
import type { Storage } from '../../backend.js';
import { Tensor } from '../../../core/tensor.js';
import { customVjp } from '../../../autodiff/custom.js';
import { contiguous } from '../../../ops/views.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META } from '../wgsl.js';
import { flashAttentionGpu4 } from './flash4.js';

const ROWS = 64;
const TILE = 16;
export const FLASH_MAX_DIM = 128;
/** the register rows are sized to the head dims, rounded up to 16: small heads compile (and run) lighter shaders */
const dmaxFor = (d: number, dv: number): number => Math.ceil(Math.max(d, dv, 1) / 16) * 16;

export interface FlashGpuOptions {
  causal: boolean;
  scale: number;
  /**
   * which kernels: 'v4' (register-tiled, flash4.ts), 'v3' (one query row per
   * invocation, below), 'v4+v3' (v4 forward, v3 backward) or 'auto' (the
   * default: v4 both ways — an early v4 backward lost to v3 from n = 4k, the
   * final one beat it at every length measured on an H100, 38 against 187 ms
   * at 4k); NABLA_FLASH_KERNEL sets the default
   */
  kernel?: FlashKernel;
}

export type FlashKernel = 'v3' | 'v4' | 'v4+v3' | 'auto';

/** The kernel version asked for: the option, else NABLA_FLASH_KERNEL (read at each call, so a benchmark can time each), else auto. */
function kernelVersion(o: FlashGpuOptions): FlashKernel {
  if (o.kernel) return o.kernel;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_FLASH_KERNEL;
  return env === 'v3' || env === 'v4' || env === 'v4+v3' ? env : 'auto';
}


export interface Dims {
  b: number;
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
}

const HEADER = `${META}
${MATH}`;

/**
 * The head dims are compile-time constants of each shader (one pipeline per
 * (d, dv)): with constant trip counts the compiler unrolls the row loops and
 * keeps q, acc, dk, dv in registers; with run-time bounds (one shader for all
 * dims up to DMAX) NVIDIA's compiler put them in local memory, which made the
 * kernels ~30x slower on an H100.
 */
const dimsConst = (d: number, dv: number): string => `const D = ${d}; const DV = ${dv};`;

/** Shared prologue: which (batch, head) and row block this workgroup owns. prm: [blocks, H, hkv, nq, nk, d, dv, causal, shift] + scale. */
const COMMON = `
  let H = prm[1]; let HKV = prm[2]; let NQ = prm[3]; let NK = prm[4];
  let causal = prm[7] != 0; let shift = prm[8]; let scale = bitcast<f32>(prm[9]);
  let g = i32(wid.y * nwg.x + wid.x);
  let blocks = prm[0];`;

/**
 * `let res = Σ_c a(c)·b(c)` over c < n as four interleaved partial sums
 * (a vec4 FMA per 4 terms): four dependency chains of n/4 instead of one of
 * n, which is what bounds a lane that waits on its dot product.
 */
const dot4 = (res: string, a: (c: string) => string, b: (c: string) => string, n: number): string => {
  const n4 = n - (n % 4);
  const q = (f: (c: string) => string): string => `vec4f(${f('c')}, ${f('c + 1')}, ${f('c + 2')}, ${f('c + 3')})`;
  return `var ${res}4 = vec4f(0.0);
        for (var c = 0; c < ${n4}; c += 4) { ${res}4 = fma(${q(a)}, ${q(b)}, ${res}4); }
        ${n % 4 ? `for (var c = ${n4}; c < ${n}; c++) { ${res}4.x = fma(${a('c')}, ${b('c')}, ${res}4.x); }` : ''}
        let ${res} = (${res}4.x + ${res}4.y) + (${res}4.z + ${res}4.w);`;
};

const FORWARD = (DMAX: number, d: number, dv: number): string => `// flash forward
${HEADER}
${dimsConst(d, dv)}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read_write> L: array<f32>;
var<workgroup> Ks: array<f32, ${TILE * DMAX}>;
var<workgroup> Vs: array<f32, ${TILE * DMAX}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${COMMON}
  let qBlocks = (NQ + ${ROWS - 1}) / ${ROWS};
  let bh = g / qBlocks; let qb = g % qBlocks;
  let b = bh / H; let h = bh % H; let kh = h / (H / HKV);
  let i = qb * ${ROWS} + i32(lid);
  let live = i < NQ && g < blocks;
  let row = bh * NQ + i;
  let kBase = (b * HKV + kh) * NK;
  var q: array<f32, ${DMAX}>;
  var acc: array<f32, ${DMAX}>;
  for (var c = 0; c < D; c++) { q[c] = select(0.0, Q[row * D + c] * scale, live); }
  for (var c = 0; c < DV; c++) { acc[c] = 0.0; }
  var m = -inf_();
  var l = 0.0;
  let lastRow = min(NQ - 1, qb * ${ROWS} + ${ROWS - 1});
  let jEnd = select(NK, min(NK, lastRow + shift + 1), causal);
  for (var j0 = 0; j0 < jEnd; j0 += ${TILE}) {
    for (var e = i32(lid); e < ${TILE} * D; e += ${ROWS}) {
      let jj = e / D; let c = e % D; let j = j0 + jj;
      Ks[jj * ${DMAX} + c] = select(0.0, K[(kBase + j) * D + c], j < NK);
    }
    for (var e = i32(lid); e < ${TILE} * DV; e += ${ROWS}) {
      let jj = e / DV; let c = e % DV; let j = j0 + jj;
      Vs[jj * ${DMAX} + c] = select(0.0, V[(kBase + j) * DV + c], j < NK);
    }
    workgroupBarrier();
    if (live) {
      // the tile's scores, then one online-softmax rescale for the whole tile
      var sv: array<f32, ${TILE}>;
      var tmax = -inf_();
      for (var jj = 0; jj < ${TILE}; jj++) {
        let j = j0 + jj;
        var s = 0.0;
        for (var c = 0; c < D; c++) { s = fma(q[c], Ks[jj * ${DMAX} + c], s); }
        sv[jj] = select(s, -inf_(), j >= NK || (causal && j > i + shift));
        tmax = max(tmax, sv[jj]);
      }
      if (tmax > -inf_()) {
        let mNew = max(m, tmax);
        let corr = exp(m - mNew);
        l = l * corr;
        for (var c = 0; c < DV; c++) { acc[c] = acc[c] * corr; }
        for (var jj = 0; jj < ${TILE}; jj++) {
          let p = exp(sv[jj] - mNew);
          l = l + p;
          for (var c = 0; c < DV; c++) { acc[c] = fma(p, Vs[jj * ${DMAX} + c], acc[c]); }
        }
        m = mNew;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var c = 0; c < DV; c++) { O[row * DV + c] = acc[c] / l; }
    L[row] = m + log(l);
  }
}`;

const BACKWARD_DQ = (DMAX: number, d: number, dv: number): string => `// flash backward dq
${HEADER}
${dimsConst(d, dv)}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> O: array<f32>;
@group(0) @binding(5) var<storage, read> GO: array<f32>;
@group(0) @binding(6) var<storage, read> L: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: array<f32>;
@group(0) @binding(8) var<storage, read_write> DD: array<f32>;
var<workgroup> Ks: array<f32, ${TILE * DMAX}>;
var<workgroup> Vs: array<f32, ${TILE * DMAX}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${COMMON}
  let qBlocks = (NQ + ${ROWS - 1}) / ${ROWS};
  let bh = g / qBlocks; let qb = g % qBlocks;
  let b = bh / H; let h = bh % H; let kh = h / (H / HKV);
  let i = qb * ${ROWS} + i32(lid);
  let live = i < NQ && g < blocks;
  let row = bh * NQ + i;
  let kBase = (b * HKV + kh) * NK;
  var q: array<f32, ${DMAX}>;
  var go: array<f32, ${DMAX}>;
  var dq: array<f32, ${DMAX}>;
  var Di = 0.0;
  for (var c = 0; c < D; c++) { q[c] = select(0.0, Q[row * D + c], live); dq[c] = 0.0; }
  for (var c = 0; c < DV; c++) { go[c] = select(0.0, GO[row * DV + c], live); Di = fma(go[c], select(0.0, O[row * DV + c], live), Di); }
  let lse = select(0.0, L[row], live);
  let lastRow = min(NQ - 1, qb * ${ROWS} + ${ROWS - 1});
  let jEnd = select(NK, min(NK, lastRow + shift + 1), causal);
  for (var j0 = 0; j0 < jEnd; j0 += ${TILE}) {
    for (var e = i32(lid); e < ${TILE} * D; e += ${ROWS}) {
      let jj = e / D; let c = e % D; let j = j0 + jj;
      Ks[jj * ${DMAX} + c] = select(0.0, K[(kBase + j) * D + c], j < NK);
    }
    for (var e = i32(lid); e < ${TILE} * DV; e += ${ROWS}) {
      let jj = e / DV; let c = e % DV; let j = j0 + jj;
      Vs[jj * ${DMAX} + c] = select(0.0, V[(kBase + j) * DV + c], j < NK);
    }
    workgroupBarrier();
    if (live) {
      for (var jj = 0; jj < ${TILE}; jj++) {
        let j = j0 + jj;
        if (j >= NK || (causal && j > i + shift)) { continue; }
        ${dot4('s', (c) => `q[${c}]`, (c) => `Ks[jj * ${DMAX} + ${c}]`, d)}
        let p = exp(s * scale - lse);
        ${dot4('dp', (c) => `go[${c}]`, (c) => `Vs[jj * ${DMAX} + ${c}]`, dv)}
        let ds = p * (dp - Di);
        for (var c = 0; c < D; c++) { dq[c] = fma(ds, Ks[jj * ${DMAX} + c], dq[c]); }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var c = 0; c < D; c++) { DQ[row * D + c] = dq[c] * scale; }
    DD[row] = Di;
  }
}`;

const BACKWARD_DKV = (DMAX: number, d: number, dv: number): string => `// flash backward dk dv
${HEADER}
${dimsConst(d, dv)}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> GO: array<f32>;
@group(0) @binding(5) var<storage, read> L: array<f32>;
@group(0) @binding(6) var<storage, read> DD: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: array<f32>;
@group(0) @binding(8) var<storage, read_write> DVo: array<f32>;
var<workgroup> Qs: array<f32, ${TILE * DMAX}>;
var<workgroup> Gs: array<f32, ${TILE * DMAX}>;
var<workgroup> Ls: array<f32, ${TILE}>;
var<workgroup> Ds: array<f32, ${TILE}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${COMMON}
  let kBlocks = (NK + ${ROWS - 1}) / ${ROWS};
  let bk = g / kBlocks; let kb = g % kBlocks;
  let b = bk / HKV; let kh = bk % HKV;
  let j = kb * ${ROWS} + i32(lid);
  let live = j < NK && g < blocks;
  let krow = bk * NK + j;
  var k: array<f32, ${DMAX}>;
  var v: array<f32, ${DMAX}>;
  var dk: array<f32, ${DMAX}>;
  var dv: array<f32, ${DMAX}>;
  for (var c = 0; c < D; c++) { k[c] = select(0.0, K[krow * D + c], live); dk[c] = 0.0; }
  for (var c = 0; c < DV; c++) { v[c] = select(0.0, V[krow * DV + c], live); dv[c] = 0.0; }
  let rep = H / HKV;
  let iFirst = select(0, max(0, kb * ${ROWS} - shift), causal);
  let i0 = (iFirst / ${TILE}) * ${TILE};
  for (var hh = kh * rep; hh < (kh + 1) * rep; hh++) {
    let qBase = (b * H + hh) * NQ;
    for (var t0 = i0; t0 < NQ; t0 += ${TILE}) {
      for (var e = i32(lid); e < ${TILE} * D; e += ${ROWS}) {
        let ii = e / D; let c = e % D; let i = t0 + ii;
        Qs[ii * ${DMAX} + c] = select(0.0, Q[(qBase + i) * D + c], i < NQ);
      }
      for (var e = i32(lid); e < ${TILE} * DV; e += ${ROWS}) {
        let ii = e / DV; let c = e % DV; let i = t0 + ii;
        Gs[ii * ${DMAX} + c] = select(0.0, GO[(qBase + i) * DV + c], i < NQ);
      }
      if (i32(lid) < ${TILE}) {
        let i = t0 + i32(lid);
        Ls[lid] = select(0.0, L[qBase + i], i < NQ);
        Ds[lid] = select(0.0, DD[qBase + i], i < NQ);
      }
      workgroupBarrier();
      if (live) {
        for (var ii = 0; ii < ${TILE}; ii++) {
          let i = t0 + ii;
          if (i >= NQ || (causal && j > i + shift)) { continue; }
          ${dot4('s', (c) => `Qs[ii * ${DMAX} + ${c}]`, (c) => `k[${c}]`, d)}
          let p = exp(s * scale - Ls[ii]);
          // dP·row and the dV update from one read of dO's row, dP in four partial sums
          var dp4 = vec4f(0.0);
          for (var c = 0; c < ${dv - (dv % 4)}; c += 4) {
            let g4 = vec4f(Gs[ii * ${DMAX} + c], Gs[ii * ${DMAX} + c + 1], Gs[ii * ${DMAX} + c + 2], Gs[ii * ${DMAX} + c + 3]);
            dv[c] = fma(p, g4.x, dv[c]); dv[c + 1] = fma(p, g4.y, dv[c + 1]); dv[c + 2] = fma(p, g4.z, dv[c + 2]); dv[c + 3] = fma(p, g4.w, dv[c + 3]);
            dp4 = fma(g4, vec4f(v[c], v[c + 1], v[c + 2], v[c + 3]), dp4);
          }
          for (var c = ${dv - (dv % 4)}; c < DV; c++) {
            let gg = Gs[ii * ${DMAX} + c];
            dv[c] = fma(p, gg, dv[c]);
            dp4.x = fma(gg, v[c], dp4.x);
          }
          let dp = (dp4.x + dp4.y) + (dp4.z + dp4.w);
          let ds = p * (dp - Ds[ii]);
          for (var c = 0; c < D; c++) { dk[c] = fma(ds, Qs[ii * ${DMAX} + c], dk[c]); }
        }
      }
      workgroupBarrier();
    }
  }
  if (live) {
    for (var c = 0; c < D; c++) { DK[krow * D + c] = dk[c] * scale; }
    for (var c = 0; c < DV; c++) { DVo[krow * DV + c] = dv[c]; }
  }
}`;

function fresh(b: WebGpuBackend, shape: number[]): Tensor {
  const n = shape.reduce((a, x) => a * x, 1);
  return new Tensor({ storage: b.alloc('f32', n), shape, dtype: 'f32' });
}

function params(dm: Dims, o: FlashGpuOptions, blocks: number): [number[], number[]] {
  return [[blocks, dm.h, dm.hkv, dm.nq, dm.nk, dm.d, dm.dv, o.causal ? 1 : 0, dm.nk - dm.nq], [o.scale]];
}

const st = (...ts: Tensor[]): Storage[] => ts.map((t) => t.storage);

/**
 * FlashAttention with its WGSL forward and backward (q (b,h,nq,d), k (b,hkv,nk,d),
 * v (b,hkv,nk,dv), f32, on this backend); undefined when the shapes do not fit
 * the kernels (head dims over 128), so the caller can take another path.
 */
export function flashAttentionGpu(b: WebGpuBackend, q: Tensor, k: Tensor, v: Tensor, o: FlashGpuOptions): Tensor | undefined {
  if (![q, k, v].every((t) => t.dtype === 'f32' && t.storage.backend === b && t.ndim === 4)) return undefined;
  const dm: Dims = { b: q.shape[0]!, h: q.shape[1]!, hkv: k.shape[1]!, nq: q.shape[2]!, nk: k.shape[2]!, d: q.shape[3]!, dv: v.shape[3]! };
  if (dm.d > FLASH_MAX_DIM || dm.dv > FLASH_MAX_DIM || dm.d === 0 || dm.nq === 0 || dm.nk === 0) return undefined;
  const ver = kernelVersion(o);
  if (ver !== 'v3') {
    const v3b = ver === 'v4+v3';
    const r = flashAttentionGpu4(b, q, k, v, dm, o, v3b ? (saved, g) => flashBackwardV3(b, dm, o, saved, g) : undefined);
    if (r) return r;
  }
  const dmax = dmaxFor(dm.d, dm.dv);
  const qBlocks = dm.b * dm.h * Math.ceil(dm.nq / ROWS);
  const f = customVjp(
    'flashAttention',
    (qi, ki, vi) => {
      const [qc, kc, vc] = [contiguous(qi!), contiguous(ki!), contiguous(vi!)];
      const out = fresh(b, [dm.b, dm.h, dm.nq, dm.dv]);
      const lse = fresh(b, [dm.b, dm.h, dm.nq]);
      const [ints, floats] = params(dm, o, qBlocks);
      b.launch(`flash:fwd:${dm.d}:${dm.dv}`, () => FORWARD(dmax, dm.d, dm.dv), st(qc, kc, vc, out, lse), qBlocks, ints, floats);
      return { out, saved: [qc, kc, vc, out, lse] };
    },
    (saved, [g]) => (g ? flashBackwardV3(b, dm, o, saved as Tensor[], g) : [null, null, null]),
  );
  return f(q, k, v) as Tensor;
}

/**
 * The v3 backward (dQ and D per query row, then dK, dV per key row) from the
 * forward's saved [q, k, v, out, lse] (natural-log lse per row, as both
 * forwards write it) and the output's cotangent g.
 */
export function flashBackwardV3(b: WebGpuBackend, dm: Dims, o: FlashGpuOptions, saved: readonly Tensor[], g: Tensor): [Tensor, Tensor, Tensor] {
  const [qc, kc, vc, out, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const dmax = dmaxFor(dm.d, dm.dv);
  const qBlocks = dm.b * dm.h * Math.ceil(dm.nq / ROWS);
  const kBlocks = dm.b * dm.hkv * Math.ceil(dm.nk / ROWS);
  const gc = contiguous(g);
  const dq = fresh(b, [dm.b, dm.h, dm.nq, dm.d]);
  const dd = fresh(b, [dm.b, dm.h, dm.nq]);
  const dk = fresh(b, [dm.b, dm.hkv, dm.nk, dm.d]);
  const dv = fresh(b, [dm.b, dm.hkv, dm.nk, dm.dv]);
  const [ints, floats] = params(dm, o, qBlocks);
  b.launch(`flash:dq:${dm.d}:${dm.dv}`, () => BACKWARD_DQ(dmax, dm.d, dm.dv), st(qc, kc, vc, out, gc, lse, dq, dd), qBlocks, ints, floats);
  const [ints2] = params(dm, o, kBlocks);
  b.launch(`flash:dkv:${dm.d}:${dm.dv}`, () => BACKWARD_DKV(dmax, dm.d, dm.dv), st(qc, kc, vc, gc, lse, dd, dk, dv), kBlocks, ints2, floats);
  gc.dispose();
  dd.dispose();
  return [dq, dk, dv];
}
