/**
 * The rotation trick — Fifty, Junkins, Duan, Iger, Liu, Buchanan & Fattal,
 * "Restructuring Vector Quantization with the Rotation Trick", arXiv 2410.06424
 * (§4.1–4.2, eq. 4–6 and Algorithm 1).
 *
 * Instead of copying the gradient straight through (z_q = z + sg(e − z)),
 * the quantiser output is written as a rotation and rescaling of z,
 *
 *   z_q = sg(λR)·z,   λ = ‖e‖/‖z‖,   R ẑ = ê   (ẑ = z/‖z‖, ê = e/‖e‖)
 *
 * so the forward value is e exactly (λ‖z‖ê = e) while the gradient reaching z
 * is λRᵀ∇_{z_q}L: rotated by the angle between z and its code and scaled by
 * their norm ratio, rather than passed unchanged. R is the composition of two
 * Householder reflections — across the hyperplane orthogonal to
 * r = (ẑ + ê)/‖ẑ + ê‖ (taking ẑ to −ê), then across the one orthogonal to ê
 * (taking −ê to ê):
 *
 *   R = (I − 2êêᵀ)(I − 2rrᵀ) = I − 2rrᵀ + 2êẑᵀ
 *
 * and R·z is computed without forming R: z − 2r(rᵀz) + 2ê(ẑᵀz), O(d) per vector.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, div, mul, sub } from '../../ops/elementwise.js';
import { eye } from '../../ops/creation.js';
import { outer } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import { norm } from '../../ops/stats.js';

/** Unit vectors along the last axis, with ε guarding zero vectors. */
function unit(x: Tensor, eps: number): [Tensor, Tensor] {
  const n = norm(x, 2, -1, true);
  return [div(x, add(n, eps)), n];
}

/**
 * z_q = sg(λR)·z for rows z (…, d) and their codes e (…, d): the value is e,
 * the gradient w.r.t. z is λRᵀ·g. e receives no gradient here (the codebook
 * learns through its own loss, as in the paper).
 */
export function rotationTrick(z: Tensor, e: Tensor, eps = 1e-12): Tensor {
  if (z.ndim < 1 || z.shape.length !== e.shape.length || z.shape.some((d, i) => d !== e.shape[i])) throw new Error(`rotationTrick: z is ${shapeStr(z.shape)} but e is ${shapeStr(e.shape)}; they must match`);
  return tidy(() => {
    const [zHat, zNorm] = unit(z.detach(), eps);
    const [eHat, eNorm] = unit(e.detach(), eps);
    const [r] = unit(add(zHat, eHat), eps);
    const lambda = div(eNorm, add(zNorm, eps));
    // R z = z − 2 r (rᵀz) + 2 ê (ẑᵀz); only z carries a gradient
    const rz = sum(mul(r, z), -1, true);
    const zz = sum(mul(zHat, z), -1, true);
    const Rz = add(sub(z, mul(r, mul(rz, 2))), mul(eHat, mul(zz, 2)));
    return mul(lambda, Rz);
  });
}

/** The rotation R = I − 2rrᵀ + 2v̂ûᵀ taking the direction of u to that of v (both (d,)), as a (d, d) matrix. */
export function rotationMatrix(u: Tensor, v: Tensor, eps = 1e-12): Tensor {
  if (u.ndim !== 1 || v.ndim !== 1 || u.shape[0] !== v.shape[0]) throw new Error(`rotationMatrix: u is ${shapeStr(u.shape)} and v ${shapeStr(v.shape)}; expected two (d,) vectors`);
  return tidy(() => {
    const [uHat] = unit(u, eps);
    const [vHat] = unit(v, eps);
    const [r] = unit(add(uHat, vHat), eps);
    const I = eye(u.shape[0]!, u.shape[0]!, { dtype: u.dtype });
    return add(sub(I, mul(outer(r, r), 2)), mul(outer(vHat, uHat), 2));
  });
}
