/**
 * Linear algebra at the tensor level: every decomposition reconstructs its
 * input to 1e-10 in float64 (batched), the SVD agrees with the
 * eigendecomposition of AᵀA, determinants multiply, gradients through
 * gauge-invariant losses match central finite differences, randomized SVD
 * recovers low-rank matrices, and bad input gets errors that name the op and
 * the shapes.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { mulberry32, randn } from '../helpers/rng.js';
import { expectClose } from '../helpers/check.js';

const f64 = { dtype: 'f64' as const };
const rng = mulberry32(2024);

function randomTensor(shape: number[], shift = 0): Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  const c = shape[shape.length - 1]!;
  const r = shape[shape.length - 2] ?? 1;
  return nb.tensor(Array.from({ length: n }, (_, i) => randn(rng) + (Math.floor(i / c) % r === i % c ? shift : 0)), shape, f64);
}

/** Batched SPD matrices M·Mᵀ + n·I. */
function spdTensor(shape: number[]): Tensor {
  const n = shape[shape.length - 1]!;
  return nb.tidy(() => {
    const M = randomTensor(shape);
    return nb.add(nb.matmul(M, nb.transpose(M)), nb.mul(nb.eye(n, n, f64), n));
  });
}

const close = (a: Tensor, b: Tensor, what: string, tol = 1e-10): void => expectClose(a.toF64(), b.toF64(), tol, what);
const eyeB = (n: number): Tensor => nb.eye(n, n, f64);

/** Largest |x_ij| over entries strictly below the diagonal (0 for upper-triangular matrices). */
function maxBelowDiagonal(x: Tensor): number {
  const [r, c] = x.shape.slice(-2) as [number, number];
  return Math.max(0, ...Array.from(x.toF64()).map((v, i) => (Math.floor(i / c) % r > i % c ? Math.abs(v) : 0)));
}

