/**
 * The fused RNN/LSTM/GRU recurrence (zoo/rnn/rnnScan.ts: `rnnScan` and
 * `rnnScanBackward`) in WGSL, f32, with the cells, gate orders, masks and
 * saved values of backends/cpu/wasm/rnnLoops.ts (PyTorch's equations).
 *
 * The recurrence is sequential in t, and each step needs all of h_{t−1}, so
 * a step is one dispatch (cuDNN's per-step structure, without its
 * persistent kernels). A workgroup owns one sequence j and 8 hidden units:
 * it stages h_{t−1}[j] in workgroup memory, forms the 8·G pre-activations
 * W_hh[q·H + k]·h_{t−1} with 8 invocations per dot product (strided terms,
 * so a row of W_hh is read coalesced, then added in workgroup memory: a
 * one-invocation-per-unit loop was latency-bound on an H100, ~0.24 ms per
 * step), then applies the cell and writes h_t, the saved gates and c_t. All
 * steps are recorded in one batch (one submit): a step costs a dispatch,
 * not a round trip.
 *
 * Backward (backpropagation through time), two dispatches per step: (A) the
 * pointwise part, from the running dh, dc, the saved gates and the
 * cotangent of h_t, writes the pre-activation gradients and the direct
 * terms; (B) dh_{t−1} = dG_h(t)·W_hh + direct, 8 lanes per output over the
 * G·H terms. After the loop,
 * dW_hh = Σₜ dG_h(t)ᵀ h_{t−1} (one invocation per weight) and
 * db_hh = Σ dG_h. Bindings stay within 8 per stage by packing (pack.ts).
 */
import type { Kernel, Storage, View } from '../../../backend.js';
import type { RnnAttrs } from '../../../../zoo/rnn/rnnScan.js';
import type { WebGpuBackend } from '../../backend.js';
import { MATH, META, mainHeader } from '../../wgsl.js';
import { allF32 } from './rows.js';
import { pack, slice, sumPartials } from './pack.js';

const WG = 64;
type Mode = RnnAttrs['mode'];
const gateCount = (m: Mode): number => (m === 'lstm' ? 4 : m === 'gru' ? 3 : 1);
const savedCount = (m: Mode): number => (m === 'lstm' || m === 'gru' ? 4 : 1);

interface Named {
  xp: View;
  whh: View;
  bhh: View | null;
  h0: View;
  c0: View | null;
  mask: View | null;
}

function unpack(xs: readonly View[], a: RnnAttrs): Named {
  let k = 0;
  const next = (present: boolean): View | null => (present ? xs[k++]! : null);
  return { xp: next(true)!, whh: next(true)!, bhh: next(a.hasBias), h0: next(true)!, c0: next(a.mode === 'lstm'), mask: next(a.hasMask) };
}

/** prm: [t, L, b, H, offBias, offMask] (then per-kernel extras) */
const COMMON = `
fn sig(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }`;

/** Hidden units per forward workgroup, and invocations sharing one dot product (strided over its terms, then added in workgroup memory). */
const KB = 8;
const LANES = 8;
const FWG = 256;
/** the largest H: h_{t−1}[j] is staged in workgroup memory */
export const RNN_MAX_H = 2048;

