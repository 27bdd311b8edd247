/**
 * Fits the polynomial coefficients of the WebAssembly SIMD math kernels
 * (src/backends/cpu/wasm/kernels/vmath.ts) and reports their float32
 * accuracy. Run: `npx tsx scripts/fit-kernel-polys.ts`; paste the printed
 * tables into vmath.ts when a fit changes.
 *
 * Method: weighted least squares made minimax by Lawson's algorithm (C. L.
 * Lawson, "Contributions to the theory of linear least maximum
 * approximation", 1961): solve a weighted least-squares problem on a dense
 * grid, multiply each weight by its point's current error, repeat. The
 * weights are chosen so the quantity minimised is the *relative* error of
 * the final function value. Least squares use Householder QR, not the normal
 * equations (monomial bases are ill-conditioned). Coefficients are then
 * rounded to float32 and every function is evaluated with float32 rounding
 * after each operation (no fused multiply-add, the worse case) against a
 * float64 reference; the report gives the largest error in float32 ulps of
 * the true value.
 */
import { erfc } from '../src/core/special.js';

const f = Math.fround;

/** Least squares min ‖A c − b‖ by Householder QR (A is m×n, m ≥ n). */
function lstsq(A: number[][], b: number[]): number[] {
  const m = A.length;
  const n = A[0]!.length;
  const R = A.map((r) => r.slice());
  const y = b.slice();
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += R[i]![k]! ** 2;
    norm = Math.sqrt(norm);
    const alpha = R[k]![k]! > 0 ? -norm : norm;
    const v = new Array<number>(m).fill(0);
    for (let i = k; i < m; i++) v[i] = R[i]![k]!;
    v[k]! -= alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += v[i]! ** 2;
    if (vv === 0) continue;
    for (let j = k; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += v[i]! * R[i]![j]!;
      const t = (2 * s) / vv;
      for (let i = k; i < m; i++) R[i]![j]! -= t * v[i]!;
    }
    let s = 0;
    for (let i = k; i < m; i++) s += v[i]! * y[i]!;
    const t = (2 * s) / vv;
    for (let i = k; i < m; i++) y[i]! -= t * v[i]!;
  }
  const c = new Array<number>(n).fill(0);
  for (let k = n - 1; k >= 0; k--) {
    let s = y[k]!;
    for (let j = k + 1; j < n; j++) s -= R[k]![j]! * c[j]!;
    c[k] = s / R[k]![k]!;
  }
  return c;
}

/**
 * Minimax fit of g(u) ≈ Σ c_j u^j over the grid points `us` with target values
 * `gs`; `scale[i]` converts an error in g into a relative error of the final
 * function at point i.
 */
function minimax(us: number[], gs: number[], scale: number[], degree: number, iters = 60): number[] {
  let w = us.map(() => 1);
  let c: number[] = [];
  for (let it = 0; it < iters; it++) {
    const A = us.map((u, i) => Array.from({ length: degree + 1 }, (_, j) => Math.sqrt(w[i]!) * scale[i]! * u ** j));
    const b = gs.map((g, i) => Math.sqrt(w[i]!) * scale[i]! * g);
    c = lstsq(A, b);
    const err = us.map((u, i) => Math.abs(scale[i]! * (horner64(c, u) - gs[i]!)));
    const next = w.map((wi, i) => wi * err[i]!);
    const s = next.reduce((a, x) => a + x, 0);
    w = next.map((x) => x / s);
  }
  return c;
}

function horner64(c: readonly number[], u: number): number {
  let p = 0;
  for (let j = c.length - 1; j >= 0; j--) p = p * u + c[j]!;
  return p;
}

/** Horner in float32 (coefficients already float32), highest degree first. */
function horner32(c: readonly number[], u: number): number {
  let p = c[c.length - 1]!;
  for (let j = c.length - 2; j >= 0; j--) p = f(f(p * u) + c[j]!);
  return p;
}

const grid = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * (0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n))));
const ulps = (approx: number, exact: number): number => {
  const e = Math.abs(exact);
  const ulp = e < 1.1754943508222875e-38 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(e)) - 23);
  return Math.abs(approx - exact) / ulp;
};

