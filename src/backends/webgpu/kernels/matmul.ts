/**
 * Matrix multiply C = op(A)·op(B) over broadcast batch axes, f32.
 *
 * Shared-memory tiling with register blocking: a workgroup of 16×16
 * invocations computes a 64×64 tile of C, each invocation a 4×4 block held
 * in registers; the K axis is walked in slabs of 16 that are staged in
 * workgroup memory (A as 64×16, B as 16×64), so every element fetched from
 * global memory is used 64 times (32×32 tiles on SwiftShader, see `shader`) (the scheme of Volkov & Demmel, "Benchmarking
 * GPUs to tune dense linear algebra", SC'08, as used by most WebGPU GEMMs).
 *
 * Transposes cost nothing: op(A)[m, k] is read through strides, with the two
 * last strides swapped when `transA` (likewise B), so transposed and strided
 * views are multiplied in place. Batch axes broadcast by stride 0.
 *
 * Split K: a product whose C tiles are too few to fill the GPU but whose K
 * is long (a weight gradient: [768, 2048]·[2048, 768] gives 144 tiles of
 * 64×64 for 132 SMs) is cut into S slices of K; slice s of batch z is
 * computed as batch s·batchCount + z into partials [S, batch, M, N], and a
 * column reduction (reduceCols.ts, coalesced) sums the S partials — in a
 * fixed order, so results stay deterministic (no float atomics).
 *
 * Meta: [M, N, K, batchCount, aOff, aRow, aCol, bOff, bRow, bCol, nb, batchShape(nb), aBatchStrides(nb), bBatchStrides(nb), kSlice, slices].
 *
 * Half precision (hgemm): A and B may each be f32, f16 or bf16; the shader
 * is the same one, generated with the operands' element access (`loadElem`:
 * packed halves extracted from u32 words, or native array<f16> under
 * `shader-f16`) and staged in workgroup memory as f32, so products
 * accumulate in f32. A native f16 C is stored directly (each element its own
 * memory location); a packed C would have neighbouring halves written by
 * different invocations, so the tile is written as f32 and one cast kernel
 * rounds it to whole words.
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import type { DType } from '../../../core/dtype.js';
import { contiguousStrides, sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, MATH_F16, META, arrayType, broadcastStrides, conv, enableF16, is16, loadElem, nativeHalf, type HalfMode } from '../wgsl.js';

const TK = 16; // K slab

/**
 * The shader for a C tile of T×T computed by (T/R)² invocations, each an R×R
 * block held in registers as R·R/4 vec4 accumulators (R = 4 or 8). One shader
 * serves every batch rank (the rank is a parameter). On GPUs T = 128, R = 8:
 * 64 values per invocation reuse each staged A value 8 times (the 64×64/4×4
 * form reached 22 TFLOP/s on an H100 at 8192³, bound by workgroup-memory
 * loads); 32/4 on SwiftShader, whose compile time grows with the workgroup.
 */
/** Element types of one matmul shader: A's and B's dtypes, C's, and how halves are reached. */
export interface MatmulTypes {
  a: DType;
  b: DType;
  c: DType;
  mode: HalfMode;
}

const F32: MatmulTypes = { a: 'f32', b: 'f32', c: 'f32', mode: 'packed' };

