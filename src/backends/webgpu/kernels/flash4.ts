/**
 * FlashAttention v4 in WGSL: register-tiled forward and FlashAttention-2
 * backward (Dao, arXiv 2307.08691, Algorithms 1 and 2), f32, grouped-query
 * heads, causal masking aligned bottom-right (query i sees key j ≤ i + nk − nq).
 *
 * Each kernel works on a (rows × keys) block of scores held as 4 × 4 register
 * tiles: an invocation owns 4 rows (ty + TY·r) and 4 keys (tx + W·c), so the
 * W invocations of a row group are adjacent lanes. The operand tiles are
 * staged in workgroup memory as vec4 rows whose 16-byte chunks are XOR-
 * swizzled by row (chunk k of row r lives at k ^ (r & 7)), so the lanes of
 * a warp reading consecutive rows at one chunk hit distinct banks; dot
 * products are vec4 FMAs. Probability tiles are written one vec4 per row per
 * invocation with the keys permuted (chunk tx holds keys tx, tx+W, tx+2W,
 * tx+3W), and the product with V reads V's rows in the same order.
 *
 * - forward: one workgroup per (query block, head); online softmax in base 2
 *   (Q pre-scaled by scale·log₂e, exp2), the row max combined across the W
 *   lanes by subgroup shuffles where the adapter's smallest subgroup spans
 *   them, else (partly) through workgroup memory; the row sums are kept per
 *   lane and combined once at the end. Fully masked key tiles are skipped,
 *   only tiles crossing the diagonal or the end are masked. Writes lse.
 * - backward: D = rowsum(dO∘O) by a small kernel; dK, dV by one workgroup per
 *   key block looping over the query blocks that see it (P recomputed from
 *   lse); dQ by a separate pass per query block over its key blocks. FA-2
 *   accumulates dQ across key blocks with atomic adds; WGSL has no float
 *   atomics (a compare-exchange loop on the bits would serialise under
 *   contention and make the sum order, hence the result, non-deterministic),
 *   so the second pass recomputes S and dP instead: two extra block products
 *   per tile, no atomics, deterministic results.
 *
 * Tile sizes are chosen per kernel from the head dims and the device's
 * workgroup-storage limit (largest first).
 */
import type { Storage } from '../../backend.js';
import { Tensor } from '../../../core/tensor.js';
import { customVjp } from '../../../autodiff/custom.js';
import { contiguous } from '../../../ops/views.js';
import type { WebGpuBackend } from '../backend.js';
import { MATH, META } from '../wgsl.js';

export interface Flash4Dims {
  b: number;
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
}

/** Test hooks: force the workgroup-memory reductions or cap the tile sizes. */
export interface Flash4Overrides {
  subgroups?: boolean;
  maxRows?: number;
  maxKeys?: number;
  /** false: XOR-swizzled tiles only */
  pad?: boolean;
}
let overrides: Flash4Overrides = {};
export function setFlash4Overrides(o: Flash4Overrides): void {
  overrides = { ...o };
}

const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const XYZW = 'xyzw';

/**
 * Row layout of the workgroup tiles, set by each kernel generator while it
 * builds its source: padded (rows of an odd number of vec4 chunks, so chunk
 * k of consecutive rows falls in distinct banks and every address is a
 * per-lane base plus a constant) or, where the padding does not fit the
 * workgroup memory, XOR-swizzled (chunk k of row r at k ^ (r & 7): no extra
 * memory, one integer op per read).
 */
let PAD = false;
const strideOf = (n4: number, pad: boolean): number => (pad && n4 % 2 === 0 ? n4 + 1 : n4);
const rs = (n4: number): number => strideOf(n4, PAD);

/** Index of chunk k of row `row` in a tile with n4 vec4 chunks per row, in the current layout. */
function at(row: string, k: string, n4: number): string {
  if (PAD) return `(${row}) * ${rs(n4)} + (${k})`;
  const m = isPow2(n4) ? Math.min(8, n4) - 1 : 0;
  return m ? `(${row}) * ${n4} + ((${k}) ^ ((${row}) & ${m}))` : `(${row}) * ${n4} + (${k})`;
}

/**
 * Cooperative load of `rows` rows × `dim` columns (global row `grow(r)`,
 * present when `valid(r)`) into a swizzled tile, zero beyond; vec4 global
 * reads when dim is a multiple of 4.
 */
function load(dst: string, src: string, rows: number, dim: number, T: number, grow: string, valid: string, mul = ''): string {
  const n4 = Math.ceil(dim / 4);
  const m = mul ? ` * ${mul}` : '';
  if (dim % 4 === 0) {
    return `for (var e = i32(lid); e < ${rows * n4}; e += ${T}) {
    let r = e / ${n4}; let k = e % ${n4};
    var x = vec4f(0.0);
    if (${valid}) { x = ${src}[(${grow}) * ${n4} + k]; }
    ${dst}[${at('r', 'k', n4)}] = x${m};
  }`;
  }
  return `for (var e = i32(lid); e < ${rows * n4 * 4}; e += ${T}) {
    let r = e / ${n4 * 4}; let c = e % ${n4 * 4};
    var x = 0.0;
    if (c < ${dim} && ${valid}) { x = ${src}[(${grow}) * ${dim} + c]; }
    ${dst}[${at('r', 'c / 4', n4)}][c % 4] = x${m};
  }`;
}

