/**
 * Dense linear algebra on the device for the small matrices models use
 * (f32, batched, any strides, broadcast batch axes):
 *
 *  - triangularSolve: op(T)·X = B by substitution (Golub & Van Loan, Matrix
 *    Computations, Algs. 3.1.1–3.1.2), one invocation per right-hand-side
 *    column of each matrix, reading only the triangle op(T) has (op(T) is
 *    lower exactly when lower XOR transpose). Work O(n²) per column.
 *  - cholesky: A = L·Lᵀ of the symmetric part ½(A + Aᵀ), one workgroup per
 *    matrix, column by column (the Cholesky–Crout order, G&VL Alg. 4.2.1):
 *    the diagonal entry, then every entry below it in parallel, a storage
 *    barrier between. The sums run over k ascending, as the CPU's.
 *
 * Where the CPU throws (a zero pivot in triangularSolve, a matrix that is not
 * positive definite in cholesky) the device cannot: the result holds inf or
 * NaN from that column on. solve and slogdet (LU with pivoting) are in
 * lu.ts, qr (Householder) in qr.ts, eigh (parallel Jacobi) in eigh.ts,
 * svd (one-sided Jacobi) in svd.ts, randomizedSvd (composed from these) in
 * rsvd.ts.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, broadcastStrides, mainHeader } from '../wgsl.js';
import { MAX_WORKGROUP_DIM, registerLu } from './lu.js';
import { registerQr } from './qr.js';
import { registerEigh } from './eigh.js';
import { registerSvd } from './svd.js';
import { registerRsvd } from './rsvd.js';

const WG = 64;

interface SolveAttrs {
  transpose: boolean;
  lower?: boolean;
  unit?: boolean;
}

/** Batch strides of a matrix view broadcast to the output's batch shape. */
const batchStrides = (v: View, batch: readonly number[]): number[] => broadcastStrides(v.shape.slice(0, -2), v.strides.slice(0, -2), batch);

/** WGSL: offsets pa, pb of batch element q (batch rank nb at prm[at], then A's and B's batch strides). */
function batchWalk(nb: number, at: number, targets: string[]): string {
  const body = targets.map((t, i) => `${t} += c * prm[${at + nb * (i + 1)} + d];`).join(' ');
  return `{ var r = q; for (var d = ${nb - 1}; d >= 0; d--) { let s = prm[${at} + d]; let c = r % s; r = r / s; ${body} } }`;
}

/**
 * Meta: [count, n, m, aOff, bOff, aRow, aCol, bRow, bCol, batch(nb), aBatch(nb), bBatch(nb)].
 * Invocation gi solves column gi % m of batch element gi / m into the contiguous output.
 */
function triSolveShader(nb: number, forward: boolean, transpose: boolean, unit: boolean): string {
  const t = (i: string, k: string): string => (transpose ? `T[pa + ${k} * aRow + ${i} * aCol]` : `T[pa + ${i} * aRow + ${k} * aCol]`);
  return `// triangularSolve fwd=${forward} trans=${transpose} unit=${unit} nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> X: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1]; let m = prm[2];
  let aRow = prm[5]; let aCol = prm[6]; let bRow = prm[7]; let bCol = prm[8];
  let q = gi / m; let j = gi % m;
  var pa = prm[3]; var pb = prm[4];
  ${nb > 0 ? batchWalk(nb, 9, ['pa', 'pb']) : ''}
  let px = q * n * m + j;
  for (var s = 0; s < n; s++) {
    let i = ${forward ? 's' : 'n - 1 - s'};
    var acc = B[pb + i * bRow + j * bCol];
    for (var k = ${forward ? '0' : 'i + 1'}; k < ${forward ? 'i' : 'n'}; k++) { acc -= ${t('i', 'k')} * X[px + k * m]; }
    X[px + i * m] = ${unit ? 'acc' : `acc / ${t('i', 'i')}`};
  }
}`;
}

