/**
 * Small dense float64 matrix routines for the HiPPO and S4 setup code, which
 * runs once on N×N matrices (N ≤ a few hundred) and needs what the tensor
 * library does not offer: the matrix exponential (for zero-order hold) and a
 * general (non-symmetric) solve. Row-major Float64Arrays.
 *
 * expm is scaling and squaring with the [6/6] Padé approximant (C. Moler,
 * C. Van Loan, "Nineteen Dubious Ways to Compute the Exponential of a
 * Matrix, Twenty-Five Years Later", SIAM Review 45(1), 2003, §3-4): scale
 * A by 2⁻ˢ until ‖A‖₁ ≤ ½, where the [6/6] approximant is accurate to about
 * 1e-16, then square s times.
 */

export type Mat = Float64Array;

export function eye(n: number): Mat {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** C = A·B for n×n matrices. */
export function matmulN(A: Mat, B: Mat, n: number): Mat {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const a = A[i * n + k]!;
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j]!;
    }
  }
  return C;
}

/** y = A·x */
export function matvec(A: Mat, x: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += A[i * n + k]! * x[k]!;
    y[i] = s;
  }
  return y;
}

/** a·A + b·B */
export function axpby(a: number, A: Mat, b: number, B: Mat): Mat {
  const C = new Float64Array(A.length);
  for (let i = 0; i < A.length; i++) C[i] = a * A[i]! + b * B[i]!;
  return C;
}

/** Solve A·X = B (A n×n, B n×m) by LU with partial pivoting; throws on a singular A. */
export function solveN(A: Mat, B: Mat, n: number, m: number): Mat {
  const a = Float64Array.from(A);
  const x = Float64Array.from(B);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    if (a[p * n + c] === 0) throw new Error(`solveN: the matrix is singular (no pivot in column ${c})`);
    if (p !== c) {
      for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j]!, a[c * n + j]!];
      for (let j = 0; j < m; j++) [x[c * m + j], x[p * m + j]] = [x[p * m + j]!, x[c * m + j]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / a[c * n + c]!;
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j]!;
      for (let j = 0; j < m; j++) x[r * m + j] -= f * x[c * m + j]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < m; j++) {
      let s = x[c * m + j]!;
      for (let k = c + 1; k < n; k++) s -= a[c * n + k]! * x[k * m + j]!;
      x[c * m + j] = s / a[c * n + c]!;
    }
  }
  return x;
}

function norm1(A: Mat, n: number): number {
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(A[i * n + j]!);
    best = Math.max(best, s);
  }
  return best;
}

/** e^A for an n×n matrix. */
export function expm(A: Mat, n: number): Mat {
  const nrm = norm1(A, n);
  const s = nrm > 0.5 ? Math.ceil(Math.log2(nrm / 0.5)) : 0;
  const X = axpby(2 ** -s, A, 0, A);
  // [6/6] Padé: N(X) = Σ c_k X^k, D(X) = Σ (−1)^k c_k X^k, c_k = (12 − k)! 6! / (12! k! (6 − k)!)
  const c = [1];
  for (let k = 1; k <= 6; k++) c.push((c[k - 1]! * (6 - k + 1)) / (k * (12 - k + 1)));
  let P = eye(n);
  let Nm = axpby(c[0]!, P, 0, P);
  let Dm = axpby(c[0]!, P, 0, P);
  for (let k = 1; k <= 6; k++) {
    P = matmulN(P, X, n);
    Nm = axpby(1, Nm, c[k]!, P);
    Dm = axpby(1, Dm, (k % 2 ? -1 : 1) * c[k]!, P);
  }
  let E = solveN(Dm, Nm, n, n);
  for (let i = 0; i < s; i++) E = matmulN(E, E, n);
  return E;
}
