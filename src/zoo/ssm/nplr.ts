/**
 * The normal plus low-rank (NPLR) form of the HiPPO-LegS matrix, which S4
 * diagonalises to DPLR (A. Gu, K. Goel, C. Ré, "Efficiently Modeling Long
 * Sequences with Structured State Spaces", arXiv 2111.00396, Theorem 1 and
 * Appendix C.1). In S4's sign convention the state matrix is A = −A_LegS
 * (hippo.ts keeps the paper's A_LegS with dynamics −A) and
 *
 *   A + P Pᵀ = S,   P_n = √(n + ½),   S = −½ I + K,
 *   K_nk = −½ √(2n+1)√(2k+1) sign(n − k)   (antisymmetric)
 *
 * so S is normal with eigenvalues −½ + iμ (iμ those of K) and unitary
 * eigenvectors V: A = V (Λ − P̃ P̃*) V*, P̃ = V* P, B̃ = V* B. The eigenvectors
 * of K come from the Hermitian H = −iK through its real symmetric embedding
 * [[0, K], [−K, 0]] (an eigenvector [u; v] of it gives w = u + iv with
 * H w = μ w), diagonalised by cyclic Jacobi rotations. K is real, so the
 * eigenpairs come in conjugate pairs; the μ > 0 half is kept, the other half
 * being the conjugates (S4's and S4D's 2·Re).
 */
import { hippo } from './hippo.js';

/** Eigenvalues and orthonormal eigenvectors (columns of `vectors`, row-major n×n) of a real symmetric matrix, by cyclic Jacobi. */
export function eighJacobi(M: Float64Array, n: number, tol = 1e-14, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(M);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (const x of a) scale += x * x;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= tol * tol * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        // the rotation that zeroes a_pq (Golub & Van Loan, Algorithm 8.5.1)
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
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

export interface Nplr {
  /** N/2 eigenvalues Λ of the normal part (Re = −½, Im = μ > 0, ascending) */
  lambdaRe: Float64Array;
  lambdaIm: Float64Array;
  /** W (N × N/2 complex, row-major): the eigenvectors of the kept half; V = [W, W̄] */
  Wre: Float64Array;
  Wim: Float64Array;
  /** P̃ = W* P and B̃ = W* B (N/2 complex) */
  Pre: Float64Array;
  Pim: Float64Array;
  Bre: Float64Array;
  Bim: Float64Array;
  /** P (N, real) and B (N, real) in the HiPPO basis */
  P: Float64Array;
  B: Float64Array;
}

const cache = new Map<number, Nplr>();

/** The DPLR form of HiPPO-LegS with state size N (even); computed once per N (the result must not be modified). */
export function nplrLegS(N: number): Nplr {
  const hit = cache.get(N);
  if (hit) return hit;
  const out = computeNplr(N);
  cache.set(N, out);
  return out;
}

function computeNplr(N: number): Nplr {
  if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) throw new Error(`nplrLegS: N must be an even integer ≥ 2, got ${N}`);
  const { B } = hippo('legs', N);
  const P = Float64Array.from({ length: N }, (_, n) => Math.sqrt(n + 0.5));
  const r = (n: number): number => Math.sqrt(2 * n + 1);
  // the real symmetric embedding [[0, K], [−K, 0]] of H = −iK
  const n2 = 2 * N;
  const M = new Float64Array(n2 * n2);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < N; k++) {
      const K = i === k ? 0 : -0.5 * r(i) * r(k) * Math.sign(i - k);
      M[i * n2 + N + k] = K;
      M[(N + i) * n2 + k] = -K;
    }
  }
  const { values, vectors } = eighJacobi(M, n2);
  // each μ appears twice ([u; v] and [−v; u]); keep one vector of each positive pair
  const order = Array.from({ length: n2 }, (_, i) => i).sort((x, y) => values[x]! - values[y]!);
  const pos = order.slice(N);
  const half = N / 2;
  const out: Nplr = {
    lambdaRe: new Float64Array(half).fill(-0.5), lambdaIm: new Float64Array(half),
    Wre: new Float64Array(N * half), Wim: new Float64Array(N * half),
    Pre: new Float64Array(half), Pim: new Float64Array(half), Bre: new Float64Array(half), Bim: new Float64Array(half),
    P, B,
  };
  for (let j = 0; j < half; j++) {
    const col = pos[2 * j]!;
    const mu = values[col]!;
    if (!(mu > 1e-8)) throw new Error(`nplrLegS: eigenvalue ${mu} of the skew part is not positive (N = ${N})`);
    if (Math.abs(values[pos[2 * j + 1]!]! - mu) > 1e-8 * Math.max(1, mu)) throw new Error(`nplrLegS: eigenvalues of the embedding are not paired at ${mu}`);
    out.lambdaIm[j] = mu;
    let pr = 0, pi = 0, br = 0, bi = 0;
    for (let i = 0; i < N; i++) {
      const wr = vectors[i * n2 + col]!;
      const wi = vectors[(N + i) * n2 + col]!;
      out.Wre[i * half + j] = wr;
      out.Wim[i * half + j] = wi;
      // W* x = Σ conj(w_i) x_i for a real x
      pr += wr * P[i]!;
      pi -= wi * P[i]!;
      br += wr * B[i]!;
      bi -= wi * B[i]!;
    }
    [out.Pre[j], out.Pim[j], out.Bre[j], out.Bim[j]] = [pr, pi, br, bi];
  }
  return out;
}
