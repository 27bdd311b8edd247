/**
 * Convolution (cross-correlation, as in PyTorch) in 1, 2 or 3 spatial
 * dimensions with stride, padding, dilation and channel groups, and its two
 * adjoints, as direct kernels: one invocation per output element.
 *
 *   y[n, o, p]   = Σ_{c, k} x[n, g·Cg + c, p·s + k·d − pad] · w[o, c, k]   (conv)
 *   x̄[n, ci, q]  = Σ_{o ∈ group, k : q + pad − k·d = p·s} ȳ[n, o, p] · w[o, c, k]  (convBackpropInput)
 *   w̄[o, c, k]   = Σ_{n, p} ȳ[n, o, p] · x[n, g·Cg + c, p·s + k·d − pad]    (convBackpropFilter)
 *
 * Every operand is read through its own strides (views in place); fewer
 * spatial axes are padded to three of size 1. Gathering per output (rather
 * than scattering per input) keeps the adjoints free of atomics and their
 * sums in a fixed order, so results are deterministic.
 *
 * Meta: [total, N, C, O, G, X(3), Y(3), K(3), stride(3), dilation(3), padBefore(3),
 *        aOff, aStrides(5), bOff, bStrides(5)] for the two inputs in op order.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { META, mainHeader } from '../wgsl.js';

const WG = 64;

interface ConvAttrs {
  stride: number[];
  padding: [number, number][];
  dilation: number[];
  groups: number;
  size?: number[];
}

const to3 = (a: readonly number[], fill: number): number[] => [...new Array<number>(3 - a.length).fill(fill), ...a];

/** [off, 5 strides] of a (N, C, spatial…) view padded to 3 spatial axes. */
function view5(v: View): number[] {
  const sp = v.strides.slice(2);
  return [v.offset, v.strides[0]!, v.strides[1]!, ...to3(sp, 0)];
}

const DECODE = `
  let N = prm[1]; let C = prm[2]; let O = prm[3]; let G = prm[4];
  let X = vec3i(prm[5], prm[6], prm[7]);
  let Y = vec3i(prm[8], prm[9], prm[10]);
  let K = vec3i(prm[11], prm[12], prm[13]);
  let S = vec3i(prm[14], prm[15], prm[16]);
  let Dl = vec3i(prm[17], prm[18], prm[19]);
  let P = vec3i(prm[20], prm[21], prm[22]);
  let aOff = prm[23]; let aN = prm[24]; let aC = prm[25]; let aS = vec3i(prm[26], prm[27], prm[28]);
  let bOff = prm[29]; let bN = prm[30]; let bC = prm[31]; let bS = vec3i(prm[32], prm[33], prm[34]);
  let Cg = C / G; let Og = O / G;`;

/** Split the flat invocation index over a (·, B, sp.x, sp.y, sp.z) row-major space into names and q. */
const SPLIT = (names: [string, string], B: string, sp: string): string => `
  var r = gi;
  let q2 = r % ${sp}.z; r = r / ${sp}.z;
  let q1 = r % ${sp}.y; r = r / ${sp}.y;
  let q0 = r % ${sp}.x; r = r / ${sp}.x;
  let ${names[1]} = r % ${B}; r = r / ${B};
  let ${names[0]} = r;
  let q = vec3i(q0, q1, q2);`;

const HEAD = (name: string): string => `// ${name}
${META}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
${DECODE}`;

/** conv: A = x, B = w; out (N, O, Y). */
const FORWARD = `${HEAD('conv')}
${SPLIT(['n', 'o'], 'O', 'Y')}
  let g = o / Og;
  var acc = 0.0;
  for (var c = 0; c < Cg; c++) {
    let ci = g * Cg + c;
    for (var k0 = 0; k0 < K.x; k0++) { let x0 = q.x * S.x + k0 * Dl.x - P.x; if (x0 < 0 || x0 >= X.x) { continue; }
    for (var k1 = 0; k1 < K.y; k1++) { let x1 = q.y * S.y + k1 * Dl.y - P.y; if (x1 < 0 || x1 >= X.y) { continue; }
    for (var k2 = 0; k2 < K.z; k2++) { let x2 = q.z * S.z + k2 * Dl.z - P.z; if (x2 < 0 || x2 >= X.z) { continue; }
      let xv = A[aOff + n * aN + ci * aC + x0 * aS.x + x1 * aS.y + x2 * aS.z];
      let wv = B[bOff + o * bN + c * bC + k0 * bS.x + k1 * bS.y + k2 * bS.z];
      acc = fma(xv, wv, acc);
    } } }
  }
  out[gi] = acc;
}`;

