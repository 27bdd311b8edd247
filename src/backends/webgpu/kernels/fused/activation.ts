/**
 * The fused activation backwards (ops/activationGrad.ts): (x, g) ↦ g·f′(x)
 * for GELU in its tanh and erf forms and for SiLU, one elementwise pass
 * through the shared strided elementwise generator (kernels/elementwise.ts).
 * Derivatives (Hendrycks & Gimpel, arXiv 1606.08415; Elfwing et al., arXiv
 * 1702.03118), as the float64 references write them:
 * - gelu (tanh): ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³));
 * - geluErf: Φ(x) + x·φ(x);
 * - silu: σ(x)(1 + x(1 − σ(x))).
 */
import type { Kernel } from '../../../backend.js';
import type { WebGpuBackend } from '../../backend.js';
import { launchElementwise } from '../elementwise.js';
import { allF32 } from './rows.js';

const K = Math.sqrt(2 / Math.PI).toPrecision(10);
const INV_SQRT_2PI = (1 / Math.sqrt(2 * Math.PI)).toPrecision(10);

/** f′(x)·g as a WGSL expression of the loaded x and g. */
const DERIV: Record<string, (x: string, g: string) => string> = {
  geluGrad: (x, g) => {
    const t = `tanh_(${K} * (${x} + 0.044715 * ${x} * ${x} * ${x}))`;
    return `(${g}) * (0.5 * (1.0 + ${t}) + 0.5 * ${x} * (1.0 - ${t} * ${t}) * ${K} * (1.0 + 0.134145 * ${x} * ${x}))`;
  },
  geluErfGrad: (x, g) => `(${g}) * (0.5 * (1.0 + erf_(${x} * 0.70710678118)) + ${x} * exp(-0.5 * ${x} * ${x}) * ${INV_SQRT_2PI})`,
  siluGrad: (x, g) => `(${g}) * (1.0 / (1.0 + exp(-${x}))) * (1.0 + ${x} * (1.0 - 1.0 / (1.0 + exp(-${x}))))`,
};

export function registerActivationGrads(b: WebGpuBackend): void {
  for (const [name, d] of Object.entries(DERIV)) {
    const k: Kernel = (inputs, _attrs, outs) => {
      if (!allF32(inputs) || outs[0]!.dtype !== 'f32') return undefined;
      return [launchElementwise(b, `${name}:f32`, inputs, outs[0]!, ([x, g]) => [d(`(${x!})`, g!), 'f32'])];
    };
    b.kernels.set(name, Object.assign(k, { dtypes: ['f32'] as const }));
  }
}
