/**
 * Invertible 1×1 convolution — Glow (Kingma & Dhariwal, arXiv 1807.03039,
 * §3.2, eq. 9–10): a learned c×c matrix W mixes the channels at every pixel,
 * a learned generalisation of the fixed permutations between couplings.
 *
 *   y_{i,j} = W·x_{i,j},   log|det J| = h·w·log|det W|
 *
 * Plain form: W is a free parameter (initialised to a random rotation) and
 * log|det W| comes from `slogdet`, an O(c³) LU factorisation per call.
 *
 * LU form (eq. 10): W = P·L·(U + diag(s)) with P a fixed permutation, L unit
 * lower triangular, U strictly upper triangular and s = sign ⊙ exp(log|s|)
 * with the signs fixed; then log|det W| = Σ log|s| costs O(c) and the inverse
 * is two triangular solves. Both start from the same random rotation.
 *
 * On (b, d) vectors this is the invertible linear layer y = W·x.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { eye, tensor } from '../../ops/creation.js';
import { add, exp, mul } from '../../ops/elementwise.js';
import { matmul, matmulT } from '../../ops/matmul.js';
import { normal } from '../../ops/random.js';
import { qr } from '../../ops/decompositions.js';
import { inv, slogdet, triangularSolve } from '../../ops/linalg.js';
import { tril, triu } from '../../ops/join.js';
import { sum } from '../../ops/reduce.js';
import { broadcastTo, permute, reshape, transpose } from '../../ops/views.js';
import { param } from '../../nn/module.js';
import { checkPositiveInt } from '../../nn/util.js';
import { FlowLayer, checkFlowInput, spatialSize } from './layer.js';

/** y = W·x along axis 1: x (b, c) or (b, c, h, w); a matmul over all pixels at once. */
export function channelMix(x: Tensor, W: Tensor): Tensor {
  if (x.ndim === 2) return matmulT(x, W, false, true);
  return tidy(() => {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const rows = reshape(permute(x, [0, 2, 3, 1]), [b * h * w, c]); // (b·h·w, c)
    return permute(reshape(matmulT(rows, W, false, true), [b, h, w, W.shape[0]!]), [0, 3, 1, 2]);
  });
}

/** A random c×c rotation (Q of the QR of a Gaussian matrix), in float64. */
function randomRotation(key: Key, c: number): Float64Array {
  return tidy(() => qr(normal(key, [c, c], { dtype: 'f64' })).q.toF64());
}

/**
 * A = Pᵀ·L·U by Gaussian elimination with partial pivoting (row-major c×c),
 * returned as Glow's P (= the transposed row permutation), L (unit lower) and
 * U (upper, with its diagonal). Used once, at initialisation.
 */
export function luDecompose(A: Float64Array, c: number): { P: Float64Array; L: Float64Array; U: Float64Array } {
  const a = Float64Array.from(A);
  const perm = Array.from({ length: c }, (_, i) => i);
  const L = new Float64Array(c * c);
  for (let k = 0; k < c; k++) {
    let p = k;
    for (let i = k + 1; i < c; i++) if (Math.abs(a[i * c + k]!) > Math.abs(a[p * c + k]!)) p = i;
    if (a[p * c + k] === 0) throw new Error('luDecompose: the matrix is singular');
    if (p !== k) {
      for (let j = 0; j < c; j++) {
        [a[k * c + j], a[p * c + j]] = [a[p * c + j]!, a[k * c + j]!];
        [L[k * c + j], L[p * c + j]] = [L[p * c + j]!, L[k * c + j]!];
      }
      [perm[k], perm[p]] = [perm[p]!, perm[k]!];
    }
    for (let i = k + 1; i < c; i++) {
      const f = a[i * c + k]! / a[k * c + k]!;
      L[i * c + k] = f;
      for (let j = k; j < c; j++) a[i * c + j] = a[i * c + j]! - f * a[k * c + j]!;
    }
  }
  for (let i = 0; i < c; i++) L[i * c + i] = 1;
  // row i of P·A is row perm[i] of A, so A = Pᵣᵀ·L·U; Glow's W = P·L·U takes P = Pᵣᵀ: P[perm[i], i] = 1
  const P = new Float64Array(c * c);
  perm.forEach((r, i) => (P[r * c + i] = 1));
  return { P, L, U: a };
}

