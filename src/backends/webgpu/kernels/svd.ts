/**
 * Reduced SVD on the device (f32, batched, min(m, n) ≤ 256): one-sided
 * (Hestenes) Jacobi, as the CPU's kernel, one workgroup per matrix. On the
 * k = min(m, n) columns of G = A (or Aᵀ when A is wide), every pair of
 * columns is rotated to be orthogonal (Golub & Van Loan, Matrix
 * Computations, §8.6.4); the pairs of a round come from a round-robin
 * tournament (Brent & Luk, 1985), so the n/2 pairs of a round touch disjoint
 * columns and rotate in parallel with one barrier per round. Sweeps repeat
 * until a sweep rotates nothing (|xᵀy| ≤ tol·‖x‖‖y‖), at most 30. The
 * converged columns are U·Σ, the accumulated rotations V.
 *
 * Output convention, the CPU's: singular values descending, and each column
 * of U has its largest-magnitude entry positive (Vᵀ's row flips with it). A
 * column that is exactly zero (a zero singular value) gets the unit vector
 * along the coordinate least covered by the other columns, made orthogonal
 * to them (Gram–Schmidt twice), as the CPU completes it.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META } from '../wgsl.js';

const WG = 64;
const MAX_K = 256;
const MAX_SWEEPS = 30;

/**
 * Meta: [count, r, c, cp, wide, aOff, aRow, aCol, batch(nb), aBatch(nb)]; G is r×c (r ≥ c).
 * Work per matrix: W (r·c), V (c·c), norms and order (2c).
 */
