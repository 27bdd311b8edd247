/**
 * Dequantisation: a density model of continuous y scores discrete data x ∈
 * {0, …, K−1}^D through y = (x + u)/K with noise u ∈ [0, 1)^D.
 *
 * Uniform (Theis, van den Oord & Bethge, "A note on the evaluation of
 * generative models", arXiv 1511.01844, §3.1; Real NVP §4.1): u ~ U[0, 1)^D and
 *   log P(x) ≥ E_u[log p(y)] − D·log K,
 * so bits/dim = −(log p(y) − D·log K) / (D·ln 2) bounds the discrete model's.
 *
 * Variational (Ho et al., Flow++, arXiv 1902.00275, §3.1, eq. 12): u ~ q(u|x),
 *   log P(x) ≥ E_q[log p(y) − log q(u|x)] − D·log K,
 * with u = sigmoid(μ(x) + σ(x)⊙ε), ε ~ N(0, I), so
 *   log q(u|x) = log N(ε) − Σ log σ − Σ log sigmoid′(h),  h = μ + σ⊙ε.
 * q is learned jointly with the flow and tightens the bound.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add, div, exp, mul, neg, sigmoid, softplus, sub } from '../../ops/elementwise.js';
import { normal, uniform } from '../../ops/random.js';
import { full } from '../../ops/creation.js';
import { split } from '../../ops/slice.js';
import { Module } from '../../nn/module.js';
import { gaussianLogProb } from './multiscale.js';
import { sumPerExample } from './layer.js';
import type { Conditioner } from './conditioner.js';

export interface Dequantized {
  /** y = (x + u)/K, in [0, 1) (or [−½, ½) with center) */
  y: Tensor;
  /** the per-example term to add to log p(y) to bound log P(x): −D·log K − log q(u|x) */
  logdet: Tensor;
}

function dimsOf(x: Tensor): number {
  return x.shape.slice(1).reduce((a, b) => a * b, 1);
}

function checkBins(op: string, bins: number): number {
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`${op}: bins must be an integer ≥ 2, got ${bins}`);
  return bins;
}

/** y = (x + u)/K − (center ? ½ : 0) with u ~ U[0, 1): x holds integers in [0, K). */
export function uniformDequantize(x: Tensor, key: Key, opts: { bins?: number; center?: boolean } = {}): Dequantized {
  const K = checkBins('uniformDequantize', opts.bins ?? 256);
  return tidy(() => {
    const u = uniform(key, x.shape, { dtype: x.dtype });
    let y = div(add(x, u), K);
    if (opts.center) y = sub(y, 0.5);
    return { y, logdet: full([x.shape[0]!], -dimsOf(x) * Math.log(K), { dtype: x.dtype }) };
  });
}

/** Bits per dimension from log P(x) in nats per example: −log P / (D·ln 2), averaged over the batch. */
export function bitsPerDim(logpDiscrete: Tensor, dims: number): number {
  const v = logpDiscrete.toF64();
  let s = 0;
  for (const a of v) s += a;
  return -s / v.length / (dims * Math.LN2);
}

/**
 * q(u | x) = sigmoid(N(μ(x), σ(x)²)) with μ, log σ from a conditioner on the
 * scaled data x/K − ½ (its output has twice x's channels).
 */
export class VariationalDequantizer extends Module {
  readonly config: Readonly<{ bins: number; center: boolean }>;
  net: Conditioner;

  constructor(net: Conditioner, opts: { bins?: number; center?: boolean } = {}) {
    super();
    this.config = { bins: checkBins('VariationalDequantizer', opts.bins ?? 256), center: opts.center ?? false };
    this.net = net;
  }

  dequantize(x: Tensor, key: Key): Dequantized {
    const K = this.config.bins;
    return tidy(() => {
      const [mu, logSigma] = split(this.net.forward(sub(div(x, K), 0.5)), 2, 1) as [Tensor, Tensor];
      const eps = normal(key, x.shape, { dtype: x.dtype });
      const h = add(mu, mul(exp(logSigma), eps));
      const u = sigmoid(h);
      // log sigmoid′(h) = log σ(h) + log(1 − σ(h)) = −softplus(−h) − softplus(h)
      const logDsig = neg(add(softplus(neg(h)), softplus(h)));
      const logq = sub(sub(gaussianLogProb(eps), sumPerExample(logSigma)), sumPerExample(logDsig));
      let y = div(add(x, u), K);
      if (this.config.center) y = sub(y, 0.5);
      return { y, logdet: sub(neg(logq), dimsOf(x) * Math.log(K)) };
    });
  }
}
