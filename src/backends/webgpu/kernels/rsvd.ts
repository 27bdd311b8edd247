/**
 * randomizedSvd on the device (f32, batched; sketch width l = min(k +
 * oversample, m, n) ≤ 256), the CPU kernel's steps (Halko, Martinsson &
 * Tropp 2011, Algs. 4.4 and 5.1) composed from the backend's own WGSL
 * kernels: Y = A·Ω, Q = qr(Y); powerIters times Q = qr(A·qr(Aᵀ·Q)); then
 * B = Qᵀ·A, svd(B) = U_B·Σ·Vᵀ, U = Q·U_B, the leading k triplets kept and
 * signed as the CPU's (each column of U with its largest-magnitude entry
 * positive). The Gaussian test matrix Ω is drawn on the host from the op's
 * PRNG key exactly as the CPU draws it (no device read is needed) and
 * uploaded, so both backends sketch the same subspace.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { contiguousStrides, sizeOf } from '../../../core/shape.js';
import { normal, split, type Key } from '../../../core/random.js';
import type { WebGpuBackend } from '../backend.js';
import { META, mainHeader } from '../wgsl.js';

const WG = 64;
const MAX_L = 256;

interface RsvdAttrs {
  k: number;
  oversample: number;
  powerIters: number;
  key: Key;
}

/** Keep the leading k triplets and sign them. Meta: [count(batch·k), m, l, n, k]; one invocation per (matrix, column). */
const finishShader = (): string => `// randomizedSvd finish
${META}
@group(0) @binding(1) var<storage, read> UF: array<f32>;
@group(0) @binding(2) var<storage, read> SF: array<f32>;
@group(0) @binding(3) var<storage, read> VF: array<f32>;
@group(0) @binding(4) var<storage, read_write> U: array<f32>;
@group(0) @binding(5) var<storage, read_write> S: array<f32>;
@group(0) @binding(6) var<storage, read_write> VT: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let m = prm[1]; let l = prm[2]; let n = prm[3]; let k = prm[4];
  let b = gi / k; let j = gi % k;
  let uf = b * m * l;
  var big = 0;
  for (var i = 1; i < m; i++) { if (abs(UF[uf + i * l + j]) > abs(UF[uf + big * l + j])) { big = i; } }
  let sg = select(1.0, -1.0, UF[uf + big * l + j] < 0.0);
  for (var i = 0; i < m; i++) { U[b * m * k + i * k + j] = sg * UF[uf + i * l + j]; }
  S[b * k + j] = SF[b * l + j];
  for (var c = 0; c < n; c++) { VT[b * k * n + j * n + c] = sg * VF[b * l * n + j * n + c]; }
}`;

function rsvd(b: WebGpuBackend, a: View, attrs: RsvdAttrs, outs: readonly OutMeta[]): Storage[] | undefined {
  const nd = a.shape.length;
  const [m, n] = [a.shape[nd - 2]!, a.shape[nd - 1]!];
  const { k, oversample, powerIters, key } = attrs;
  const l = Math.min(k + oversample, m, n);
  const [matmul, qr, svd] = ['matmul', 'qr', 'svd'].map((op) => b.kernels.get(op));
  if (!matmul || !qr || !svd || l > MAX_L) return undefined;
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const batch = a.shape.slice(0, -2);
  const count = sizeOf(batch);
  if (count === 0 || m === 0 || n === 0) return results;

  const view = (s: Storage, rows: number, cols: number): View => {
    const shape = [...batch, rows, cols];
    return { storage: s, dtype: 'f32', shape, strides: contiguousStrides(shape), offset: 0 };
  };
  const meta = (rows: number, cols: number): OutMeta => ({ shape: [...batch, rows, cols], dtype: 'f32' });
  const mm = (x: View, y: View, transA: boolean, rows: number, cols: number): Storage => matmul([x, y], { transA, transB: false }, [meta(rows, cols)])![0]!;
  /** Q of the reduced QR of `y` (rows ≥ cols), freeing `y` */
  const orth = (y: Storage, rows: number): Storage => {
    const [q, r] = qr([view(y, rows, l)], undefined, [meta(rows, l), meta(l, l)])!;
    b.free(r!);
    b.free(y);
    return q!;
  };

  const keys = count === 1 ? [key] : split(key, count);
  const omegaHost = new Float64Array(count * n * l);
  keys.forEach((kk, i) => omegaHost.set(normal(kk, n * l), i * n * l));
  const omega = b.alloc('f32', count * n * l);
  b.write(omega, omegaHost);
  let basis = orth(mm(a, view(omega, n, l), false, m, l), m);
  b.free(omega);
  for (let it = 0; it < powerIters; it++) {
    const back = orth(mm(a, view(basis, m, l), true, n, l), n);
    b.free(basis);
    basis = orth(mm(a, view(back, n, l), false, m, l), m);
    b.free(back);
  }
  const small = mm(view(basis, m, l), a, true, l, n);
  const [ub, s, vt] = svd([view(small, l, n)], { full: false }, [meta(l, l), { shape: [...batch, l], dtype: 'f32' }, meta(l, n)])!;
  b.free(small);
  const uFull = mm(view(basis, m, l), view(ub!, l, l), false, m, l);
  b.free(basis);
  b.free(ub!);
  b.launch('rsvd:finish', finishShader, [uFull, s!, vt!, ...results], Math.ceil((count * k) / WG), [count * k, m, l, n, k]);
  for (const t of [uFull, s!, vt!]) b.free(t);
  return results;
}

export function registerRsvd(b: WebGpuBackend): void {
  const k: Kernel = ([a], attrs, outs) => (a!.dtype === 'f32' ? rsvd(b, a!, attrs as RsvdAttrs, outs) : undefined);
  b.kernels.set('randomizedSvd', Object.assign(k, { dtypes: ['f32'] as const }));
}
