/**
 * The CPU backend's native kernel for the `matmul` primitive (attrs
 * { transA, transB }, broadcast batch axes) on float32, running sgemm in
 * place on the operands' views: a view whose last two axes are row-major
 * (unit column stride) or column-major (unit row stride, i.e. a transposed
 * view) is passed as is, with the transpose flag flipped for the latter; the
 * batch becomes one strided call when the operands' batch offsets form an
 * arithmetic progression (contiguous or broadcast batches), else one call
 * per matrix. Other layouts (e.g. a broadcast row, stride 0) are gathered
 * into a contiguous scratch copy first. Other dtypes decline (the float64
 * reference runs).
 *
 * `registerFastKernels(cpu())` installs it; the op owner wires that call.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf, type Shape } from '../../../core/shape.js';
import type { CpuBackend, CpuStorage } from '../index.js';
import { sgemm, type SgemmArgs } from './sgemm.js';
import { withBlas } from '../blas.js';
import { registerElementwiseKernels } from './kernels/register.js';

interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

/** A BLAS operand: byte pointer of matrix 0, leading dimension, stored-transposed flag, batch offsets (elements). */
interface Operand {
  ptr: number;
  ld: number;
  flip: boolean;
  offsets: number[];
  temp?: Storage;
}

/** Element offset of each matrix of the broadcast batch `batch` in a view whose batch axes are `shape[:-2]`. */
function batchOffsets(batch: Shape, v: View): number[] {
  const nb = sizeOf(batch);
  const vb = v.shape.length - 2;
  const lead = batch.length - vb;
  const out = new Array<number>(nb);
  const idx = new Array<number>(batch.length).fill(0);
  for (let q = 0; q < nb; q++) {
    let off = v.offset;
    for (let ax = 0; ax < vb; ax++) if (v.shape[ax] !== 1) off += idx[lead + ax]! * v.strides[ax]!;
    out[q] = off;
    for (let ax = batch.length - 1; ax >= 0; ax--) {
      if (++idx[ax]! < batch[ax]!) break;
      idx[ax] = 0;
    }
  }
  return out;
}

/** How sgemm can read an r×c matrix with strides (sr, sc): row-major with ld, or transposed; undefined if neither. */
function blasLayout(r: number, c: number, sr: number, sc: number): { ld: number; flip: boolean } | undefined {
  if ((c <= 1 || sc === 1) && (r <= 1 ? true : sr >= Math.max(c, 1))) return { ld: r <= 1 ? Math.max(c, 1) : sr, flip: false };
  if ((r <= 1 || sr === 1) && (c <= 1 ? true : sc >= Math.max(r, 1))) return { ld: c <= 1 ? Math.max(r, 1) : sc, flip: true };
  return undefined;
}

function operand(be: CpuBackend, v: View, batch: Shape): Operand {
  const nd = v.shape.length;
  const [r, c] = [v.shape[nd - 2]!, v.shape[nd - 1]!];
  const lay = blasLayout(r, c, v.strides[nd - 2]!, v.strides[nd - 1]!);
  const base = (v.storage as CpuStorage).ptr;
  if (lay) return { ptr: base, ld: lay.ld, flip: lay.flip, offsets: batchOffsets(batch, v) };
  // Gather the distinct matrices into a contiguous temporary (rare: e.g. a stride-0 broadcast row).
  const own = batchOffsets(v.shape.slice(0, -2), v);
  const temp = be.alloc('f32', Math.max(1, own.length * r * c));
  const src = be.raw(v.storage) as Float32Array;
  const dst = be.raw(temp) as Float32Array;
  const [sr, sc] = [v.strides[nd - 2]!, v.strides[nd - 1]!];
  own.forEach((o, q) => {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[q * r * c + i * c + j] = src[o + i * sr + j * sc]!;
  });
  const contiguous: View = { ...v, storage: temp, offset: 0, strides: stridesOf(v.shape) };
  return { ptr: (temp as CpuStorage).ptr, ld: Math.max(c, 1), flip: false, offsets: batchOffsets(batch, contiguous), temp };
}

function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The common stride of an arithmetic progression of offsets (≥ 0), or undefined. */
function uniformStride(offs: readonly number[]): number | undefined {
  if (offs.length < 2) return 0;
  const s = offs[1]! - offs[0]!;
  if (s < 0) return undefined;
  for (let q = 2; q < offs.length; q++) if (offs[q]! - offs[q - 1]! !== s) return undefined;
  return s;
}

/** The `matmul` kernel for a CPU backend: f32 operands only, else declines; `gemm` runs each product (default: WASM sgemm). */
export function matmulKernel(be: CpuBackend, gemm: (args: SgemmArgs) => void = sgemm): Kernel {
  return (inputs: readonly View[], attrs: unknown, outs: readonly OutMeta[]): Storage[] | undefined => {
    const [va, vb] = inputs as [View, View];
    const out = outs[0]!;
    if (va.dtype !== 'f32' || vb.dtype !== 'f32' || out.dtype !== 'f32') return undefined;
    const { transA, transB } = attrs as MatmulAttrs;
    const nd = out.shape.length;
    const [m, n] = [out.shape[nd - 2]!, out.shape[nd - 1]!];
    const k = transA ? va.shape[va.shape.length - 2]! : va.shape[va.shape.length - 1]!;
    const batch = out.shape.slice(0, -2);
    const nb = sizeOf(batch);
    const c = be.alloc('f32', sizeOf(out.shape));
    if (m * n === 0) return [c];
    const A = operand(be, va, batch);
    const B = operand(be, vb, batch);
    try {
      const common = {
        transA: transA !== A.flip, transB: transB !== B.flip, m, n, k, alpha: 1, beta: 0,
        lda: A.ld, ldb: B.ld, ldc: n,
      };
      const sA = uniformStride(A.offsets);
      const sB = uniformStride(B.offsets);
      const cPtr = (c as CpuStorage).ptr;
      if (sA !== undefined && sB !== undefined) {
        gemm({ ...common, aPtr: A.ptr + 4 * A.offsets[0]!, bPtr: B.ptr + 4 * B.offsets[0]!, cPtr, batch: nb, strideA: sA, strideB: sB, strideC: m * n });
      } else {
        for (let q = 0; q < nb; q++) gemm({ ...common, aPtr: A.ptr + 4 * A.offsets[q]!, bPtr: B.ptr + 4 * B.offsets[q]!, cPtr: cPtr + 4 * q * m * n });
      }
    } finally {
      if (A.temp) be.free(A.temp);
      if (B.temp) be.free(B.temp);
    }
    return [c];
  };
}

/** Install the WebAssembly kernels on a CPU backend (today: matmul; large products go to a system BLAS when present, see ../blas.ts). */
export function registerFastKernels(be: CpuBackend): void {
  be.kernels.set('matmul', matmulKernel(be, withBlas(sgemm)));
  // elementwise, reductions, softmax, norms, conversions (kernels/register.ts)
  registerElementwiseKernels(be);
}
