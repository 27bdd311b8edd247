/**
 * Causal linear attention (Katharopoulos et al., arXiv 2006.16236, eq. 8-9)
 * as fused WGSL, forward and backward, for zoo/attention/linear.ts's
 * chunked form on this backend:
 *
 *   o_i = num_i / (den_i + ε),  num_i = Σ_{j≤i} (φq_i·φk_j) v_j,  den_i = Σ_{j≤i} φq_i·φk_j
 *
 * One kernel does all the work: `lin(A, B, C)_i = Σ_{j≤i} (A_i·B_j) C_j`
 * (or Σ_{j≥i}, reversed), chunked as in the paper's training form and in
 * "Transformers are RNNs"-style kernels (and GLA, Yang et al., arXiv
 * 2312.06635): a workgroup owns one sequence and 16 value columns; per chunk
 * of 32 rows it stages A, B, C in workgroup memory, adds the masked
 * intra-chunk products to the inter-chunk term A_i·S (S = Σ B_jᵀC_j over
 * earlier chunks, also in workgroup memory), then adds the chunk to S. The
 * denominator is the same product with a column of ones appended to v.
 *
 * Backward, by linearity in the attention weights aᵢⱼ = A_i·B_j, with
 * dnum = g/(den + ε) and dden = −(g·o)/(den + ε):
 *   dq = lin([dnum | dden], [v | 1], φk),   dφk = linᵣ([v | 1], [dnum | dden], φq),   dv = linᵣ(φk, φq, dnum)
 * three more calls of the same kernel (r: reversed time), so the backward
 * costs what the forward does, three times, with no n×n matrix anywhere.
 */
import { Tensor } from '../../../../core/tensor.js';
import { sizeOf } from '../../../../core/shape.js';
import { customVjp } from '../../../../autodiff/custom.js';
import { tidy } from '../../../../core/memory.js';
import { contiguous, reshape } from '../../../../ops/views.js';
import { add, div, mul, neg } from '../../../../ops/elementwise.js';
import { sum } from '../../../../ops/reduce.js';
import { concat, pad } from '../../../../ops/join.js';
import { slice } from '../../../../ops/slice.js';
import type { WebGpuBackend } from '../../backend.js';
import { META } from '../../wgsl.js';

const ROWS = 32;
const VB = 16;
const WG = 64;
/** the widest feature dimension of the kernel (A and B rows are staged in workgroup memory) */
export const LIN_MAX_F = 64;

const code = (FM: number) => (): string => `// causal linear attention, features up to ${FM}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> C: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
var<workgroup> As: array<f32, ${ROWS * FM}>;
var<workgroup> Bs: array<f32, ${ROWS * FM}>;
var<workgroup> Cs: array<f32, ${ROWS * VB}>;
var<workgroup> S: array<f32, ${FM * VB}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let BH = prm[0]; let n = prm[1]; let F = prm[2]; let V = prm[3]; let vBlocks = prm[4]; let rev = prm[5] != 0;
  let offA = prm[6]; let offB = prm[7]; let offC = prm[8];
  let g = i32(wid.y * nwg.x + wid.x);
  if (g >= BH * vBlocks) { return; }
  let bh = g / vBlocks;
  let v0 = (g % vBlocks) * ${VB};
  let me = i32(lid);
  let r = me % ${ROWS};
  let c0 = (me / ${ROWS}) * ${VB / 2};
  for (var e = me; e < ${FM * VB}; e += ${WG}) { S[e] = 0.0; }
  let chunks = (n + ${ROWS - 1}) / ${ROWS};
  for (var ch = 0; ch < chunks; ch++) {
    for (var e = me; e < ${ROWS} * F; e += ${WG}) {
      let rr = e / F; let f = e % F; let i = ch * ${ROWS} + rr;
      let p = select(i, n - 1 - i, rev);
      As[rr * ${FM} + f] = select(0.0, A[offA + (bh * n + p) * F + f], i < n);
      Bs[rr * ${FM} + f] = select(0.0, B[offB + (bh * n + p) * F + f], i < n);
    }
    for (var e = me; e < ${ROWS * VB}; e += ${WG}) {
      let rr = e / ${VB}; let cc = e % ${VB}; let i = ch * ${ROWS} + rr; let col = v0 + cc;
      let p = select(i, n - 1 - i, rev);
      Cs[e] = select(0.0, C[offC + (bh * n + p) * V + col], i < n && col < V);
    }
    workgroupBarrier();
    // zeroed explicitly: a declaration inside a loop is not re-zeroed by every driver (SwiftShader keeps the last value)
    var acc: array<f32, ${VB / 2}>;
    for (var c = 0; c < ${VB / 2}; c++) { acc[c] = 0.0; }
    for (var f = 0; f < F; f++) {
      let a = As[r * ${FM} + f];
      for (var c = 0; c < ${VB / 2}; c++) { acc[c] = fma(a, S[f * ${VB} + c0 + c], acc[c]); }
    }
    for (var j = 0; j <= r; j++) {
      var s = 0.0;
      for (var f = 0; f < F; f++) { s = fma(As[r * ${FM} + f], Bs[j * ${FM} + f], s); }
      for (var c = 0; c < ${VB / 2}; c++) { acc[c] = fma(s, Cs[j * ${VB} + c0 + c], acc[c]); }
    }
    let i = ch * ${ROWS} + r;
    if (i < n) {
      let p = select(i, n - 1 - i, rev);
      for (var c = 0; c < ${VB / 2}; c++) {
        let col = v0 + c0 + c;
        if (col < V) { O[(bh * n + p) * V + col] = acc[c]; }
      }
    }
    workgroupBarrier();
    // S += Σ_j B_jᵀ C_j over this chunk
    for (var e = me; e < F * ${VB}; e += ${WG}) {
      let f = e / ${VB}; let cc = e % ${VB};
      var s = 0.0;
      for (var j = 0; j < ${ROWS}; j++) { s = fma(Bs[j * ${FM} + f], Cs[j * ${VB} + cc], s); }
      S[e] += s;
    }
    workgroupBarrier();
  }
}`;

