/**
 * Op cases for the linear-algebra family: values against naive float64
 * references written here (Gaussian elimination, Cholesky–Banachiewicz,
 * Gram–Schmidt, cyclic Jacobi), gradients and forward derivatives by the
 * checker. Inputs are generated well conditioned (diagonally dominant, SPD,
 * separated eigen/singular values) so that finite differences are accurate.
 */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

type Gen = (rng: () => number, n: number) => number[];

/** Batches of r×c matrices: uniform noise in [-1, 1] plus `diag[i]` on the diagonal. */
export const withDiag = (r: number, c: number, diag: number[], noise = 1): Gen => (rng, n) =>
  Array.from({ length: n }, (_, idx) => {
    const i = Math.floor(idx / c) % r;
    const j = idx % c;
    return noise * (2 * rng() - 1) + (i === j ? (diag[i] ?? 0) : 0);
  });

/** Batches of n×n symmetric positive definite matrices M·Mᵀ + n·I. */
export const spd = (n: number): Gen => (rng, total) => {
  const out: number[] = [];
  for (let b = 0; b < total / (n * n); b++) {
    const M = Array.from({ length: n * n }, () => 2 * rng() - 1);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += M[i * n + k]! * M[j * n + k]!;
      out.push(s);
    }
  }
  return out;
};

/** Per n×n (or n×m) matrix of a batch, map f over the blocks and concatenate. */
export function perBlock(x: Float64Array, size: number, f: (a: Float64Array) => number[]): number[] {
  const out: number[] = [];
  for (let b = 0; b < x.length / size; b++) out.push(...f(x.subarray(b * size, (b + 1) * size)));
  return out;
}

/** Gaussian elimination with partial pivoting: X with A·X = B (A n×n, B n×m); also returns det A. */
export function gaussSolve(A: ArrayLike<number>, n: number, B: ArrayLike<number>, m: number): { x: number[]; det: number } {
  const a = Array.from(A);
  const b = Array.from(B);
  let det = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]!) > Math.abs(a[p * n + k]!)) p = i;
    if (p !== k) {
      det = -det;
      for (let j = 0; j < n; j++) [a[k * n + j], a[p * n + j]] = [a[p * n + j]!, a[k * n + j]!];
      for (let j = 0; j < m; j++) [b[k * m + j], b[p * m + j]] = [b[p * m + j]!, b[k * m + j]!];
    }
    det *= a[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k]! / a[k * n + k]!;
      for (let j = k; j < n; j++) a[i * n + j]! -= f * a[k * n + j]!;
      for (let j = 0; j < m; j++) b[i * m + j]! -= f * b[k * m + j]!;
    }
  }
  const x = new Array<number>(n * m).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = 0; j < m; j++) {
      let s = b[i * m + j]!;
      for (let k = i + 1; k < n; k++) s -= a[i * n + k]! * x[k * m + j]!;
      x[i * m + j] = s / a[i * n + i]!;
    }
  }
  return { x, det };
}

const identity = (n: number): number[] => Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));
const sym = (a: ArrayLike<number>, n: number): number[] => Array.from({ length: n * n }, (_, i) => 0.5 * (a[i]! + a[(i % n) * n + Math.floor(i / n)]!));
const transpose = (a: ArrayLike<number>, r: number, c: number): number[] => Array.from({ length: r * c }, (_, i) => a[(i % r) * c + Math.floor(i / r)]!);

/** Cholesky–Banachiewicz on the symmetric part. */
export function naiveCholesky(A: ArrayLike<number>, n: number): number[] {
  const a = sym(A, n);
  const L = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j]!;
    }
  }
  return L;
}

/** Reduced QR by modified Gram–Schmidt on the first k = min(m, n) columns, R = Qᵀ·A (positive diagonal). */
export function gramSchmidtQR(A: ArrayLike<number>, m: number, n: number): { q: number[]; r: number[] } {
  const k = Math.min(m, n);
  const q = new Array<number>(m * k).fill(0);
  for (let j = 0; j < k; j++) {
    const v = Array.from({ length: m }, (_, i) => A[i * n + j]!);
    for (let p = 0; p < j; p++) {
      let d = 0;
      for (let i = 0; i < m; i++) d += q[i * k + p]! * v[i]!;
      for (let i = 0; i < m; i++) v[i]! -= d * q[i * k + p]!;
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < m; i++) q[i * k + j] = v[i]! / norm;
  }
  const r = new Array<number>(k * n).fill(0);
  for (let i = 0; i < k; i++) for (let j = i; j < n; j++) {
    let s = 0;
    for (let p = 0; p < m; p++) s += q[p * k + i]! * A[p * n + j]!;
    r[i * n + j] = s;
  }
  return { q, r };
}

