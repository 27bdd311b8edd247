/**
 * Fixed reorderings of the channel axis between couplings, so that every unit
 * is eventually transformed and conditioned on every other: the reversal of
 * Real NVP's implementation and Glow's baseline (Kingma & Dhariwal, arXiv
 * 1807.03039, §3.2 and Fig. 3 "reverse" and "shuffle"), and a fixed random
 * permutation. Permutation matrices have |det| = 1: log-det 0.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { flip } from '../../ops/views.js';
import { indexSelect } from '../../ops/indexing.js';
import { checkPositiveInt } from '../../nn/util.js';
import { FlowLayer, checkFlowInput, zeroLogdet } from './layer.js';

/** x ↦ x with axis 1 reversed (its own inverse). */
export class Reverse extends FlowLayer {
  readonly config: Readonly<{ channels: number }>;

  constructor(channels: number) {
    super();
    this.config = { channels: checkPositiveInt('Reverse', 'channels', channels) };
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('Reverse', x, this.config.channels);
    return tidy(() => [flip(x, 1), zeroLogdet(x)]);
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('Reverse', y, this.config.channels);
    return flip(y, 1);
  }
}

/** y[:, i] = x[:, π(i)] for a fixed permutation π (random from `key`, or given). */
export class Permutation extends FlowLayer {
  readonly config: Readonly<{ channels: number; perm: readonly number[] }>;

  constructor(channels: number, opts: { key?: Key; perm?: readonly number[] }) {
    super();
    checkPositiveInt('Permutation', 'channels', channels);
    let perm: number[];
    if (opts.perm) {
      perm = opts.perm.slice();
      const seen = new Set(perm);
      if (perm.length !== channels || seen.size !== channels || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= channels)) {
        throw new Error(`Permutation: perm must be a permutation of 0…${channels - 1}, got [${perm.join(',')}]`);
      }
    } else if (opts.key) perm = Array.from(prng.permutation(opts.key, channels));
    else throw new Error('Permutation: give a key (random permutation) or perm');
    this.config = { channels, perm };
  }

  #select(x: Tensor, perm: readonly number[]): Tensor {
    return tidy(() => indexSelect(x, 1, tensor(perm as number[], [perm.length], { dtype: 'i32' })));
  }

  forward(x: Tensor): [Tensor, Tensor] {
    checkFlowInput('Permutation', x, this.config.channels);
    return tidy(() => [this.#select(x, this.config.perm), zeroLogdet(x)]);
  }

  inverse(y: Tensor): Tensor {
    checkFlowInput('Permutation', y, this.config.channels);
    const inv = new Array<number>(this.config.channels);
    this.config.perm.forEach((p, i) => (inv[p] = i));
    return this.#select(y, inv);
  }
}
