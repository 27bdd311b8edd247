/**
 * solve and slogdet on the device (f32, batched, broadcast batch axes): LU
 * with partial pivoting (Golub & Van Loan, Matrix Computations, Alg. 3.4.1),
 * one workgroup per matrix, in a work buffer:
 *   for each column j: invocation 0 picks the pivot (the largest |u_ij| on or
 *   below the diagonal, the first on ties, as the CPU's `lu`), the workgroup
 *   swaps rows j and p (of U and, for solve, of the right-hand sides X),
 *   then each row below j is eliminated in parallel; storage barriers
 *   between the phases.
 * solve then back-substitutes U·X = Y, one invocation per right-hand-side
 * column; slogdet reads sign(P)·Π sign(u_ii) and Σ log|u_ii|.
 *
 * A singular matrix: slogdet gives sign 0 and log|det| = −∞ as on the CPU;
 * solve gives inf/NaN where the CPU throws (a kernel cannot raise an error).
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, broadcastStrides } from '../wgsl.js';

const WG = 64;
/**
 * One workgroup factors a whole matrix, O(n³/64) steps per invocation: past this size a single
 * dispatch would run long enough to risk a GPU watchdog, so larger matrices take the CPU path.
 */
export const MAX_WORKGROUP_DIM = 1024;

const batchStrides = (v: View, batch: readonly number[]): number[] => broadcastStrides(v.shape.slice(0, -2), v.strides.slice(0, -2), batch);

/**
 * Meta: [count, n, m, aOff, bOff, aRow, aCol, bRow, bCol, batch(nb), aBatch(nb), bBatch(nb)].
 * Bindings: A, B (solve only), the LU work buffer, then X (solve) or sign and log|det| (slogdet).
 */
function luShader(kind: 'solve' | 'slogdet', nb: number, transpose: boolean): string {
  const solve = kind === 'solve';
  const a = (i: string, k: string): string => (transpose ? `A[pa + ${k} * prm[5] + ${i} * prm[6]]` : `A[pa + ${i} * prm[5] + ${k} * prm[6]]`);
  const walk = solve ? 'pa += c * prm[9 + nb + d]; pb += c * prm[9 + 2 * nb + d];' : 'pa += c * prm[9 + nb + d];';
  return `// ${kind} lu trans=${transpose} nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
${solve ? '@group(0) @binding(2) var<storage, read> B: array<f32>;' : ''}
@group(0) @binding(${solve ? 3 : 2}) var<storage, read_write> U: array<f32>;
${solve ? '@group(0) @binding(4) var<storage, read_write> X: array<f32>;' : '@group(0) @binding(3) var<storage, read_write> S: array<f32>;\n@group(0) @binding(4) var<storage, read_write> D: array<f32>;'}
${MATH}
var<workgroup> pivot: i32;
var<workgroup> flips: i32;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let q = i32(wid.y * nwg.x + wid.x);
  if (q >= prm[0]) { return; }
  let lid = i32(lidx);
  let n = prm[1]; let m = prm[2]; let nb = ${nb};
  var pa = prm[3]; var pb = prm[4];
  { var r = q; for (var d = nb - 1; d >= 0; d--) { let s = prm[9 + d]; let c = r % s; r = r / s; ${walk} } }
  let u = q * n * n;
  let x = q * n * m;
  for (var e = lid; e < n * n; e += ${WG}) { U[u + e] = ${a('(e / n)', '(e % n)')}; }
  ${solve ? 'for (var e = lid; e < n * m; e += ' + WG + ') { X[x + e] = B[pb + (e / m) * prm[7] + (e % m) * prm[8]]; }' : ''}
  if (lid == 0) { flips = 0; }
  storageBarrier();
  for (var j = 0; j < n; j++) {
    if (lid == 0) {
      var p = j;
      var best = abs(U[u + j * n + j]);
      for (var i = j + 1; i < n; i++) { let v = abs(U[u + i * n + j]); if (v > best) { best = v; p = i; } }
      pivot = p;
      if (p != j) { flips += 1; }
    }
    let p = workgroupUniformLoad(&pivot);
    if (p != j) {
      for (var k = lid; k < n; k += ${WG}) { let t = U[u + j * n + k]; U[u + j * n + k] = U[u + p * n + k]; U[u + p * n + k] = t; }
      ${solve ? `for (var k = lid; k < m; k += ${WG}) { let t = X[x + j * m + k]; X[x + j * m + k] = X[x + p * m + k]; X[x + p * m + k] = t; }` : ''}
    }
    storageBarrier();
    let ujj = U[u + j * n + j];
    // a zero pivot (a singular matrix): nothing to eliminate with; slogdet reports it below
    if (ujj != 0.0) {
      for (var i = j + 1 + lid; i < n; i += ${WG}) {
        let l = U[u + i * n + j] / ujj;
        U[u + i * n + j] = l;
        for (var k = j + 1; k < n; k++) { U[u + i * n + k] -= l * U[u + j * n + k]; }
        ${solve ? 'for (var k = 0; k < m; k++) { X[x + i * m + k] -= l * X[x + j * m + k]; }' : ''}
      }
    }
    storageBarrier();
  }
  ${
    solve
      ? `for (var c = lid; c < m; c += ${WG}) {
    for (var i = n - 1; i >= 0; i--) {
      var acc = X[x + i * m + c];
      for (var k = i + 1; k < n; k++) { acc -= U[u + i * n + k] * X[x + k * m + c]; }
      X[x + i * m + c] = acc / U[u + i * n + i];
    }
  }`
      : `if (lid == 0) {
    var sign = select(1.0, -1.0, (flips & 1) == 1);
    var logdet = 0.0;
    for (var i = 0; i < n; i++) {
      let d = U[u + i * n + i];
      if (d == 0.0) { sign = 0.0; logdet = -inf_(); break; }
      if (d < 0.0) { sign = -sign; }
      logdet += log(abs(d));
    }
    S[q] = sign;
    D[q] = logdet;
  }`
  }
}`;
}