/** Eigenvalues (ascending) of a symmetric matrix by cyclic Jacobi rotations. */
export function jacobiEigenvalues(S: ArrayLike<number>, n: number): number[] {
  const a = sym(S, n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q]!;
      if (apq === 0) continue;
      const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = a[k * n + p]!;
        const akq = a[k * n + q]!;
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
      }
      for (let k = 0; k < n; k++) {
        const apk = a[p * n + k]!;
        const aqk = a[q * n + k]!;
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!).sort((x, y) => x - y);
}

/** Singular values (descending) as square roots of the eigenvalues of the smaller Gram matrix. */
export function naiveSingularValues(A: ArrayLike<number>, m: number, n: number): number[] {
  const k = Math.min(m, n);
  const g: number[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let p = 0; p < Math.max(m, n); p++) s += m >= n ? A[p * n + i]! * A[p * n + j]! : A[i * n + p]! * A[j * n + p]!;
    g.push(s);
  }
  return jacobiEigenvalues(g, k).map((v) => Math.sqrt(Math.max(v, 0))).reverse();
}

const sq = (n: number, batch: number[] = []): number[] => [...batch, n, n];

export const linalgCases: OpCase[] = [
  {
    op: 'solve',
    inputs: [{ shape: [3, 3], gen: withDiag(3, 3, [4, 4, 4]) }, { shape: [3, 2] }],
    fn: (a, b) => nb.solve(a!, b!),
    ref: (a, b) => gaussSolve(a!, 3, b!, 2).x,
    secondOrder: true,
  },
  {
    op: 'solve',
    label: 'broadcast batches',
    inputs: [{ shape: sq(3, [2, 1]), gen: withDiag(3, 3, [4, 4, 4]) }, { shape: [3, 3, 2] }],
    fn: (a, b) => nb.solve(a!, b!),
    ref: (a, b) => [0, 1].flatMap((i) => [0, 1, 2].flatMap((j) => gaussSolve(a!.subarray(9 * i, 9 * i + 9), 3, b!.subarray(6 * j, 6 * j + 6), 2).x)),
  },
  {
    op: 'solve',
    label: 'batch of vectors',
    inputs: [{ shape: sq(3, [2]), gen: withDiag(3, 3, [4, 4, 4]) }, { shape: [2, 3] }],
    fn: (a, b) => nb.solve(a!, b!),
    ref: (a, b) => [0, 1].flatMap((i) => gaussSolve(a!.subarray(9 * i, 9 * i + 9), 3, b!.subarray(3 * i, 3 * i + 3), 1).x),
  },
  {
    op: 'solve',
    label: 'inv',
    inputs: [{ shape: sq(3, [2]), gen: withDiag(3, 3, [4, -4, 4]) }],
    fn: (a) => nb.inv(a!),
    ref: (a) => perBlock(a!, 9, (x) => gaussSolve(x, 3, identity(3), 3).x),
    secondOrder: true,
  },
  {
    op: 'triangularSolve',
    label: 'lower',
    inputs: [{ shape: [3, 3], gen: withDiag(3, 3, [3, -3, 3]) }, { shape: [3, 2] }],
    fn: (a, b) => nb.triangularSolve(a!, b!, { lower: true }),
    ref: (a, b) => gaussSolve(Array.from(a!).map((v, i) => (i % 3 <= Math.floor(i / 3) ? v : 0)), 3, b!, 2).x,
    secondOrder: true,
  },
  {
    op: 'triangularSolve',
    label: 'upper, unit, transposed, batched',
    inputs: [{ shape: sq(3, [2]), gen: withDiag(3, 3, [3, 3, 3]) }, { shape: [3, 1] }],
    fn: (a, b) => nb.triangularSolve(a!, b!, { lower: false, unit: true, transpose: true }),
    ref: (a, b) => perBlock(a!, 9, (x) => gaussSolve(transpose(Array.from(x).map((v, i) => (i % 3 > Math.floor(i / 3) ? v : i % 3 === Math.floor(i / 3) ? 1 : 0)), 3, 3), 3, b!, 1).x),
  },
  {
    op: 'triangularSolve',
    label: 'left: false (X·A = B)',
    inputs: [{ shape: [3, 3], gen: withDiag(3, 3, [3, 3, -3]) }, { shape: [2, 3] }],
    fn: (a, b) => nb.triangularSolve(a!, b!, { lower: false, left: false }),
    // X·U = B  ⇔  Uᵀ·Xᵀ = Bᵀ
    ref: (a, b) => transpose(gaussSolve(transpose(Array.from(a!).map((v, i) => (i % 3 >= Math.floor(i / 3) ? v : 0)), 3, 3), 3, transpose(b!, 2, 3), 2).x, 3, 2),
  },
  {
    op: 'slogdet',
    inputs: [{ shape: sq(3, [3]), gen: withDiag(3, 3, [2, 2, 2], 1.5) }],
    fn: (a) => {
      const r = nb.slogdet(a!);
      return [r.sign, r.logabsdet];
    },
    ref: (a) => {
      const d = perBlock(a!, 9, (x) => [gaussSolve(x, 3, [], 0).det]);
      return [d.map(Math.sign), d.map((v) => Math.log(Math.abs(v)))];
    },
    secondOrder: true,
  },
  {
    op: 'slogdet',
    label: 'det',
    inputs: [{ shape: sq(4), gen: withDiag(4, 4, [2, -2, 2, 2]) }],
    fn: (a) => nb.det(a!),
    ref: (a) => [gaussSolve(a!, 4, [], 0).det],
  },
  {
    op: 'cholesky',
    inputs: [{ shape: sq(4, [2]), gen: spd(4) }],
    fn: (a) => nb.cholesky(a!),
    ref: (a) => perBlock(a!, 16, (x) => naiveCholesky(x, 4)),
    secondOrder: true,
  },
  ...([
    [4, 3, 'tall'],
    [3, 3, 'square'],
    [3, 5, 'wide'],
  ] as const).map(
    ([m, n, label]): OpCase => ({
      op: 'qr',
      label,
      inputs: [{ shape: [2, m, n], gen: withDiag(m, n, [3, 3, 3]) }],
      fn: (a) => {
        const r = nb.qr(a!);
        return [r.q, r.r];
      },
      ref: (a) => {
        const parts = [0, 1].map((b) => gramSchmidtQR(a!.subarray(b * m * n, (b + 1) * m * n), m, n));
        return [parts.flatMap((p) => p.q), parts.flatMap((p) => p.r)];
      },
      secondOrder: label === 'tall',
    }),
  ),
  {
    op: 'eigh',
    inputs: [{ shape: sq(4, [2]), gen: withDiag(4, 4, [-4, 0, 3, 7], 0.5) }],
    fn: (a) => {
      const r = nb.eigh(a!);
      return [r.values, r.vectors];
    },
    ref: (a) => perBlock(a!, 16, (x) => jacobiEigenvalues(x, 4)),
    secondOrder: true,
  },
  ...([
    [4, 3, false, 'tall'],
    [3, 4, false, 'wide'],
    [3, 3, true, 'square, full'],
  ] as const).map(
    ([m, n, full, label]): OpCase => ({
      op: 'svd',
      label,
      inputs: [{ shape: [2, m, n], gen: withDiag(m, n, [6, 3.5, 1.5], 0.5) }],
      fn: (a) => {
        const r = nb.svd(a!, { full });
        return [r.s, r.u, r.vt];
      },
      ref: (a) => perBlock(a!, m * n, (x) => naiveSingularValues(x, m, n)),
      secondOrder: label === 'tall',
    }),
  ),
  {
    op: 'svd',
    label: 'svdvals',
    inputs: [{ shape: [5, 3], gen: withDiag(5, 3, [4, 2, 1], 0.5) }],
    fn: (a) => nb.svdvals(a!),
    ref: (a) => naiveSingularValues(a!, 5, 3),
  },
  {
    op: 'randomizedSvd',
    label: 'exact for rank ≤ k + oversample',
    // an 8×6 matrix of rank 3 (a product of 8×3 and 3×6 factors): the sketch of 4 columns spans its range
    inputs: [
      {
        shape: [8, 6],
        gen: (rng) => {
          const L = Array.from({ length: 24 }, () => 2 * rng() - 1);
          const R = Array.from({ length: 18 }, () => 2 * rng() - 1);
          return Array.from({ length: 48 }, (_, i) => [0, 1, 2].reduce((s, p) => s + L[Math.floor(i / 6) * 3 + p]! * R[p * 6 + (i % 6)]!, 0));
        },
      },
    ],
    fn: (a) => nb.randomizedSvd(a!, 2, { key: nb.randomKey(7), oversample: 2 }).s,
    ref: (a) => naiveSingularValues(a!, 8, 6).slice(0, 2),
    noGrad: true,
  },
];
