/**
 * Symmetric eigendecomposition on the device (f32, batched, n ≤ 256): the
 * parallel cyclic Jacobi method (Golub & Van Loan, Matrix Computations,
 * §8.5.5; the round-robin ordering of Brent & Luk, 1985), one workgroup per
 * matrix, on the symmetric part ½(A + Aᵀ) as the CPU's op:
 *   a sweep is n'−1 rounds (n' = n rounded up to even); in each round the
 *   n'/2 disjoint pairs (p, q) of a round-robin tournament each get the
 *   rotation J that zeroes M_pq (G&VL Alg. 8.5.1), then every pair's rows are
 *   rotated (M ← JᵀM), then its columns (M ← MJ, V ← VJ), barriers between.
 * Sweeps stop once the off-diagonal mass is below f32 resolution of the
 * whole (at most 30). Then the CPU's output convention: eigenvalues
 * ascending, each eigenvector's largest-magnitude component (the first on
 * ties) positive. Jacobi rotations converge quadratically and keep small
 * eigenvalues to high relative accuracy, which is why they suit a GPU
 * workgroup better than the CPU's tridiagonal QR (serial bulge chasing).
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META } from '../wgsl.js';

const WG = 64;
const MAX_N = 256;
const MAX_SWEEPS = 30;

/** Meta: [count, n, np, aOff, aRow, aCol, batch(nb), aBatch(nb)]. Work: M (n·n) then the order (n) per matrix. */
function eighShader(nb: number): string {
  return `// eigh jacobi nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> L: array<f32>;
@group(0) @binding(5) var<storage, read_write> E: array<f32>;
var<workgroup> rot: array<vec4f, ${MAX_N / 2}>; // (c, s, p, q) of each pair this round
var<workgroup> more: i32;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let b = i32(wid.y * nwg.x + wid.x);
  if (b >= prm[0]) { return; }
  let lid = i32(lidx);
  let n = prm[1]; let np = prm[2]; let half = np / 2;
  var pa = prm[3];
  { var r = b; for (var d = ${nb - 1}; d >= 0; d--) { let s = prm[6 + d]; let c = r % s; r = r / s; pa += c * prm[${6 + nb} + d]; } }
  let m0 = b * (n * n + n);
  let v0 = b * n * n;
  for (var e = lid; e < n * n; e += ${WG}) {
    let i = e / n; let j = e % n;
    M[m0 + e] = 0.5 * (A[pa + i * prm[4] + j * prm[5]] + A[pa + j * prm[4] + i * prm[5]]);
    V[v0 + e] = select(0.0, 1.0, i == j);
  }
  storageBarrier();
  for (var sweep = 0; sweep < ${MAX_SWEEPS}; sweep++) {
    if (lid == 0) {
      var off = 0.0; var all = 0.0;
      for (var e = 0; e < n * n; e++) { let v = M[m0 + e]; all += v * v; if (e / n != e % n) { off += v * v; } }
      more = select(0, 1, off > 1e-13 * all);
    }
    if (workgroupUniformLoad(&more) == 0) { break; }
    for (var round = 0; round < np - 1; round++) {
      for (var k = lid; k < half; k += ${WG}) {
        var p = 0; var q = 1 + round % (np - 1);
        if (k > 0) { p = 1 + (round + k) % (np - 1); q = 1 + (round + np - 1 - k) % (np - 1); }
        let lo = min(p, q); let hi = max(p, q);
        var c = 1.0; var s = 0.0;
        if (hi < n) {
          let apq = M[m0 + lo * n + hi];
          if (apq != 0.0) {
            let tau = (M[m0 + hi * n + hi] - M[m0 + lo * n + lo]) / (2.0 * apq);
            let t = select(1.0 / (tau - sqrt(1.0 + tau * tau)), 1.0 / (tau + sqrt(1.0 + tau * tau)), tau >= 0.0);
            c = 1.0 / sqrt(1.0 + t * t);
            s = t * c;
          }
        }
        rot[k] = vec4f(c, s, f32(lo), f32(hi));
      }
      workgroupBarrier();
      // rows: M ← JᵀM
      for (var e = lid; e < half * n; e += ${WG}) {
        let r = rot[e / n]; let j = e % n;
        let p = i32(r.z); let q = i32(r.w);
        if (q < n && r.y != 0.0) {
          let mp = M[m0 + p * n + j]; let mq = M[m0 + q * n + j];
          M[m0 + p * n + j] = r.x * mp - r.y * mq;
          M[m0 + q * n + j] = r.y * mp + r.x * mq;
        }
      }
      storageBarrier();
      // columns: M ← MJ, V ← VJ
      for (var e = lid; e < half * n; e += ${WG}) {
        let r = rot[e / n]; let i = e % n;
        let p = i32(r.z); let q = i32(r.w);
        if (q < n && r.y != 0.0) {
          let mp = M[m0 + i * n + p]; let mq = M[m0 + i * n + q];
          M[m0 + i * n + p] = r.x * mp - r.y * mq;
          M[m0 + i * n + q] = r.y * mp + r.x * mq;
          let vp = V[v0 + i * n + p]; let vq = V[v0 + i * n + q];
          V[v0 + i * n + p] = r.x * vp - r.y * vq;
          V[v0 + i * n + q] = r.y * vp + r.x * vq;
        }
      }
      storageBarrier();
    }
  }
  // the order of the eigenvalues (a stable selection), kept after M
  let ord = m0 + n * n;
  if (lid == 0) {
    for (var i = 0; i < n; i++) { M[ord + i] = f32(i); }
    for (var i = 0; i < n; i++) {
      var best = i;
      for (var j = i + 1; j < n; j++) {
        if (M[m0 + i32(M[ord + j]) * (n + 1)] < M[m0 + i32(M[ord + best]) * (n + 1)]) { best = j; }
      }
      let t = M[ord + best];
      for (var j = best; j > i; j--) { M[ord + j] = M[ord + j - 1]; }
      M[ord + i] = t;
    }
  }
  storageBarrier();
  for (var j = lid; j < n; j += ${WG}) {
    let src = i32(M[ord + j]);
    L[b * n + j] = M[m0 + src * (n + 1)];
    var big = 0;
    for (var i = 1; i < n; i++) { if (abs(V[v0 + i * n + src]) > abs(V[v0 + big * n + src])) { big = i; } }
    let sg = select(1.0, -1.0, V[v0 + big * n + src] < 0.0);
    for (var i = 0; i < n; i++) { E[v0 + i * n + j] = sg * V[v0 + i * n + src]; }
  }
}`;
}

function eigh(b: WebGpuBackend, a: View, outs: readonly OutMeta[]): Storage[] | undefined {
  const n = a.shape[a.shape.length - 1]!;
  if (n > MAX_N) return undefined;
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const batch = a.shape.slice(0, -2);
  const count = sizeOf(batch);
  if (count === 0 || n === 0) return results;
  const work = b.alloc('f32', count * (n * n + n));
  const vecs = b.alloc('f32', count * n * n);
  const ints = [count, n, n + (n % 2), a.offset, ...a.strides.slice(-2), ...batch, ...a.strides.slice(0, -2)];
  b.launch(`eigh:${batch.length}`, () => eighShader(batch.length), [a.storage, work, vecs, ...results], count, ints);
  b.free(work);
  b.free(vecs);
  return results;
}

export function registerEigh(b: WebGpuBackend): void {
  const k: Kernel = ([a], _attrs, outs) => (a!.dtype === 'f32' ? eigh(b, a!, outs) : undefined);
  b.kernels.set('eigh', Object.assign(k, { dtypes: ['f32'] as const }));
}
