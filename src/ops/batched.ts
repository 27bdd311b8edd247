/**
 * Internal helpers for the batched matrix families (matmul, linalg, fft):
 * broadcast batch indexing for reference kernels. Not re-exported publicly.
 */
import { contiguousStrides, shapeStr, sizeOf, type Shape } from '../core/shape.js';

/**
 * For every position of the broadcast batch shape `out`, the flat index of the
 * matching matrix in an operand whose batch shape is `inp` (right-aligned,
 * size-1 axes repeated). Shared by the batched linear-algebra kernels.
 */
export function batchIndex(out: Shape, inp: Shape): Int32Array {
  const n = sizeOf(out);
  const res = new Int32Array(n);
  const st = contiguousStrides(inp);
  const off = out.length - inp.length;
  const nd = out.length;
  const ctr = new Array<number>(nd).fill(0);
  let idx = 0;
  for (let k = 0; k < n; k++) {
    res[k] = idx;
    for (let ax = nd - 1; ax >= 0; ax--) {
      const j = ax - off;
      const s = j >= 0 && inp[j] !== 1 ? st[j]! : 0;
      ctr[ax]!++;
      idx += s;
      if (ctr[ax]! < out[ax]!) break;
      idx -= s * out[ax]!;
      ctr[ax] = 0;
    }
  }
  return res;
}


/** Rows and columns of the last two axes. */
export function matDims(shape: Shape): [number, number] {
  return [shape[shape.length - 2]!, shape[shape.length - 1]!];
}

/**
 * Run a one-matrix kernel over every matrix of a batch [..., r, c]: `f`
 * receives matrix `b` (a contiguous r×c subarray) and returns one array per
 * output; each output k is laid out as `sizes[k]` values per batch element.
 * Kernel errors are re-thrown naming the op and, for batches, the element.
 */
export function perMatrix(op: string, x: Float64Array, shape: Shape, sizes: readonly number[], f: (a: Float64Array, b: number) => ArrayLike<number>[]): Float64Array[] {
  const [r, c] = matDims(shape);
  const count = sizeOf(shape.slice(0, -2));
  const outs = sizes.map((s) => new Float64Array(s * count));
  for (let b = 0; b < count; b++) {
    let ys: ArrayLike<number>[];
    try {
      ys = f(x.subarray(b * r * c, (b + 1) * r * c), b);
    } catch (e) {
      throw rethrow(op, e, shape, b, count);
    }
    ys.forEach((y, k) => outs[k]!.set(y, b * sizes[k]!));
  }
  return outs;
}

/** A kernel's error with the op's name in front and, for a batch, which element failed. */
export function rethrow(op: string, e: unknown, shape: Shape, b: number, count: number): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const where = count > 1 ? ` (batch element ${b} of ${shapeStr(shape)})` : '';
  return new Error(`${op}: ${msg.replace(/^[A-Za-z]+: /, '')}${where}`);
}

/** ½(a + aᵀ) of an n×n block, so kernels that read one triangle see the symmetric part of any input. */
export function symmetricPart(a: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (a[i * n + j]! + a[j * n + i]!);
  return s;
}
