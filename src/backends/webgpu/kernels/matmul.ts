/**
 * Matrix multiply C = op(A)·op(B) over broadcast batch axes, f32.
 *
 * Shared-memory tiling with register blocking: a workgroup of 16×16
 * invocations computes a 64×64 tile of C, each invocation a 4×4 block held
 * in registers; the K axis is walked in slabs of 16 that are staged in
 * workgroup memory (A as 64×16, B as 16×64), so every element fetched from
 * global memory is used 64 times (32×32 tiles on SwiftShader, see `shader`) (the scheme of Volkov & Demmel, "Benchmarking
 * GPUs to tune dense linear algebra", SC'08, as used by most WebGPU GEMMs).
 *
 * Transposes cost nothing: op(A)[m, k] is read through strides, with the two
 * last strides swapped when `transA` (likewise B), so transposed and strided
 * views are multiplied in place. Batch axes broadcast by stride 0.
 *
 * Meta: [M, N, K, batchCount, aOff, aRow, aCol, bOff, bRow, bCol, nb, batchShape(nb), aBatchStrides(nb), bBatchStrides(nb)].
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META, broadcastStrides } from '../wgsl.js';

const TK = 16; // K slab

/**
 * The shader for a C tile of T×T (T/4 × T/4 invocations, 4×4 each). One shader
 * serves every batch rank (the rank is a parameter). T = 64 on GPUs; 32 on
 * SwiftShader, whose compile time grows with the workgroup size (≈2 s vs 4 s).
 */
const shader = (T: number): string => {
  const S = T / 4;
  const per = (T * TK) / (S * S);
  return `// matmul ${T}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<f32, ${T * TK}>;
var<workgroup> Bs: array<f32, ${TK * T}>;
fn store(cBase: i32, gm: i32, gn: i32, M: i32, N: i32, v: vec4f) {
  if (gm >= M) { return; }
  for (var j = 0; j < 4; j++) { if (gn + ${S} * j < N) { C[cBase + gm * N + gn + ${S} * j] = v[j]; } }
}
@compute @workgroup_size(${S}, ${S})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let tilesN = (N + ${T - 1}) / ${T};
  let tilesM = (M + ${T - 1}) / ${T};
  let g = i32(wid.y * nwg.x + wid.x);
  let z = g / (tilesM * tilesN);
  let tm = (g / tilesN) % tilesM;
  let tn = g % tilesN;
  var aBase = prm[4];
  var bBase = prm[7];
  let nb = prm[10];
  { var r = z;
    for (var d = nb - 1; d >= 0; d--) {
      let s = prm[11 + d]; let c = r % s; r = r / s;
      aBase += c * prm[11 + nb + d]; bBase += c * prm[11 + 2 * nb + d];
    } }
  let aRow = prm[5]; let aCol = prm[6]; let bRow = prm[8]; let bCol = prm[9];
  let tx = i32(lid3.x); let ty = i32(lid3.y);
  let m0 = tm * ${T}; let n0 = tn * ${T};
  // the 4×4 block as four vec4 rows: no dynamically indexed private arrays (cheap to compile, kept in registers)
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var k0 = 0; k0 < K; k0 += ${TK}) {
    // stage A[m0.., k0..] (T×16) and B[k0.., n0..] (16×T), ${per} values per invocation each
    for (var q = 0; q < ${per}; q++) {
      let e = i32(lid) + q * ${S * S};
      let am = e / ${TK}; let ak = e % ${TK};
      let gm = m0 + am; let gk = k0 + ak;
      As[e] = select(0.0, A[aBase + gm * aRow + gk * aCol], gm < M && gk < K);
      let bk = e / ${T}; let bn = e % ${T};
      let hk = k0 + bk; let hn = n0 + bn;
      Bs[e] = select(0.0, B[bBase + hk * bRow + hn * bCol], hk < K && hn < N);
    }
    workgroupBarrier();
    for (var k = 0; k < ${TK}; k++) {
      let bv = vec4f(Bs[k * ${T} + tx], Bs[k * ${T} + tx + ${S}], Bs[k * ${T} + tx + ${2 * S}], Bs[k * ${T} + tx + ${3 * S}]);
      acc0 = fma(vec4f(As[ty * ${TK} + k]), bv, acc0);
      acc1 = fma(vec4f(As[(ty + ${S}) * ${TK} + k]), bv, acc1);
      acc2 = fma(vec4f(As[(ty + ${2 * S}) * ${TK} + k]), bv, acc2);
      acc3 = fma(vec4f(As[(ty + ${3 * S}) * ${TK} + k]), bv, acc3);
    }
    workgroupBarrier();
  }
  if (z >= prm[3]) { return; }
  let cBase = z * M * N;
  let gn = n0 + tx;
  store(cBase, m0 + ty, gn, M, N, acc0);
  store(cBase, m0 + ty + ${S}, gn, M, N, acc1);
  store(cBase, m0 + ty + ${2 * S}, gn, M, N, acc2);
  store(cBase, m0 + ty + ${3 * S}, gn, M, N, acc3);
}`;
};

function matmulKernel(b: WebGpuBackend, a: View, bv: View, attrs: { transA: boolean; transB: boolean }, out: OutMeta): Storage | undefined {
  if (a.dtype !== 'f32' || bv.dtype !== 'f32' || out.dtype !== 'f32') return undefined;
  const ra = a.shape.length;
  const rb = bv.shape.length;
  const M = out.shape[out.shape.length - 2]!;
  const N = out.shape[out.shape.length - 1]!;
  const K = attrs.transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const batch = out.shape.slice(0, -2);
  const nBatch = sizeOf(batch);
  const res = b.alloc('f32', sizeOf(out.shape));
  if (res.size === 0) return res;
  // op(A)[m,k] strides: (row, col) = A's last two strides, swapped for a transpose
  const [aR, aC] = attrs.transA ? [a.strides[ra - 1]!, a.strides[ra - 2]!] : [a.strides[ra - 2]!, a.strides[ra - 1]!];
  const [bR, bC] = attrs.transB ? [bv.strides[rb - 1]!, bv.strides[rb - 2]!] : [bv.strides[rb - 2]!, bv.strides[rb - 1]!];
  const aB = broadcastStrides(a.shape.slice(0, -2), a.strides.slice(0, -2), batch);
  const bB = broadcastStrides(bv.shape.slice(0, -2), bv.strides.slice(0, -2), batch);
  const nb = batch.length;
  const ints = [M, N, K, nBatch, a.offset, aR, aC, bv.offset, bR, bC, nb, ...batch, ...aB, ...bB];
  const T = /swiftshader/i.test(b.ctx.adapterName) ? 32 : 64;
  const groups = Math.ceil(M / T) * Math.ceil(N / T) * nBatch;
  b.launch(`matmul:${T}`, () => shader(T), [a.storage, bv.storage, res], groups, ints);
  return res;
}

export function registerMatmul(b: WebGpuBackend): void {
  const k: Kernel = (inputs, attrs, outs) => {
    const r = matmulKernel(b, inputs[0]!, inputs[1]!, attrs as { transA: boolean; transB: boolean }, outs[0]!);
    return r ? [r] : undefined;
  };
  b.kernels.set('matmul', Object.assign(k, { dtypes: ['f32'] as const }));
}
