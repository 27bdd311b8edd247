/**
 * Softmax and log-softmax over the last axis (ops/fused.ts: softmaxLast,
 * logSoftmaxLast) and their one-pass backward (softmaxLastGrad), one
 * workgroup per row.
 *
 * Forward: the row max (NaN-propagating, replaced by 0 when not finite, as
 * the reference does so that ±∞ rows give the same NaNs and zeros), then
 * Σ exp(x − m) by a workgroup tree, then the row written: e^{x−m}/s, or
 * x − (m + log s). The max and the sum take separate sweeps rather than the
 * online (m, s) rescaling (Milakov & Gimelshein, arXiv 1805.02867) so the
 * non-finite cases match the reference exactly; a row is re-read from cache.
 * Backward from the output y and cotangent g: y·(g − Σ g·y), or
 * g − e^y·Σ g for log-softmax.
 */
import type { Kernel, Storage, View } from '../../../backend.js';
import type { WebGpuBackend } from '../../backend.js';
import { MATH, META } from '../../wgsl.js';
import { allF32, reductions, rowMain, rowPlan, rowWorkgroup } from './rows.js';

function softmaxKernel(b: WebGpuBackend, x: View, log: boolean): Storage {
  const p = rowPlan(x.shape, 1, [{ view: x, kind: 'row' }]);
  const res = b.alloc('f32', p.rows * p.D);
  if (p.rows === 0 || p.D === 0) return res;
  const WG = rowWorkgroup(b, p.D);
  const write = log ? 'Y[ob + t] = select(X[bx + at0(t)] - lse, nan_(), bad);' : 'Y[ob + t] = select(exp(X[bx + at0(t)] - m) / s, nan_(), bad);';
  const code = (): string => `// ${log ? 'logSoftmaxLast' : 'softmaxLast'}
${META}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${MATH}
${p.index}
${reductions(WG)}
${rowMain(WG)}
  let bx = base0(o);
  let ob = o * D;
  var m = -inf_();
  for (var t = first; t < D; t += ${WG}) { m = max_(m, X[bx + at0(t)]); }
  m = wgMax(m, lid);
  // a NaN anywhere makes the whole row NaN (stated, not left to exp(NaN): drivers may assume no NaNs)
  let bad = isnan_(m);
  if (!isfinite_(m)) { m = 0.0; }
  var s = 0.0;
  for (var t = first; t < D; t += ${WG}) { s += exp(X[bx + at0(t)] - m); }
  s = wgSum(s, lid);
  let lse = m + log(s);
  for (var t = first; t < D; t += ${WG}) { ${write} }
}`;
  b.launch(`fused:softmax:${log}:${WG}:${p.key}`, code, [x.storage, res], p.rows, p.ints);
  return res;
}

function softmaxGradKernel(b: WebGpuBackend, y: View, g: View, log: boolean): Storage {
  const p = rowPlan(y.shape, 1, [
    { view: y, kind: 'row' },
    { view: g, kind: 'row' },
  ]);
  const res = b.alloc('f32', p.rows * p.D);
  if (p.rows === 0 || p.D === 0) return res;
  const WG = rowWorkgroup(b, p.D);
  const term = log ? 'G[bg + at1(t)]' : 'G[bg + at1(t)] * Y[by + at0(t)]';
  const write = log ? 'O[ob + t] = G[bg + at1(t)] - exp(Y[by + at0(t)]) * s;' : 'O[ob + t] = Y[by + at0(t)] * (G[bg + at1(t)] - s);';
  const code = (): string => `// softmaxLastGrad log=${log}
${META}
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
${MATH}
${p.index}
${reductions(WG)}
${rowMain(WG)}
  let by = base0(o);
  let bg = base1(o);
  let ob = o * D;
  var s = 0.0;
  for (var t = first; t < D; t += ${WG}) { s += ${term}; }
  s = wgSum(s, lid);
  for (var t = first; t < D; t += ${WG}) { ${write} }
}`;
  b.launch(`fused:softmaxGrad:${log}:${WG}:${p.key}`, code, [y.storage, g.storage, res], p.rows, p.ints);
  return res;
}

export function registerSoftmax(b: WebGpuBackend): void {
  const f32 = { dtypes: ['f32'] as const };
  const fwd = (log: boolean): Kernel => (inputs, _attrs, outs) => (allF32(inputs) && outs[0]!.dtype === 'f32' ? [softmaxKernel(b, inputs[0]!, log)] : undefined);
  b.kernels.set('softmaxLast', Object.assign(fwd(false), f32));
  b.kernels.set('logSoftmaxLast', Object.assign(fwd(true), f32));
  const grad: Kernel = (inputs, attrs) => (allF32(inputs) ? [softmaxGradKernel(b, inputs[0]!, inputs[1]!, (attrs as { log: boolean }).log)] : undefined);
  b.kernels.set('softmaxLastGrad', Object.assign(grad, f32));
}
