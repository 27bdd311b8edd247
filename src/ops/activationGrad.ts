/**
 * The backward of GELU and SiLU as single elementwise primitives:
 * (x, g) ↦ g·f′(x), one pass (one native kernel on the CPU backend) where the
 * derivative written in tensor ops costs six to ten passes and as many
 * temporaries. The unary ops' VJP (elementwise.ts) uses them when the
 * backward pass is not itself recorded (grad mode off inside the rule, no
 * forward-mode tangents); a recorded backward (grad of grad) keeps the
 * differentiable tensor-op derivative. These primitives are therefore never
 * differentiated; their rules say so if anything tries.
 *
 * Derivatives (Hendrycks & Gimpel 2016, arXiv 1606.08415; Elfwing et al.
 * 2018, arXiv 1702.03118), exactly as the tensor-op forms in elementwise.ts:
 * - gelu (tanh form): ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³));
 * - geluErf: Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π);
 * - silu: σ(x)(1 + x(1 − σ(x))).
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { erf as erfF64, sigmoid as sigmoidF64 } from '../core/special.js';
import { isGradEnabled, jvpState } from '../autodiff/tape.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** f′(x) in float64, by activation. */
export const ACTIVATION_DERIVATIVES = {
  geluGrad: (x: number): number => {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
  },
  geluErfGrad: (x: number): number => 0.5 * (1 + erfF64(x * Math.SQRT1_2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI,
  siluGrad: (x: number): number => {
    const s = sigmoidF64(x);
    return s * (1 + x * (1 - s));
  },
} as const;

export type ActivationGradName = keyof typeof ACTIVATION_DERIVATIVES;

function makeGrad(name: ActivationGradName): OpDef<undefined> {
  const d = ACTIVATION_DERIVATIVES[name];
  return defineOp<undefined>({
    name,
    // inputs [x, g], same shape, same floating dtype
    infer: ([x, g]) => {
      if (!isFloat(x!.dtype) || x!.dtype !== g!.dtype) throw new Error(`${name}: x and g must be floating tensors of one dtype, got ${x!.dtype} and ${g!.dtype}`);
      if (!shapesEqual(x!.shape, g!.shape)) throw new Error(`${name}: g is ${shapeStr(g!.shape)} but x is ${shapeStr(x!.shape)}`);
      return [{ shape: x!.shape, dtype: x!.dtype }];
    },
    ref: ([x, g]) => {
      const y = new Float64Array(x!.length);
      for (let i = 0; i < y.length; i++) y[i] = g![i]! * d(x![i]!);
      return [y];
    },
    vjp: () => {
      throw new Error(`${name}: this backward primitive is not differentiable; differentiate the activation instead`);
    },
    jvp: () => {
      throw new Error(`${name}: this backward primitive has no JVP; differentiate the activation instead`);
    },
  });
}

export const geluGradOp = makeGrad('geluGrad');
export const geluErfGradOp = makeGrad('geluErfGrad');
export const siluGradOp = makeGrad('siluGrad');

/** The fused backward op of a unary op, by the unary op's name. */
const BY_UNARY: Readonly<Record<string, OpDef<undefined>>> = { gelu: geluGradOp, geluErf: geluErfGradOp, silu: siluGradOp };

/**
 * g·f′(x) as one fused op when unary op `unary` has one, the backward pass is
 * not recorded and x, g are floating tensors of one dtype and shape;
 * otherwise undefined (the caller builds the differentiable form).
 */
export function fusedActivationGrad(unary: string, x: Tensor, g: Tensor): Tensor | undefined {
  const op = BY_UNARY[unary];
  if (!op || isGradEnabled() || jvpState.active.length > 0) return undefined;
  if (!isFloat(x.dtype) || x.dtype !== g.dtype || !shapesEqual(x.shape, g.shape)) return undefined;
  return apply(op, [x, g], undefined)[0]!;
}

function check(op: string, x: unknown, g: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (!(g instanceof Tensor)) throw new Error(`${op}: g must be a Tensor, got ${g === null ? 'null' : typeof g}`);
  x.assertAlive(op, 'x');
  g.assertAlive(op, 'g');
}

/** g·gelu′(x) in one op (approximate 'tanh' or the exact 'none', as `gelu`). Not differentiable. */
export function geluGrad(x: Tensor, g: Tensor, approximate: 'tanh' | 'none' = 'none'): Tensor {
  check('geluGrad', x, g);
  return apply(approximate === 'none' ? geluErfGradOp : geluGradOp, [x, g], undefined)[0]!;
}

/** g·silu′(x) in one op. Not differentiable. */
export function siluGrad(x: Tensor, g: Tensor): Tensor {
  check('siluGrad', x, g);
  return apply(siluGradOp, [x, g], undefined)[0]!;
}