function svdShader(nb: number): string {
  return `// svd one-sided jacobi nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> U: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
@group(0) @binding(5) var<storage, read_write> VT: array<f32>;
var<workgroup> rotations: atomic<i32>;
var<workgroup> more: i32;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let b = i32(wid.y * nwg.x + wid.x);
  if (b >= prm[0]) { return; }
  let lid = i32(lidx);
  let r = prm[1]; let c = prm[2]; let cp = prm[3]; let wide = prm[4] != 0; let half = cp / 2;
  var pa = prm[5];
  { var t = b; for (var d = ${nb - 1}; d >= 0; d--) { let s = prm[8 + d]; let x = t % s; t = t / s; pa += x * prm[${8 + nb} + d]; } }
  let w = b * (r * c + c * c + 2 * c);
  let v = w + r * c;
  let nrm = v + c * c;
  let ord = nrm + c;
  // G = A (tall) or Aᵀ (wide), stored column by column: W[w + j * r + i] = G_ij
  for (var e = lid; e < r * c; e += ${WG}) {
    let j = e / r; let i = e % r;
    W[w + e] = select(A[pa + i * prm[6] + j * prm[7]], A[pa + j * prm[6] + i * prm[7]], wide);
  }
  for (var e = lid; e < c * c; e += ${WG}) { W[v + e] = select(0.0, 1.0, e / c == e % c); }
  let tol = 3e-7 * sqrt(f32(r));
  storageBarrier();
  for (var sweep = 0; sweep < ${MAX_SWEEPS}; sweep++) {
    if (lid == 0) { atomicStore(&rotations, 0); }
    workgroupBarrier();
    for (var round = 0; round < cp - 1; round++) {
      for (var k = lid; k < half; k += ${WG}) {
        var p = 0; var q = 1 + round % (cp - 1);
        if (k > 0) { p = 1 + (round + k) % (cp - 1); q = 1 + (round + cp - 1 - k) % (cp - 1); }
        let lo = min(p, q); let hi = max(p, q);
        if (hi < c) {
          var al = 0.0; var be = 0.0; var ga = 0.0;
          for (var i = 0; i < r; i++) { let x = W[w + lo * r + i]; let y = W[w + hi * r + i]; al += x * x; be += y * y; ga += x * y; }
          if (abs(ga) > tol * sqrt(al * be) && ga != 0.0) {
            let zeta = (be - al) / (2.0 * ga);
            let t = select(1.0 / (zeta - sqrt(1.0 + zeta * zeta)), 1.0 / (zeta + sqrt(1.0 + zeta * zeta)), zeta >= 0.0);
            let cs = 1.0 / sqrt(1.0 + t * t);
            let sn = t * cs;
            for (var i = 0; i < r; i++) {
              let x = W[w + lo * r + i]; let y = W[w + hi * r + i];
              W[w + lo * r + i] = cs * x - sn * y;
              W[w + hi * r + i] = sn * x + cs * y;
            }
            for (var i = 0; i < c; i++) {
              let x = W[v + lo * c + i]; let y = W[v + hi * c + i];
              W[v + lo * c + i] = cs * x - sn * y;
              W[v + hi * c + i] = sn * x + cs * y;
            }
            atomicAdd(&rotations, 1);
          }
        }
      }
      storageBarrier();
    }
    workgroupBarrier();
    if (lid == 0) { more = atomicLoad(&rotations); }
    if (workgroupUniformLoad(&more) == 0) { break; }
  }
  for (var j = lid; j < c; j += ${WG}) {
    var s = 0.0;
    for (var i = 0; i < r; i++) { let x = W[w + j * r + i]; s += x * x; }
    W[nrm + j] = sqrt(s);
  }
  storageBarrier();
  if (lid == 0) {
    // descending order, stable; then complete exactly-zero columns to an orthonormal set
    for (var i = 0; i < c; i++) { W[ord + i] = f32(i); }
    for (var i = 0; i < c; i++) {
      var best = i;
      for (var j = i + 1; j < c; j++) { if (W[nrm + i32(W[ord + j])] > W[nrm + i32(W[ord + best])]) { best = j; } }
      let t = W[ord + best];
      for (var j = best; j > i; j--) { W[ord + j] = W[ord + j - 1]; }
      W[ord + i] = t;
    }
    for (var j = 0; j < c; j++) {
      let col = i32(W[ord + j]);
      let s = W[nrm + col];
      if (s > 0.0) { for (var i = 0; i < r; i++) { W[w + col * r + i] /= s; } continue; }
      // the coordinate least covered by the columns before it
      var pick = 0; var least = 2.0;
      for (var i = 0; i < r; i++) {
        var cover = 0.0;
        for (var l = 0; l < j; l++) { let x = W[w + i32(W[ord + l]) * r + i]; cover += x * x; }
        if (cover < least) { least = cover; pick = i; }
      }
      for (var i = 0; i < r; i++) { W[w + col * r + i] = select(0.0, 1.0, i == pick); }
      for (var twice = 0; twice < 2; twice++) {
        for (var l = 0; l < j; l++) {
          let o = i32(W[ord + l]);
          var dot = 0.0;
          for (var i = 0; i < r; i++) { dot += W[w + o * r + i] * W[w + col * r + i]; }
          for (var i = 0; i < r; i++) { W[w + col * r + i] -= dot * W[w + o * r + i]; }
        }
        var nn = 0.0;
        for (var i = 0; i < r; i++) { let x = W[w + col * r + i]; nn += x * x; }
        let inv = 1.0 / sqrt(nn);
        for (var i = 0; i < r; i++) { W[w + col * r + i] *= inv; }
      }
    }
  }
  storageBarrier();
  // A = G (tall): U = W's columns, Vᵀ = Vᵀ; A = Gᵀ (wide): U = V, Vᵀ = W's columns as rows
  let m = select(r, c, wide); let n = select(c, r, wide);
  for (var j = lid; j < c; j += ${WG}) {
    let col = i32(W[ord + j]);
    S[b * c + j] = W[nrm + col];
    let ub = select(w + col * r, v + col * c, wide); // U's column j, m entries
    let vb = select(v + col * c, w + col * r, wide); // Vᵀ's row j, n entries
    var big = 0;
    for (var i = 1; i < m; i++) { if (abs(W[ub + i]) > abs(W[ub + big])) { big = i; } }
    let sg = select(1.0, -1.0, W[ub + big] < 0.0);
    for (var i = 0; i < m; i++) { U[b * m * c + i * c + j] = sg * W[ub + i]; }
    for (var i = 0; i < n; i++) { VT[b * c * n + j * n + i] = sg * W[vb + i]; }
  }
}`;
}

function svd(b: WebGpuBackend, a: View, full: boolean, outs: readonly OutMeta[]): Storage[] | undefined {
  const nd = a.shape.length;
  const [m, n] = [a.shape[nd - 2]!, a.shape[nd - 1]!];
  const k = Math.min(m, n);
  if ((full && m !== n) || k > MAX_K) return undefined;
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const batch = a.shape.slice(0, -2);
  const count = sizeOf(batch);
  if (count === 0 || k === 0) return results;
  const [r, c] = [Math.max(m, n), k];
  const work = b.alloc('f32', count * (r * c + c * c + 2 * c));
  const ints = [count, r, c, c + (c % 2), m < n ? 1 : 0, a.offset, ...a.strides.slice(-2), ...batch, ...a.strides.slice(0, -2)];
  b.launch(`svd:${batch.length}`, () => svdShader(batch.length), [a.storage, work, ...results], count, ints);
  b.free(work);
  return results;
}

export function registerSvd(b: WebGpuBackend): void {
  const k: Kernel = ([a], attrs, outs) => (a!.dtype === 'f32' ? svd(b, a!, (attrs as { full: boolean }).full, outs) : undefined);
  b.kernels.set('svd', Object.assign(k, { dtypes: ['f32'] as const }));
}
