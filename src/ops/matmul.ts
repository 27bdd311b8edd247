/**
 * Matrix products with NumPy/PyTorch `matmul` semantics: 1-D operands are
 * promoted to matrices (a row vector on the left, a column vector on the
 * right) and the added axis is removed from the result; leading (batch) axes
 * broadcast.
 *
 * The primitive carries two flags, `transA` and `transB`, and computes
 * op(A)·op(B) with op(X) = X or Xᵀ (the last two axes). With them the VJP and
 * the JVP are matmuls again with other flags, so no transpose is ever
 * materialised and gradients of gradients stay matmuls.
 */
import { Tensor } from '../core/tensor.js';
import { broadcastShapes, shapeStr, sizeOf, type Shape } from '../core/shape.js';
import { batchIndex } from './batched.js';
import { defineOp } from './registry.js';
import { apply } from './apply.js';
import { arithmeticDType } from './broadcast.js';
import { reshape, sumTo } from './views.js';
import { add, mul } from './elementwise.js';
import { tidy } from '../core/memory.js';
import { cpu } from '../backends/cpu/index.js';
import { registerFastKernels } from '../backends/cpu/wasm/matmulKernel.js';

export interface MatmulAttrs {
  /** use Aᵀ (A's last two axes swapped) */
  transA: boolean;
  /** use Bᵀ */
  transB: boolean;
}

/** Rows and columns of op(X) for a stored matrix shape [..., r, c]. */
function opDims(shape: Shape, trans: boolean): [number, number] {
  const r = shape[shape.length - 2]!;
  const c = shape[shape.length - 1]!;
  return trans ? [c, r] : [r, c];
}

/** Copy the r×c block at `off` of `src` into `dst` transposed (c×r). */
function transposeInto(src: Float64Array, off: number, r: number, c: number, dst: Float64Array): void {
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[j * r + i] = src[off + i * c + j]!;
}

/**
 * C = A·B for contiguous m×k and k×n blocks, accumulated in the i-k-j order:
 * the inner loop walks a row of B and a row of C with unit stride, which is
 * what keeps the plain triple loop cache friendly.
 */
function gemm(a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * n;
    const aRow = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[aRow + p]!;
      const bRow = bOff + p * n;
      for (let j = 0; j < n; j++) c[cRow + j]! += aip * b[bRow + j]!;
    }
  }
}

function describeOperands(a: Shape, b: Shape): string {
  return `a is ${shapeStr(a)}, b is ${shapeStr(b)}`;
}

/** The primitive: op(A)·op(B) over broadcast batch axes; both operands are at least 2-D. */
export const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  infer: ([a, b], attrs) => {
    if (a!.shape.length < 2 || b!.shape.length < 2) throw new Error(`matmul: ${describeOperands(a!.shape, b!.shape)}: the primitive needs operands of rank ≥ 2`);
    const [m, ka] = opDims(a!.shape, attrs.transA);
    const [kb, n] = opDims(b!.shape, attrs.transB);
    if (ka !== kb) throw new Error(`matmul: ${describeOperands(a!.shape, b!.shape)}: inner dimensions ${ka} and ${kb} differ`);
    const batch = broadcastShapes('matmul', [a!.shape.slice(0, -2), b!.shape.slice(0, -2)], ['batch axes of a', 'batch axes of b']);
    return [{ shape: [...batch, m, n], dtype: arithmeticDType(a!.dtype, b!.dtype) }];
  },
  ref: ([a, b], [ma, mb], attrs, [out]) => {
    const [m, k] = opDims(ma!.shape, attrs.transA);
    const n = opDims(mb!.shape, attrs.transB)[1];
    const batch = out!.shape.slice(0, -2);
    const ia = batchIndex(batch, ma!.shape.slice(0, -2));
    const ib = batchIndex(batch, mb!.shape.slice(0, -2));
    const c = new Float64Array(sizeOf(out!.shape));
    const ta = attrs.transA ? new Float64Array(m * k) : null;
    const tb = attrs.transB ? new Float64Array(k * n) : null;
    for (let q = 0; q < ia.length; q++) {
      let A = a!;
      let aOff = ia[q]! * m * k;
      if (ta) {
        transposeInto(a!, aOff, k, m, ta);
        A = ta;
        aOff = 0;
      }
      let B = b!;
      let bOff = ib[q]! * k * n;
      if (tb) {
        transposeInto(b!, bOff, n, k, tb);
        B = tb;
        bOff = 0;
      }
      gemm(A, aOff, B, bOff, c, q * m * n, m, k, n);
    }
    return [c];
  },
  // C = op(A)·op(B): Ā = Ḡ·op(B)ᵀ and B̄ = op(A)ᵀ·Ḡ, written back in each operand's stored orientation
  vjp: (ctx, [g]) => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const { transA: tA, transB: tB } = ctx.attrs;
    const ga = tA ? matmulT(b, g!, tB, true) : matmulT(g!, b, false, !tB);
    if (b.shape.length === 2 && a.shape.length > 2 && !tA) {
      // B is shared by every batch element (a linear layer on [batch, T, d]): fold the batch
      // into the rows, one [rows, K]ᵀ·[rows, N] product instead of a batched product summed over the batch
      const K = a.shape[a.shape.length - 1]!;
      const N = g!.shape[g!.shape.length - 1]!;
      const rows = sizeOf(a.shape) / K;
      const a2 = reshape(a, [rows, K]);
      const g2 = reshape(g!, [rows, N]);
      return [sumTo(ga, a.shape), tB ? matmulT(g2, a2, true, false) : matmulT(a2, g2, true, false)];
    }
    const gb = tB ? matmulT(g!, a, true, tA) : matmulT(a, g!, !tA, false);
    return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
  },
  // d(op(A)·op(B)) = op(dA)·op(B) + op(A)·op(dB)
  jvp: (ctx, [ta, tb]) => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const { transA, transB } = ctx.attrs;
    const da = ta ? matmulT(ta, b, transA, transB) : null;
    const db = tb ? matmulT(a, tb, transA, transB) : null;
    return [da && db ? add(da, db) : (da ?? db)];
  },
});

