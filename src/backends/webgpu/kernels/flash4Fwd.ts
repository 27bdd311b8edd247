/**
 * FlashAttention v4 forward in WGSL (see flash4.ts): one workgroup per
 * (query block, head), online softmax in base 2 over key tiles, 4×4
 * register tiles, the row max combined by subgroup shuffles or workgroup
 * memory; writes O and the logsumexp per row.
 */
import { LN2, LOG2E, MAIN, PROLOGUE, R4, XYZW, arr, at, decl, header, load, n4, pTimes, reduceRow, rs, scoreTile, setLayout, staged, keyTileLoop, type Tiles } from './flash4Tiles.js';

export const flash4ForwardWgsl = (d: number, dv: number, t: Tiles, sg: number): string => {
  setLayout(t.pad);
  const TY = t.rows / 4;
  const W = t.keys / 4;
  // lane pairs (t.pair): twice the lanes, each with half the score chunks and half the output columns
  const P = t.pair ? 2 : 1;
  const T = TY * W * P;
  const [DP4, DVP4] = [n4(d), n4(dv)];
  const NQc = Math.ceil(DVP4 / (W * P));
  const needRed = Math.min(sg, W) < W;
  const kS = staged('pk', 'Ks', 'K', t.keys, d, T, 'kRow0', 'NK', t.prefetch);
  const vS = staged('pv', 'Vs', 'V', t.keys, dv, T, 'kRow0', 'NK', t.prefetch - Math.ceil((t.keys * DP4) / T));
  const rows = (r: number): string => `ty + ${TY * r}`;
  const storeO = R4.map((r) => {
    const st: string[] = [];
    for (let q = 0; q < NQc; q++) {
      const ch = P === 1 ? `tx + ${W * q}` : `tx + ${W * P * q} + ${W} * hp`;
      const v = `a${r}_${q} * inv`;
      const s1 = dv % 4 === 0 ? `O[(qRow0 + ${rows(r)}) * ${DVP4} + ${ch}] = ${v};` : `{ let y = ${v}; for (var u = 0; u < 4; u++) { let c = (${ch}) * 4 + u; if (c < ${dv}) { O[(qRow0 + ${rows(r)}) * ${dv} + c] = y[u]; } } }`;
      st.push((P * q + P) * W > DVP4 ? `if (${ch} < ${DVP4}) { ${s1} }` : s1);
    }
    return `if (i0 + ${rows(r)} < NQ) {
    let inv = 1.0 / l.${XYZW[r]};
    ${st.join('\n    ')}
    if (tx == 0${P > 1 ? ' && hp == 0' : ''}) { L[bh * NQ + i0 + ${rows(r)}] = (m.${XYZW[r]} + log2(l.${XYZW[r]})) * ${LN2}; }
  }`;
  }).join('\n  ');
  return `// flash v4 forward ${d} ${dv} ${t.rows}x${t.keys} pad${t.pad} pair${P} sg${sg}
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
  let hp = i32(lid) % ${P}; let ty = i32(lid) / ${W * P}; let tx = (i32(lid) / ${P}) % ${W};
  let ninf = -inf_();
  ${load('Qs', 'Q', t.rows, d, T, 'qRow0 + r', 'i0 + r < NQ', `(scale * ${LOG2E})`)}
  var m = vec4f(ninf);
  var l = vec4f(0.0);
  ${decl('a', NQc)}
  ${keyTileLoop(t, kS, vS)}
    var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
    ${scoreTile('s', 'Qs', rows, 'Ks', (c) => `tx + ${W * c}`, DP4, P > 1)}
    ${P > 1 ? R4.map((r) => `s${r} += subgroupShuffleXor(s${r}, 1u);`).join(' ') : ''}
    if (j0 + ${t.keys} > NK || (causal && j0 + ${t.keys - 1} > i0 + shift)) {
      ${R4.map((r) => R4.map((c) => `if (j0 + tx + ${W * c} >= NK || (causal && j0 + tx + ${W * c} > i0 + ${rows(r)} + shift)) { s${r}.${XYZW[c]} = ninf; }`).join('\n      ')).join('\n      ')}
    }
    var tm = vec4f(${R4.map((r) => `max(max(s${r}.x, s${r}.y), max(s${r}.z, s${r}.w))`).join(', ')});
    ${reduceRow('tm', 'max', W, sg, P)}
    let mNew = max(m, tm);
    let mUse = select(mNew, vec4f(0.0), mNew == vec4f(ninf));
    let corr = exp2(m - mUse);
    m = mNew;
    ${R4.map((r) => `let p${r} = exp2(s${r} - vec4f(mUse.${XYZW[r]}));`).join(' ')}
    l = l * corr + vec4f(${R4.map((r) => `dot(p${r}, vec4f(1.0))`).join(', ')});
    ${R4.map((r) => Array.from({ length: NQc }, (_, q) => `a${r}_${q} *= corr.${XYZW[r]};`).join(' ')).join('\n    ')}
    ${P > 1 ? 'if (hp == 0) {' : ''} ${R4.map((r) => `Ps[${at(rows(r), 'tx', W)}] = p${r};`).join(' ')} ${P > 1 ? '}' : ''}
    workgroupBarrier();
    ${pTimes('a', 'Ps', rows, W, 'Vs', DVP4, NQc, P)}
    workgroupBarrier();
  }
  ${reduceRow('l', '+', W, sg, P)}
  ${storeO}
}`;
};