/**
 * A key tile loaded one step ahead through registers: `fetch(j)` issues the
 * global reads of the tile at key j into registers, `commit(j)` stores them
 * into workgroup memory, so the reads of the next tile are in flight while
 * the current one is computed on. Head dims that are not multiples of 4 (and
 * tiles that would take more than `cap` vec4 registers per lane) load
 * synchronously in `commit` instead.
 */
interface Staged {
  decl: string;
  fetch: (j: string) => string;
  commit: (j: string) => string;
}
function staged(id: string, dst: string, src: string, rows: number, dim: number, T: number, rowBase: string, limit: string, cap: number): Staged {
  const n4 = Math.ceil(dim / 4);
  const total = rows * n4;
  const per = Math.ceil(total / T);
  if (dim % 4 !== 0 || per > cap) return { decl: '', fetch: () => '', commit: (j) => load(dst, src, rows, dim, T, `${rowBase} + ${j} + r`, `${j} + r < ${limit}`) };
  const u = Array.from({ length: per }, (_, i) => i);
  const idx = (i: number): string => `let e = i32(lid) + ${T * i}; let r = e / ${n4}; let k = e % ${n4};`;
  const guard = (i: number): string => ((i + 1) * T > total ? `e < ${total} && ` : '');
  return {
    decl: u.map((i) => `var ${id}${i} = vec4f(0.0);`).join(' '),
    fetch: (j) => u.map((i) => `{ ${idx(i)} ${id}${i} = vec4f(0.0); if (${guard(i)}${j} + r < ${limit}) { ${id}${i} = ${src}[(${rowBase} + ${j} + r) * ${n4} + k]; } }`).join('\n    '),
    commit: () => u.map((i) => `{ ${idx(i)} ${guard(i) ? `if (e < ${total}) { ` : ''}${dst}[${at('r', 'k', n4)}] = ${id}${i};${guard(i) ? ' }' : ''} }`).join('\n    '),
  };
}

const arr = (dim: number): string => (dim % 4 === 0 ? 'array<vec4f>' : 'array<f32>');
const R4 = [0, 1, 2, 3];

/** s{r}.{c} += A[rowA(r)]·B[rowB(c)] over the n4 chunks: the 4×4 register tile of a block product with both operands row-major. */
function scoreTile(s: string, A: string, rowA: (r: number) => string, B: string, rowB: (c: number) => string, n4: number): string {
  const la = R4.map((r) => `let a${r} = ${A}[${at(rowA(r), 'k', n4)}];`).join(' ');
  const lb = R4.map((c) => `let b${c} = ${B}[${at(rowB(c), 'k', n4)}];`).join(' ');
  // B's chunks transposed to one vec4 per component, so each update is a vec4 FMA
  // (a dot product plus an add would cost five instructions per four products)
  const bt = [...XYZW].map((x) => `let b${x} = vec4f(${R4.map((c) => `b${c}.${x}`).join(', ')});`).join(' ');
  const acc = R4.map((r) => [...XYZW].map((x) => `${s}${r} = fma(vec4f(a${r}.${x}), b${x}, ${s}${r});`).join(' ')).join('\n    ');
  return `for (var k = 0; k < ${n4}; k++) {
    ${la}
    ${lb}
    ${bt}
    ${acc}
  }`;
}

/**
 * acc{r}_{q} += Σ_keys P[row r][key] · B[key][chunk tx + W·q], P stored one
 * vec4 per (row, lane) with keys permuted (chunk k holds keys k + W·c).
 */
function pTimes(acc: string, P: string, prow: (r: number) => string, W: number, B: string, n4: number, nq: number): string {
  const lp = R4.map((r) => `let p${r} = ${P}[${at(prow(r), 'k', W)}];`).join(' ');
  const body: string[] = [];
  for (let c = 0; c < 4; c++) {
    for (let q = 0; q < nq; q++) {
      const ch = `tx + ${W * q}`;
      const guard = (q + 1) * W > n4;
      const load = `${B}[${at(`k + ${W * c}`, ch, n4)}]`;
      const upd = R4.map((r) => `${acc}${r}_${q} = fma(vec4f(p${r}.${XYZW[c]}), v, ${acc}${r}_${q});`).join(' ');
      body.push(guard ? `if (${ch} < ${n4}) { let v = ${load}; ${upd} }` : `{ let v = ${load}; ${upd} }`);
    }
  }
  return `for (var k = 0; k < ${W}; k++) {
    ${lp}
    ${body.join('\n    ')}
  }`;
}

const decl = (name: string, nq: number, init = 'vec4f(0.0)'): string => R4.map((r) => Array.from({ length: nq }, (_, q) => `var ${name}${r}_${q} = ${init};`).join(' ')).join('\n  ');

/**
 * Reduce a vec4 (one value per row of the lane's row group) over the W
 * adjacent lanes of the group: XOR shuffles within the smallest subgroup,
 * then workgroup memory across subgroups (or across all W lanes without
 * subgroups). Must be reached by the whole workgroup.
 */
function reduceRow(x: string, op: 'max' | '+', W: number, sg: number): string {
  const f = (a: string, b: string): string => (op === 'max' ? `max(${a}, ${b})` : `(${a} + ${b})`);
  const S = Math.max(1, Math.min(W, sg));
  const lines: string[] = [];
  for (let o = 1; o < S; o *= 2) lines.push(`${x} = ${f(x, `subgroupShuffleXor(${x}, ${o}u)`)};`);
  if (S < W) {
    lines.push(`Red[lid] = ${x};`, 'workgroupBarrier();', `${x} = Red[ty * ${W}];`);
    for (let k = 1; k < W / S; k++) lines.push(`${x} = ${f(x, `Red[ty * ${W} + ${k * S}]`)};`);
  }
  return lines.join('\n  ');
}

/** The subgroup size the row reductions may rely on (0: none). */
export function subgroupSpan(b: WebGpuBackend): number {
  return overrides.subgroups === false ? 0 : b.ctx.subgroupMin;
}

const header = (sg: number): string => `${sg ? 'enable subgroups;\n' : ''}${META}
${MATH}`;

/** prm: [blocks, H, HKV, NQ, NK, causal, shift, BH] + scale. */
const PROLOGUE = `
  let H = prm[1]; let HKV = prm[2]; let NQ = prm[3]; let NK = prm[4];
  let causal = prm[5] != 0; let shift = prm[6]; let BH = prm[7]; let scale = bitcast<f32>(prm[8]);
  let g = i32(wid.y * nwg.x + wid.x);
  if (g >= prm[0]) { return; }`;
const MAIN = (T: number): string => `@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {`;

export interface Tiles {
  rows: number;
  keys: number;
  /** padded rows (else XOR-swizzled) */
  pad: boolean;
}

const n4 = (x: number): number => Math.ceil(x / 4);

/** Workgroup bytes of each kernel for a tiling. */
export const forwardBytes = (d: number, dv: number, t: Tiles, sg: number): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  const W = t.keys / 4;
  return 16 * (t.rows * z(n4(d)) + t.keys * z(n4(d)) + t.keys * z(n4(dv)) + t.rows * z(W) + (Math.min(sg, W) < W ? (t.rows * t.keys) / 16 : 0));
};
export const dqBytes = (d: number, dv: number, t: Tiles): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  return 16 * (t.rows * z(n4(d)) + t.rows * z(n4(dv)) + t.keys * z(n4(d)) + Math.max(t.keys * z(n4(dv)), t.rows * z(t.keys / 4)));
};
export const dkvBytes = (d: number, dv: number, t: Tiles): number => {
  const z = (n: number): number => strideOf(n, t.pad);
  return 16 * (t.keys * z(n4(d)) + t.keys * z(n4(dv)) + t.rows * z(n4(d)) + t.rows * z(n4(dv)) + 2 * t.keys * z(t.rows / 4)) + 8 * t.rows;
};