/** The shader for a C tile of T×T (see above); `types` picks the element access. */
export const matmulShader = (T: number, R: number, types: MatmulTypes = F32): string => {
  const S = T / R;
  const per = (T * TK) / (S * S);
  const V = R / 4; // vec4 columns of a block row
  const rows = Array.from({ length: R }, (_, i) => i);
  const cols = Array.from({ length: V }, (_, j) => j);
  const acc = rows.flatMap((i) => cols.map((j) => `var acc${i}_${j} = vec4f(0.0);`)).join(' ');
  const bvs = cols
    .map((j) => `let bv${j} = vec4f(${[0, 1, 2, 3].map((c) => `Bs[k * ${T} + tx + ${S * (4 * j + c)}]`).join(', ')});`)
    .join('\n      ');
  const fmas = rows
    .map((i) => `{ let av = vec4f(As[(ty + ${S * i}) * ${TK} + k]); ${cols.map((j) => `acc${i}_${j} = fma(av, bv${j}, acc${i}_${j});`).join(' ')} }`)
    .join('\n      ');
  const stores = rows
    .flatMap((i) => cols.map((j) => `store(cBase, m0 + ty + ${S * i}, gn + ${4 * S * j}, M, N, acc${i}_${j});`))
    .join('\n  ');
  const { mode } = types;
  const nativeC = nativeHalf(types.c, mode);
  const ld = (buf: string, d: DType): string => conv(loadElem(buf, 'i', d, mode), d, 'f32', mode);
  return `${enableF16(mode, [types.a, types.b, types.c])}// matmul ${T}/${R} ${types.a},${types.b}->${types.c} ${mode}
${META}
@group(0) @binding(1) var<storage, read> A: array<${arrayType(types.a, mode)}>;
@group(0) @binding(2) var<storage, read> B: array<${arrayType(types.b, mode)}>;
@group(0) @binding(3) var<storage, read_write> C: array<${nativeC ? 'f16' : 'f32'}>;
var<workgroup> As: array<f32, ${T * TK}>;
var<workgroup> Bs: array<f32, ${TK * T}>;${nativeC ? `\n${MATH}${MATH_F16}` : ''}
fn ldA(i: i32) -> f32 { return ${ld('A', types.a)}; }
fn ldB(i: i32) -> f32 { return ${ld('B', types.b)}; }
fn store(cBase: i32, gm: i32, gn: i32, M: i32, N: i32, v: vec4f) {
  if (gm >= M) { return; }
  for (var j = 0; j < 4; j++) { if (gn + ${S} * j < N) { C[cBase + gm * N + gn + ${S} * j] = ${nativeC ? 'f16n_(v[j])' : 'v[j]'}; } }
}
@compute @workgroup_size(${S}, ${S})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let tilesN = (N + ${T - 1}) / ${T};
  let tilesM = (M + ${T - 1}) / ${T};
  let g = i32(wid.y * nwg.x + wid.x);
  let zs = g / (tilesM * tilesN); // split slice · batchCount + batch index
  let z = zs % prm[3];
  let kLo = (zs / prm[3]) * prm[11 + 3 * prm[10]];
  let kHi = min(K, kLo + prm[11 + 3 * prm[10]]);
  let tm = (g / tilesN) % tilesM;
  let tn = g % tilesN;
  var aBase = prm[4];
  var bBase = prm[7];
  let nb = prm[10];
  { var r = z;
    for (var d = nb - 1; d >= 0; d--) {
      let s = prm[11 + d]; let c = r % s; r = r / s;
      aBase += c * prm[11 + nb + d]; bBase += c * prm[11 + 2 * nb + d];
    } }
  let aRow = prm[5]; let aCol = prm[6]; let bRow = prm[8]; let bCol = prm[9];
  let tx = i32(lid3.x); let ty = i32(lid3.y);
  let m0 = tm * ${T}; let n0 = tn * ${T};
  // the R×R block as vec4 accumulators: no dynamically indexed private arrays (cheap to compile, kept in registers)
  ${acc}
  for (var k0 = kLo; k0 < kHi; k0 += ${TK}) {
    // stage A[m0.., k0..] (T×16) and B[k0.., n0..] (16×T), ${per} values per invocation each
    for (var q = 0; q < ${per}; q++) {
      let e = i32(lid) + q * ${S * S};
      let am = e / ${TK}; let ak = e % ${TK};
      let gm = m0 + am; let gk = k0 + ak;
      As[e] = select(0.0, ldA(aBase + gm * aRow + gk * aCol), gm < M && gk < kHi);
      let bk = e / ${T}; let bn = e % ${T};
      let hk = k0 + bk; let hn = n0 + bn;
      Bs[e] = select(0.0, ldB(bBase + hk * bRow + hn * bCol), hk < kHi && hn < N);
    }
    workgroupBarrier();
    for (var k = 0; k < ${TK}; k++) {
      ${bvs}
      ${fmas}
    }
    workgroupBarrier();
  }
  if (zs >= prm[3] * prm[12 + 3 * prm[10]]) { return; }
  let cBase = zs * M * N;
  let gn = n0 + tx;
  ${stores}
}`;
};

/**
 * Tile and block per adapter and size (NABLA_WEBGPU_MATMUL=T/R overrides, for
 * tests and tuning). Big tiles only when they still give the GPU enough
 * workgroups: on the H100, 128/8 reached 29 TFLOP/s at 8192³ (64/4: 22) but
 * only 4.4 at 1024³ (64 workgroups for 132 SMs; 64/4: 9-10).
 */
function tiling(b: WebGpuBackend, M: number, N: number, batch: number): [number, number] {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_WEBGPU_MATMUL;
  const m = env ? /^(32|64|128)\/(4|8)$/.exec(env) : null;
  if (m) return [Number(m[1]), Number(m[2])];
  if (/swiftshader/i.test(b.ctx.adapterName)) return [32, 4];
  const bigFits = b.ctx.limits.maxWorkgroupSize >= 256 && b.ctx.limits.workgroupStorageSize >= 16384;
  return bigFits && Math.ceil(M / 128) * Math.ceil(N / 128) * batch >= 256 ? [128, 8] : [64, 4];
}

/** Workgroups below which a long-K product is split (about two per SM of an H100). */
const SPLIT_BELOW = 256;
/** Each K slice at least this long. */
const MIN_SLICE = 256;

/**
 * How many K slices to cut a product into: enough for SPLIT_BELOW
 * workgroups of the big 128×128 tiles (the faster kernel: measured on the
 * H100, 64×64 tiles over a split K lost to 128×128 tiles over a batch), each
 * slice at least MIN_SLICE long; failing that, enough for 2·SPLIT_BELOW
 * workgroups of 64×64 tiles. 1 on SwiftShader and for products that fill
 * the GPU.
 */
