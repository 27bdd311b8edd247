/**
 * The fused WGSL kernels, registered on a WebGPU backend by op name: the
 * transformer-step primitives of ops/fused.ts and ops/activationGrad.ts
 * (softmax, log-softmax and their backward; layer and RMS norm, forward and
 * backward; the GELU and SiLU backwards), and the sequence ops of the zoo.
 */
import type { WebGpuBackend } from '../../backend.js';
import { registerActivationGrads } from './activation.js';
import { registerNorm } from './norm.js';
import { registerSoftmax } from './softmax.js';
import { registerScan } from './scan.js';
import { registerRnn } from './rnn.js';
import { linearAttentionGpu, type LinearGpuOptions } from './linearAttention.js';
import type { Tensor } from '../../../../core/tensor.js';

export function registerFused(b: WebGpuBackend): void {
  registerSoftmax(b);
  registerNorm(b);
  registerActivationGrads(b);
  registerScan(b);
  registerRnn(b);
  // not an op: zoo/attention/linear.ts asks the tensors' backend for it (as flashAttention does)
  Object.assign(b, { linearAttention: (q: Tensor, k: Tensor, v: Tensor, o: LinearGpuOptions) => linearAttentionGpu(b, q, k, v, o) });
}
