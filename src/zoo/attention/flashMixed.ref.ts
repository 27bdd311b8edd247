/**
 * The naive twin of FLASH's mixed chunk attention (flashMixed.ts): the mixed
 * (n, n) weight matrix formed entry by entry from its definition (Hua et al.,
 * arXiv 2202.10447 §3.2):
 *
 *   W_ij = [chunk(i) = chunk(j), j ≤ i if causal] · relu²(q̂_i·k̂_j/c + b(i − j))
 *        + [chunk(j) < chunk(i) if causal, else always] · (q̄_i·k̄_j)/L,
 *   out = W V.
 *
 * O(n²) time and memory.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { add, mul, relu, square, where } from '../../ops/elementwise.js';
import { matmul, matmulT } from '../../ops/matmul.js';

export interface MixedDirectOptions {
  chunk: number;
  causal: boolean;
  linearScale: number;
  /** the (n, n) relative bias b(i − j), or null */
  bias: Tensor | null;
}

export function mixedChunkAttentionDirect(qq: Tensor, qk: Tensor, lq: Tensor, lk: Tensor, v: Tensor, o: MixedDirectOptions): Tensor {
  return tidy(() => {
    const n = v.shape[1]!;
    const c = o.chunk;
    const quadMask = new Uint8Array(n * n);
    const linMask = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [ci, cj] = [Math.floor(i / c), Math.floor(j / c)];
        quadMask[i * n + j] = ci === cj && (!o.causal || j <= i) ? 1 : 0;
        linMask[i * n + j] = !o.causal || cj < ci ? 1 : 0;
      }
    }
    let s = mul(matmulT(qq, qk, false, true), 1 / c);
    if (o.bias) s = add(s, o.bias);
    const quad = where(tensor(quadMask, [n, n], { dtype: 'bool' }), square(relu(s)), 0);
    const lin = where(tensor(linMask, [n, n], { dtype: 'bool' }), mul(matmulT(lq, lk, false, true), 1 / o.linearScale), 0);
    return matmul(add(quad, lin), v);
  });
}
