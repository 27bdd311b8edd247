/** Shared helpers of the flow tests: relative errors, autodiff Jacobians and parameter jitter. */
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';

export const f64 = { dtype: 'f64' as const };
export const k = (i: number): readonly [number, number] => nb.randomKey(i);

/** ‖a − b‖ / ‖b‖ (‖a − b‖ when b = 0). */
export function relErr(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const av = a instanceof nb.Tensor ? a.toF64() : a;
  const bv = b instanceof nb.Tensor ? b.toF64() : b;
  if (av.length !== bv.length) throw new Error(`relErr: ${av.length} vs ${bv.length} values`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < av.length; i++) {
    num += (av[i]! - bv[i]!) ** 2;
    den += bv[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** log|det A| of a row-major n×n matrix by Gaussian elimination with partial pivoting (independent of the library). */
export function logAbsDet(A: Float64Array, n: number): number {
  const a = Float64Array.from(A);
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    if (p !== c) for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j]!, a[c * n + j]!];
    const piv = a[c * n + c]!;
    s += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / piv;
      for (let j = c; j < n; j++) a[r * n + j] = a[r * n + j]! - f * a[c * n + j]!;
    }
  }
  return s;
}

/**
 * The full Jacobian ∂f(x)/∂x of one example x (shape (1, …)) column by column
 * with forward mode, J[:, j] = jvp(f, x, e_j): row-major D_out × D_in.
 */
export function jacobian(f: (x: Tensor) => Tensor, x: Tensor): { J: Float64Array; rows: number; cols: number } {
  const D = x.size;
  let J: Float64Array | null = null;
  let rows = 0;
  for (let j = 0; j < D; j++) {
    const e = new Float64Array(D);
    e[j] = 1;
    const col = nb.tidy(() => {
      const [y, t] = nb.jvp((z: Tensor) => f(z), [x], [nb.tensor(e, x.shape as number[], { dtype: x.dtype })]);
      y.dispose();
      return t.toF64();
    });
    if (!J) {
      rows = col.length;
      J = new Float64Array(rows * D);
    }
    for (let i = 0; i < rows; i++) J[i * D + j] = col[i]!;
  }
  return { J: J!, rows, cols: D };
}

/** log|det ∂f/∂x| of one example from the autodiff Jacobian. */
export function autodiffLogdet(f: (x: Tensor) => Tensor, x: Tensor): number {
  const { J, rows, cols } = jacobian(f, x);
  if (rows !== cols) throw new Error(`autodiffLogdet: the Jacobian is ${rows}×${cols}`);
  return logAbsDet(J, rows);
}

/** Add N(0, std²) noise to every trainable parameter, in place (to leave the zero/identity initialisation). */
export function jitter(m: nn.Module, key: readonly [number, number], std: number): void {
  Object.values(nn.trainableParameters(m)).forEach((p, i) => {
    nb.tidy(() => nb.optim.addInto(p, nb.normal(nb.foldIn(key, i), p.shape as number[], { dtype: p.dtype, std })));
  });
}
