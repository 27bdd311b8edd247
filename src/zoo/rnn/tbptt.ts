/**
 * Truncated backpropagation through time (R. J. Williams, J. Peng, "An
 * efficient gradient-based algorithm for on-line training of recurrent
 * network trajectories", Neural Computation 2(4), 1990; I. Sutskever's
 * thesis, 2013, §2.8.6 calls it TBPTT(k, k)): run a long sequence in chunks
 * of k steps, carrying the recurrent state forward but cutting its gradient
 * at every chunk boundary. Each chunk's loss is backpropagated at once, so
 * memory holds one chunk's activations whatever the sequence length, and the
 * parameters' `.grad` accumulate the sum over chunks.
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy, keep } from '../../core/memory.js';
import { backward } from '../../autodiff/backward.js';
import { slice } from '../../ops/slice.js';
import { foldIn } from '../../ops/random.js';
import { checkPositiveInt } from '../../nn/util.js';
import type { RnnBase, RnnForwardOptions } from './rnn.js';

export interface TbpttOptions extends Omit<RnnForwardOptions, 'lengths'> {
  /** steps per chunk */
  k: number;
  /** the real length of each sequence; the rest is padding */
  lengths?: readonly number[] | null;
}

export interface TbpttResult {
  /** the sum of the chunk losses */
  loss: number;
  /** the final states (detached), to continue with the next batch of the stream */
  h: Tensor;
  c: Tensor | null;
}

/**
 * Accumulate into the parameters' `.grad` the TBPTT(k, k) gradient of
 * Σ_chunks loss(output_chunk, t0) for a unidirectional layer; x is (b, L, in)
 * with batchFirst (else (L, b, in)). `loss` receives each chunk's output and
 * the index of its first step.
 */
export function truncatedBptt(rnn: RnnBase, x: Tensor, loss: (output: Tensor, t0: number) => Tensor, opts: TbpttOptions): TbpttResult {
  const k = checkPositiveInt('truncatedBptt', 'k', opts.k);
  if (rnn.config.bidirectional) throw new Error('truncatedBptt: a bidirectional layer sees the future; truncate a unidirectional one');
  const tAxis = rnn.config.batchFirst ? 1 : 0;
  const L = x.shape[tAxis]!;
  let h: Tensor | null = opts.h0 ? keep(opts.h0.detach()) : null;
  let c: Tensor | null = opts.c0 ? keep(opts.c0.detach()) : null;
  let total = 0;
  for (let t0 = 0; t0 < L; t0 += k) {
    const t1 = Math.min(L, t0 + k);
    const lengths = opts.lengths ? opts.lengths.map((n) => Math.min(t1 - t0, Math.max(0, n - t0))) : null;
    const [hNext, cNext, value] = tidy(() => {
      const chunk = slice(x, tAxis === 1 ? [null, { start: t0, stop: t1 }] : [{ start: t0, stop: t1 }]);
      const r = rnn.forward(chunk, { h0: h, c0: c, lengths, key: opts.key && foldIn(opts.key, t0) });
      const l = loss(r.output, t0);
      const v = l.item();
      backward(l);
      return [r.h.detach(), r.c ? r.c.detach() : null, v] as const;
    });
    h?.dispose();
    c?.dispose();
    h = keep(hNext);
    c = cNext ? keep(cNext) : null;
    total += value;
  }
  return { loss: total, h: h!, c };
}