const CANDIDATES: Omit<Tiles, 'pad'>[] = [
  { rows: 64, keys: 32 },
  { rows: 64, keys: 16 },
  { rows: 32, keys: 32 },
  { rows: 32, keys: 16 },
  { rows: 16, keys: 32 },
  { rows: 16, keys: 16 },
  { rows: 16, keys: 8 },
  { rows: 8, keys: 8 },
  { rows: 8, keys: 4 },
  { rows: 4, keys: 4 },
];

/** The first (largest) tile that fits the device's workgroup memory and invocation limits, padded when that fits too. */
export function chooseTiles(bytes: (t: Tiles) => number, limitBytes: number, maxInvocations: number): Tiles | undefined {
  for (const c of CANDIDATES) {
    if (c.rows > (overrides.maxRows ?? 64) || c.keys > (overrides.maxKeys ?? 64) || (c.rows * c.keys) / 16 > maxInvocations) continue;
    for (const pad of overrides.pad === false ? [false] : [true, false]) {
      const t = { ...c, pad };
      if (bytes(t) <= limitBytes) return t;
    }
  }
  return undefined;
}

export const flash4ForwardWgsl = (d: number, dv: number, t: Tiles, sg: number): string => {
  PAD = t.pad;
  const TY = t.rows / 4;
  const W = t.keys / 4;
  const T = TY * W;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NQc = Math.ceil(DVP4 / W);
  const needRed = Math.min(sg, W) < W;
  const kS = staged('pk', 'Ks', 'K', t.keys, d, T, 'kRow0', 'NK', 8);
  const vS = staged('pv', 'Vs', 'V', t.keys, dv, T, 'kRow0', 'NK', 8 - Math.ceil((t.keys * DP4) / T));
  const rows = (r: number): string => `ty + ${TY * r}`;
  const storeO = R4.map((r) => {
    const st: string[] = [];
    for (let q = 0; q < NQc; q++) {
      const ch = `tx + ${W * q}`;
      const v = `a${r}_${q} * inv`;
      const s1 = dv % 4 === 0 ? `O[(qRow0 + ${rows(r)}) * ${DVP4} + ${ch}] = ${v};` : `{ let y = ${v}; for (var u = 0; u < 4; u++) { let c = (${ch}) * 4 + u; if (c < ${dv}) { O[(qRow0 + ${rows(r)}) * ${dv} + c] = y[u]; } } }`;
      st.push((q + 1) * W > DVP4 ? `if (${ch} < ${DVP4}) { ${s1} }` : s1);
    }
    return `if (i0 + ${rows(r)} < NQ) {
    let inv = 1.0 / l.${XYZW[r]};
    ${st.join('\n    ')}
    if (tx == 0) { L[bh * NQ + i0 + ${rows(r)}] = (m.${XYZW[r]} + log2(l.${XYZW[r]})) * ${LN2}; }
  }`;
  }).join('\n  ');
  return `// flash v4 forward ${d} ${dv} ${t.rows}x${t.keys} pad${t.pad} sg${sg}
${header(sg)}
@group(0) @binding(1) var<storage, read> Q: ${arr(d)};
@group(0) @binding(2) var<storage, read> K: ${arr(d)};
@group(0) @binding(3) var<storage, read> V: ${arr(dv)};
@group(0) @binding(4) var<storage, read_write> O: ${arr(dv)};
@group(0) @binding(5) var<storage, read_write> L: array<f32>;
var<workgroup> Qs: array<vec4f, ${t.rows * rs(DP4)}>;
var<workgroup> Ks: array<vec4f, ${t.keys * rs(DP4)}>;
var<workgroup> Vs: array<vec4f, ${t.keys * rs(DVP4)}>;
var<workgroup> Ps: array<vec4f, ${t.rows * rs(W)}>;
${needRed ? `var<workgroup> Red: array<vec4f, ${T}>;` : ''}
${MAIN(T)}
  ${PROLOGUE}
  let qBlocks = (NQ + ${t.rows - 1}) / ${t.rows};
  // the blocks with the most keys (under the causal mask, the last) first
  let qb = qBlocks - 1 - g / BH; let bh = g % BH;
  let b = bh / H; let h = bh % H; let kh = h / (H / HKV);
  let i0 = qb * ${t.rows};
  let qRow0 = bh * NQ + i0;
  let kRow0 = (b * HKV + kh) * NK;
  let ty = i32(lid) / ${W}; let tx = i32(lid) % ${W};
  let ninf = -inf_();
  ${load('Qs', 'Q', t.rows, d, T, 'qRow0 + r', 'i0 + r < NQ', `(scale * ${LOG2E})`)}
  var m = vec4f(ninf);
  var l = vec4f(0.0);
  ${decl('a', NQc)}
  let lastRow = min(NQ - 1, i0 + ${t.rows - 1});
  let jEnd = select(NK, min(NK, lastRow + shift + 1), causal);
  ${kS.decl} ${vS.decl}
  if (jEnd > 0) { ${kS.fetch('0')} ${vS.fetch('0')} }
  for (var j0 = 0; j0 < jEnd; j0 += ${t.keys}) {
    ${kS.commit('j0')}
    ${vS.commit('j0')}
    workgroupBarrier();
    if (j0 + ${t.keys} < jEnd) {
      let jn = j0 + ${t.keys};
      ${kS.fetch('jn')}
      ${vS.fetch('jn')}
    }
    var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
    ${scoreTile('s', 'Qs', rows, 'Ks', (c) => `tx + ${W * c}`, DP4)}
    if (j0 + ${t.keys} > NK || (causal && j0 + ${t.keys - 1} > i0 + shift)) {
      ${R4.map((r) => R4.map((c) => `if (j0 + tx + ${W * c} >= NK || (causal && j0 + tx + ${W * c} > i0 + ${rows(r)} + shift)) { s${r}.${XYZW[c]} = ninf; }`).join('\n      ')).join('\n      ')}
    }
    var tm = vec4f(${R4.map((r) => `max(max(s${r}.x, s${r}.y), max(s${r}.z, s${r}.w))`).join(', ')});
    ${reduceRow('tm', 'max', W, sg)}
    let mNew = max(m, tm);
    let mUse = select(mNew, vec4f(0.0), mNew == vec4f(ninf));
    let corr = exp2(m - mUse);
    m = mNew;
    ${R4.map((r) => `let p${r} = exp2(s${r} - vec4f(mUse.${XYZW[r]}));`).join(' ')}
    l = l * corr + vec4f(${R4.map((r) => `dot(p${r}, vec4f(1.0))`).join(', ')});
    ${R4.map((r) => Array.from({ length: NQc }, (_, q) => `a${r}_${q} *= corr.${XYZW[r]};`).join(' ')).join('\n    ')}
    ${R4.map((r) => `Ps[${at(rows(r), 'tx', W)}] = p${r};`).join(' ')}
    workgroupBarrier();
    ${pTimes('a', 'Ps', rows, W, 'Vs', DVP4, NQc)}
    workgroupBarrier();
  }
  ${reduceRow('l', '+', W, sg)}
  ${storeO}
}`;
};

