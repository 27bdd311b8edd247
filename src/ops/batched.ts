/**
 * Internal helpers for the batched matrix families (matmul, linalg, fft):
 * broadcast batch indexing for reference kernels. Not re-exported publicly.
 */
import { contiguousStrides, sizeOf, type Shape } from '../core/shape.js';

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

