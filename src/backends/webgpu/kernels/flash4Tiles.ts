/**
 * Building blocks of the FlashAttention v4 WGSL kernels (flash4.ts): tile
 * layouts in workgroup memory, cooperative and register-staged loads, the
 * 4×4 register-tile block products and the row reductions across lanes.
 */
import { MATH, META } from '../wgsl.js';

export const LOG2E = 1.4426950408889634;
export const LN2 = 0.6931471805599453;
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
export const XYZW = 'xyzw';

/**
 * Row layout of the workgroup tiles, set by each kernel generator while it
 * builds its source: padded (rows of an odd number of vec4 chunks, so chunk
 * k of consecutive rows falls in distinct banks and every address is a
 * per-lane base plus a constant) or, where the padding does not fit the
 * workgroup memory, XOR-swizzled (chunk k of row r at k ^ (r & 7): no extra
 * memory, one integer op per read).
 */
let PAD = false;
/** Set the layout the following generated code uses (each kernel generator calls it first). */
export function setLayout(pad: boolean): void {
  PAD = pad;
}
export const strideOf = (n4: number, pad: boolean): number => (pad && n4 % 2 === 0 ? n4 + 1 : n4);
export const rs = (n4: number): number => strideOf(n4, PAD);

/** Index of chunk k of row `row` in a tile with n4 vec4 chunks per row, in the current layout. */
export function at(row: string, k: string, n4: number): string {
  if (PAD) return `(${row}) * ${rs(n4)} + (${k})`;
  const m = isPow2(n4) ? Math.min(8, n4) - 1 : 0;
  return m ? `(${row}) * ${n4} + ((${k}) ^ ((${row}) & ${m}))` : `(${row}) * ${n4} + (${k})`;
}

/**
 * Cooperative load of `rows` rows × `dim` columns (global row `grow(r)`,
 * present when `valid(r)`) into a swizzled tile, zero beyond; vec4 global
 * reads when dim is a multiple of 4.
 */