// float32 products on the CPU run the WebAssembly SIMD sgemm kernel (other dtypes: the reference above)
registerFastKernels(cpu());

function assertTensor(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, arg);
}

/**
 * op(A)·op(B) for operands of rank ≥ 2, where op transposes the last two axes
 * when its flag is set: `matmulT(a, b, true, false)` is aᵀ·b without forming aᵀ.
 */
export function matmulT(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  assertTensor('matmulT', 'a', a);
  assertTensor('matmulT', 'b', b);
  return apply(matmulOp, [a, b], { transA, transB })[0]!;
}

/**
 * Matrix product with NumPy/PyTorch semantics. 1-D `a` is a row vector and 1-D
 * `b` a column vector, the added axis removed afterwards (vector·vector gives
 * a 0-d tensor); batch axes (all but the last two) broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor('matmul', 'a', a);
  assertTensor('matmul', 'b', b);
  for (const [nm, x] of [['a', a], ['b', b]] as const) {
    if (x.ndim === 0) throw new Error(`matmul: ${nm} is a 0-d tensor []; matmul needs operands of rank ≥ 1 (use mul to scale by a scalar)`);
  }
  const ka = a.shape[a.ndim - 1]!;
  const kb = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (ka !== kb) throw new Error(`matmul: ${describeOperands(a.shape, b.shape)}: inner dimensions ${ka} and ${kb} differ`);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  try {
    broadcastShapes('matmul', [batchA, batchB]);
  } catch {
    throw new Error(`matmul: ${describeOperands(a.shape, b.shape)}: batch axes ${shapeStr(batchA)} and ${shapeStr(batchB)} do not broadcast`);
  }
  if (a.ndim >= 2 && b.ndim >= 2) return matmulT(a, b);
  return tidy(() => {
    const a2 = a.ndim === 1 ? reshape(a, [1, ka]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [kb, 1]) : b;
    const c = matmulT(a2, b2);
    // drop the axes the promotion added: -2 for a vector a, -1 for a vector b
    const shape = c.shape.slice();
    if (b.ndim === 1) shape.splice(shape.length - 1, 1);
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return reshape(c, shape);
  });
}

/** Inner product of two 1-D tensors of equal length (a 0-d tensor), like torch.dot. */
export function dot(a: Tensor, b: Tensor): Tensor {
  assertTensor('dot', 'a', a);
  assertTensor('dot', 'b', b);
  if (a.ndim !== 1 || b.ndim !== 1) throw new Error(`dot: a is ${shapeStr(a.shape)}, b is ${shapeStr(b.shape)}: both must be 1-D (use matmul or einsum for higher ranks)`);
  if (a.shape[0] !== b.shape[0]) throw new Error(`dot: a is ${shapeStr(a.shape)}, b is ${shapeStr(b.shape)}: lengths ${a.shape[0]} and ${b.shape[0]} differ`);
  return matmul(a, b);
}

/** Outer product of two 1-D tensors: out[i, j] = a[i]·b[j]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  assertTensor('outer', 'a', a);
  assertTensor('outer', 'b', b);
  if (a.ndim !== 1 || b.ndim !== 1) throw new Error(`outer: a is ${shapeStr(a.shape)}, b is ${shapeStr(b.shape)}: both must be 1-D`);
  return tidy(() => mul(reshape(a, [a.shape[0]!, 1]), reshape(b, [1, b.shape[0]!])));
}