export function kSplit(b: WebGpuBackend, M: number, N: number, K: number, batch: number): number {
  // NABLA_WEBGPU_SPLITK=force splits on any adapter (tests), =off never
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NABLA_WEBGPU_SPLITK;
  if (env === 'off' || (/swiftshader/i.test(b.ctx.adapterName) && env !== 'force')) return 1;
  const big = Math.ceil(M / 128) * Math.ceil(N / 128) * batch;
  if (big >= SPLIT_BELOW || K < 2 * MIN_SLICE) return 1;
  const most = Math.floor(K / MIN_SLICE);
  const forBig = Math.ceil(SPLIT_BELOW / big);
  if (forBig <= most) return forBig;
  const groups = Math.ceil(M / 64) * Math.ceil(N / 64) * batch;
  if (groups >= SPLIT_BELOW) return 1;
  return Math.max(1, Math.min(Math.ceil((2 * SPLIT_BELOW) / groups), most));
}

function matmulKernel(b: WebGpuBackend, a: View, bv: View, attrs: { transA: boolean; transB: boolean }, out: OutMeta): Storage | undefined {
  const floats = (d: DType): boolean => d === 'f32' || is16(d);
  if (!floats(a.dtype) || !floats(bv.dtype) || !floats(out.dtype)) return undefined;
  // C as stored by the shader: native f16 directly, otherwise f32 (cast to a packed half below)
  const cType: DType = nativeHalf(out.dtype, b.half) ? 'f16' : 'f32';
  const types: MatmulTypes = { a: a.dtype, b: bv.dtype, c: cType, mode: b.half };
  const ra = a.shape.length;
  const rb = bv.shape.length;
  const M = out.shape[out.shape.length - 2]!;
  const N = out.shape[out.shape.length - 1]!;
  const K = attrs.transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const batch = out.shape.slice(0, -2);
  const nBatch = sizeOf(batch);
  if (sizeOf(out.shape) === 0) return b.alloc(out.dtype, 0);
  // op(A)[m,k] strides: (row, col) = A's last two strides, swapped for a transpose
  const [aR, aC] = attrs.transA ? [a.strides[ra - 1]!, a.strides[ra - 2]!] : [a.strides[ra - 2]!, a.strides[ra - 1]!];
  const [bR, bC] = attrs.transB ? [bv.strides[rb - 1]!, bv.strides[rb - 2]!] : [bv.strides[rb - 2]!, bv.strides[rb - 1]!];
  const aB = broadcastStrides(a.shape.slice(0, -2), a.strides.slice(0, -2), batch);
  const bB = broadcastStrides(bv.shape.slice(0, -2), bv.strides.slice(0, -2), batch);
  const nb = batch.length;
  // split K only into f32 partials (a native f16 C is written directly)
  const S = cType === 'f32' ? kSplit(b, M, N, K, nBatch) : 1;
  const slice = Math.max(TK, Math.ceil(K / S / TK) * TK);
  const slices = Math.max(1, Math.ceil(K / slice));
  const ints = [M, N, K, nBatch, a.offset, aR, aC, bv.offset, bR, bC, nb, ...batch, ...aB, ...bB, slice, slices];
  const [T, R] = tiling(b, M, N, nBatch * slices);
  const groups = Math.ceil(M / T) * Math.ceil(N / T) * nBatch * slices;
  const partials = b.alloc(cType, slices * sizeOf(out.shape));
  b.launch(`matmul:${T}:${R}:${types.a},${types.b}->${cType}:${b.half}`, () => matmulShader(T, R, types), [a.storage, bv.storage, partials], groups, ints);
  if (slices > 1) {
    // C = Σ_s partials[s]: a column reduction over the slices (deterministic order)
    const n = sizeOf(out.shape);
    const summed = b.kernels.get('sum')!([{ storage: partials, dtype: 'f32', shape: [slices, n], strides: [n, 1], offset: 0 }], { axes: [0] }, [{ shape: [n], dtype: 'f32' }])![0]!;
    b.free(partials);
    if (cType === out.dtype) return summed;
    const h = b.kernels.get('astype')!([{ storage: summed, dtype: 'f32', shape: out.shape, strides: contiguousStrides(out.shape), offset: 0 }], { dtype: out.dtype }, [out])![0]!;
    b.free(summed);
    return h;
  }
  const res = partials;
  if (cType === out.dtype) return res;
  const h = b.kernels.get('astype')!([{ storage: res, dtype: 'f32', shape: out.shape, strides: contiguousStrides(out.shape), offset: 0 }], { dtype: out.dtype }, [out])![0]!;
  b.free(res);
  return h;
}

export function registerMatmul(b: WebGpuBackend): void {
  const k: Kernel = (inputs, attrs, outs) => {
    const r = matmulKernel(b, inputs[0]!, inputs[1]!, attrs as { transA: boolean; transB: boolean }, outs[0]!);
    return r ? [r] : undefined;
  };
  b.kernels.set('matmul', Object.assign(k, { dtypes: ['f32', 'f16', 'bf16'] as const, packedHalves: true }));
}
