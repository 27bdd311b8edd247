/**
 * The divergence tr(∂f/∂x) of a vector field, the quantity a continuous
 * normalising flow integrates (FFJORD, Grathwohl et al., arXiv 1810.01367,
 * eq. 4 and §3.1):
 *
 * - exact: Σᵢ (J eᵢ)ᵢ with one forward-mode pass per coordinate — d passes,
 *   right for low dimension (the 2-D toys);
 * - Hutchinson's estimator (Hutchinson 1990; FFJORD eq. 7):
 *   tr(J) = E_ε[εᵀJε] for any ε with E[ε] = 0, Cov(ε) = I, one pass per probe.
 *   Gaussian ε: Var = ‖J‖_F² + tr(J²) = 2‖sym J‖_F²; Rademacher ε (±1):
 *   Var = 2(‖sym J‖_F² − Σᵢ Jᵢᵢ²), never larger.
 *
 * Jε is a Jacobian-vector product (forward mode), so both forms also give
 * f(x) for free, and both are differentiable again by reverse mode (training
 * backpropagates through them).
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { tensor } from '../../ops/creation.js';
import { add, mul } from '../../ops/elementwise.js';
import { normal } from '../../ops/random.js';
import { sum } from '../../ops/reduce.js';
import { slice } from '../../ops/slice.js';
import { broadcastTo, reshape } from '../../ops/views.js';
import { jvp } from '../../autodiff/forward.js';

export type TraceMethod = 'exact' | 'hutchinson';
export type ProbeKind = 'gaussian' | 'rademacher';

/** A probe ε of shape `shape`: standard normal or Rademacher (±1 with probability ½). */
export function hutchinsonProbe(key: Key, shape: readonly number[], kind: ProbeKind = 'gaussian', dtype?: DType): Tensor {
  if (kind === 'gaussian') return normal(key, shape, { dtype });
  if (kind === 'rademacher') return tensor(prng.rademacher(key, shape.reduce((a, b) => a * b, 1)), shape.slice(), { dtype });
  throw new Error(`hutchinsonProbe: kind must be 'gaussian' or 'rademacher', got ${String(kind)}`);
}

function checkBatchOfVectors(op: string, x: Tensor): void {
  if (x.ndim !== 2) throw new Error(`${op}: x is ${shapeStr(x.shape)}; expected (b, d)`);
}

/** f(x) and the exact divergence Σᵢ ∂fᵢ/∂xᵢ per example, by d forward-mode passes: x (b, d) → [(b, d), (b,)]. */
export function exactDivergence(f: (x: Tensor) => Tensor, x: Tensor): [Tensor, Tensor] {
  checkBatchOfVectors('exactDivergence', x);
  const d = x.shape[1]!;
  return tidy(() => {
    let fx: Tensor | null = null;
    let div: Tensor | null = null;
    for (let i = 0; i < d; i++) {
      const e = new Float64Array(d);
      e[i] = 1;
      const ei = broadcastTo(tensor(e, [1, d], { dtype: x.dtype }), x.shape);
      const [y, Je] = jvp((z: Tensor) => f(z), [x], [ei]);
      fx ??= y;
      // (J eᵢ)ᵢ = ∂fᵢ/∂xᵢ
      const dii = reshape(slice(Je, [null, { start: i, stop: i + 1 }]), [x.shape[0]!]);
      div = div ? add(div, dii) : dii;
    }
    return [fx!, div!];
  });
}

/** f(x) and Hutchinson's estimate εᵀ(∂f/∂x)ε per example with the given probe ε (b, d): one forward-mode pass. */
export function hutchinsonDivergence(f: (x: Tensor) => Tensor, x: Tensor, eps: Tensor): [Tensor, Tensor] {
  checkBatchOfVectors('hutchinsonDivergence', x);
  if (eps.ndim !== 2 || eps.shape[0] !== x.shape[0] || eps.shape[1] !== x.shape[1]) throw new Error(`hutchinsonDivergence: the probe is ${shapeStr(eps.shape)} but x is ${shapeStr(x.shape)}`);
  return tidy(() => {
    const [y, Je] = jvp((z: Tensor) => f(z), [x], [eps]);
    return [y, sum(mul(eps, Je), 1)];
  });
}