const forwardCode = (a: RnnAttrs, HM: number) => (): string => {
  const G = gateCount(a.mode);
  const S = savedCount(a.mode);
  const lstm = a.mode === 'lstm';
  const hq = (q: number): string => `pre[${q} * ${KB} + kk]`;
  const cell = lstm
    ? `let i = sig(XP[xo + k] + ${hq(0)});
    let f = sig(XP[xo + H + k] + ${hq(1)});
    let g = tanh_(XP[xo + 2 * H + k] + ${hq(2)});
    let o = sig(XP[xo + 3 * H + k] + ${hq(3)});
    let cp = select(CS[max(t - 1, 0) * b * H + e], S0[b * H + e], t == 0);
    let c = f * cp + i * g;
    hNew = o * tanh_(c);
    GATES[so + k] = i; GATES[so + H + k] = f; GATES[so + 2 * H + k] = g; GATES[so + 3 * H + k] = o;
    CS[t * b * H + e] = m * c + (1.0 - m) * cp;`
    : a.mode === 'gru'
      ? `let r = sig(XP[xo + k] + ${hq(0)});
    let z = sig(XP[xo + H + k] + ${hq(1)});
    let hn = ${hq(2)};
    let n = tanh_(XP[xo + 2 * H + k] + r * hn);
    hNew = (1.0 - z) * n + z * hk;
    GATES[so + k] = r; GATES[so + H + k] = z; GATES[so + 2 * H + k] = n; GATES[so + 3 * H + k] = hn;`
      : `let pre0 = XP[xo + k] + ${hq(0)};
    hNew = ${a.mode === 'rnn_tanh' ? 'tanh_(pre0)' : 'max(pre0, 0.0)'};
    GATES[so + k] = hNew;`;
  return `// rnn forward step ${a.mode} bias=${a.hasBias} mask=${a.hasMask}
${META}
@group(0) @binding(1) var<storage, read> XP: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read> S0: array<f32>;
@group(0) @binding(4) var<storage, read_write> HS: array<f32>;
@group(0) @binding(5) var<storage, read_write> GATES: array<f32>;
${lstm ? '@group(0) @binding(6) var<storage, read_write> CS: array<f32>;' : ''}
${MATH}
${COMMON}
var<workgroup> hsh: array<f32, ${HM}>;
var<workgroup> part: array<f32, ${FWG}>;
var<workgroup> pre: array<f32, ${G * KB}>;
@compute @workgroup_size(${FWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = prm[0]; let b = prm[2]; let H = prm[3]; let offBias = prm[4]; let offMask = prm[5];
  let nkb = (H + ${KB - 1}) / ${KB};
  let w = i32(wid.y * nwg.x + wid.x);
  let j = w / nkb;
  let k0 = (w % nkb) * ${KB};
  if (j >= b) { return; }
  let me = i32(lid);
  // h_{t−1}[j] into workgroup memory (h0 at t = 0)
  for (var p = me; p < H; p += ${FWG}) { hsh[p] = select(HS[max(t - 1, 0) * b * H + j * H + p], S0[j * H + p], t == 0); }
  workgroupBarrier();
  // dot product d = (gate q, unit kk): W_hh[q·H + k]·h_{t−1}, its terms strided over ${LANES} lanes
  let d = me / ${LANES};
  let lane = me % ${LANES};
  let q = d / ${KB};
  var s = 0.0;
  if (q < ${G} && k0 + d % ${KB} < H) {
    let row = (q * H + k0 + d % ${KB}) * H;
    for (var p = lane; p < H; p += ${LANES}) { s = fma(hsh[p], P[row + p], s); }
  }
  part[me] = s;
  workgroupBarrier();
  if (me < ${G * KB} && k0 + me % ${KB} < H) {
    var tot = ${a.hasBias ? `P[offBias + (me / ${KB}) * H + k0 + me % ${KB}]` : '0.0'};
    for (var l = 0; l < ${LANES}; l++) { tot += part[me * ${LANES} + l]; }
    pre[me] = tot;
  }
  workgroupBarrier();
  if (me >= ${KB} || k0 + me >= H) { return; }
  let kk = me;
  let k = k0 + kk;
  let e = j * H + k;
  let GH = ${G} * H;
  let m = ${a.hasMask ? 'P[offMask + t * b + j]' : '1.0'};
  let xo = (t * b + j) * GH;
  let so = (t * b + j) * ${S} * H;
  let hk = hsh[k];
  var hNew = 0.0;
  ${cell}
  HS[t * b * H + e] = m * hNew + (1.0 - m) * hk;
}`;
};