function luKernel(b: WebGpuBackend, kind: 'solve' | 'slogdet', a: View, rhs: View | null, transpose: boolean, outs: readonly OutMeta[]): Storage[] {
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const n = a.shape[a.shape.length - 1]!;
  const batch = kind === 'solve' ? outs[0]!.shape.slice(0, -2) : outs[0]!.shape.slice();
  const m = kind === 'solve' ? outs[0]!.shape[outs[0]!.shape.length - 1]! : 0;
  const count = sizeOf(batch);
  if (count === 0) return results;
  if (n === 0) {
    // det of a 0×0 matrix is 1 (sign 1, log 0); solve has nothing to compute
    if (kind === 'slogdet') {
      b.fill(results[0]!, 1);
      b.fill(results[1]!, 0);
    }
    return results;
  }
  const r = rhs ?? a;
  const ints = [count, n, m, a.offset, r.offset, ...a.strides.slice(-2), ...r.strides.slice(-2), ...batch, ...batchStrides(a, batch), ...batchStrides(r, batch)];
  const work = b.alloc('f32', count * n * n);
  const bufs = kind === 'solve' ? [a.storage, rhs!.storage, work, ...results] : [a.storage, work, ...results];
  b.launch(`lu:${kind}:${transpose}:${batch.length}`, () => luShader(kind, batch.length, transpose), bufs, count, ints);
  b.free(work);
  return results;
}

export function registerLu(b: WebGpuBackend): void {
  const small = (a: View): boolean => a.shape[a.shape.length - 1]! <= MAX_WORKGROUP_DIM;
  const solve: Kernel = ([a, rhs], attrs, outs) => (a!.dtype === 'f32' && rhs!.dtype === 'f32' && small(a!) ? luKernel(b, 'solve', a!, rhs!, (attrs as { transpose: boolean }).transpose, outs) : undefined);
  b.kernels.set('solve', Object.assign(solve, { dtypes: ['f32'] as const }));
  const slogdet: Kernel = ([a], _attrs, outs) => (a!.dtype === 'f32' && small(a!) ? luKernel(b, 'slogdet', a!, null, false, outs) : undefined);
  b.kernels.set('slogdet', Object.assign(slogdet, { dtypes: ['f32'] as const }));
}
