/**
 * The fused optimiser step: Adam and AdamW (with AMSGrad) updating a
 * parameter and its moment buffers in place, one pass, one invocation per
 * element — the same arithmetic as optim/adam.ts's loop (PyTorch's
 * formulation: ε outside the bias-corrected square root), in f32.
 *
 * Optimisers reach it through `WebGpuBackend.fusedUpdate`: the optimiser
 * driver offers each parameter's update to the backend before falling back
 * to reading the arrays on the host, which a GPU tensor cannot do.
 */
import type { WebGpuBackend } from '../backend.js';
import { isContiguous } from '../../cpu/strided.js';
import { META, mainHeader } from '../wgsl.js';
import { launchFlat, type FlatOperand } from '../split.js';
import type { Tensor } from '../../../core/tensor.js';

const WG = 64;

/** What the driver hands a fused update (see optim/optimizer.ts). */
export interface FusedUpdateArgs {
  kind: string;
  p: Tensor;
  g: Tensor;
  slots: readonly Tensor[];
  /** the rule's hyperparameters */
  h: Record<string, unknown>;
  lr: number;
  count: number;
  gScale: number;
}

function adamShader(amsgrad: boolean): string {
  return `// adam amsgrad=${amsgrad}
${META}
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
${amsgrad ? '@group(0) @binding(5) var<storage, read_write> VMAX: array<f32>;' : ''}
${mainHeader(WG)}
  let n = prm[0];
  if (gi >= n) { return; }
  let ip = prm[1] + gi;
  let ig = prm[2] + gi;
  let gScale = bitcast<f32>(prm[3]);
  let l2 = bitcast<f32>(prm[4]);
  let decay = bitcast<f32>(prm[5]);
  let b1 = bitcast<f32>(prm[6]);
  let b2 = bitcast<f32>(prm[7]);
  let stepSize = bitcast<f32>(prm[8]);
  let bc2Sqrt = bitcast<f32>(prm[9]);
  let eps = bitcast<f32>(prm[10]);
  // 1 − β computed on the host in float64: 1.0 − f32(0.999) would be off by 5e-5 relative
  let c1 = bitcast<f32>(prm[11]);
  let c2 = bitcast<f32>(prm[12]);
  var p = P[ip];
  var g = G[ig] * gScale;
  if (l2 != 0.0) { g = g + l2 * p; }
  p = p * decay;
  let m = b1 * M[gi] + c1 * g;
  let v = b2 * V[gi] + c2 * g * g;
  M[gi] = m;
  V[gi] = v;
  var vi = v;
  ${amsgrad ? 'let vm = max(VMAX[gi], v); VMAX[gi] = vm; vi = vm;' : ''}
  P[ip] = p - (stepSize * m) / (sqrt(vi) / bc2Sqrt + eps);
}`;
}

/** Run an Adam/AdamW step on the GPU; false when the tensors do not fit the kernel (the host path then runs). */
export function fusedAdam(b: WebGpuBackend, a: FusedUpdateArgs): boolean {
  if (a.kind !== 'adam' && a.kind !== 'adamw') return false;
  const tensors = [a.p, a.g, ...a.slots];
  if (!tensors.every((t) => t.dtype === 'f32' && t.storage.backend === b && isContiguous(t.shape, t.strides))) return false;
  if (a.slots.some((s) => s.offset !== 0)) return false;
  const h = a.h as { betas: readonly [number, number]; eps: number; weightDecay: number; amsgrad: boolean };
  const decoupled = a.kind === 'adamw';
  const [b1, b2] = h.betas;
  const n = a.p.size;
  const floats = [a.gScale, decoupled ? 0 : h.weightDecay, decoupled ? 1 - a.lr * h.weightDecay : 1, b1, b2, a.lr / (1 - b1 ** a.count), Math.sqrt(1 - b2 ** a.count), h.eps, 1 - b1, 1 - b2];
  // the moments are indexed from 0 (their offsets are 0): a piece of a split step (split.ts) binds them from its first element
  const ops: FlatOperand[] = [a.p, a.g, ...a.slots].map((t) => ({ storage: t.storage, offset: t.offset }));
  launchFlat(b, `adam:${h.amsgrad}`, () => adamShader(h.amsgrad), ops, n, WG, (count, off) => {
    if (off.slice(2).some((o) => o !== 0)) throw new Error('webgpu: adam: a moment buffer piece is not bound at its first element');
    return [count, off[0]!, off[1]!];
  }, floats);
  return true;
}

/**
 * dst ← src on the device, for the in-place helpers of optim/inplace.ts
 * (SGD, Lion, EMA, clipping and accumulation compute their new values with
 * tensor ops, then write them into the existing parameter and state buffers).
 * Both must be contiguous f32 on this backend, in different storages (WebGPU
 * forbids binding one buffer as read and read_write in one dispatch); false
 * otherwise.
 */
export function assignF32(b: WebGpuBackend, dst: Tensor, src: Tensor): boolean {
  const ok = (t: Tensor): boolean => t.dtype === 'f32' && t.storage.backend === b && isContiguous(t.shape, t.strides);
  if (!ok(dst) || !ok(src) || dst.storage === src.storage || dst.size !== src.size) return false;
  const n = dst.size;
  if (n === 0) return true;
  const code = (): string => `// assign f32
${META}
@group(0) @binding(1) var<storage, read> SRC: array<f32>;
@group(0) @binding(2) var<storage, read_write> DST: array<f32>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  DST[prm[1] + gi] = SRC[prm[2] + gi];
}`;
  const ops: FlatOperand[] = [src, dst].map((t) => ({ storage: t.storage, offset: t.offset }));
  launchFlat(b, 'assign:f32', code, ops, n, WG, (count, [srcOff, dstOff]) => [count, dstOff!, srcOff!]);
  return true;
}
