/**
 * One optimiser over a module's trainable parameters, stepped from a loss:
 * the gradients of the loss with respect to every parameter, then the
 * optimiser's update. Shared by the playground's training tasks.
 */
import type { Tensor } from '../../src/core/tensor.js';
import { gradients } from '../../src/autodiff/backward.js';
import { trainableParameters, type Module } from '../../src/nn/module.js';
import type { Optimizer, OptimizerState } from '../../src/optim/optimizer.js';

export class ParamStep {
  readonly params: Record<string, Tensor>;
  #names: string[];
  #opt: Optimizer;
  #state: OptimizerState;

  constructor(net: Module, opt: Optimizer) {
    this.params = trainableParameters(net);
    this.#names = Object.keys(this.params);
    this.#opt = opt;
    this.#state = opt.init(this.params);
  }

  /** Update the parameters from the gradients of `loss` (call inside a tidy). */
  step(loss: Tensor): void {
    const gs = gradients([loss], this.#names.map((m) => this.params[m]!));
    const grads: Record<string, Tensor | null> = {};
    this.#names.forEach((m, j) => (grads[m] = gs[j] ?? null));
    this.#state = this.#opt.update(grads, this.#state, this.params).state;
  }
}