/** prm: [t, L, b, H, offBias, offMask, offHs(=0), offCs, offGates, offDhs, offDgh] */
const backwardPointwise = (a: RnnAttrs) => (): string => {
  const G = gateCount(a.mode);
  const S = savedCount(a.mode);
  const lstm = a.mode === 'lstm';
  const body = lstm
    ? `let i = SV[so + k]; let f = SV[so + H + k]; let gg = SV[so + 2 * H + k]; let o = SV[so + 3 * H + k];
    let cp = select(SV[offCs + max(t - 1, 0) * bH + e], S0[bH + e], t == 0);
    let c = f * cp + i * gg;
    let tc = tanh_(c);
    let dcTot = DHC[bH + e];
    let dcNew = m * dcTot + dhNew * o * (1.0 - tc * tc);
    DX[go + k] = dcNew * gg * i * (1.0 - i);
    DX[go + H + k] = dcNew * cp * f * (1.0 - f);
    DX[go + 2 * H + k] = dcNew * i * (1.0 - gg * gg);
    DX[go + 3 * H + k] = dhNew * tc * o * (1.0 - o);
    DHC[bH + e] = dcNew * f + (1.0 - m) * dcTot;`
    : a.mode === 'gru'
      ? `let r = SV[so + k]; let z = SV[so + H + k]; let n = SV[so + 2 * H + k]; let hn = SV[so + 3 * H + k];
    let hp = select(SV[max(t - 1, 0) * bH + e], S0[e], t == 0);
    let dan = dhNew * (1.0 - z) * (1.0 - n * n);
    let dar = dan * hn * r * (1.0 - r);
    let daz = dhNew * (hp - n) * z * (1.0 - z);
    DX[go + k] = dar; DX[go + H + k] = daz; DX[go + 2 * H + k] = dan;
    DX[offDgh + go + k] = dar; DX[offDgh + go + H + k] = daz; DX[offDgh + go + 2 * H + k] = dan * r;
    direct += dhNew * z;`
      : `let hNew = SV[so + k];
    DX[go + k] = dhNew * ${a.mode === 'rnn_tanh' ? '(1.0 - hNew * hNew)' : 'select(0.0, 1.0, hNew > 0.0)'};`;
  return `// rnn backward pointwise ${a.mode} mask=${a.hasMask}
${META}
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> S0: array<f32>;
@group(0) @binding(3) var<storage, read> SV: array<f32>;
@group(0) @binding(4) var<storage, read_write> DHC: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<storage, read_write> TMP: array<f32>;
${MATH}
${mainHeader(WG)}
  let t = prm[0]; let b = prm[2]; let H = prm[3]; let offMask = prm[5];
  let offCs = prm[7]; let offGates = prm[8]; let offDhs = prm[9]; let offDgh = prm[10];
  let bH = b * H;
  if (gi >= bH) { return; }
  let j = gi / H; let k = gi % H; let e = gi;
  let m = ${a.hasMask ? 'P[offMask + t * b + j]' : '1.0'};
  let so = offGates + (t * b + j) * ${S} * H;
  let go = (t * b + j) * ${G} * H;
  let dhTot = DHC[e] + SV[offDhs + t * bH + e];
  let dhNew = m * dhTot;
  var direct = (1.0 - m) * dhTot;
  _ = S0[0]; // bound for every mode and option (the layout is derived from use)
  _ = P[0];
  ${body}
  TMP[e] = direct;
}`;
};

/**
 * dh_{t−1}[j, p] = direct[j, p] + Σ_q dG_h(t)[j, q]·W_hh[q, p]: 32 outputs (consecutive p, so the
 * W_hh reads are coalesced) × ${LANES} lanes striding over q per workgroup. prm as the pointwise kernel's.
 */
