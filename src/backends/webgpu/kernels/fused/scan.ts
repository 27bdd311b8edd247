/**
 * The selective scan of Mamba (Gu & Dao, arXiv 2312.00752, Algorithm 2 and
 * the hardware-aware scan of §3.3) in WGSL: the `selectiveScan` and
 * `selectiveScanBackward` ops of zoo/ssm/selectiveScan.ts, f32.
 *
 *   hₜ = exp(Δₜ A) ⊙ hₜ₋₁ + Δₜ uₜ Bₜ,   yₜ = Cₜ·hₜ + D uₜ,   outₜ = yₜ·silu(zₜ)
 *
 * Forward: one invocation per (batch element, channel), 64 channels per
 * workgroup; the channel's state (N values) stays in registers for the whole
 * sequence, per-token reads are coalesced along the channel axis and Bₜ, Cₜ
 * are the same address across the workgroup (broadcast). It writes the state
 * entering every chunk-th step (the op's checkpoints) and the last state.
 *
 * Backward, the adjoint recurrence of selectiveScanLoops.ts run backwards
 * chunk by chunk: each chunk's states are recomputed from its checkpoint
 * into a scratch of (chunk+1)·N per channel (laid out channel-fastest, so
 * coalesced), then λₜ = Cₜ·dyₜ + Āₜ₊₁ ⊙ λₜ₊₁ is carried in registers. dA,
 * dD and dΔ_bias accumulate per channel in registers (then summed over the
 * batch); dBₜ and dCₜ, sums over channels, are reduced across the workgroup
 * in workgroup memory every step (then summed over channel groups): no
 * atomics, deterministic.
 *
 * Bindings stay within 8 per stage (pack.ts): operands are packed
 * [u | Δ | z | g], [A | D | bias], [B | C], [checkpoints | g_last]; outputs
 * likewise, sliced out afterwards.
 */
import type { Kernel, Storage, View } from '../../../backend.js';
import type { ScanAttrs } from '../../../../zoo/ssm/selectiveScan.js';
import type { WebGpuBackend } from '../../backend.js';
import { MATH, META } from '../../wgsl.js';
import { allF32 } from './rows.js';
import { pack, slice, sumPartials } from './pack.js';

const G = 64;
/** the largest state size: registers per invocation, and 2N·G floats of workgroup memory in the backward */
export const SCAN_MAX_N = 32;

interface Dims {
  b: number;
  L: number;
  d: number;
  N: number;
  nc: number;
  CH: number;
}

function named(xs: readonly View[], a: ScanAttrs): { u: View; dl: View; A: View; B: View; C: View; D: View | null; z: View | null; bias: View | null } {
  let k = 5;
  const D = a.hasD ? xs[k++]! : null;
  const z = a.hasZ ? xs[k++]! : null;
  const bias = a.hasBias ? xs[k++]! : null;
  return { u: xs[0]!, dl: xs[1]!, A: xs[2]!, B: xs[3]!, C: xs[4]!, D, z, bias };
}

/** Shared WGSL: prm = [b, L, d, nc, CH, offΔ, offZ, offG, offD, offBias, offC, ...]; the channel this invocation owns. */
function prologue(a: ScanAttrs): string {
  return `
  let NB = prm[0]; let L = prm[1]; let d = prm[2]; let nc = prm[3]; let CH = prm[4];
  let offDl = prm[5]; let offZ = prm[6]; let offG = prm[7]; let offD = prm[8]; let offBias = prm[9]; let offC = prm[10];
  let groups = (d + ${G - 1}) / ${G};
  let wg = i32(wid.y * nwg.x + wid.x);
  let i = wg / groups;
  let c = (wg % groups) * ${G} + i32(lid);
  let live = c < d && i < NB;
  let cc = min(c, d - 1);
  var a: array<f32, N>;
  for (var n = 0; n < N; n++) { a[n] = P[cc * N + n]; }
  ${a.hasD ? 'let Dc = P[offD + cc];' : ''}
  ${a.hasBias ? 'let biasC = P[offBias + cc];' : ''}`;
}

