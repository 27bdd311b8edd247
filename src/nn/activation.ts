/** Activation functions by name, for layers configured with one (MLP, gated feed-forwards). */
import type { Tensor } from '../core/tensor.js';
import { gelu, relu, sigmoid, silu, tanh } from '../ops/elementwise.js';
import { identity } from '../ops/views.js';

/** 'gelu' is the exact (erf) GELU, PyTorch's default; 'geluTanh' its tanh approximation. */
export type ActivationName = 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'tanh' | 'sigmoid' | 'identity';
export type Activation = ActivationName | ((x: Tensor) => Tensor);

const TABLE: Record<ActivationName, (x: Tensor) => Tensor> = {
  relu,
  gelu: (x) => gelu(x, 'none'),
  geluTanh: (x) => gelu(x, 'tanh'),
  silu,
  tanh,
  sigmoid,
  identity,
};

/** The function for an activation name (a function is returned as is). */
export function activationFn(op: string, a: Activation): (x: Tensor) => Tensor {
  if (typeof a === 'function') return a;
  const f = TABLE[a as ActivationName];
  if (!f) throw new Error(`${op}: unknown activation '${String(a)}' (one of ${Object.keys(TABLE).join(', ')}, or a function)`);
  return f;
}

/** What a config records: the name, or 'custom' for a function (configs stay JSON). */
export const activationLabel = (a: Activation): string => (typeof a === 'function' ? 'custom' : a);
