/**
 * Complex arithmetic on (re, im) pairs of real tensors, for the diagonal
 * complex SSMs (S4D, LRU): nabla's tensors are real, so a complex tensor is
 * two tensors of the same shape and every product is written out. Autodiff
 * then differentiates the real and imaginary parts as the independent real
 * parameters they are (the gradient of a real loss with respect to z = x + iy
 * is (∂/∂x, ∂/∂y)).
 */
import type { Tensor } from '../../core/tensor.js';
import type { TensorLike } from '../../ops/broadcast.js';
import { add, cos, div, exp, mul, neg, sin, sub } from '../../ops/elementwise.js';

export type Complex = readonly [Tensor, Tensor];

/** (a + ib)(c + id) */
export function cmul([ar, ai]: Complex, [br, bi]: Complex): [Tensor, Tensor] {
  return [sub(mul(ar, br), mul(ai, bi)), add(mul(ar, bi), mul(ai, br))];
}

/** (a + ib)·s for a real s */
export function cscale([ar, ai]: Complex, s: TensorLike): [Tensor, Tensor] {
  return [mul(ar, s), mul(ai, s)];
}

export function cadd([ar, ai]: Complex, [br, bi]: Complex): [Tensor, Tensor] {
  return [add(ar, br), add(ai, bi)];
}

/** (a + ib)/(c + id) = (a + ib)(c − id)/(c² + d²) */
export function cdiv([ar, ai]: Complex, [br, bi]: Complex): [Tensor, Tensor] {
  const den = add(mul(br, br), mul(bi, bi));
  const [nr, ni] = cmul([ar, ai], [br, neg(bi)]);
  return [div(nr, den), div(ni, den)];
}

/** e^(a + ib) = eᵃ(cos b + i sin b) */
export function cexp([ar, ai]: Complex): [Tensor, Tensor] {
  const m = exp(ar);
  return [mul(m, cos(ai)), mul(m, sin(ai))];
}

/** Scalar complex helpers for tests and closed forms. */
export const c = {
  mul: (a: [number, number], b: [number, number]): [number, number] => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]],
  div: (a: [number, number], b: [number, number]): [number, number] => {
    const d = b[0] * b[0] + b[1] * b[1];
    return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
  },
  exp: (a: [number, number]): [number, number] => [Math.exp(a[0]) * Math.cos(a[1]), Math.exp(a[0]) * Math.sin(a[1])],
  sub: (a: [number, number], b: [number, number]): [number, number] => [a[0] - b[0], a[1] - b[1]],
};