/** Reverse-mode gradient of a scalar loss vs central differences in every entry. */
function gradCheck(loss: (x: Tensor) => Tensor, x0: Tensor, tol = 1e-6): void {
  const g = (nb.grad(loss)(x0) as Tensor).toF64();
  const v = x0.toF64();
  const eps = 1e-6;
  const fd = Array.from(v, (_, j) => {
    const at = (d: number): number => nb.tidy(() => loss(nb.tensor(v.map((w, i) => (i === j ? w + d : w)), x0.shape.slice(), f64)).item());
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  expectClose(g, fd, tol, 'gradient vs finite differences');
}

describe('reconstructions (float64, batched)', () => {
  it('QR: A = Q·R with QᵀQ = I and R upper triangular, for tall, square and wide batches', () => {
    for (const shape of [[2, 5, 3], [3, 4, 4], [2, 3, 5]]) {
      nb.tidy(() => {
        const A = randomTensor(shape);
        const { q, r } = nb.qr(A);
        const k = Math.min(shape[1]!, shape[2]!);
        expect(q.shape).toEqual([shape[0], shape[1], k]);
        expect(r.shape).toEqual([shape[0], k, shape[2]]);
        close(nb.matmul(q, r), A, `QR ${JSON.stringify(shape)}`);
        close(nb.matmul(nb.transpose(q), q), nb.broadcastTo(eyeB(k), [shape[0]!, k, k]), 'QᵀQ = I');
        expect(maxBelowDiagonal(r)).toBe(0);
        expect(Array.from(nb.diagonal(r, 0, -2, -1).toF64()).every((d) => d >= 0)).toBe(true);
      });
    }
  });

  it('SVD: A = U·diag(s)·Vᵀ, reduced and full, with orthonormal factors and descending s', () => {
    for (const shape of [[2, 6, 4], [2, 4, 6], [3, 3]]) {
      for (const full of [false, true]) {
        nb.tidy(() => {
          const A = randomTensor(shape);
          const { u, s, vt } = nb.svd(A, { full });
          const [m, n] = shape.slice(-2) as [number, number];
          const k = Math.min(m, n);
          const uk = full ? nb.slice(u, [...shape.slice(0, -2).map(() => null), null, { stop: k }]) : u;
          const vk = full ? nb.slice(vt, [...shape.slice(0, -2).map(() => null), { stop: k }]) : vt;
          close(nb.matmul(nb.mul(uk, nb.unsqueeze(s, -2)), vk), A, `UΣVᵀ ${JSON.stringify(shape)} full=${full}`);
          const mU = u.shape[u.ndim - 1]!;
          const mV = vt.shape[vt.ndim - 2]!;
          close(nb.matmul(nb.transpose(u), u), nb.broadcastTo(eyeB(mU), [...shape.slice(0, -2), mU, mU]), 'UᵀU = I');
          close(nb.matmul(vt, nb.transpose(vt)), nb.broadcastTo(eyeB(mV), [...shape.slice(0, -2), mV, mV]), 'VᵀV = I');
          const sv = Array.from(s.toF64());
          for (let b = 0; b < sv.length / k; b++) for (let i = 1; i < k; i++) expect(sv[b * k + i]!).toBeLessThanOrEqual(sv[b * k + i - 1]!);
        });
      }
    }
  });

  it('Cholesky: L·Lᵀ = A with L lower triangular and a positive diagonal', () => {
    nb.tidy(() => {
      const A = spdTensor([3, 5, 5]);
      const L = nb.cholesky(A);
      close(nb.matmul(L, nb.transpose(L)), A, 'LLᵀ');
      expect(maxBelowDiagonal(nb.transpose(L))).toBe(0);
      expect(Array.from(nb.diagonal(L, 0, -2, -1).toF64()).every((d) => d > 0)).toBe(true);
    });
  });

  it('eigh: V·diag(λ)·Vᵀ = ½(A + Aᵀ) with VᵀV = I and λ ascending', () => {
    nb.tidy(() => {
      const A = randomTensor([2, 6, 6]);
      const { values, vectors } = nb.eigh(A);
      const S = nb.mul(nb.add(A, nb.transpose(A)), 0.5);
      close(nb.matmul(nb.mul(vectors, nb.unsqueeze(values, -2)), nb.transpose(vectors)), S, 'VΛVᵀ');
      close(nb.matmul(nb.transpose(vectors), vectors), nb.broadcastTo(eyeB(6), [2, 6, 6]), 'VᵀV = I');
      const lv = Array.from(values.toF64());
      for (let i = 1; i < lv.length; i++) if (i % 6 !== 0) expect(lv[i]!).toBeGreaterThanOrEqual(lv[i - 1]!);
    });
  });

  it('the singular values are the square roots of the eigenvalues of AᵀA (SPEC §0)', () => {
    nb.tidy(() => {
      const A = randomTensor([2, 7, 4]);
      const s = nb.svdvals(A);
      const lam = nb.eigh(nb.matmul(nb.transpose(A), A)).values; // ascending
      close(nb.square(s), nb.flip(lam, -1), 's² = eig(AᵀA)');
    });
  });

  it('solve, inv and triangularSolve satisfy their equations; a vector right-hand side keeps its rank', () => {
    nb.tidy(() => {
      const A = randomTensor([2, 4, 4], 3);
      const B = randomTensor([3, 1, 4, 2]);
      const X = nb.solve(A, B);
      expect(X.shape).toEqual([3, 2, 4, 2]);
      close(nb.matmul(A, X), nb.broadcastTo(B, [3, 2, 4, 2]), 'A·X = B');
      const b = randomTensor([4]);
      const x = nb.solve(A, b);
      expect(x.shape).toEqual([2, 4]);
      close(nb.squeeze(nb.matmul(A, nb.unsqueeze(x, -1)), -1), nb.broadcastTo(b, [2, 4]), 'A·x = b');
      close(nb.matmul(nb.inv(A), A), nb.broadcastTo(eyeB(4), [2, 4, 4]), 'A⁻¹A = I');
      const L = nb.tril(A);
      close(nb.matmul(L, nb.triangularSolve(A, B, { lower: true })), nb.broadcastTo(B, [3, 2, 4, 2]), 'L·X = B (upper triangle of A ignored)');
    });
  });

  it('float32 inputs give float32 results', () => {
    nb.tidy(() => {
      const A = nb.astype(spdTensor([3, 3]), 'f32');
      expect(nb.cholesky(A).dtype).toBe('f32');
      expect(nb.qr(A).q.dtype).toBe('f32');
      expect(nb.svd(A).s.dtype).toBe('f32');
      expect(nb.eigh(A).values.dtype).toBe('f32');
      expect(nb.solve(A, A).dtype).toBe('f32');
    });
  });
});

describe('determinants', () => {
  it('slogdet(A·B) = slogdet(A) + slogdet(B), signs multiply, and det = sign·exp(logabsdet)', () => {
    nb.tidy(() => {
      const A = randomTensor([4, 5, 5]);
      const B = randomTensor([4, 5, 5]);
      const a = nb.slogdet(A);
      const b = nb.slogdet(B);
      const ab = nb.slogdet(nb.matmul(A, B));
      close(ab.logabsdet, nb.add(a.logabsdet, b.logabsdet), 'log|det AB|');
      close(ab.sign, nb.mul(a.sign, b.sign), 'sign det AB', 0);
      close(nb.det(nb.matmul(A, B)), nb.mul(nb.det(A), nb.det(B)), 'det AB = det A · det B');
    });
  });

  it('a triangular matrix has the product of its diagonal as determinant; a singular one has sign 0, log|det| −∞', () => {
    nb.tidy(() => {
      const T = nb.triu(randomTensor([4, 4]));
      const d = Array.from(nb.diagonal(T).toF64()).reduce((p, q) => p * q, 1);
      expect(nb.det(T).item()).toBeCloseTo(d, 12);
      const S = nb.tensor([[1, 2], [2, 4]], f64);
      const r = nb.slogdet(S);
      expect(r.sign.item()).toBe(0);
      expect(r.logabsdet.item()).toBe(-Infinity);
      expect(nb.det(S).item()).toBe(0);
    });
  });
});

describe('gradients through gauge-invariant losses', () => {
  it('eigh: eigenvalues and squared eigenvector components (sign-free), well separated spectrum', () => {
    const A0 = nb.tensor(Array.from({ length: 16 }, (_, i) => 0.3 * randn(rng) + (i % 5 === 0 ? [1, 4, 8, 13][i / 5]! : 0)), [4, 4], f64);
    const W = randomTensor([4, 4]);
    gradCheck((A) => {
      const { values, vectors } = nb.eigh(A);
      return nb.add(nb.sum(nb.mul(values, nb.tensor([1, -2, 0.5, 3], f64))), nb.sum(nb.mul(nb.square(vectors), W)));
    }, A0);
  });

  it('svd: singular values and U·diag(w)·Vᵀ products, tall and wide', () => {
    for (const [m, n] of [[5, 3], [3, 5]] as const) {
      const A0 = randomTensor([m, n], 2);
      const W = randomTensor([m, n]);
      gradCheck((A) => {
        const { u, s, vt } = nb.svd(A);
        const UwV = nb.matmul(nb.mul(u, nb.tensor([1, 0.5, -1], f64)), vt);
        return nb.add(nb.sum(nb.mul(UwV, W)), nb.sum(nb.pow(s, 3)));
      }, A0);
    }
  });

  it('qr and cholesky: smooth losses of the factors', () => {
    const W = randomTensor([5, 3]);
    gradCheck((A) => {
      const { q, r } = nb.qr(A);
      return nb.add(nb.sum(nb.mul(q, W)), nb.sum(nb.square(r)));
    }, randomTensor([5, 3]));
    const V = randomTensor([4, 4]);
    gradCheck((A) => nb.sum(nb.mul(nb.cholesky(A), V)), spdTensor([4, 4]));
  });

  it('slogdet: the gradient of log|det A| is A⁻ᵀ', () => {
    nb.tidy(() => {
      const A = randomTensor([4, 4], 2);
      const g = nb.grad((x: Tensor) => nb.slogdet(x).logabsdet)(A) as Tensor;
      close(g, nb.transpose(nb.inv(A)), '∇ log|det A| = A⁻ᵀ');
    });
  });

  it('a gradient through svd inside tidy leaves no live tensors behind', () => {
    const A = randomTensor([4, 3]);
    const before = nb.memory().liveTensors;
    nb.tidy(() => {
      nb.grad((x: Tensor) => nb.sum(nb.svd(x).u))(A);
    });
    expect(nb.memory().liveTensors).toBe(before);
  });
});

describe('randomized SVD', () => {
  it('recovers a rank-k matrix exactly and the top singular values of svd, batched and reproducibly', () => {
    nb.tidy(() => {
      const A = nb.matmul(randomTensor([2, 30, 4]), randomTensor([2, 4, 20])); // rank 4
      const key = nb.randomKey(11);
      const r = nb.randomizedSvd(A, 4, { key, oversample: 4, powerIters: 1 });
      expect(r.u.shape).toEqual([2, 30, 4]);
      close(nb.matmul(nb.mul(r.u, nb.unsqueeze(r.s, -2)), r.vt), A, 'U_k Σ_k V_kᵀ = A', 1e-9);
      close(r.s, nb.slice(nb.svdvals(A), [null, { stop: 4 }]), 'top singular values', 1e-9);
      close(nb.randomizedSvd(A, 4, { key, oversample: 4, powerIters: 1 }).s, r.s, 'same key, same result', 0);
    });
  });
});

describe('errors name the op, the argument and the shapes', () => {
  const A23 = nb.zeros([2, 3], f64);
  const A33 = nb.eye(3, 3, f64);
  it.each([
    ['solve non-square', () => nb.solve(A23, A23), /solve: A must be square.*\[2,3\]/],
    ['solve rows', () => nb.solve(A33, nb.zeros([4, 2], f64)), /solve: A is \[3,3\], so B must be \[\.\.\., 3, m\].*\[4,2\]/],
    ['solve batch', () => nb.solve(nb.zeros([2, 3, 3], f64), nb.zeros([4, 3, 1], f64)), /solve: .*do not broadcast/],
    ['solve vector length', () => nb.solve(A33, nb.zeros([4], f64)), /solve: .*\[4\]/],
    ['solve singular', () => nb.solve(nb.zeros([3, 3], f64), nb.zeros([3, 1], f64)), /solve: .*singular/],
    ['inv singular batch', () => nb.inv(nb.stack([A33, nb.zeros([3, 3], f64)])), /solve: .*singular.*batch element 1/],
    ['cholesky non-square', () => nb.cholesky(A23), /cholesky: A must be square/],
    ['cholesky not SPD', () => nb.cholesky(nb.tensor([[1, 2], [2, 1]], f64)), /cholesky: .*not positive definite/],
    ['eigh vector', () => nb.eigh(nb.zeros([3], f64)), /eigh: A must be a \(batch of\) square matrices.*\[3\]/],
    ['slogdet non-square', () => nb.slogdet(A23), /slogdet: A must be square/],
    ['qr vector', () => nb.qr(nb.zeros([3], f64)), /qr: A must be a \(batch of\) matrices.*\[3\]/],
    ['svd scalar', () => nb.svd(nb.scalar(1)), /svd: A must be a \(batch of\) matrices/],
    ['triangularSolve options', () => nb.triangularSolve(A33, A33, {} as never), /triangularSolve: opts.lower must be a boolean/],
    ['randomizedSvd k', () => nb.randomizedSvd(A23, 3, { key: nb.randomKey(0) }), /randomizedSvd: k must be an integer in 1\.\.2 .*\[2,3\], got 3/],
    ['randomizedSvd key', () => nb.randomizedSvd(A23, 1, {} as never), /randomizedSvd: opts.key/],
  ])('%s', (_name, f, re) => {
    expect(f).toThrow(re);
  });

  it('svd: the gradient through U of a full, non-square SVD is refused', () => {
    expect(() => nb.grad((x: Tensor) => nb.sum(nb.svd(x, { full: true }).u))(nb.ones([3, 2], f64))).toThrow(/svd: the gradient through U or Vᵀ of a full SVD of \[3,2\]/);
  });
});
