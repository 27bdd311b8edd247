/**
 * Containers: ModuleList (an indexed list of modules, named `0`, `1`, … as in
 * PyTorch) and Sequential (a ModuleList that is also a layer: it feeds each
 * item's output to the next; plain functions such as `relu` may sit between
 * modules and take an index like PyTorch's nn.ReLU, so parameter names match
 * a torch.nn.Sequential built the same way).
 */
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../core/random.js';
import { tidy } from '../core/memory.js';
import { foldIn } from '../ops/random.js';
import { Module } from './module.js';

/** A module with a one-tensor forward; `key` feeds layers with randomness (dropout). */
export interface Layer extends Module {
  forward(x: Tensor, key?: Key): Tensor;
}

export type SequentialItem = Layer | ((x: Tensor) => Tensor);

/** An indexed list of modules (nn.ModuleList): parameters are named `<index>.<name>`. */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly items: M[];

  constructor(items: Iterable<M> = []) {
    super();
    this.items = [...items];
    this.items.forEach((m, i) => {
      if (!(m instanceof Module)) throw new Error(`ModuleList: item ${i} is not a Module (got ${m === null ? 'null' : typeof m})`);
    });
  }

  override fields(): [string, unknown][] {
    return this.items.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this.items.length;
  }

  /** Item i (negative counts from the end). */
  at(i: number): M {
    const m = this.items.at(i);
    if (m === undefined) throw new Error(`ModuleList: index ${i} is out of range for ${this.items.length} items`);
    return m;
  }

  push(...ms: M[]): this {
    for (const m of ms) if (!(m instanceof Module)) throw new Error(`ModuleList.push: not a Module (got ${m === null ? 'null' : typeof m})`);
    this.items.push(...ms);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** nn.Sequential: y = f_n(… f_1(x)). Item i gets foldIn(key, i) when a key is given. */
export class Sequential extends Module {
  readonly items: SequentialItem[];

  constructor(items: Iterable<SequentialItem>) {
    super();
    this.items = [...items];
    this.items.forEach((m, i) => {
      const ok = typeof m === 'function' || (m instanceof Module && typeof (m as Layer).forward === 'function');
      if (!ok) throw new Error(`Sequential: item ${i} must be a Module with a forward method or a function of one tensor`);
    });
  }

  override fields(): [string, unknown][] {
    return this.items.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this.items.length;
  }

  forward(x: Tensor, key?: Key): Tensor {
    return tidy(() => {
      let y = x;
      this.items.forEach((m, i) => {
        y = typeof m === 'function' ? m(y) : m.forward(y, key ? foldIn(key, i) : undefined);
      });
      return y;
    });
  }
}