/** D = rowsum(dO ∘ O), one row per invocation. prm: [rows]. */
export const flash4DotWgsl = (dv: number): string => `// flash v4 D
${META}
@group(0) @binding(1) var<storage, read> GO: array<f32>;
@group(0) @binding(2) var<storage, read> O: array<f32>;
@group(0) @binding(3) var<storage, read_write> DD: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = i32((wid.y * nwg.x + wid.x) * 128u + lid);
  if (row >= prm[0]) { return; }
  var s = 0.0;
  for (var c = 0; c < ${dv}; c++) { s = fma(GO[row * ${dv} + c], O[row * ${dv} + c], s); }
  DD[row] = s;
}`;

/** Rows' lse (base 2, 0 where a row sees no key) and D of the lane's 4 rows. */
const rowStats = (rows: (r: number) => string, lse: string, dd: string, base: string, first: string): string =>
  R4.map((r) => `if (${first} + ${rows(r)} < NQ) { let v = ${lse}[${base} + ${rows(r)}] * ${LOG2E}; lse2.${XYZW[r]} = select(v, 0.0, v == ninf); dr.${XYZW[r]} = ${dd}[${base} + ${rows(r)}]; }`).join('\n  ');

/**
 * dQ = scale · Σ_key-blocks dS·K with dS = P∘(dP − D), P = exp2(S₂ − lse₂),
 * dP = dO·Vᵀ: one workgroup per query block, K and V tiles streamed; dS
 * reuses V's workgroup memory once dP is formed.
 */