const backwardCarry = (a: RnnAttrs) => (): string => `// rnn backward carry ${a.mode}
${META}
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> DX: array<f32>;
@group(0) @binding(3) var<storage, read> TMP: array<f32>;
@group(0) @binding(4) var<storage, read_write> DHC: array<f32>;
var<workgroup> part: array<f32, ${FWG}>;
@compute @workgroup_size(${FWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = prm[0]; let b = prm[2]; let H = prm[3]; let offD = prm[10];
  let np = (H + 31) / 32;
  let w = i32(wid.y * nwg.x + wid.x);
  let j = w / np;
  if (j >= b) { return; }
  let me = i32(lid);
  let p = (w % np) * 32 + me % 32;
  let lane = me / 32;
  let GH = ${gateCount(a.mode)} * H;
  let row = offD + (t * b + j) * GH;
  var s = 0.0;
  if (p < H) { for (var q = lane; q < GH; q += ${FWG / 32}) { s = fma(DX[row + q], P[q * H + p], s); } }
  part[me] = s;
  workgroupBarrier();
  if (me < 32 && p < H) {
    var tot = TMP[j * H + p];
    for (var l = 0; l < ${FWG / 32}; l++) { tot += part[l * 32 + me]; }
    DHC[j * H + p] = tot;
  }
}`;

/** dW_hh[q, p] = Σ_r D[r, q]·h_{r−b}[p] over r < L·b, with h_{−1} = h0. prm: [L·b, b, H, GH, offD] */
const dwCode = (): string => `// rnn backward dW_hh
${META}
@group(0) @binding(1) var<storage, read> DX: array<f32>;
@group(0) @binding(2) var<storage, read> S0: array<f32>;
@group(0) @binding(3) var<storage, read> SV: array<f32>;
@group(0) @binding(4) var<storage, read_write> DW: array<f32>;
${mainHeader(WG)}
  let R = prm[0]; let b = prm[1]; let H = prm[2]; let GH = prm[3]; let offD = prm[4];
  if (gi >= GH * H) { return; }
  let q = gi / H; let p = gi % H;
  var s = 0.0;
  for (var r = 0; r < b; r++) { s = fma(DX[offD + r * GH + q], S0[r * H + p], s); }
  for (var r = b; r < R; r++) { s = fma(DX[offD + r * GH + q], SV[(r - b) * H + p], s); }
  DW[gi] = s;
}`;

function dims(n: Named, a: RnnAttrs): { L: number; b: number; H: number; GH: number } {
  const [L, b, GH] = n.xp.shape as [number, number, number];
  return { L, b, H: GH / gateCount(a.mode), GH };
}

function rnnForward(bk: WebGpuBackend, xs: readonly View[], a: RnnAttrs): Storage[] {
  const n = unpack(xs, a);
  const { L, b, H } = dims(n, a);
  const lstm = a.mode === 'lstm';
  const XP = pack(bk, [n.xp]);
  const P = pack(bk, [n.whh, n.bhh, n.mask]);
  const S0 = pack(bk, [n.h0, n.c0]);
  const hs = bk.alloc('f32', L * b * H);
  const gates = bk.alloc('f32', L * b * savedCount(a.mode) * H);
  const cs = lstm ? bk.alloc('f32', L * b * H) : null;
  // workgroup memory for h_{t−1}[j] sized to H (in steps of 64): it is zeroed at every workgroup's start
  const HM = Math.ceil(H / 64) * 64;
  const key = `fused:rnn:fwd:${a.mode}:${a.hasBias}:${a.hasMask}:${HM}`;
  const code = forwardCode(a, HM);
  const groups = b * Math.ceil(H / KB);
  for (let t = 0; t < L; t++) bk.launch(key, code, [XP.storage, P.storage, S0.storage, hs, gates, ...(cs ? [cs] : [])], groups, [t, L, b, H, P.at[1]!, P.at[2]!]);
  const hN = slice(bk, hs, (L - 1) * b * H, b * H);
  const outs = lstm ? [hs, hN, slice(bk, cs!, (L - 1) * b * H, b * H), gates, cs!] : [hs, hN, gates];
  for (const s of [XP.storage, P.storage, S0.storage]) bk.free(s);
  return outs;
}

