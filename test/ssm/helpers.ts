/** Shared by the RNN and SSM tests: seeded tensors, relative errors, gradients of a weighted sum of outputs. */
import { expect } from 'vitest';
import { tensor, sum, mul, add, valueAndGrad, backward, nn, type Tensor, type DType } from '../../src/index.js';
import { mulberry32, randn } from '../helpers/rng.js';

/** ‖a − b‖ / ‖b‖ (‖a − b‖ when b = 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export function expectRel(a: ArrayLike<number> | Tensor, b: ArrayLike<number> | Tensor, tol: number, what: string): number {
  const av = 'toF64' in a ? a.toF64() : a;
  const bv = 'toF64' in b ? b.toF64() : b;
  const e = relErr(av, bv);
  expect(e, `${what}: relative error ${e.toExponential(2)} > ${tol}`).toBeLessThanOrEqual(tol);
  return e;
}

/** A seeded source of normal (or uniform) tensors. */
export function sampler(seed: number) {
  const r = mulberry32(seed);
  return {
    normal(shape: number[], opts: { dtype?: DType; scale?: number; shift?: number } = {}): Tensor {
      const n = shape.reduce((x, y) => x * y, 1);
      return tensor(Array.from({ length: n }, () => (opts.shift ?? 0) + (opts.scale ?? 1) * randn(r)), shape, { dtype: opts.dtype ?? 'f64' });
    },
    uniform(shape: number[], lo: number, hi: number, dtype: DType = 'f64'): Tensor {
      const n = shape.reduce((x, y) => x * y, 1);
      return tensor(Array.from({ length: n }, () => lo + (hi - lo) * r()), shape, { dtype });
    },
    values(n: number): number[] {
      return Array.from({ length: n }, () => randn(r));
    },
  };
}

/**
 * Values and gradients of f at xs for the loss Σ_k ⟨f(xs)_k, w_k⟩ with fixed
 * weights w (one per output): [outputs as f64 arrays, gradients as f64 arrays].
 */
export function valuesAndGrads(f: (...xs: Tensor[]) => Tensor[], xs: Tensor[], ws: Tensor[]): [Float64Array[], Float64Array[]] {
  let outs: Float64Array[] = [];
  const loss = (...ys: Tensor[]): Tensor => {
    const o = f(...ys);
    outs = o.map((t) => t.toF64());
    return o.map((t, k) => sum(mul(t, ws[k]!))).reduce((p, q) => add(p, q));
  };
  const [v, gs] = valueAndGrad(loss)(...xs);
  v.dispose();
  const grads = gs.map((g) => g.toF64());
  gs.forEach((g) => g.dispose());
  return [outs, grads];
}

/** Gradients of loss() with respect to every parameter of m, by name (the parameters' .grad are cleared after). */
export function paramGrads(m: nn.Module, loss: () => Tensor): Record<string, Float64Array> {
  nn.zeroGrad(m);
  const l = loss();
  backward(l);
  l.dispose();
  const out: Record<string, Float64Array> = {};
  for (const [name, p] of Object.entries(nn.namedParameters(m))) out[name] = p.grad ? p.grad.toF64() : new Float64Array(p.size);
  nn.zeroGrad(m);
  return out;
}