export const flash4DqWgsl = (d: number, dv: number, t: Tiles): string => {
  PAD = t.pad;
  const TY = t.rows / 4;
  const W = t.keys / 4;
  const T = TY * W;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NQc = Math.ceil(DP4 / W);
  const rows = (r: number): string => `ty + ${TY * r}`;
  const kS = staged('pk', 'Ks', 'K', t.keys, d, T, 'kRow0', 'NK', 8);
  const vS = staged('pv', 'VS', 'V', t.keys, dv, T, 'kRow0', 'NK', 8 - Math.ceil((t.keys * DP4) / T));
  const store = R4.map((r) => {
    const st: string[] = [];
    for (let q = 0; q < NQc; q++) {
      const ch = `tx + ${W * q}`;
      const v = `a${r}_${q} * scale`;
      const s1 = d % 4 === 0 ? `DQ[(qRow0 + ${rows(r)}) * ${DP4} + ${ch}] = ${v};` : `{ let y = ${v}; for (var u = 0; u < 4; u++) { let c = (${ch}) * 4 + u; if (c < ${d}) { DQ[(qRow0 + ${rows(r)}) * ${d} + c] = y[u]; } } }`;
      st.push((q + 1) * W > DP4 ? `if (${ch} < ${DP4}) { ${s1} }` : s1);
    }
    return `if (i0 + ${rows(r)} < NQ) { ${st.join(' ')} }`;
  }).join('\n  ');
  return `// flash v4 dq ${d} ${dv} ${t.rows}x${t.keys}
${header(0)}
@group(0) @binding(1) var<storage, read> Q: ${arr(d)};
@group(0) @binding(2) var<storage, read> K: ${arr(d)};
@group(0) @binding(3) var<storage, read> V: ${arr(dv)};
@group(0) @binding(4) var<storage, read> GO: ${arr(dv)};
@group(0) @binding(5) var<storage, read> L: array<f32>;
@group(0) @binding(6) var<storage, read> DD: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: ${arr(d)};
var<workgroup> Qs: array<vec4f, ${t.rows * rs(DP4)}>;
var<workgroup> Gs: array<vec4f, ${t.rows * rs(DVP4)}>;
var<workgroup> Ks: array<vec4f, ${t.keys * rs(DP4)}>;
var<workgroup> VS: array<vec4f, ${Math.max(t.keys * rs(DVP4), t.rows * rs(W))}>;
${MAIN(T)}
  ${PROLOGUE}
  let qBlocks = (NQ + ${t.rows - 1}) / ${t.rows};
  let qb = qBlocks - 1 - g / BH; let bh = g % BH;
  let b = bh / H; let h = bh % H; let kh = h / (H / HKV);
  let i0 = qb * ${t.rows};
  let qRow0 = bh * NQ + i0;
  let kRow0 = (b * HKV + kh) * NK;
  let ty = i32(lid) / ${W}; let tx = i32(lid) % ${W};
  let ninf = -inf_();
  ${load('Qs', 'Q', t.rows, d, T, 'qRow0 + r', 'i0 + r < NQ', `(scale * ${LOG2E})`)}
  ${load('Gs', 'GO', t.rows, dv, T, 'qRow0 + r', 'i0 + r < NQ')}
  var lse2 = vec4f(0.0);
  var dr = vec4f(0.0);
  ${rowStats(rows, 'L', 'DD', 'qRow0', 'i0')}
  ${decl('a', NQc)}
  let lastRow = min(NQ - 1, i0 + ${t.rows - 1});
  let jEnd = select(NK, min(NK, lastRow + shift + 1), causal);
  ${kS.decl} ${vS.decl}
  if (jEnd > 0) { ${kS.fetch('0')} ${vS.fetch('0')} }
  for (var j0 = 0; j0 < jEnd; j0 += ${t.keys}) {
    ${kS.commit('j0')}
    ${vS.commit('j0')}
    workgroupBarrier();
    if (j0 + ${t.keys} < jEnd) {
      let jn = j0 + ${t.keys};
      ${kS.fetch('jn')}
      ${vS.fetch('jn')}
    }
    var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
    ${scoreTile('s', 'Qs', rows, 'Ks', (c) => `tx + ${W * c}`, DP4)}
    var t0 = vec4f(0.0); var t1 = vec4f(0.0); var t2 = vec4f(0.0); var t3 = vec4f(0.0);
    ${scoreTile('t', 'Gs', rows, 'VS', (c) => `tx + ${W * c}`, DVP4)}
    if (j0 + ${t.keys} > NK || (causal && j0 + ${t.keys - 1} > i0 + shift)) {
      ${R4.map((r) => R4.map((c) => `if (j0 + tx + ${W * c} >= NK || (causal && j0 + tx + ${W * c} > i0 + ${rows(r)} + shift)) { s${r}.${XYZW[c]} = ninf; }`).join('\n      ')).join('\n      ')}
    }
    ${R4.map((r) => `let ds${r} = exp2(s${r} - vec4f(lse2.${XYZW[r]})) * (t${r} - vec4f(dr.${XYZW[r]}));`).join('\n    ')}
    workgroupBarrier();
    ${R4.map((r) => `VS[${at(rows(r), 'tx', W)}] = ds${r};`).join(' ')}
    workgroupBarrier();
    ${pTimes('a', 'VS', rows, W, 'Ks', DP4, NQc)}
    workgroupBarrier();
  }
  ${store}
}`;
};

