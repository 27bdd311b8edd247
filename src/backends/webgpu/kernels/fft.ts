/**
 * fft, rfft and irfft along one axis in WGSL (f32), in three stages:
 *  1. load: every line along the axis (any strides) into a contiguous complex
 *     work buffer [lines, n] of vec2f; rfft pads the imaginary part with 0,
 *     irfft rebuilds the full Hermitian spectrum from bins 0…⌊n/2⌋ (the
 *     imaginary parts of DC and, for even n, Nyquist dropped, as numpy);
 *  2. transform, unnormalised, sign −1 forward and +1 inverse:
 *     - n a power of two: log₂ n radix-2 Stockham passes, ping-ponging
 *       between two buffers (the self-sorting formulation of Govindaraju et
 *       al., "High performance discrete Fourier transforms on graphics
 *       processors", SC 2008: pass Ns = 1, 2, …, n/2 reads x[j] and
 *       x[j + n/2] and writes (j/Ns)·2Ns + j mod Ns and that + Ns; no
 *       bit-reversal pass);
 *     - other n up to 64: the direct O(n²) DFT, one invocation per output
 *       bin, the twiddle index j·k reduced mod n exactly in integers so the
 *       angle stays accurate;
 *     - other n up to 65535: Bluestein's chirp-z transform (bluestein.ts),
 *       a convolution of power-of-two length on the same Stockham passes,
 *       O(n log n); longer ones run on the CPU fallback;
 *  3. store: scale (the norm's factor) into the outputs' contiguous layout —
 *     both parts of all bins (fft), bins 0…⌊n/2⌋ (rfft) or the real part (irfft).
 * Twiddles use the accurate sincos of wgsl.ts (WGSL's sin/cos may be off by
 * 2⁻¹¹ absolute). Meta of load/store: [count, n, nLines, inner, nd, axis,
 * lineAxisLen, offsets(k), shape(nd), strides(k·nd)].
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META, mainHeader, metaF } from '../wgsl.js';
import { BLUESTEIN_MAX_N, bluestein, type Passes } from './bluestein.js';

const WG = 64;
/** lengths off powers of two up to this take the direct DFT (cheaper than Bluestein's three transforms of ≥ 2n) */
const DIRECT_MAX_N = 64;

type Kind = 'fft' | 'rfft' | 'irfft';
interface FftAttrs {
  axis: number;
  inverse: boolean;
  norm: 'backward' | 'ortho' | 'forward';
  n?: number;
}

function scaleOf(norm: FftAttrs['norm'], inverse: boolean, n: number): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  return (norm === 'forward') !== inverse ? 1 / n : 1;
}

/** WGSL: `p${i}` = offset of view i's line `line` (coordinates off the axis, row-major). */
function lineOffsets(k: number, nd: number): string {
  const init = Array.from({ length: k }, (_, i) => `var p${i} = prm[7 + ${i}];`).join(' ');
  const walk = Array.from({ length: k }, (_, i) => `p${i} += c * prm[${7 + k + nd + i * nd} + d];`).join(' ');
  return `${init}
  { var r = line;
    for (var d = ${nd - 1}; d >= 0; d--) {
      if (d == axis) { continue; }
      let s = prm[${7 + k} + d]; let c = r % s; r = r / s; ${walk}
    } }`;
}

const metaHead = `let n = prm[1]; let inner = prm[3]; let axis = prm[5]; let m = prm[6];`;

function loadShader(kind: Kind, nd: number): string {
  const k = kind === 'rfft' ? 1 : 2;
  const sx = (i: number): string => `prm[${7 + k + nd + i * nd} + axis]`;
  let value: string;
  if (kind === 'fft') value = `vec2f(A[p0 + t * ${sx(0)}], B[p1 + t * ${sx(1)}])`;
  else if (kind === 'rfft') value = `vec2f(A[p0 + t * ${sx(0)}], 0.0)`;
  else
    value = `vec2f(0.0, 0.0);
  if (t < m) { v = vec2f(A[p0 + t * ${sx(0)}], select(B[p1 + t * ${sx(1)}], 0.0, t == 0 || 2 * t == n)); }
  else { v = vec2f(A[p0 + (n - t) * ${sx(0)}], -B[p1 + (n - t) * ${sx(1)}]); }`;
  return `// fft load ${kind} nd=${nd}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
${k === 2 ? '@group(0) @binding(2) var<storage, read> B: array<f32>;' : ''}
@group(0) @binding(${k + 1}) var<storage, read_write> W: array<vec2f>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  ${metaHead}
  let line = gi / n; let t = gi % n;
  ${lineOffsets(k, nd)}
  ${kind === 'irfft' ? `var v = ${value}` : `let v = ${value};`}
  W[gi] = v;
}`;
}

function storeShader(kind: Kind): string {
  const two = kind !== 'irfft';
  return `// fft store ${kind}
${META}
@group(0) @binding(1) var<storage, read> W: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> R: array<f32>;
${two ? '@group(0) @binding(3) var<storage, read_write> I: array<f32>;' : ''}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  ${metaHead}
  let c = ${metaF(7)};
  let line = gi / m; let t = gi % m;
  let v = W[line * n + t] * c;
  let o = (line / inner) * m * inner + line % inner + t * inner;
  R[o] = v.x;
  ${two ? 'I[o] = v.y;' : ''}
}`;
}

