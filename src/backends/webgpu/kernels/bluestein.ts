/**
 * Bluestein's chirp-z transform (Bluestein 1970; Rabiner, Schafer & Rader,
 * "The chirp z-transform algorithm", 1969): a DFT of any length n as a
 * circular convolution of power-of-two length M ≥ 2n − 1, so it runs on the
 * radix-2 Stockham passes of fft.ts in O(M log M) instead of the direct
 * O(n²). With the chirp b_j = e^(σπi·j²/n) (σ = −1 forward, +1 inverse),
 * jk = (j² + k² − (k − j)²)/2 gives
 *   X_k = b_k · Σ_j (x_j·b_j) · conj(b_(k−j)),
 * the convolution of a = x·b with h_t = conj(b_|t|), computed as
 * IFFT(FFT(a)·FFT(h))/M. The chirp's angle takes j² mod 2n in exact
 * integer arithmetic (u32, hence n ≤ 65535), so it stays accurate in f32.
 */
import type { Storage } from '../../backend.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, mainHeader } from '../wgsl.js';

const WG = 64;
/** the largest n whose j² fits the u32 chirp index */
export const BLUESTEIN_MAX_N = 65535;

/** WGSL: the chirp b_j as vec2f(cos, sin) of σπ·(j² mod 2n)/n; needs MATH. */
const CHIRP = `fn chirp(j: i32, n: i32, sign: f32) -> vec2f {
  let jj = (u32(j) * u32(j)) % u32(2 * n);
  let sc = sincos_(sign * 3.14159265358979 * f32(jj) / f32(n));
  return vec2f(sc.y, sc.x);
}
fn cmul(a: vec2f, b: vec2f) -> vec2f { return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }`;

/** Meta of every stage: [count, n, M, sign]. */
function stage(kind: 'in' | 'filter' | 'mul' | 'out'): string {
  const body = {
    // a_j = x_j·b_j, zero-padded to M
    in: `let line = gi / M; let j = gi % M;
  Y[gi] = select(vec2f(0.0, 0.0), cmul(X[line * n + j], chirp(j, n, sign)), j < n);`,
    // h_t = conj(b_|t|) at t and M − t
    filter: `var v = vec2f(0.0, 0.0);
  if (gi < n) { v = chirp(gi, n, sign); } else if (gi > M - n) { v = chirp(M - gi, n, sign); }
  Y[gi] = vec2f(v.x, -v.y);`,
    // the spectra's product, the filter's broadcast over lines
    mul: `Y[gi] = cmul(Y[gi], X[gi % M]);`,
    // X_k = b_k·conv_k / M
    out: `let line = gi / n; let k = gi % n;
  Y[gi] = cmul(X[line * M + k], chirp(k, n, sign)) / f32(M);`,
  }[kind];
  return `// bluestein ${kind}
${META}
@group(0) @binding(1) var<storage, read> X: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec2f>;
${MATH}
${CHIRP}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1]; let M = prm[2]; let sign = f32(prm[3]);
  ${body}
}`;
}

/** Radix-2 passes over `lines` lines of length `len` from `x` (with scratch `y`); returns the buffer holding the result. */
export type Passes = (x: Storage, y: Storage, lines: number, len: number, sign: number) => Storage;

/**
 * The unnormalised DFT (sign σ) of `lines` contiguous complex lines of length n in `src`,
 * written to `dst` (both lines × n vec2f).
 */
export function bluestein(b: WebGpuBackend, src: Storage, dst: Storage, lines: number, n: number, sign: number, passes: Passes): void {
  let M = 1;
  while (M < 2 * n - 1) M *= 2;
  const p = b.alloc('f32', 2 * lines * M);
  const p2 = b.alloc('f32', 2 * lines * M);
  const h = b.alloc('f32', 2 * M);
  const h2 = b.alloc('f32', 2 * M);
  const run = (kind: 'in' | 'filter' | 'mul' | 'out', bufs: Storage[], count: number): void => b.launch(`bluestein:${kind}`, () => stage(kind), bufs, Math.ceil(count / WG), [count, n, M, sign]);
  run('in', [src, p], lines * M);
  run('filter', [src, h], M); // src is bound but unread: the stage has one layout
  const hf = passes(h, h2, 1, M, -1);
  const pf = passes(p, p2, lines, M, -1);
  run('mul', [hf, pf], lines * M);
  const conv = passes(pf, pf === p ? p2 : p, lines, M, 1);
  run('out', [conv, dst], lines * n);
  for (const s of [p, p2, h, h2]) b.free(s);
}