/**
 * dK = scale · Σ dSᵀ·Q and dV = Σ Pᵀ·dO: one workgroup per key block of a
 * KV head, looping over the query heads of its group and the query blocks
 * that see the block; K (pre-scaled for the scores) and V stay in workgroup
 * memory. Lanes own 4 keys × 4 query rows of the transposed score tile.
 */
export const flash4DkvWgsl = (d: number, dv: number, t: Tiles): string => {
  PAD = t.pad;
  const KY = t.keys / 4;
  const W = t.rows / 4;
  const T = KY * W;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NV = Math.ceil(DVP4 / W);
  const NK_ = Math.ceil(DP4 / W);
  const keys = (r: number): string => `ty + ${KY * r}`;
  const out = (name: string, acc: string, nq: number, dim: number, mul: string): string =>
    R4.map((r) => {
      const P4 = n4(dim);
      const st: string[] = [];
      for (let q = 0; q < nq; q++) {
        const ch = `tx + ${W * q}`;
        const v = `${acc}${r}_${q}${mul}`;
        const s1 = dim % 4 === 0 ? `${name}[(kRow0 + ${keys(r)}) * ${P4} + ${ch}] = ${v};` : `{ let y = ${v}; for (var u = 0; u < 4; u++) { let c = (${ch}) * 4 + u; if (c < ${dim}) { ${name}[(kRow0 + ${keys(r)}) * ${dim} + c] = y[u]; } } }`;
        st.push((q + 1) * W > P4 ? `if (${ch} < ${P4}) { ${s1} }` : s1);
      }
      return `if (j0 + ${keys(r)} < NK) { ${st.join(' ')} }`;
    }).join('\n  ');
  const two = (): string => {
    const lp = R4.map((r) => `let p${r} = PT[${at(keys(r), 'k', W)}]; let e${r} = ST[${at(keys(r), 'k', W)}];`).join(' ');
    const body: string[] = [];
    for (let c = 0; c < 4; c++) {
      for (let q = 0; q < Math.max(NV, NK_); q++) {
        const ch = `tx + ${W * q}`;
        if (q < NV) {
          const ld = `Gs[${at(`k + ${W * c}`, ch, DVP4)}]`;
          const upd = R4.map((r) => `v${r}_${q} = fma(vec4f(p${r}.${XYZW[c]}), x, v${r}_${q});`).join(' ');
          body.push((q + 1) * W > DVP4 ? `if (${ch} < ${DVP4}) { let x = ${ld}; ${upd} }` : `{ let x = ${ld}; ${upd} }`);
        }
        if (q < NK_) {
          const ld = `Qs[${at(`k + ${W * c}`, ch, DP4)}]`;
          const upd = R4.map((r) => `k${r}_${q} = fma(vec4f(e${r}.${XYZW[c]}), x, k${r}_${q});`).join(' ');
          body.push((q + 1) * W > DP4 ? `if (${ch} < ${DP4}) { let x = ${ld}; ${upd} }` : `{ let x = ${ld}; ${upd} }`);
        }
      }
    }
    return `for (var k = 0; k < ${W}; k++) {
      ${lp}
      ${body.join('\n      ')}
    }`;
  };
  return `// flash v4 dkv ${d} ${dv} ${t.rows}x${t.keys}
${header(0)}
@group(0) @binding(1) var<storage, read> Q: ${arr(d)};
@group(0) @binding(2) var<storage, read> K: ${arr(d)};
@group(0) @binding(3) var<storage, read> V: ${arr(dv)};
@group(0) @binding(4) var<storage, read> GO: ${arr(dv)};
@group(0) @binding(5) var<storage, read> L: array<f32>;
@group(0) @binding(6) var<storage, read> DD: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: ${arr(d)};
@group(0) @binding(8) var<storage, read_write> DVo: ${arr(dv)};
var<workgroup> Ks: array<vec4f, ${t.keys * rs(DP4)}>;
var<workgroup> Vs: array<vec4f, ${t.keys * rs(DVP4)}>;
var<workgroup> Qs: array<vec4f, ${t.rows * rs(DP4)}>;
var<workgroup> Gs: array<vec4f, ${t.rows * rs(DVP4)}>;
var<workgroup> PT: array<vec4f, ${t.keys * rs(W)}>;
var<workgroup> ST: array<vec4f, ${t.keys * rs(W)}>;
var<workgroup> Ls: array<f32, ${t.rows}>;
var<workgroup> Ds: array<f32, ${t.rows}>;
${MAIN(T)}
  ${PROLOGUE}
  let kBlocks = (NK + ${t.keys - 1}) / ${t.keys};
  // under the causal mask the first key blocks see the most queries: they go first
  let kb = g / BH; let bk = g % BH;
  let b = bk / HKV; let kh = bk % HKV;
  let j0 = kb * ${t.keys};
  let kRow0 = bk * NK + j0;
  let ty = i32(lid) / ${W}; let tx = i32(lid) % ${W};
  let ninf = -inf_();
  ${load('Ks', 'K', t.keys, d, T, 'kRow0 + r', 'j0 + r < NK', `(scale * ${LOG2E})`)}
  ${load('Vs', 'V', t.keys, dv, T, 'kRow0 + r', 'j0 + r < NK')}
  ${decl('v', NV)}
  ${decl('k', NK_)}
  let rep = H / HKV;
  let iFirst = select(0, max(0, j0 - shift), causal);
  let tStart = (iFirst / ${t.rows}) * ${t.rows};
  for (var hh = kh * rep; hh < (kh + 1) * rep; hh++) {
    let qBase = (b * H + hh) * NQ;
    for (var i0 = tStart; i0 < NQ; i0 += ${t.rows}) {
      ${load('Qs', 'Q', t.rows, d, T, 'qBase + i0 + r', 'i0 + r < NQ')}
      ${load('Gs', 'GO', t.rows, dv, T, 'qBase + i0 + r', 'i0 + r < NQ')}
      for (var e = i32(lid); e < ${t.rows}; e += ${T}) {
        var lv = 0.0; var dd = 0.0;
        if (i0 + e < NQ) { lv = L[qBase + i0 + e] * ${LOG2E}; dd = DD[qBase + i0 + e]; }
        Ls[e] = select(lv, 0.0, lv == ninf); Ds[e] = dd;
      }
      workgroupBarrier();
      var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
      ${scoreTile('s', 'Ks', keys, 'Qs', (c) => `tx + ${W * c}`, DP4)}
      var t0 = vec4f(0.0); var t1 = vec4f(0.0); var t2 = vec4f(0.0); var t3 = vec4f(0.0);
      ${scoreTile('t', 'Vs', keys, 'Gs', (c) => `tx + ${W * c}`, DVP4)}
      if (i0 + ${t.rows} > NQ || (causal && j0 + ${t.keys - 1} > i0 + shift)) {
        ${R4.map((r) => R4.map((c) => `if (i0 + tx + ${W * c} >= NQ || (causal && j0 + ${keys(r)} > i0 + tx + ${W * c} + shift)) { s${r}.${XYZW[c]} = ninf; }`).join('\n        ')).join('\n        ')}
      }
      let lr = vec4f(${R4.map((c) => `Ls[tx + ${W * c}]`).join(', ')});
      let dr = vec4f(${R4.map((c) => `Ds[tx + ${W * c}]`).join(', ')});
      ${R4.map((r) => `let p${r} = exp2(s${r} - lr); PT[${at(keys(r), 'tx', W)}] = p${r}; ST[${at(keys(r), 'tx', W)}] = p${r} * (t${r} - dr);`).join('\n      ')}
      workgroupBarrier();
      ${two()}
      workgroupBarrier();
    }
  }
  ${out('DK', 'k', NK_, d, ' * scale')}
  ${out('DVo', 'v', NV, dv, '')}
}`;
};

