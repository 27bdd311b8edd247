/**
 * Layer norm (Ba, Kiros, Hinton, arXiv 1607.06450) and RMS norm (Zhang,
 * Sennrich, arXiv 1910.07467) over the trailing k axes, forward and the
 * one-pass backward (ops/fused.ts: layerNormFused, rmsNormFused,
 * layerNormGrad, rmsNormGrad), in f32.
 *
 * Forward, one workgroup per row: μ = Σx/D by a workgroup tree, then the
 * variance as Σ(x − μ)²/D in a second sweep (two-pass, as the reference: the
 * one-pass E[x²] − μ² cancels badly when |μ| ≫ σ), then y = (x − μ)·r·w + b
 * with r = 1/√(var + ε).
 *
 * Backward. ∂x per row: r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = g·w, both means
 * from one paired workgroup reduction; the row kernel also keeps (μ, r) per
 * row. ∂w = Σ_rows g·x̂ and ∂b = Σ_rows g are column sums: a second kernel
 * tiles 32 columns × 8 row lanes per workgroup (coalesced reads along a row)
 * over chunks of rows, writing per-chunk partials that a third, tiny kernel
 * adds up (so a long batch still spreads over many workgroups, and the
 * result is deterministic: no atomics).
 */
import type { Kernel, Storage, View } from '../../../backend.js';
import type { NormAttrs } from '../../../../ops/fused.js';
import type { WebGpuBackend } from '../../backend.js';
import { MATH, META, mainHeader } from '../../wgsl.js';
import { allF32, reductions, rowMain, rowPlan, rowWorkgroup, type RowOperand } from './rows.js';

/** Statistics sweeps shared by the forward and backward row kernels: leaves mu and r. */
function statsCode(rms: boolean, WG: number): string {
  return `
  var mu = 0.0;
  ${rms ? '' : `for (var t = first; t < D; t += ${WG}) { mu += X[bx + at0(t)]; }
  mu = wgSum(mu, lid) / f32(D);`}
  var v = 0.0;
  for (var t = first; t < D; t += ${WG}) { let c = X[bx + at0(t)] - mu; v += c * c; }
  v = wgSum(v, lid) / f32(D);
  let r = 1.0 / sqrt(v + eps);`;
}

function normForward(b: WebGpuBackend, rms: boolean, inputs: readonly View[], a: NormAttrs): Storage {
  const x = inputs[0]!;
  const ops: RowOperand[] = inputs.map((v, i) => ({ view: v, kind: i === 0 ? 'row' : 'tail' }));
  const p = rowPlan(x.shape, a.k, ops);
  const res = b.alloc('f32', p.rows * p.D);
  if (p.rows === 0 || p.D === 0) return res;
  const WG = rowWorkgroup(b, p.D);
  const wi = a.weight ? 1 : 0;
  const bi = a.bias ? wi + 1 : 0;
  const decl = [
    a.weight ? `@group(0) @binding(2) var<storage, read> W: array<f32>;` : '',
    a.bias ? `@group(0) @binding(${bi + 1}) var<storage, read> B: array<f32>;` : '',
  ].join('\n');
  let y = '(X[bx + at0(t)] - mu) * r';
  if (a.weight) y = `${y} * W[bw + at${wi}(t)]`;
  if (a.bias) y = `${y} + B[bb + at${bi}(t)]`;
  const outBinding = inputs.length + 1;
  const code = (): string => `// ${rms ? 'rmsNormFused' : 'layerNormFused'} w=${a.weight} b=${a.bias}
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
${decl}
@group(0) @binding(${outBinding}) var<storage, read_write> Y: array<f32>;
${MATH}
${p.index}
${reductions(WG)}
${rowMain(WG)}
  let eps = bitcast<f32>(prm[${p.ints.length}]);
  let bx = base0(o);
  ${a.weight ? `let bw = base${wi}(o);` : ''}
  ${a.bias ? `let bb = base${bi}(o);` : ''}
  let ob = o * D;
  ${statsCode(rms, WG)}
  for (var t = first; t < D; t += ${WG}) { Y[ob + t] = ${y}; }
}`;
  b.launch(`fused:norm:${rms}:${a.weight}:${a.bias}:${WG}:${p.key}`, code, [...inputs.map((v) => v.storage), res], p.rows, p.ints, [a.eps]);
  return res;
}