function stepSize(a: ScanAttrs): string {
  const raw = `X[offDl + idx]${a.hasBias ? ' + biasC' : ''}`;
  return a.softplus ? `softplus_(${raw}, 1.0)` : `(${raw})`;
}

const forwardCode = (a: ScanAttrs, N: number) => (): string => `// selective scan forward N=${N} ${JSON.stringify(a)}
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read> BC: array<f32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(5) var<storage, read_write> LAST: array<f32>;
@group(0) @binding(6) var<storage, read_write> CK: array<f32>;
const N = ${N};
${MATH}
@compute @workgroup_size(${G})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${prologue(a)}
  if (!live) { return; }
  var h: array<f32, N>;
  for (var t = 0; t < L; t++) {
    if (t % CH == 0) { for (var n = 0; n < N; n++) { CK[((i * nc + t / CH) * N + n) * d + c] = h[n]; } }
    let idx = (i * L + t) * d + c;
    let dt = ${stepSize(a)};
    let uv = X[idx];
    let du = dt * uv;
    let row = (i * L + t) * N;
    var y = 0.0;
    for (var n = 0; n < N; n++) {
      let hn = exp(dt * a[n]) * h[n] + du * BC[row + n];
      h[n] = hn;
      y += hn * BC[offC + row + n];
    }
    ${a.hasD ? 'y += Dc * uv;' : ''}
    ${a.hasZ ? 'let zv = X[offZ + idx]; y *= zv / (1.0 + exp(-zv));' : ''}
    OUT[idx] = y;
  }
  for (var n = 0; n < N; n++) { LAST[(i * d + c) * N + n] = h[n]; }
}`;