function fresh(b: WebGpuBackend, shape: number[]): Tensor {
  const n = shape.reduce((a, x) => a * x, 1);
  return new Tensor({ storage: b.alloc('f32', n), shape, dtype: 'f32' });
}

const st = (...ts: Tensor[]): Storage[] => ts.map((t) => t.storage);

/** The tiles of the three kernels for these head dims on this device, or undefined when one does not fit. */
export function flash4Plan(b: WebGpuBackend, d: number, dv: number): { fwd: Tiles; dq: Tiles; dkv: Tiles; sg: number } | undefined {
  const lim = b.ctx.limits;
  const sg = subgroupSpan(b);
  const fwd = chooseTiles((t) => forwardBytes(d, dv, t, sg), lim.workgroupStorageSize, lim.maxWorkgroupSize);
  const dq = chooseTiles((t) => dqBytes(d, dv, t), lim.workgroupStorageSize, lim.maxWorkgroupSize);
  const dkv = chooseTiles((t) => dkvBytes(d, dv, t), lim.workgroupStorageSize, lim.maxWorkgroupSize);
  return fwd && dq && dkv ? { fwd, dq, dkv, sg } : undefined;
}

/**
 * FlashAttention v4 (q (b,h,nq,d), k (b,hkv,nk,d), v (b,hkv,nk,dv), contiguous
 * f32 on this backend, head dims ≥ 1), as a function with its own VJP;
 * undefined when no tiling fits the device.
 */