const COLS = 32;
const LANES = 8;

function normBackward(b: WebGpuBackend, rms: boolean, inputs: readonly View[], a: NormAttrs): Storage[] {
  const x = inputs[0]!;
  const g = inputs[inputs.length - 1]!;
  const ops: RowOperand[] = [{ view: x, kind: 'row' }, ...(a.weight ? [{ view: inputs[1]!, kind: 'tail' as const }] : []), { view: g, kind: 'row' }];
  const p = rowPlan(x.shape, a.k, ops);
  const gi = ops.length - 1;
  const wantB = !rms && a.bias;
  const gx = b.alloc('f32', p.rows * p.D);
  const gw = a.weight ? b.alloc('f32', p.D) : undefined;
  const gb = wantB ? b.alloc('f32', p.D) : undefined;
  const outs = [gx, ...(gw ? [gw] : []), ...(gb ? [gb] : [])];
  if (p.D === 0) return outs;
  if (p.rows === 0) {
    for (const s of [gw, gb]) if (s) b.fill(s, 0);
    return outs;
  }
  const WG = rowWorkgroup(b, p.D);
  const wantCols = !!(gw || gb);
  const stats = wantCols ? b.alloc('f32', 2 * p.rows) : undefined;
  const gh = a.weight ? `G[bg + at${gi}(t)] * W[bw + at1(t)]` : `G[bg + at${gi}(t)]`;
  const n = ops.length;
  const rowCode = (): string => `// ${rms ? 'rmsNormGrad' : 'layerNormGrad'} rows w=${a.weight}
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
${a.weight ? '@group(0) @binding(2) var<storage, read> W: array<f32>;' : ''}
@group(0) @binding(${n}) var<storage, read> G: array<f32>;
@group(0) @binding(${n + 1}) var<storage, read_write> GX: array<f32>;
${wantCols ? `@group(0) @binding(${n + 2}) var<storage, read_write> ST: array<f32>;` : ''}
${MATH}
${p.index}
${reductions(WG)}
${rowMain(WG)}
  let eps = bitcast<f32>(prm[${p.ints.length}]);
  let bx = base0(o);
  ${a.weight ? 'let bw = base1(o);' : ''}
  let bg = base${gi}(o);
  let ob = o * D;
  ${statsCode(rms, WG)}
  var c = vec2f(0.0, 0.0);
  for (var t = first; t < D; t += ${WG}) {
    let h = ${gh};
    c += vec2f(h, h * (X[bx + at0(t)] - mu) * r);
  }
  c = wgSum2(c, lid) / f32(D);
  ${rms ? 'c.x = 0.0;' : ''}
  for (var t = first; t < D; t += ${WG}) {
    let h = ${gh};
    GX[ob + t] = r * (h - c.x - (X[bx + at0(t)] - mu) * r * c.y);
  }
  ${wantCols ? 'if (lid == 0u) { ST[2 * o] = mu; ST[2 * o + 1] = r; }' : ''}
}`;
  b.launch(`fused:normGrad:${rms}:${a.weight}:${wantCols}:${WG}:${p.key}`, rowCode, [...inputs.map((v) => v.storage), gx, ...(stats ? [stats] : [])], p.rows, p.ints, [a.eps]);
  if (!wantCols) return outs;

  // column sums over chunks of rows: partials [chunks, D] of (Σ g·x̂, Σ g)
  const colBlocks = Math.ceil(p.D / COLS);
  const chunks = Math.max(1, Math.min(64, Math.ceil(p.rows / 64)));
  const part = b.alloc('f32', 2 * chunks * p.D);
  const colCode = (): string => `// ${rms ? 'rmsNormGrad' : 'layerNormGrad'} columns
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> ST: array<f32>;
@group(0) @binding(4) var<storage, read_write> PART: array<f32>;
${p.index}
var<workgroup> acc: array<vec2f, ${COLS * LANES}>;
@compute @workgroup_size(${COLS * LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let R = prm[0]; let D = prm[1];
  let blk = i32(wid.y * nwg.x + wid.x);
  let CB = ${colBlocks}; let CH = ${chunks};
  if (blk >= CB * CH) { return; }
  let chunk = blk / CB;
  let col = (blk % CB) * ${COLS} + i32(lid % ${COLS}u);
  let lane = i32(lid / ${COLS}u);
  let per = (R + CH - 1) / CH;
  let r1 = min(R, (chunk + 1) * per);
  var s = vec2f(0.0, 0.0);
  if (col < D) {
    let ax = at0(col); let ag = at${gi}(col);
    for (var row = chunk * per + lane; row < r1; row += ${LANES}) {
      let gv = G[base${gi}(row) + ag];
      s += vec2f(gv * (X[base0(row) + ax] - ST[2 * row]) * ST[2 * row + 1], gv);
    }
  }
  acc[lid] = s;
  workgroupBarrier();
  for (var w = ${LANES / 2}u; w > 0u; w = w / 2u) {
    if (lid < w * ${COLS}u) { acc[lid] = acc[lid] + acc[lid + w * ${COLS}u]; }
    workgroupBarrier();
  }
  if (lid < ${COLS}u && col < D) { PART[2 * (chunk * D + col)] = acc[lid].x; PART[2 * (chunk * D + col) + 1] = acc[lid].y; }
}`;
  b.launch(`fused:normGradCols:${gi}:${colBlocks}:${chunks}:${p.key}`, colCode, [x.storage, g.storage, stats!, part], colBlocks * chunks, p.ints);

  const finCode = (): string => `// norm grad: add the chunks' partials
${META}
@group(0) @binding(1) var<storage, read> PART: array<f32>;
${gw ? '@group(0) @binding(2) var<storage, read_write> GW: array<f32>;' : ''}
${gb ? `@group(0) @binding(${gw ? 3 : 2}) var<storage, read_write> GB: array<f32>;` : ''}
${mainHeader(64)}
  let D = prm[0];
  if (gi >= D) { return; }
  var s = vec2f(0.0, 0.0);
  for (var c = 0; c < prm[1]; c++) { s += vec2f(PART[2 * (c * D + gi)], PART[2 * (c * D + gi) + 1]); }
  ${gw ? 'GW[gi] = s.x;' : ''}
  ${gb ? 'GB[gi] = s.y;' : ''}
}`;
  b.launch(`fused:normGradFin:${!!gw}:${!!gb}`, finCode, [part, ...(gw ? [gw] : []), ...(gb ? [gb] : [])], Math.ceil(p.D / 64), [p.D, chunks]);
  b.free(part);
  b.free(stats!);
  return outs;
}

export function registerNorm(b: WebGpuBackend): void {
  const f32 = { dtypes: ['f32'] as const };
  for (const rms of [false, true]) {
    const fwd: Kernel = (inputs, attrs, outs) => (allF32(inputs) && outs[0]!.dtype === 'f32' ? [normForward(b, rms, inputs, attrs as NormAttrs)] : undefined);
    const bwd: Kernel = (inputs, attrs, outs) => (allF32(inputs) && outs.every((m) => m.dtype === 'f32') ? normBackward(b, rms, inputs, attrs as NormAttrs) : undefined);
    b.kernels.set(rms ? 'rmsNormFused' : 'layerNormFused', Object.assign(fwd, f32));
    b.kernels.set(rms ? 'rmsNormGrad' : 'layerNormGrad', Object.assign(bwd, f32));
  }
}
