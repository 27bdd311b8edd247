/** Argument checks shared by the layers: errors name the layer or function, the argument and the value. */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';

export function checkFloatTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, name);
  if (!isFloat(x.dtype)) throw new Error(`${op}: ${name} must be a floating tensor, got ${x.describe()}`);
}

export function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function checkNonNegative(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${op}: ${name} must be a non-negative number, got ${String(v)}`);
  return v;
}

/** A key for layer forward passes that need randomness (dropout): the error says how to get one. */
export function checkKey(op: string, key: unknown): void {
  if (!Array.isArray(key) || key.length !== 2) throw new Error(`${op}: training mode needs a PRNG key (pass one to forward, e.g. splitKey(k)[0], or call nn.eval(model)), got ${String(key)}`);
}
