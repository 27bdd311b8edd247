/**
 * Decoding state shared by the recurrent mixers (SSMs, RNNs, RetNet, LRU): a
 * named set of tensors that the state owns. `step` consumes a state and
 * returns a new one; the tensors are kept out of every scope (so a decoding
 * loop inside `tidy` does not free them) until the state is disposed.
 */
import type { Tensor } from '../../core/tensor.js';
import { keep } from '../../core/memory.js';
import type { MixerState } from '../mixer.js';

export class TensorState<K extends string = string> implements MixerState {
  readonly tensors: Readonly<Record<K, Tensor>>;
  /** tokens consumed so far */
  readonly position: number;
  private _disposed = false;

  constructor(tensors: Record<K, Tensor>, position = 0) {
    for (const t of Object.values<Tensor>(tensors)) keep(t);
    this.tensors = tensors;
    this.position = position;
  }

  get disposed(): boolean {
    return this._disposed;
  }

  get(name: K): Tensor {
    if (this._disposed) throw new Error(`state: '${name}' read after the state was disposed (step consumes its input state)`);
    return this.tensors[name];
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const t of Object.values<Tensor>(this.tensors)) t.dispose();
  }
}
