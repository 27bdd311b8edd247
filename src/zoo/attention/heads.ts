/**
 * Small pieces shared by the attention mixers: splitting the model width into
 * heads and back, the decoding state that holds a few tensors, and argument
 * checks.
 */
import type { Tensor } from '../../core/tensor.js';
import { keep } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { permute, reshape } from '../../ops/views.js';
import type { MixerState } from '../mixer.js';

/** (b, n, h·d) → (b, h, n, d) (a view when possible). */
export function splitHeads(x: Tensor, h: number): Tensor {
  const [b, n, hd] = x.shape as [number, number, number];
  return permute(reshape(x, [b, n, h, hd / h]), [0, 2, 1, 3]);
}

/** (b, h, n, d) → (b, n, h·d). */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, n, d] = x.shape as [number, number, number, number];
  return reshape(permute(x, [0, 2, 1, 3]), [b, n, h * d]);
}

/** Check a mixer input (b, n, dModel). */
export function checkSequence(op: string, x: Tensor, dModel: number): void {
  x.assertAlive(op, 'x');
  if (x.ndim !== 3 || x.shape[2] !== dModel) throw new Error(`${op}: x is ${shapeStr(x.shape)}; expected (b, n, ${dModel})`);
}

/** Check a decoding input (b, dModel). */
export function checkToken(op: string, x: Tensor, dModel: number): void {
  x.assertAlive(op, 'x');
  if (x.ndim !== 2 || x.shape[1] !== dModel) throw new Error(`${op}: step input is ${shapeStr(x.shape)}; expected (b, ${dModel})`);
}

/**
 * A decoding state made of named tensors (taken out of every scope: the state
 * owns them until `dispose`). `step` functions build the next state and
 * dispose the one they were given.
 */
export class TensorState<K extends string = string> implements MixerState {
  disposed = false;
  readonly t: Record<K, Tensor>;
  /** tokens consumed so far */
  readonly position: number;

  constructor(tensors: Record<K, Tensor>, position: number) {
    for (const v of Object.values(tensors) as Tensor[]) keep(v);
    this.t = tensors;
    this.position = position;
  }

  assertLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the decoding state was already consumed (step disposes the state it is given; use the state it returns)`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of Object.values(this.t) as Tensor[]) v.dispose();
  }
}