/** prm continues: [.., offGl, offPC (dC partials), offPA, offPD, offPB (bias), offDT (dΔ), offDZ] */
const backwardCode = (a: ScanAttrs, N: number) => (): string => `// selective scan backward N=${N} ${JSON.stringify(a)}
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read> BC: array<f32>;
@group(0) @binding(4) var<storage, read> CKG: array<f32>;
@group(0) @binding(5) var<storage, read_write> HS: array<f32>;
@group(0) @binding(6) var<storage, read_write> DT: array<f32>;
@group(0) @binding(7) var<storage, read_write> PART: array<f32>;
const N = ${N};
var<workgroup> red: array<f32, ${2 * N * G}>;
${MATH}
@compute @workgroup_size(${G})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${prologue(a)}
  let offGl = prm[11]; let offPC = prm[12]; let offPA = prm[13]; let offPD = prm[14]; let offPBias = prm[15]; let offDdl = prm[16]; let offDz = prm[17];
  let BD = NB * d;
  let grp = wg % groups;
  var lam: array<f32, N>;
  var dA: array<f32, N>;
  var dD = 0.0;
  var dBias = 0.0;
  if (live) { for (var n = 0; n < N; n++) { lam[n] = CKG[offGl + (i * d + c) * N + n]; } }
  for (var k = nc - 1; k >= 0; k--) {
    let t0 = k * CH;
    let t1 = min(L, t0 + CH);
    if (live) {
      // recompute the chunk's states from its checkpoint: HS[s] enters step t0 + s
      var h: array<f32, N>;
      for (var n = 0; n < N; n++) { h[n] = CKG[((i * nc + k) * N + n) * d + c]; HS[n * BD + i * d + c] = h[n]; }
      for (var t = t0; t < t1; t++) {
        let idx = (i * L + t) * d + c;
        let dt = ${stepSize(a)};
        let du = dt * X[idx];
        let row = (i * L + t) * N;
        for (var n = 0; n < N; n++) {
          h[n] = exp(dt * a[n]) * h[n] + du * BC[row + n];
          HS[((t - t0 + 1) * N + n) * BD + i * d + c] = h[n];
        }
      }
    }
    for (var t = t1 - 1; t >= t0; t--) {
      let s = t - t0;
      let row = (i * L + t) * N;
      if (live) {
        let idx = (i * L + t) * d + c;
        let dt = ${stepSize(a)};
        let uv = X[idx];
        var dy = X[offG + idx];
        ${a.hasZ ? `var y = 0.0;
        for (var n = 0; n < N; n++) { y += HS[((s + 1) * N + n) * BD + i * d + c] * BC[offC + row + n]; }
        ${a.hasD ? 'y += Dc * uv;' : ''}
        let zv = X[offZ + idx];
        let sg = 1.0 / (1.0 + exp(-zv));
        DT[offDz + idx] = dy * y * sg * (1.0 + zv * (1.0 - sg));
        dy *= zv * sg;` : ''}
        ${a.hasD ? 'dD += dy * uv;' : ''}
        var ddt = 0.0;
        var lb = 0.0;
        for (var n = 0; n < N; n++) {
          let an = exp(dt * a[n]);
          let hp = HS[(s * N + n) * BD + i * d + c];
          let bn = BC[row + n];
          let l = lam[n] + BC[offC + row + n] * dy;
          red[i32(lid) * ${2 * N} + N + n] = dy * HS[((s + 1) * N + n) * BD + i * d + c];
          red[i32(lid) * ${2 * N} + n] = l * dt * uv;
          dA[n] += l * hp * an * dt;
          ddt += l * (hp * an * a[n] + bn * uv);
          lb += l * bn;
          lam[n] = an * l;
        }
        DT[idx] = ${a.hasD ? 'Dc * dy + ' : ''}dt * lb;
        let raw = X[offDl + idx]${a.hasBias ? ' + biasC' : ''};
        let dr = ${a.softplus ? 'ddt / (1.0 + exp(-raw))' : 'ddt'};
        DT[offDdl + idx] = dr;
        dBias += dr;
      } else {
        for (var n = 0; n < ${2 * N}; n++) { red[i32(lid) * ${2 * N} + n] = 0.0; }
      }
      workgroupBarrier();
      // dBₜ (first N) and dCₜ (next N), summed over this workgroup's channels
      if (i32(lid) < ${2 * N} && i < NB) {
        var acc = 0.0;
        for (var j = 0; j < ${G}; j++) { acc += red[j * ${2 * N} + i32(lid)]; }
        let n = i32(lid) % N;
        let at = select(0, offPC, i32(lid) >= N) + grp * NB * L * N + row + n;
        PART[at] = acc;
      }
      workgroupBarrier();
    }
  }
  if (live) {
    for (var n = 0; n < N; n++) { PART[offPA + (i * d + c) * N + n] = dA[n]; }
    ${a.hasD ? 'PART[offPD + i * d + c] = dD;' : ''}
    ${a.hasBias ? 'PART[offPBias + i * d + c] = dBias;' : ''}
  }
}`;

function dims(xs: readonly View[], a: ScanAttrs): Dims {
  const [b, L, d] = xs[0]!.shape as [number, number, number];
  return { b, L, d, N: xs[2]!.shape[1]!, nc: Math.ceil(L / a.chunk), CH: a.chunk };
}

function scanForward(b: WebGpuBackend, xs: readonly View[], a: ScanAttrs): Storage[] {
  const m = dims(xs, a);
  const v = named(xs, a);
  const X = pack(b, [v.u, v.dl, v.z]);
  const P = pack(b, [v.A, v.D, v.bias]);
  const BC = pack(b, [v.B, v.C]);
  const out = b.alloc('f32', m.b * m.L * m.d);
  const last = b.alloc('f32', m.b * m.d * m.N);
  const ck = b.alloc('f32', m.b * m.nc * m.N * m.d);
  const ints = [m.b, m.L, m.d, m.nc, m.CH, X.at[1]!, X.at[2]!, 0, P.at[1]!, P.at[2]!, BC.at[1]!];
  const groups = m.b * Math.ceil(m.d / G);
  b.launch(`fused:scan:fwd:${m.N}:${a.softplus}:${a.hasD}:${a.hasZ}:${a.hasBias}`, forwardCode(a, m.N), [X.storage, P.storage, BC.storage, out, last, ck], groups, ints);
  for (const s of [X.storage, P.storage, BC.storage]) b.free(s);
  return [out, last, ck];
}