function report(name: string, coeffs: number[], check: (c: number[]) => { maxUlp: number; at: number }): number[] {
  const c32 = coeffs.map(f);
  const { maxUlp, at } = check(c32);
  console.log(`${name}: max ${maxUlp.toFixed(2)} ulp (at ${at.toPrecision(6)})\n  [${c32.map((x) => x.toPrecision(9)).join(', ')}]`);
  return c32;
}

function worst(xs: number[], approx: (x: number) => number, exact: (x: number) => number): { maxUlp: number; at: number } {
  let maxUlp = 0;
  let at = 0;
  for (const x0 of xs) {
    const x = f(x0);
    const u = ulps(approx(x), exact(x));
    if (u > maxUlp) {
      maxUlp = u;
      at = x;
    }
  }
  return { maxUlp, at };
}

const LN2 = Math.LN2;
// ---- exp: e^r = 1 + r + r²·P(r) on |r| ≤ ln2/2
{
  const rs = grid(-LN2 / 2, LN2 / 2, 2000).filter((r) => Math.abs(r) > 1e-6);
  const c = minimax(rs, rs.map((r) => (Math.exp(r) - 1 - r) / (r * r)), rs.map((r) => (r * r) / Math.exp(r)), 5);
  report('exp P', c, (c32) => worst(rs, (r) => f(f(f(horner32(c32, r) * f(r * r)) + r) + 1), Math.exp));
}
// ---- log: log(1+t) = t − t²/2 + t³·Q(t) on t ∈ [√½ − 1, √2 − 1]
{
  const ts = grid(Math.SQRT1_2 - 1, Math.SQRT2 - 1, 2000).filter((t) => Math.abs(t) > 1e-5);
  const c = minimax(ts, ts.map((t) => (Math.log1p(t) - t + (t * t) / 2) / t ** 3), ts.map((t) => Math.abs(t ** 3 / Math.log1p(t))), 8);
  report('log Q', c, (c32) =>
    worst(ts, (t) => {
      const z = f(t * t);
      return f(t + f(f(f(horner32(c32, t) * z) * t) - f(0.5 * z)));
    }, Math.log1p),
  );
}
// ---- tanh: tanh(x) = x + x³·R(x²) on |x| ≤ 0.625
{
  const xs = grid(1e-4, 0.625, 2000);
  const c = minimax(xs.map((x) => x * x), xs.map((x) => (Math.tanh(x) - x) / x ** 3), xs.map((x) => x ** 3 / Math.tanh(x)), 4);
  report('tanh R', c, (c32) => worst(xs, (x) => f(x + f(f(x * f(x * x)) * horner32(c32, f(x * x)))), Math.tanh));
}
// ---- erf: erf(z) = z + z·S(z²) on |z| ≤ 1 (the leading z is added last, exactly as given)
const erf64 = (z: number): number => 1 - erfc(z);
{
  const zs = grid(1e-4, 1, 2000);
  const c = minimax(zs.map((z) => z * z), zs.map((z) => erf64(z) / z - 1), zs.map((z) => z / erf64(z)), 6);
  report('erf S', c, (c32) => worst(zs, (z) => f(z + f(z * horner32(c32, f(z * z)))), erf64));
}
// ---- erfc: erfc(t) = e^{−t²}/t · G(1/t² − w0) on t ∈ [1, 2] (w0 = 0.625, the middle of its w range:
// centring keeps Horner's partial sums small, which halves the rounding error) and on [2, 10] (w0 = 0,
// where centring does not help)
for (const [lo, hi, deg, w0] of [[1, 2, 8, 0.625], [2, 10, 8, 0]] as const) {
  const ts = grid(lo, hi, 2000);
  const gOf = (t: number): number => erfc(t) * t * Math.exp(t * t);
  const c = minimax(ts.map((t) => 1 / (t * t) - w0), ts.map(gOf), ts.map((t) => 1 / gOf(t)), deg);
  report(`erfc G [${lo}, ${hi}]`, c, (c32) => worst(ts, (t) => f(horner32(c32, f(f(1 / f(t * t)) - w0)) / t), (t) => gOf(t) / t));
}
