/**
 * FlashAttention v4 backward in WGSL (see flash4.ts): D = rowsum(dO∘O), dQ
 * by one workgroup per query block, dK and dV by one workgroup per key block
 * (FlashAttention-2, arXiv 2307.08691, Algorithm 2, without atomics).
 */
import { META } from '../wgsl.js';
import { LOG2E, MAIN, PROLOGUE, R4, XYZW, arr, at, decl, header, load, n4, pTimes, rowStats, rs, scoreTile, setLayout, staged, keyTileLoop, type Tiles } from './flash4Tiles.js';

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

/**
 * dQ = scale · Σ_key-blocks dS·K with dS = P∘(dP − D), P = exp2(S₂ − lse₂),
 * dP = dO·Vᵀ: one workgroup per query block, K and V tiles streamed; dS
 * reuses V's workgroup memory once dP is formed.
 */
export const flash4DqWgsl = (d: number, dv: number, t: Tiles): string => {
  setLayout(t.pad);
  const TY = t.rows / 4;
  const W = t.keys / 4;
  const T = TY * W;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NQc = Math.ceil(DP4 / W);
  const rows = (r: number): string => `ty + ${TY * r}`;
  const kS = staged('pk', 'Ks', 'K', t.keys, d, T, 'kRow0', 'NK', t.prefetch);
  const vS = staged('pv', 'VS', 'V', t.keys, dv, T, 'kRow0', 'NK', t.prefetch - Math.ceil((t.keys * DP4) / T));
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
  ${keyTileLoop(t, kS, vS)}
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
 * memory. Two groups of lanes, each owning 4 keys × 4 query rows of the
 * transposed score tile: group 0 forms P = exp2(K·Qᵀ − lse) and accumulates
 * dV, group 1 forms dP − D = V·dOᵀ − D and accumulates dK from
 * dS = P∘(dP − D). Splitting the work this way rather than giving every lane
 * both halves keeps one accumulator set per lane (fewer registers) and
 * doubles the warps per workgroup that hide each other's latency.
 */
export const flash4DkvWgsl = (d: number, dv: number, t: Tiles): string => {
  setLayout(t.pad);
  const KY = t.keys / 4;
  const W = t.rows / 4;
  const G = KY * W;
  const T = 2 * G;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NA = Math.ceil(Math.max(DP4, DVP4) / W);
  const keys = (r: number): string => `ty + ${KY * r}`;
  // the next query block's Q and dO tiles are read into registers while this one is computed on
  const qS = staged('pq', 'Qs', 'Q', t.rows, d, T, 'qBase', 'NQ', t.prefetch);
  const gS = staged('pg', 'Gs', 'GO', t.rows, dv, T, 'qBase', 'NQ', t.prefetch);
  // group 0 stores dV (dims dv), group 1 dK (dims d, times scale)
  const out = (name: string, dim: number, mul: string): string =>
    R4.map((r) => {
      const P4 = n4(dim);
      const st: string[] = [];
      for (let q = 0; q * W < P4; q++) {
        const ch = `tx + ${W * q}`;
        const v = `a${r}_${q}${mul}`;
        const s1 = dim % 4 === 0 ? `${name}[(kRow0 + ${keys(r)}) * ${P4} + ${ch}] = ${v};` : `{ let y = ${v}; for (var u = 0; u < 4; u++) { let c = (${ch}) * 4 + u; if (c < ${dim}) { ${name}[(kRow0 + ${keys(r)}) * ${dim} + c] = y[u]; } } }`;
        st.push((q + 1) * W > P4 ? `if (${ch} < ${P4}) { ${s1} }` : s1);
      }
      return `if (j0 + ${keys(r)} < NK) { ${st.join(' ')} }`;
    }).join('\n    ');
  // acc += Σ_k X[key r][k] · B[row k + W·c][chunk tx + W·q], X a transposed score tile (with Y: X∘Y)
  const accum = (X: string, Y: string | null, B: string, P4: number): string => {
    const lx = R4.map((r) => `let x${r} = ${X}[${at(keys(r), 'k', W)}]${Y ? ` * ${Y}[${at(keys(r), 'k', W)}]` : ''};`).join(' ');
    const body: string[] = [];
    for (let c = 0; c < 4; c++) {
      for (let q = 0; q * W < P4; q++) {
        const ch = `tx + ${W * q}`;
        const ld = `${B}[${at(`k + ${W * c}`, ch, P4)}]`;
        const upd = R4.map((r) => `a${r}_${q} = fma(vec4f(x${r}.${XYZW[c]}), y, a${r}_${q});`).join(' ');
        body.push((q + 1) * W > P4 ? `if (${ch} < ${P4}) { let y = ${ld}; ${upd} }` : `{ let y = ${ld}; ${upd} }`);
      }
    }
    return `for (var k = 0; k < ${W}; k++) {
          ${lx}
          ${body.join('\n          ')}
        }`;
  };
  return `// flash v4 dkv ${d} ${dv} ${t.rows}x${t.keys} pad${t.pad}
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
  // under the causal mask the first key blocks see the most queries: they go first
  let kb = g / BH; let bk = g % BH;
  let b = bk / HKV; let kh = bk % HKV;
  let j0 = kb * ${t.keys};
  let kRow0 = bk * NK + j0;
  let grp = i32(lid) / ${G};
  let ty = (i32(lid) % ${G}) / ${W}; let tx = i32(lid) % ${W};
  let ninf = -inf_();
  ${load('Ks', 'K', t.keys, d, T, 'kRow0 + r', 'j0 + r < NK', `(scale * ${LOG2E})`)}
  ${load('Vs', 'V', t.keys, dv, T, 'kRow0 + r', 'j0 + r < NK')}
  ${decl('a', NA)}
  let rep = H / HKV;
  let iFirst = select(0, max(0, j0 - shift), causal);
  let tStart = (iFirst / ${t.rows}) * ${t.rows};
  ${qS.decl} ${gS.decl}
  for (var hh = kh * rep; hh < (kh + 1) * rep; hh++) {
    let qBase = (b * H + hh) * NQ;
    ${qS.fetch('tStart')}
    ${gS.fetch('tStart')}
    for (var i0 = tStart; i0 < NQ; i0 += ${t.rows}) {
      ${qS.commit('i0')}
      ${gS.commit('i0')}
      for (var e = i32(lid); e < ${t.rows}; e += ${T}) {
        var lv = 0.0; var dd = 0.0;
        if (i0 + e < NQ) { lv = L[qBase + i0 + e] * ${LOG2E}; dd = DD[qBase + i0 + e]; }
        Ls[e] = select(lv, 0.0, lv == ninf); Ds[e] = dd;
      }
      workgroupBarrier();
      if (i0 + ${t.rows} < NQ) {
        let inx = i0 + ${t.rows};
        ${qS.fetch('inx')}
        ${gS.fetch('inx')}
      }
      var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
      if (grp == 0) {
        ${scoreTile('s', 'Ks', keys, 'Qs', (c) => `tx + ${W * c}`, DP4)}
        if (i0 + ${t.rows} > NQ || (causal && j0 + ${t.keys - 1} > i0 + shift)) {
          ${R4.map((r) => R4.map((c) => `if (i0 + tx + ${W * c} >= NQ || (causal && j0 + ${keys(r)} > i0 + tx + ${W * c} + shift)) { s${r}.${XYZW[c]} = ninf; }`).join('\n          ')).join('\n          ')}
        }
        let lr = vec4f(${R4.map((c) => `Ls[tx + ${W * c}]`).join(', ')});
        ${R4.map((r) => `PT[${at(keys(r), 'tx', W)}] = exp2(s${r} - lr);`).join(' ')}
      } else {
        ${scoreTile('s', 'Vs', keys, 'Gs', (c) => `tx + ${W * c}`, DVP4)}
        let dr = vec4f(${R4.map((c) => `Ds[tx + ${W * c}]`).join(', ')});
        ${R4.map((r) => `ST[${at(keys(r), 'tx', W)}] = s${r} - dr;`).join(' ')}
      }
      workgroupBarrier();
      if (grp == 0) {
        ${accum('PT', null, 'Gs', DVP4)}
      } else {
        ${accum('PT', 'ST', 'Qs', DP4)}
      }
      workgroupBarrier();
    }
  }
  if (grp == 0) {
    ${out('DVo', dv, '')}
  } else {
    ${out('DK', d, ' * scale')}
  }
}`;
};