function scanBackward(b: WebGpuBackend, xs: readonly View[], a: ScanAttrs): Storage[] {
  const n = xs.length - 3;
  const m = dims(xs.slice(0, n), a);
  const v = named(xs.slice(0, n), a);
  const [ckpt, g, gl] = xs.slice(n) as [View, View, View];
  const bLd = m.b * m.L * m.d;
  const bLN = m.b * m.L * m.N;
  const groupsPerBatch = Math.ceil(m.d / G);
  const X = pack(b, [v.u, v.dl, v.z, g]);
  const P = pack(b, [v.A, v.D, v.bias]);
  const BC = pack(b, [v.B, v.C]);
  const CKG = pack(b, [ckpt, gl]);
  const HS = b.alloc('f32', (Math.min(m.CH, m.L) + 1) * m.N * m.b * m.d);
  const DT = b.alloc('f32', (a.hasZ ? 3 : 2) * bLd);
  // partials: dB and dC per channel group, then dA, dD, dbias per batch element
  const offPC = groupsPerBatch * bLN;
  const offPA = 2 * offPC;
  const offPD = offPA + m.b * m.d * m.N;
  const offPBias = offPD + m.b * m.d;
  const PART = b.alloc('f32', offPBias + m.b * m.d);
  const ints = [m.b, m.L, m.d, m.nc, m.CH, X.at[1]!, X.at[2]!, X.at[3]!, P.at[1]!, P.at[2]!, BC.at[1]!, CKG.at[1]!, offPC, offPA, offPD, offPBias, bLd, 2 * bLd];
  b.launch(`fused:scan:bwd:${m.N}:${a.softplus}:${a.hasD}:${a.hasZ}:${a.hasBias}`, backwardCode(a, m.N), [X.storage, P.storage, BC.storage, CKG.storage, HS, DT, PART], m.b * groupsPerBatch, ints);
  const grads = [
    slice(b, DT, 0, bLd),
    slice(b, DT, bLd, bLd),
    sumPartials(b, PART, offPA, m.b, m.d * m.N, m.d * m.N),
    sumPartials(b, PART, 0, groupsPerBatch, bLN, bLN),
    sumPartials(b, PART, offPC, groupsPerBatch, bLN, bLN),
    ...(a.hasD ? [sumPartials(b, PART, offPD, m.b, m.d, m.d)] : []),
    ...(a.hasZ ? [slice(b, DT, 2 * bLd, bLd)] : []),
    ...(a.hasBias ? [sumPartials(b, PART, offPBias, m.b, m.d, m.d)] : []),
  ];
  for (const s of [X.storage, P.storage, BC.storage, CKG.storage, HS, DT, PART]) b.free(s);
  return grads;
}

/** The kernels fit: f32, a state of at most SCAN_MAX_N, nothing empty. */
function fits(b: WebGpuBackend, xs: readonly View[]): boolean {
  if (!allF32(xs)) return false;
  const [bb, L, d] = xs[0]!.shape as [number, number, number];
  const N = xs[2]!.shape[1]!;
  return N >= 1 && N <= SCAN_MAX_N && 2 * N * G * 4 <= b.ctx.limits.workgroupStorageSize && bb * L * d > 0;
}

export function registerScan(b: WebGpuBackend): void {
  const fwd: Kernel = (inputs, attrs) => (fits(b, inputs) ? scanForward(b, inputs, attrs as ScanAttrs) : undefined);
  const bwd: Kernel = (inputs, attrs) => (fits(b, inputs) ? scanBackward(b, inputs, attrs as ScanAttrs) : undefined);
  b.kernels.set('selectiveScan', Object.assign(fwd, { dtypes: ['f32'] as const }));
  b.kernels.set('selectiveScanBackward', Object.assign(bwd, { dtypes: ['f32'] as const }));
}
