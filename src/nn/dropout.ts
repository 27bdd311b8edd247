/**
 * Dropout: N. Srivastava et al., "Dropout: a simple way to prevent neural
 * networks from overfitting", JMLR 2014, in the inverted form every library
 * uses: during training each element is kept with probability 1 − p and
 * scaled by 1/(1 − p), so E[y] = x and evaluation is the identity.
 *
 * The mask is drawn from an explicit PRNG key passed to each call (JAX
 * style): the same key gives the same mask, which is what lets gradient
 * checkpointing replay a segment exactly.
 */
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../core/random.js';
import { tidy } from '../core/memory.js';
import { mul, where } from '../ops/elementwise.js';
import { identity } from '../ops/views.js';
import { bernoulli } from '../ops/random.js';
import { Module } from './module.js';
import { checkFloatTensor, checkKey } from './util.js';

function checkP(op: string, p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`${op}: p must be a probability in [0, 1], got ${String(p)}`);
  return p;
}

/**
 * F.dropout: zero each element with probability p and scale the rest by
 * 1/(1 − p). Identity (a new handle) when `training` is false or p = 0.
 */
export function dropout(x: Tensor, p: number, key: Key | undefined, opts: { training?: boolean } = {}): Tensor {
  checkFloatTensor('dropout', 'x', x);
  checkP('dropout', p);
  if (!(opts.training ?? true) || p === 0) return identity(x);
  checkKey('dropout', key);
  if (p === 1) return mul(x, 0);
  return tidy(() => where(bernoulli(key!, 1 - p, x.shape), mul(x, 1 / (1 - p)), 0));
}

/** nn.Dropout: no parameters; `forward(x, key)` needs a key in training mode. */
export class Dropout extends Module {
  readonly config: Readonly<{ p: number }>;

  constructor(p = 0.5) {
    super();
    this.config = { p: checkP('Dropout', p) };
  }

  forward(x: Tensor, key?: Key): Tensor {
    return dropout(x, this.config.p, key, { training: this.training });
  }
}