export function flashAttentionGpu4(b: WebGpuBackend, q: Tensor, k: Tensor, v: Tensor, dm: Flash4Dims, o: { causal: boolean; scale: number }): Tensor | undefined {
  const plan = flash4Plan(b, dm.d, dm.dv);
  if (!plan) return undefined;
  const { fwd, dq: tq, dkv: tk, sg } = plan;
  const meta = (blocks: number, bh: number): number[] => [blocks, dm.h, dm.hkv, dm.nq, dm.nk, o.causal ? 1 : 0, dm.nk - dm.nq, bh];
  const tag = `${dm.d}:${dm.dv}`;
  const f = customVjp(
    'flashAttention',
    (qi, ki, vi) => {
      const [qc, kc, vc] = [contiguous(qi!), contiguous(ki!), contiguous(vi!)];
      const out = fresh(b, [dm.b, dm.h, dm.nq, dm.dv]);
      const lse = fresh(b, [dm.b, dm.h, dm.nq]);
      const blocks = dm.b * dm.h * Math.ceil(dm.nq / fwd.rows);
      b.launch(`flash4:fwd:${tag}:${fwd.rows}x${fwd.keys}:${fwd.pad}:${sg}`, () => flash4ForwardWgsl(dm.d, dm.dv, fwd, sg), st(qc, kc, vc, out, lse), blocks, meta(blocks, dm.b * dm.h), [o.scale]);
      return { out, saved: [qc, kc, vc, out, lse] };
    },
    (saved, [g]) => {
      if (!g) return [null, null, null];
      const [qc, kc, vc, out, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const gc = contiguous(g);
      const rows = dm.b * dm.h * dm.nq;
      const dd = fresh(b, [dm.b, dm.h, dm.nq]);
      b.launch(`flash4:dot:${dm.dv}`, () => flash4DotWgsl(dm.dv), st(gc, out, dd), Math.ceil(rows / 128), [rows]);
      const dq = fresh(b, [dm.b, dm.h, dm.nq, dm.d]);
      const dk = fresh(b, [dm.b, dm.hkv, dm.nk, dm.d]);
      const dv = fresh(b, [dm.b, dm.hkv, dm.nk, dm.dv]);
      const qBlocks = dm.b * dm.h * Math.ceil(dm.nq / tq.rows);
      b.launch(`flash4:dq:${tag}:${tq.rows}x${tq.keys}:${tq.pad}`, () => flash4DqWgsl(dm.d, dm.dv, tq), st(qc, kc, vc, gc, lse, dd, dq), qBlocks, meta(qBlocks, dm.b * dm.h), [o.scale]);
      const kBlocks = dm.b * dm.hkv * Math.ceil(dm.nk / tk.keys);
      b.launch(`flash4:dkv:${tag}:${tk.rows}x${tk.keys}:${tk.pad}`, () => flash4DkvWgsl(dm.d, dm.dv, tk), st(qc, kc, vc, gc, lse, dd, dk, dv), kBlocks, meta(kBlocks, dm.b * dm.hkv), [o.scale]);
      gc.dispose();
      dd.dispose();
      return [dq, dk, dv];
    },
  );
  return f(q, k, v) as Tensor;
}