/** lin(A, B, C): A, B (BH, n, F), C (BH, n, V), f32 on `b` → (BH, n, V). */
function lin(b: WebGpuBackend, A: Tensor, B: Tensor, C: Tensor, reverse: boolean): Tensor {
  const [Ac, Bc, Cc] = [contiguous(A), contiguous(B), contiguous(C)];
  const [BH, n, F] = Ac.shape as [number, number, number];
  const V = Cc.shape[2]!;
  const FM = Math.ceil(F / 16) * 16;
  const out = new Tensor({ storage: b.alloc('f32', BH * n * V), shape: [BH, n, V], dtype: 'f32' });
  const vBlocks = Math.ceil(V / VB);
  b.launch(`fused:linattn:${FM}`, code(FM), [Ac.storage, Bc.storage, Cc.storage, out.storage], BH * vBlocks, [BH, n, F, V, vBlocks, reverse ? 1 : 0, Ac.offset, Bc.offset, Cc.offset]);
  for (const [t, orig] of [[Ac, A], [Bc, B], [Cc, C]] as const) if (t !== orig) t.dispose();
  return out;
}

export interface LinearGpuOptions {
  normalize: boolean;
  eps: number;
}

/** Workgroup memory the kernel needs at feature width F. */
const smemBytes = (F: number): number => 4 * (2 * ROWS * Math.ceil(F / 16) * 16 + ROWS * VB + Math.ceil(F / 16) * 16 * VB);

/**
 * Causal linear attention of features fq, fk (…, n, f) and values v (…, n, dv)
 * in WGSL, differentiable (customVjp); undefined when it does not fit (not
 * f32 on this backend, f > 64 or dv > 63, or too little workgroup memory).
 */
export function linearAttentionGpu(b: WebGpuBackend, fq: Tensor, fk: Tensor, v: Tensor, o: LinearGpuOptions): Tensor | undefined {
  if (![fq, fk, v].every((t) => t.dtype === 'f32' && t.storage.backend === b && t.ndim >= 2 && t.ndim === fq.ndim)) return undefined;
  const n = fq.shape[fq.ndim - 2]!;
  const f = fq.shape[fq.ndim - 1]!;
  const dv = v.shape[v.ndim - 1]!;
  const lead = fq.shape.slice(0, -2);
  const BH = sizeOf(lead);
  if (f > LIN_MAX_F || dv + 1 > LIN_MAX_F || n === 0 || f === 0 || dv === 0 || BH === 0) return undefined;
  // the widest call is the backward's, with dv + 1 features
  if (smemBytes(Math.max(f, dv + 1)) > b.ctx.limits.workgroupStorageSize) return undefined;
  const flat = (t: Tensor, w: number): Tensor => reshape(t, [BH, n, w]);
  const ones = (t: Tensor): Tensor => pad(t, [[0, 0], [0, 0], [0, 1]], 1);
  const fn = customVjp(
    'linearAttentionChunked',
    (qi, ki, vi) => {
      const [q, k, vv] = [flat(qi!, f), flat(ki!, f), flat(vi!, dv)];
      if (!o.normalize) return { out: reshape(lin(b, q, k, vv, false), [...lead, n, dv]), saved: [q, k, vv] };
      const v1 = ones(vv);
      const nd = lin(b, q, k, v1, false);
      v1.dispose();
      const num = slice(nd, [null, null, { stop: dv }]);
      const den = add(slice(nd, [null, null, { start: dv }]), o.eps);
      nd.dispose();
      const out = div(num, den);
      num.dispose();
      return { out: reshape(out, [...lead, n, dv]), saved: [q, k, vv, out, den] };
    },
    (saved, [g]) => {
      if (!g) return [null, null, null];
      return tidy(() => backward(saved, g));
    },
  );
  /** the three gradients (see the module comment) */
  function backward(saved: Tensor[], g: Tensor): Tensor[] {
      const [q, k, vv] = saved as [Tensor, Tensor, Tensor];
      const gg = flat(g, dv);
      let a: Tensor;
      let vx: Tensor;
      let dnum: Tensor;
      if (o.normalize) {
        const [out, den] = [saved[3]!, saved[4]!];
        dnum = div(gg, den);
        const dden = neg(div(sum(mul(gg, out), -1, true), den));
        a = concat([dnum, dden], -1);
        vx = ones(vv);
      } else {
        dnum = gg;
        a = gg;
        vx = vv;
      }
      const dq = lin(b, a, vx, k, false);
      const dk = lin(b, vx, a, q, true);
      const dV = lin(b, k, q, dnum, true);
      return [reshape(dq, [...lead, n, f]), reshape(dk, [...lead, n, f]), reshape(dV, [...lead, n, dv])];
  }
  return fn(fq, fk, v) as Tensor;
}
