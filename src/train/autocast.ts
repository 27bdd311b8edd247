/**
 * Mixed precision: float32 master weights, forward computation in float16 or
 * bfloat16 (Micikevicius et al., "Mixed Precision Training", arXiv 1710.03740;
 * the op lists follow PyTorch's `torch.autocast`).
 *
 * `autocast('f16' | 'bf16', fn)` runs `fn` with a dispatch-level policy
 * (`setInputPolicy` in `ops/apply.ts`) that casts float inputs at each
 * primitive op's boundary, by the op's class:
 *
 * - **lower** (matmul, convolutions): every float32 input is cast to the 16-bit type.
 *   Parameters stay float32; their 16-bit copies are made per use, and the
 *   VJP of `astype` casts gradients back, so masters receive float32 grads.
 * - **narrow** (add, sub, mul, div, where, maximum, minimum, concat,
 *   scatter-adds): when any float input is already 16-bit, float32 inputs are
 *   cast down too (a float32 bias added to a float16 activation stays 16-bit);
 *   when all are float32 the op runs in float32. 16-bit activations thus stay
 *   16-bit, and arithmetic on float32 statistics stays float32.
 * - **float32** (sum, prod, cumsum, cumprod, linear recurrences; exp, log,
 *   expm1, log1p, pow, square, reciprocal, rsqrt, softplus; linear algebra and
 *   FFTs): 16-bit inputs are cast up. Every reduction therefore accumulates
 *   and stores in float32 and range-hungry functions cannot overflow.
 * - everything else (views, indexing, max/min, unary activations such as
 *   relu, tanh, gelu) follows its input's dtype.
 *
 * Composites inherit the policy through their primitives: softmax's and
 * logsumexp's sums are float32 (softmax returns float32, as under PyTorch's
 * autocast), a layer norm's mean and variance are float32 while its
 * normalised output is 16-bit, and losses end in a float32 reduction, so the
 * loss is float32. float64 tensors are never cast. The policy applies to
 * forward computation only: backward follows the dtypes the forward chose
 * (the engine casts each cotangent to its input's dtype), as in PyTorch.
 *
 * Scopes are synchronous and nest; `autocast('f32', fn)` switches the policy
 * off inside an outer scope. Loss scaling (float16 only needs it) lives in
 * `lossScale.ts`; `step.ts` puts the two together.
 */
import { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { anomaly } from '../autodiff/tape.js';
import { setInputPolicy } from '../ops/apply.js';
import { astype } from '../ops/elementwise.js';
import type { OpDef } from '../ops/registry.js';

/** The 16-bit type to compute in, or 'f32' for full precision. */
export type Precision = 'f16' | 'bf16' | 'f32';

/** How the policy treats an op's inputs (see the file comment). */
export type CastClass = 'lower' | 'narrow' | 'float32';

// convBackpropInput is also the forward op of transposed convolutions
const LOWER = ['matmul', 'conv', 'convBackpropInput', 'convBackpropFilter'];
const NARROW = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'where', 'concat', 'scatter', 'scatterAdd', 'indexAdd'];
const FLOAT32 = [
  // reductions and scans: accumulate and store in float32
  'sum',
  'prod',
  'cumsum',
  'cumprod',
  'linearRecurrence',
  // functions whose range float16 cannot hold (exp(12) > 65504, 1/x and x² overflow)
  'exp',
  'expm1',
  'log',
  'log1p',
  'pow',
  'square',
  'reciprocal',
  'rsqrt',
  'softplus',
  // softmax returns float32 under autocast, as in PyTorch (the fused op of softmax(x, -1))
  'softmaxLast',
  // linear algebra and transforms are not meaningful in 16 bits
  'solve',
  'triangularSolve',
  'slogdet',
  'cholesky',
  'qr',
  'eigh',
  'svd',
  'randomizedSvd',
  'fft',
  'rfft',
  'irfft',
];

const CLASSES = new Map<string, CastClass>([
  ...LOWER.map((n) => [n, 'lower'] as const),
  ...NARROW.map((n) => [n, 'narrow'] as const),
  ...FLOAT32.map((n) => [n, 'float32'] as const),
]);

/** Every classified op by name (the tests check each is a real primitive). */
export const CAST_CLASSES: ReadonlyMap<string, CastClass> = CLASSES;

/** The cast class of an op under autocast (undefined: it follows its inputs). */
export function castClassOf(opName: string): CastClass | undefined {
  return CLASSES.get(opName);
}

const is16 = (d: DType): boolean => d === 'f16' || d === 'bf16';

let active: Exclude<Precision, 'f32'> | null = null;

/** The precision the current scope computes in ('f32' outside any autocast scope). */
export function autocastPrecision(): Precision {
  return active ?? 'f32';
}

/** The cast each input needs under `dtype` for an op of class `cls` (null: none). */
function targetDTypes(cls: CastClass, inputs: readonly Tensor[], dtype: DType): (DType | null)[] | null {
  const live = inputs.map((x) => x instanceof Tensor && !x.disposed);
  if (cls === 'float32') return inputs.map((x, i) => (live[i] && is16(x.dtype) ? 'f32' : null));
  if (cls === 'narrow' && !inputs.some((x, i) => live[i] && is16(x.dtype))) return null;
  // lower, or narrow with a 16-bit input: everything float32 (and the other 16-bit type) goes to dtype
  return inputs.map((x, i) => (live[i] && (x.dtype === 'f32' || (is16(x.dtype) && x.dtype !== dtype)) ? dtype : null));
}

function policy(op: OpDef<unknown>, inputs: readonly Tensor[]): Tensor[] | null {
  // forward only: during backward, VJP rules run in the dtypes the forward pass chose
  if (active === null || anomaly.phase === 'backward') return null;
  const cls = CLASSES.get(op.name);
  if (!cls) return null;
  const want = targetDTypes(cls, inputs, active);
  if (!want || want.every((d) => d === null)) return null;
  const out: Tensor[] = [];
  try {
    want.forEach((d, i) => out.push(d ? astype(inputs[i]!, d) : inputs[i]!));
  } catch (e) {
    out.forEach((t, i) => t !== inputs[i] && t.dispose());
    throw e;
  }
  return out;
}

/**
 * Run `fn` with its ops computing in `precision` ('f16' or 'bf16'; 'f32'
 * switches autocast off inside an enclosing scope). Returns what `fn` returns.
 */
export function autocast<R>(precision: Precision, fn: () => R): R {
  if (precision !== 'f16' && precision !== 'bf16' && precision !== 'f32') {
    throw new Error(`autocast: precision must be 'f16', 'bf16' or 'f32', got ${String(precision)}`);
  }
  if (typeof fn !== 'function') throw new Error('autocast: fn must be a function');
  return withAutocast(precision, fn);
}

/**
 * Run `fn` under a given precision, as `autocast` does, without validation:
 * gradient checkpointing replays a segment's forward pass under the precision
 * it first ran with.
 */
export function withAutocast<R>(precision: Precision, fn: () => R): R {
  const prevActive = active;
  const prevPolicy = setInputPolicy(policy);
  active = precision === 'f32' ? null : precision;
  let r: R;
  try {
    r = fn();
  } finally {
    active = prevActive;
    setInputPolicy(prevPolicy);
  }
  if (r instanceof Promise) throw new Error('autocast: fn returned a Promise; autocast scopes are synchronous (wrap each synchronous forward pass)');
  return r;
}
