/**
 * Reduced QR on the device (f32, batched): Householder reflections (Golub &
 * Van Loan, Matrix Computations, Alg. 5.2.1), one workgroup per matrix:
 *   for each column j < k = min(m, n): invocation 0 builds the reflector
 *   H_j = I − τ·v·vᵀ that zeroes column j below the diagonal (v stored in
 *   place of the zeroed entries, v_j = 1 implied, τ in a side buffer); then
 *   each trailing column is reflected by its own invocation; a storage
 *   barrier between.
 * Q = H_0·…·H_{k−1}·I[:, :k] is accumulated backwards (§5.1.6), one
 * invocation per column of Q (columns are independent, so no barriers).
 * Signs follow the CPU's convention: row i of R and column i of Q are
 * flipped so that R's diagonal is non-negative, which makes the reduced
 * factorization of a full-column-rank matrix unique (the same Q and R as the
 * CPU's up to rounding).
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META } from '../wgsl.js';
import { MAX_WORKGROUP_DIM } from './lu.js';

const WG = 64;

/** Meta: [count, m, n, k, aOff, aRow, aCol, batch(nb), aBatch(nb)]. */
function qrShader(nb: number): string {
  return `// qr householder nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> T: array<f32>;
@group(0) @binding(4) var<storage, read_write> Q: array<f32>;
@group(0) @binding(5) var<storage, read_write> R: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let q = i32(wid.y * nwg.x + wid.x);
  if (q >= prm[0]) { return; }
  let lid = i32(lidx);
  let m = prm[1]; let n = prm[2]; let k = prm[3];
  var pa = prm[4];
  { var r = q; for (var d = ${nb - 1}; d >= 0; d--) { let s = prm[7 + d]; let c = r % s; r = r / s; pa += c * prm[${7 + nb} + d]; } }
  let w = q * m * n; let t = q * k;
  for (var e = lid; e < m * n; e += ${WG}) { W[w + e] = A[pa + (e / n) * prm[5] + (e % n) * prm[6]]; }
  storageBarrier();
  for (var j = 0; j < k; j++) {
    if (lid == 0) {
      // the reflector of x = W[j:, j] (LAPACK's dlarfg): beta = −sign(alpha)·‖x‖
      let alpha = W[w + j * n + j];
      var tail = 0.0;
      for (var i = j + 1; i < m; i++) { let v = W[w + i * n + j]; tail += v * v; }
      if (tail == 0.0) {
        T[t + j] = 0.0;
      } else {
        let norm = sqrt(alpha * alpha + tail);
        let beta = select(norm, -norm, alpha >= 0.0);
        T[t + j] = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        for (var i = j + 1; i < m; i++) { W[w + i * n + j] *= scale; }
        W[w + j * n + j] = beta;
      }
    }
    storageBarrier();
    let tau = T[t + j];
    if (tau != 0.0) {
      for (var c = j + 1 + lid; c < n; c += ${WG}) {
        var s = W[w + j * n + c];
        for (var i = j + 1; i < m; i++) { s += W[w + i * n + j] * W[w + i * n + c]; }
        s *= tau;
        W[w + j * n + c] -= s;
        for (var i = j + 1; i < m; i++) { W[w + i * n + c] -= s * W[w + i * n + j]; }
      }
    }
    storageBarrier();
  }
  // R (k×n): the upper triangle, each row signed so its diagonal is ≥ 0
  for (var e = lid; e < k * n; e += ${WG}) {
    let i = e / n; let c = e % n;
    let sg = select(1.0, -1.0, W[w + i * n + i] < 0.0);
    R[q * k * n + e] = select(0.0, sg * W[w + e], c >= i);
  }
  // Q (m×k), one column per invocation: e_c reflected by H_{k−1}, …, H_0
  let o = q * m * k;
  for (var c = lid; c < k; c += ${WG}) {
    for (var i = 0; i < m; i++) { Q[o + i * k + c] = select(0.0, 1.0, i == c); }
    for (var j = k - 1; j >= 0; j--) {
      let tau = T[t + j];
      if (tau == 0.0) { continue; }
      var s = Q[o + j * k + c];
      for (var i = j + 1; i < m; i++) { s += W[w + i * n + j] * Q[o + i * k + c]; }
      s *= tau;
      Q[o + j * k + c] -= s;
      for (var i = j + 1; i < m; i++) { Q[o + i * k + c] -= s * W[w + i * n + j]; }
    }
    let sg = select(1.0, -1.0, W[w + c * n + c] < 0.0);
    for (var i = 0; i < m; i++) { Q[o + i * k + c] *= sg; }
  }
}`;
}

function qr(b: WebGpuBackend, a: View, outs: readonly OutMeta[]): Storage[] {
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const nd = a.shape.length;
  const [m, n] = [a.shape[nd - 2]!, a.shape[nd - 1]!];
  const k = Math.min(m, n);
  const batch = a.shape.slice(0, -2);
  const count = sizeOf(batch);
  if (count === 0 || k === 0) return results;
  const work = b.alloc('f32', count * m * n);
  const taus = b.alloc('f32', count * k);
  const ints = [count, m, n, k, a.offset, ...a.strides.slice(-2), ...batch, ...a.strides.slice(0, -2)];
  b.launch(`qr:${batch.length}`, () => qrShader(batch.length), [a.storage, work, taus, ...results], count, ints);
  b.free(work);
  b.free(taus);
  return results;
}

export function registerQr(b: WebGpuBackend): void {
  const k: Kernel = ([a], _attrs, outs) => (a!.dtype === 'f32' && Math.max(...a!.shape.slice(-2)) <= MAX_WORKGROUP_DIM ? qr(b, a!, outs) : undefined);
  b.kernels.set('qr', Object.assign(k, { dtypes: ['f32'] as const }));
}