/** One radix-2 Stockham pass. Meta: [count, n, ns, sign]. */
const stockhamShader = (): string => `// fft stockham pass
${META}
@group(0) @binding(1) var<storage, read> X: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec2f>;
${MATH}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1]; let ns = prm[2]; let half = n / 2;
  let line = gi / half; let j = gi % half; let base = line * n;
  let a = X[base + j];
  let b0 = X[base + j + half];
  let k = j % ns;
  let w = sincos_(f32(prm[3]) * 3.14159265358979 * f32(k) / f32(ns));
  let b = vec2f(b0.x * w.y - b0.y * w.x, b0.x * w.x + b0.y * w.y);
  let d = (j / ns) * 2 * ns + k;
  Y[base + d] = a + b;
  Y[base + d + ns] = a - b;
}`;

/** The direct DFT, one invocation per (line, bin). Meta: [count, n, sign]. */
const dftShader = (): string => `// fft direct dft
${META}
@group(0) @binding(1) var<storage, read> X: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec2f>;
${MATH}
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1];
  let line = gi / n; let k = gi % n; let base = line * n;
  let step = f32(prm[2]) * 6.28318530717959 / f32(n);
  var acc = vec2f(0.0, 0.0);
  var jk = 0;
  for (var j = 0; j < n; j++) {
    let w = sincos_(step * f32(jk));
    let x = X[base + j];
    acc += vec2f(x.x * w.y - x.y * w.x, x.x * w.x + x.y * w.y);
    jk += k;
    if (jk >= n) { jk -= n; }
  }
  Y[gi] = acc;
}`;

function transform(kind: Kind, ins: readonly View[], attrs: FftAttrs, outs: readonly OutMeta[], b: WebGpuBackend): Storage[] {
  const axis = attrs.axis;
  const n = kind === 'fft' ? ins[0]!.shape[axis]! : attrs.n!;
  const mIn = ins[0]!.shape[axis]!; // irfft: the stored bins
  const mOut = outs[0]!.shape[axis]!;
  const results = outs.map((o) => b.alloc('f32', sizeOf(o.shape)));
  const lines = n === 0 ? 0 : sizeOf(outs[0]!.shape) / outs[0]!.shape[axis]!;
  if (lines === 0 || n === 0) return results;
  const shape = ins[0]!.shape;
  const nd = shape.length;
  const inner = sizeOf(shape.slice(axis + 1));
  const head = (count: number, m: number): number[] => [count, n, lines, inner, nd, axis, m];
  let cur = b.alloc('f32', 2 * lines * n);
  let next = b.alloc('f32', 2 * lines * n);
  const passes: Passes = (x, y, count, len, sign) => {
    let [from, to] = [x, y];
    for (let ns = 1; ns < len; ns *= 2) {
      b.launch('fftStockham', stockhamShader, [from, to], Math.ceil((count * len) / 2 / WG), [(count * len) / 2, len, ns, sign]);
      [from, to] = [to, from];
    }
    return from;
  };
  const load = [...head(lines * n, mIn), ...ins.map((v) => v.offset), ...shape, ...ins.flatMap((v) => v.strides)];
  b.launch(`fftLoad:${kind}:${nd}`, () => loadShader(kind, nd), [...ins.map((v) => v.storage), cur], Math.ceil((lines * n) / WG), load);
  const sign = attrs.inverse ? 1 : -1;
  if (n > 1 && (n & (n - 1)) === 0) {
    if (passes(cur, next, lines, n, sign) === next) [cur, next] = [next, cur];
  } else if (n > DIRECT_MAX_N) {
    bluestein(b, cur, next, lines, n, sign, passes);
    [cur, next] = [next, cur];
  } else if (n > 1) {
    b.launch('fftDft', dftShader, [cur, next], Math.ceil((lines * n) / WG), [lines * n, n, sign]);
    [cur, next] = [next, cur];
  }
  const c = scaleOf(attrs.norm, attrs.inverse, n);
  b.launch(`fftStore:${kind}`, () => storeShader(kind), [cur, ...results], Math.ceil((lines * mOut) / WG), head(lines * mOut, mOut), [c]);
  b.free(cur);
  b.free(next);
  return results;
}

export function registerFft(b: WebGpuBackend): void {
  for (const kind of ['fft', 'rfft', 'irfft'] as const) {
    const k: Kernel = (ins, attrs, outs) => {
      if (!ins.every((v) => v.dtype === 'f32') || !outs.every((o) => o.dtype === 'f32')) return undefined;
      const a = attrs as FftAttrs;
      const n = kind === 'fft' ? ins[0]!.shape[a.axis]! : a.n!;
      // beyond Bluestein's u32 chirp index, a length off a power of two takes the CPU's O(n log n) path
      if ((n & (n - 1)) !== 0 && n > BLUESTEIN_MAX_N) return undefined;
      return transform(kind, ins, a, outs, b);
    };
    b.kernels.set(kind, Object.assign(k, { dtypes: ['f32'] as const }));
  }
}