export function load(dst: string, src: string, rows: number, dim: number, T: number, grow: string, valid: string, mul = ''): string {
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
export interface Staged {
  decl: string;
  fetch: (j: string) => string;
  commit: (j: string) => string;
}
export function staged(id: string, dst: string, src: string, rows: number, dim: number, T: number, rowBase: string, limit: string, cap: number): Staged {
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

/**
 * The head of a query block's walk over key tiles (forward and dQ kernels):
 * the causal end of the walk, then per tile the staged K and V committed to
 * workgroup memory and the next tile's fetch started. Opens the loop body;
 * the caller's code and a closing brace follow.
 */
export function keyTileLoop(t: { rows: number; keys: number }, kS: Staged, vS: Staged): string {
  return `let lastRow = min(NQ - 1, i0 + ${t.rows - 1});
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
    }`;
}

export const arr = (dim: number): string => (dim % 4 === 0 ? 'array<vec4f>' : 'array<f32>');
export const R4 = [0, 1, 2, 3];

/** s{r}.{c} += A[rowA(r)]·B[rowB(c)] over the n4 chunks: the 4×4 register tile of a block product with both operands row-major. */
export function scoreTile(s: string, A: string, rowA: (r: number) => string, B: string, rowB: (c: number) => string, n4: number, half = false): string {
  const la = R4.map((r) => `let a${r} = ${A}[${at(rowA(r), 'k', n4)}];`).join(' ');
  const lb = R4.map((c) => `let b${c} = ${B}[${at(rowB(c), 'k', n4)}];`).join(' ');
  // B's chunks transposed to one vec4 per component, so each update is a vec4 FMA
  // (a dot product plus an add would cost five instructions per four products)
  const bt = [...XYZW].map((x) => `let b${x} = vec4f(${R4.map((c) => `b${c}.${x}`).join(', ')});`).join(' ');
  const acc = R4.map((r) => [...XYZW].map((x) => `${s}${r} = fma(vec4f(a${r}.${x}), b${x}, ${s}${r});`).join(' ')).join('\n    ');
  // half: the lane pair splits the chunks, lane hp taking the hp-th half (the caller sums the pair)
  const head = half ? `for (var kk = 0; kk < ${n4 / 2}; kk++) {\n    let k = kk + hp * ${n4 / 2};` : `for (var k = 0; k < ${n4}; k++) {`;
  return `${head}
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
export function pTimes(acc: string, P: string, prow: (r: number) => string, W: number, B: string, n4: number, nq: number, pair = 1): string {
  const lp = R4.map((r) => `let p${r} = ${P}[${at(prow(r), 'k', W)}];`).join(' ');
  const body: string[] = [];
  for (let c = 0; c < 4; c++) {
    for (let q = 0; q < nq; q++) {
      // with a lane pair, lane hp owns chunks tx + W·(2q + hp)
      const ch = pair === 1 ? `tx + ${W * q}` : `tx + ${W * pair * q} + ${W} * hp`;
      const guard = (pair * q + pair) * W > n4;
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

export const decl = (name: string, nq: number, init = 'vec4f(0.0)'): string => R4.map((r) => Array.from({ length: nq }, (_, q) => `var ${name}${r}_${q} = ${init};`).join(' ')).join('\n  ');

/**
 * Reduce a vec4 (one value per row of the lane's row group) over the W
 * adjacent lanes of the group: XOR shuffles within the smallest subgroup,
 * then workgroup memory across subgroups (or across all W lanes without
 * subgroups). Must be reached by the whole workgroup.
 */
export function reduceRow(x: string, op: 'max' | '+', W: number, sg: number, stride = 1): string {
  const f = (a: string, b: string): string => (op === 'max' ? `max(${a}, ${b})` : `(${a} + ${b})`);
  const S = Math.max(1, Math.min(W, sg));
  const lines: string[] = [];
  for (let o = 1; o < S; o *= 2) lines.push(`${x} = ${f(x, `subgroupShuffleXor(${x}, ${o * stride}u)`)};`);
  if (S < W) {
    if (stride !== 1) throw new Error('flash4: lane pairs need subgroups spanning the row group');
    lines.push(`Red[lid] = ${x};`, 'workgroupBarrier();', `${x} = Red[ty * ${W}];`);
    for (let k = 1; k < W / S; k++) lines.push(`${x} = ${f(x, `Red[ty * ${W} + ${k * S}]`)};`);
  }
  return lines.join('\n  ');
}

export const header = (sg: number): string => `${sg ? 'enable subgroups;\n' : ''}${META}
${MATH}`;

/** prm: [blocks, H, HKV, NQ, NK, causal, shift, BH] + scale. */
export const PROLOGUE = `
  let H = prm[1]; let HKV = prm[2]; let NQ = prm[3]; let NK = prm[4];
  let causal = prm[5] != 0; let shift = prm[6]; let BH = prm[7]; let scale = bitcast<f32>(prm[8]);
  let g = i32(wid.y * nwg.x + wid.x);
  if (g >= prm[0]) { return; }`;
export const MAIN = (T: number): string => `@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {`;

export interface Tiles {
  rows: number;
  keys: number;
  /** padded rows (else XOR-swizzled) */
  pad: boolean;
  /** vec4 registers per lane that may hold the next tile's global reads (0: load synchronously) */
  prefetch: number;
  /** forward only: two lanes per 4×4 tile, splitting the head dim of the scores and the output columns */
  pair?: boolean;
}

export const n4 = (x: number): number => Math.ceil(x / 4);


/** Rows' lse (base 2, 0 where a row sees no key) and D of the lane's 4 rows. */
export const rowStats = (rows: (r: number) => string, lse: string, dd: string, base: string, first: string): string =>
  R4.map((r) => `if (${first} + ${rows(r)} < NQ) { let v = ${lse}[${base} + ${rows(r)}] * ${LOG2E}; lse2.${XYZW[r]} = select(v, 0.0, v == ninf); dr.${XYZW[r]} = ${dd}[${base} + ${rows(r)}]; }`).join('\n  ');