/** convBackpropInput: A = ȳ (N, O, Y), B = w; out x̄ (N, C, X). */
const BACK_INPUT = `${HEAD('convBackpropInput')}
${SPLIT(['n', 'ci'], 'C', 'X')}
  let g = ci / Cg;
  let c = ci % Cg;
  var acc = 0.0;
  for (var oo = 0; oo < Og; oo++) {
    let o = g * Og + oo;
    for (var k0 = 0; k0 < K.x; k0++) { let t0 = q.x + P.x - k0 * Dl.x; if (t0 < 0 || t0 % S.x != 0 || t0 / S.x >= Y.x) { continue; }
    for (var k1 = 0; k1 < K.y; k1++) { let t1 = q.y + P.y - k1 * Dl.y; if (t1 < 0 || t1 % S.y != 0 || t1 / S.y >= Y.y) { continue; }
    for (var k2 = 0; k2 < K.z; k2++) { let t2 = q.z + P.z - k2 * Dl.z; if (t2 < 0 || t2 % S.z != 0 || t2 / S.z >= Y.z) { continue; }
      let gv = A[aOff + n * aN + o * aC + (t0 / S.x) * aS.x + (t1 / S.y) * aS.y + (t2 / S.z) * aS.z];
      let wv = B[bOff + o * bN + c * bC + k0 * bS.x + k1 * bS.y + k2 * bS.z];
      acc = fma(gv, wv, acc);
    } } }
  }
  out[gi] = acc;
}`;

/** convBackpropFilter: A = x (N, C, X), B = ȳ (N, O, Y); out w̄ (O, Cg, K). */
const BACK_FILTER = `${HEAD('convBackpropFilter')}
${SPLIT(['o', 'c'], 'Cg', 'K')}
  let g = o / Og;
  let ci = g * Cg + c;
  var acc = 0.0;
  for (var n = 0; n < N; n++) {
    for (var p0 = 0; p0 < Y.x; p0++) { let x0 = p0 * S.x + q.x * Dl.x - P.x; if (x0 < 0 || x0 >= X.x) { continue; }
    for (var p1 = 0; p1 < Y.y; p1++) { let x1 = p1 * S.y + q.y * Dl.y - P.y; if (x1 < 0 || x1 >= X.y) { continue; }
    for (var p2 = 0; p2 < Y.z; p2++) { let x2 = p2 * S.z + q.z * Dl.z - P.z; if (x2 < 0 || x2 >= X.z) { continue; }
      let xv = A[aOff + n * aN + ci * aC + x0 * aS.x + x1 * aS.y + x2 * aS.z];
      let gv = B[bOff + n * bN + o * bC + p0 * bS.x + p1 * bS.y + p2 * bS.z];
      acc = fma(xv, gv, acc);
    } } }
  }
  out[gi] = acc;
}`;

function launch(b: WebGpuBackend, key: string, code: string, a: View, bv: View, out: OutMeta, dims: { N: number; C: number; O: number; X: number[]; Y: number[]; K: number[] }, at: ConvAttrs): Storage {
  const total = sizeOf(out.shape);
  const res = b.alloc('f32', total);
  if (total === 0) return res;
  const ints = [
    total,
    dims.N,
    dims.C,
    dims.O,
    at.groups,
    ...to3(dims.X, 1),
    ...to3(dims.Y, 1),
    ...to3(dims.K, 1),
    ...to3(at.stride, 1),
    ...to3(at.dilation, 1),
    ...to3(
      at.padding.map((p) => p[0]),
      0,
    ),
    ...view5(a),
    ...view5(bv),
  ];
  b.launch(key, () => code, [a.storage, bv.storage, res], Math.ceil(total / WG), ints);
  return res;
}

export function registerConv(b: WebGpuBackend): void {
  const f32 = (...vs: View[]): boolean => vs.every((v) => v.dtype === 'f32');
  const conv: Kernel = ([x, w], attrs, [out]) => {
    if (!f32(x!, w!)) return undefined;
    const a = attrs as ConvAttrs;
    const dims = { N: x!.shape[0]!, C: x!.shape[1]!, O: w!.shape[0]!, X: x!.shape.slice(2), Y: out!.shape.slice(2), K: w!.shape.slice(2) };
    return [launch(b, 'conv', FORWARD, x!, w!, out!, dims, a)];
  };
  const backInput: Kernel = ([g, w], attrs, [out]) => {
    if (!f32(g!, w!)) return undefined;
    const a = attrs as ConvAttrs;
    const dims = { N: g!.shape[0]!, C: out!.shape[1]!, O: w!.shape[0]!, X: out!.shape.slice(2), Y: g!.shape.slice(2), K: w!.shape.slice(2) };
    return [launch(b, 'convBackpropInput', BACK_INPUT, g!, w!, out!, dims, a)];
  };
  const backFilter: Kernel = ([x, g], attrs, [out]) => {
    if (!f32(x!, g!)) return undefined;
    const a = attrs as ConvAttrs;
    const dims = { N: x!.shape[0]!, C: x!.shape[1]!, O: g!.shape[1]!, X: x!.shape.slice(2), Y: g!.shape.slice(2), K: out!.shape.slice(2) };
    return [launch(b, 'convBackpropFilter', BACK_FILTER, x!, g!, out!, dims, a)];
  };
  const dtypes = { dtypes: ['f32'] as const };
  b.kernels.set('conv', Object.assign(conv, dtypes));
  b.kernels.set('convBackpropInput', Object.assign(backInput, dtypes));
  b.kernels.set('convBackpropFilter', Object.assign(backFilter, dtypes));
}