function triangularSolve(b: WebGpuBackend, a: View, bv: View, attrs: SolveAttrs, out: OutMeta): Storage {
  const res = b.alloc('f32', sizeOf(out.shape));
  const nd = out.shape.length;
  const [n, m] = [out.shape[nd - 2]!, out.shape[nd - 1]!];
  const batch = out.shape.slice(0, -2);
  const count = sizeOf(batch) * m;
  if (count === 0 || n === 0) return res;
  const nb = batch.length;
  const forward = attrs.lower! !== attrs.transpose;
  const unit = attrs.unit ?? false;
  const [aRow, aCol] = a.strides.slice(-2) as [number, number];
  const [bRow, bCol] = bv.strides.slice(-2) as [number, number];
  const ints = [count, n, m, a.offset, bv.offset, aRow, aCol, bRow, bCol, ...batch, ...batchStrides(a, batch), ...batchStrides(bv, batch)];
  b.launch(`triSolve:${forward}:${attrs.transpose}:${unit}:${nb}`, () => triSolveShader(nb, forward, attrs.transpose, unit), [a.storage, bv.storage, res], Math.ceil(count / WG), ints);
  return res;
}

/** Meta: [count, n, aOff, aRow, aCol, batch(nb), aBatch(nb)]: workgroup q factors matrix q. */
function choleskyShader(nb: number): string {
  return `// cholesky nb=${nb}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> L: array<f32>;
${MATH}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let q = i32(wid.y * nwg.x + wid.x);
  if (q >= prm[0]) { return; }
  let lid = i32(lidx);
  let n = prm[1]; let aRow = prm[3]; let aCol = prm[4];
  var pa = prm[2];
  ${nb > 0 ? batchWalk(nb, 5, ['pa']) : ''}
  let base = q * n * n;
  // L starts as the lower triangle of ½(A + Aᵀ), zeros above
  for (var e = lid; e < n * n; e += ${WG}) {
    let i = e / n; let k = e % n;
    L[base + e] = select(0.0, 0.5 * (A[pa + i * aRow + k * aCol] + A[pa + k * aRow + i * aCol]), k <= i);
  }
  storageBarrier();
  for (var j = 0; j < n; j++) {
    if (lid == 0) {
      var d = L[base + j * n + j];
      for (var k = 0; k < j; k++) { let v = L[base + j * n + k]; d -= v * v; }
      // not positive definite: NaN from here on (the CPU throws)
      L[base + j * n + j] = select(nan_(), sqrt(d), d > 0.0);
    }
    storageBarrier();
    let djj = L[base + j * n + j];
    for (var i = j + 1 + lid; i < n; i += ${WG}) {
      var s = L[base + i * n + j];
      for (var k = 0; k < j; k++) { s -= L[base + i * n + k] * L[base + j * n + k]; }
      L[base + i * n + j] = s / djj;
    }
    storageBarrier();
  }
}`;
}

function cholesky(b: WebGpuBackend, a: View, out: OutMeta): Storage {
  const res = b.alloc('f32', sizeOf(out.shape));
  const nd = out.shape.length;
  const n = out.shape[nd - 1]!;
  const batch = out.shape.slice(0, -2);
  const count = sizeOf(batch);
  if (count === 0 || n === 0) return res;
  const ints = [count, n, a.offset, ...a.strides.slice(-2), ...batch, ...batchStrides(a, batch)];
  b.launch(`cholesky:${batch.length}`, () => choleskyShader(batch.length), [a.storage, res], count, ints);
  return res;
}

export function registerLinalg(b: WebGpuBackend): void {
  const tri: Kernel = ([a, bv], attrs, [o]) => (a!.dtype === 'f32' && bv!.dtype === 'f32' ? [triangularSolve(b, a!, bv!, attrs as SolveAttrs, o!)] : undefined);
  b.kernels.set('triangularSolve', Object.assign(tri, { dtypes: ['f32'] as const }));
  const chol: Kernel = ([a], _attrs, [o]) => (a!.dtype === 'f32' && a!.shape[a!.shape.length - 1]! <= MAX_WORKGROUP_DIM ? [cholesky(b, a!, o!)] : undefined);
  b.kernels.set('cholesky', Object.assign(chol, { dtypes: ['f32'] as const }));
  registerLu(b);
  registerQr(b);
  registerEigh(b);
  registerSvd(b);
  registerRsvd(b);
}