export interface InvConvOptions {
  key: Key;
  dtype?: DType;
}

/** Plain invertible 1×1 convolution: W free, log-det from slogdet. */
export class InvertibleConv1x1 extends FlowLayer {
  readonly config: Readonly<{ channels: number }>;
  weight: Tensor;

  constructor(channels: number, opts: InvConvOptions) {
    super();
    checkPositiveInt('InvertibleConv1x1', 'channels', channels);
    this.config = { channels };
    this.weight = param(tensor(randomRotation(opts.key, channels), [channels, channels], { dtype: opts.dtype }));
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('InvertibleConv1x1', x, this.config.channels);
    return tidy(() => {
      const ld = mul(slogdet(this.weight).logabsdet, spatialSize(x));
      return [channelMix(x, this.weight), broadcastTo(reshape(ld, [1]), [x.shape[0]!])];
    });
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('InvertibleConv1x1', y, this.config.channels);
    return tidy(() => channelMix(y, inv(this.weight)));
  }
}

/** LU-decomposed invertible 1×1 convolution: W = P·L·(U + diag(sign·exp(logS))), log-det Σ logS. */
export class InvertibleConv1x1LU extends FlowLayer {
  readonly config: Readonly<{ channels: number }>;
  /** the permutation P (frozen) */
  P: Tensor;
  /** L's strictly lower part is used (unit diagonal implied) */
  lower: Tensor;
  /** U's strictly upper part is used */
  upper: Tensor;
  /** log|s| */
  logS: Tensor;
  /** sign(s) (frozen) */
  signS: Tensor;

  constructor(channels: number, opts: InvConvOptions) {
    super();
    checkPositiveInt('InvertibleConv1x1LU', 'channels', channels);
    const c = channels;
    this.config = { channels };
    const { P, L, U } = luDecompose(randomRotation(opts.key, c), c);
    const diag = Float64Array.from({ length: c }, (_, i) => U[i * c + i]!);
    const dt = { dtype: opts.dtype };
    this.P = param(tensor(P, [c, c], dt), false);
    this.lower = param(tensor(L.map((v, k) => (Math.floor(k / c) > k % c ? v : 0)), [c, c], dt));
    this.upper = param(tensor(U.map((v, k) => (Math.floor(k / c) < k % c ? v : 0)), [c, c], dt));
    this.logS = param(tensor(diag.map((v) => Math.log(Math.abs(v))), [c], dt));
    this.signS = param(tensor(diag.map((v) => Math.sign(v)), [c], dt), false);
  }

  /** L = tril(lower, −1) + I and U + diag(s) = triu(upper, 1) + diag(sign·exp(logS)) */
  factors(): { L: Tensor; Us: Tensor } {
    return tidy(() => {
      const I = eye(this.config.channels, this.config.channels, { dtype: this.lower.dtype });
      const L = add(tril(this.lower, -1), I);
      const s = mul(this.signS, exp(this.logS));
      const Us = add(triu(this.upper, 1), mul(I, reshape(s, [1, this.config.channels])));
      return { L, Us };
    });
  }

  /** W = P·L·(U + diag(s)) */
  weight(): Tensor {
    return tidy(() => {
      const { L, Us } = this.factors();
      return matmul(this.P, matmul(L, Us));
    });
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('InvertibleConv1x1LU', x, this.config.channels);
    return tidy(() => {
      const ld = mul(sum(this.logS), spatialSize(x));
      return [channelMix(x, this.weight()), broadcastTo(reshape(ld, [1]), [x.shape[0]!])];
    });
  }

  /** W⁻¹ = (U + diag s)⁻¹·L⁻¹·Pᵀ by two triangular solves (P is orthogonal) */
  inverseWeight(): Tensor {
    return tidy(() => {
      const { L, Us } = this.factors();
      const LiPt = triangularSolve(L, transpose(this.P), { lower: true, unit: true });
      return triangularSolve(Us, LiPt, { lower: false });
    });
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('InvertibleConv1x1LU', y, this.config.channels);
    return tidy(() => channelMix(y, this.inverseWeight()));
  }
}