function rnnBackward(bk: WebGpuBackend, xs: readonly View[], a: RnnAttrs): Storage[] {
  const lstm = a.mode === 'lstm';
  const nIn = 3 + (a.hasBias ? 1 : 0) + (lstm ? 1 : 0) + (a.hasMask ? 1 : 0);
  const n = unpack(xs.slice(0, nIn), a);
  const { L, b, H, GH } = dims(n, a);
  let k = nIn;
  const hs = xs[k++]!;
  const gates = xs[k++]!;
  const cs = lstm ? xs[k++]! : null;
  const dhs = xs[k++]!;
  const dhN = xs[k++]!;
  const dcN = lstm ? xs[k++]! : null;
  const P = pack(bk, [n.whh, n.bhh, n.mask]);
  const S0 = pack(bk, [n.h0, n.c0]);
  const SV = pack(bk, [hs, cs, gates, dhs]);
  const DHC = pack(bk, [dhN, dcN]);
  const gru = a.mode === 'gru';
  const LbGH = L * b * GH;
  const DX = bk.alloc('f32', (gru ? 2 : 1) * LbGH);
  const TMP = bk.alloc('f32', b * H);
  const offD = gru ? LbGH : 0;
  const groups = Math.ceil((b * H) / WG);
  const pw = backwardPointwise(a);
  const carry = backwardCarry(a);
  for (let t = L - 1; t >= 0; t--) {
    const ints = [t, L, b, H, P.at[1]!, P.at[2]!, 0, SV.at[1]!, SV.at[2]!, SV.at[3]!, offD];
    bk.launch(`fused:rnn:bwdA:${a.mode}:${a.hasMask}`, pw, [P.storage, S0.storage, SV.storage, DHC.storage, DX, TMP], groups, ints);
    bk.launch(`fused:rnn:bwdB:${a.mode}`, carry, [P.storage, DX, TMP, DHC.storage], b * Math.ceil(H / 32), ints);
  }
  const dw = bk.alloc('f32', GH * H);
  bk.launch('fused:rnn:dw', dwCode, [DX, S0.storage, SV.storage, dw], Math.ceil((GH * H) / WG), [L * b, b, H, GH, offD]);
  const grads = [
    slice(bk, DX, 0, LbGH),
    dw,
    ...(a.hasBias ? [sumPartials(bk, DX, offD, L * b, GH, GH)] : []),
    slice(bk, DHC.storage, 0, b * H),
    ...(lstm ? [slice(bk, DHC.storage, b * H, b * H)] : []),
  ];
  for (const s of [P.storage, S0.storage, SV.storage, DHC.storage, DX, TMP]) bk.free(s);
  return grads;
}

export function registerRnn(b: WebGpuBackend): void {
  const fits = (xs: readonly View[]): boolean =>
    allF32(xs) && xs[0]!.shape.every((s) => s > 0) && xs[1]!.shape[1]! <= RNN_MAX_H && 4 * (RNN_MAX_H + 2 * FWG) <= b.ctx.limits.workgroupStorageSize && FWG <= b.ctx.limits.maxWorkgroupSize;
  const fwd: Kernel = (inputs, attrs) => (fits(inputs) ? rnnForward(b, inputs, attrs as RnnAttrs) : undefined);
  const bwd: Kernel = (inputs, attrs) => (fits(inputs) ? rnnBackward(b, inputs, attrs as RnnAttrs) : undefined);
  b.kernels.set('rnnScan', Object.assign(fwd, { dtypes: ['f32'] as const }));
  b.kernels.set('rnnScanBackward', Object.assign(bwd, { dtypes: ['f32'] as const }));
}
