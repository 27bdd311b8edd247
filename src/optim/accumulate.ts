/**
 * Gradient accumulation over micro-batches: sum the gradients of n
 * micro-batches into buffers allocated once, then scale by 1/n, giving the
 * gradient of the mean loss over the whole batch when each micro-batch loss is
 * a mean over equally sized micro-batches.
 *
 * Buffers are float32 (float64 for float64 gradients): summing 16-bit
 * gradients in 16 bits would lose the small ones.
 */
import { Tensor } from '../core/tensor.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { zeros } from '../ops/creation.js';
import { currentScope, keep, tidy } from '../core/memory.js';
import { addInto, fillInPlace, scaleInPlace } from './inplace.js';
import { slotDType, type Grads } from './optimizer.js';

export interface GradAccumulator {
  /** micro-batches added since the last reset */
  readonly count: number;
  /** add one micro-batch's gradients (null or missing entries count as zero) */
  add(grads: Grads): void;
  /**
   * Scale the sums in place by `scale` (default 1/count: the mean) and return
   * them. The buffers belong to the accumulator: they stay valid until the
   * next reset() or dispose(); add() is refused until reset().
   */
  result(scale?: number): Record<string, Tensor>;
  /** zero the buffers (keeping them) and the count */
  reset(): void;
  /** free the buffers */
  dispose(): void;
}

export function gradAccumulator(): GradAccumulator {
  const sums = new Map<string, Tensor>();
  let count = 0;
  let finished = false;
  return {
    get count() {
      return count;
    },
    add(grads) {
      if (finished) throw new Error('gradAccumulator.add: result() was taken; call reset() before accumulating again');
      for (const [name, g] of Object.entries(grads)) {
        if (g === null || g === undefined) continue;
        if (!(g instanceof Tensor)) throw new Error(`gradAccumulator.add: gradient '${name}' is not a Tensor`);
        g.assertAlive('gradAccumulator.add', `gradient '${name}'`);
        let buf = sums.get(name);
        if (!buf) {
          buf = zeros(g.shape, { dtype: slotDType(g.dtype), backend: g.storage.backend });
          keep(buf); // the buffer lives as long as the accumulator, not the caller's scope
          sums.set(name, buf);
        } else if (!shapesEqual(buf.shape, g.shape)) {
          throw new Error(`gradAccumulator.add: gradient '${name}' is ${shapeStr(g.shape)} but earlier micro-batches gave ${shapeStr(buf.shape)}`);
        }
        addInto(buf, g);
      }
      count++;
    },
    result(scale?: number) {
      if (count === 0) throw new Error('gradAccumulator.result: no micro-batch was added');
      const s = scale ?? 1 / count;
      if (!finished) for (const b of sums.values()) scaleInPlace(b, s);
      finished = true;
      return Object.fromEntries(sums);
    },
    reset() {
      for (const b of sums.values()) fillInPlace(b, 0);
      count = 0;
      finished = false;
    },
    dispose() {
      for (const b of sums.values()) b.dispose();
      sums.clear();
      count = 0;
      finished = false;
    },
  };
}

/**
 * Run `microStep(i)` for i = 0..n−1, summing the gradients it returns, and
 * return their mean (freshly allocated; the caller owns it). Tensors that
 * `microStep` creates are freed after each micro-batch.
 */
export function accumulateGradients(n: number, microStep: (i: number) => Grads): Record<string, Tensor> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`accumulateGradients: n must be a positive integer, got ${n}`);
  const acc = gradAccumulator();
  for (let i = 0; i < n; i++) tidy(() => acc.add(microStep(i)));
  const out = acc.result();
  // hand the buffers to the caller's scope, like any freshly created tensors
  const s = currentScope();
  if (s) for (const t of Object.values(out)) s.add(t);
  return out;
}
