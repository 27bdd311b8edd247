/**
 * Creating tensors: from JS values, constants, ranges. Floating tensors default
 * to f32 (like PyTorch); pass { dtype } to choose.
 */
import { Tensor } from '../core/tensor.js';
import { assertDType, type DType } from '../core/dtype.js';
import { assertShape, shapeStr, sizeOf } from '../core/shape.js';
import type { Backend } from '../backends/backend.js';
import { cpu } from '../backends/cpu/index.js';

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
  /** mark the new tensor as a leaf that receives gradients */
  requiresGrad?: boolean;
}

let defaultBackend: () => Backend = cpu;
let defaultFloatDType: DType = 'f32';

export function setDefaultBackend(b: Backend): void {
  defaultBackend = () => b;
}
export function getDefaultBackend(): Backend {
  return defaultBackend();
}
export function setDefaultFloat(d: DType): void {
  defaultFloatDType = assertDType('setDefaultFloat', 'dtype', d);
}
export function defaultFloat(): DType {
  return defaultFloatDType;
}

function make(op: string, values: ArrayLike<number>, shape: number[], opts: CreateOptions, fallback: DType): Tensor {
  const dtype = opts.dtype === undefined ? fallback : assertDType(op, 'dtype', opts.dtype);
  const backend = opts.backend ?? defaultBackend();
  const n = sizeOf(shape);
  const s = backend.alloc(dtype, n);
  if (values.length === 1 && n !== 1) backend.fill(s, values[0]!);
  else if (n > 0) backend.write(s, values);
  const t = new Tensor({ storage: s, shape, dtype });
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Flatten nested arrays, checking they are rectangular. */
function flatten(op: string, data: unknown): { values: number[]; shape: number[]; allInt: boolean; allBool: boolean } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: number[] = [];
  let allInt = true;
  let allBool = true;
  const walk = (v: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof v === 'boolean') {
        values.push(v ? 1 : 0);
        return;
      }
      if (typeof v !== 'number') throw new Error(`${op}: element ${path} is ${typeof v}, expected a number or boolean`);
      allBool = false;
      if (!Number.isInteger(v)) allInt = false;
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new Error(`${op}: ragged nested array: ${path || 'the value'} should have length ${shape[dim]} (shape ${shapeStr(shape)})`);
    }
    v.forEach((x, i) => walk(x, dim + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return { values, shape, allInt, allBool };
}

type NestedNumbers = number | boolean | readonly NestedNumbers[];

/**
 * A tensor from nested arrays or a typed array (with a shape). Integers give f32 unless
 * a dtype is given; Int32Array gives i32, Float64Array f64, Uint8Array bool.
 */
export function tensor(data: NestedNumbers | ArrayLike<number>, shapeOrOpts?: readonly number[] | CreateOptions, maybeOpts: CreateOptions = {}): Tensor {
  let opts = maybeOpts;
  let shape: number[] | undefined;
  if (Array.isArray(shapeOrOpts)) shape = assertShape('tensor', 'shape', shapeOrOpts);
  else if (shapeOrOpts) opts = shapeOrOpts as CreateOptions;
  if (ArrayBuffer.isView(data)) {
    const arr = data as unknown as ArrayLike<number>;
    const sh = shape ?? [arr.length];
    if (sizeOf(sh) !== arr.length) throw new Error(`tensor: data has ${arr.length} values but shape ${shapeStr(sh)} needs ${sizeOf(sh)}`);
    const fb: DType = data instanceof Float64Array ? 'f64' : data instanceof Int32Array ? 'i32' : data instanceof Uint8Array ? 'bool' : defaultFloatDType;
    return make('tensor', arr, sh, opts, fb);
  }
  const f = flatten('tensor', data);
  const sh = shape ?? f.shape;
  if (sizeOf(sh) !== f.values.length) throw new Error(`tensor: data has ${f.values.length} values but shape ${shapeStr(sh)} needs ${sizeOf(sh)}`);
  return make('tensor', f.values, sh, opts, f.allBool && f.values.length > 0 && typeof probeFirst(data) === 'boolean' ? 'bool' : defaultFloatDType);
}

function probeFirst(d: unknown): unknown {
  while (Array.isArray(d)) d = d[0];
  return d;
}

/** A 0-d tensor. */
export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new Error(`scalar: value must be a number, got ${typeof value}`);
  return make('scalar', [Number(value)], [], opts, defaultFloatDType);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const sh = assertShape('full', 'shape', shape);
  if (typeof value !== 'number') throw new Error(`full: value must be a number, got ${typeof value}`);
  return make('full', [value], sh, opts, defaultFloatDType);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

function likeOpts(x: Tensor, opts: CreateOptions): CreateOptions {
  return { dtype: x.dtype, backend: x.storage.backend, ...opts };
}
export function zerosLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  x.assertAlive('zerosLike');
  return full(x.shape, 0, likeOpts(x, opts));
}
export function onesLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  x.assertAlive('onesLike');
  return full(x.shape, 1, likeOpts(x, opts));
}
export function fullLike(x: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  x.assertAlive('fullLike');
  return full(x.shape, value, likeOpts(x, opts));
}

/** [start, stop) in steps of `step` (NumPy's arange). Integer arguments give i32 unless a dtype is given. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  for (const [k, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
    if (!Number.isFinite(v)) throw new Error(`arange: ${k} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  const allInt = Number.isInteger(start) && Number.isInteger(step);
  return make('arange', n === 1 ? [values[0]!] : values, [n], opts, allInt ? 'i32' : defaultFloatDType);
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  const values = new Float64Array(num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) values[i] = i === num - 1 && num > 1 ? stop : start + i * step;
  return make('linspace', num === 1 ? [values[0]!] : values, [num], opts, defaultFloatDType);
}

/** Identity matrix n×m (m defaults to n). */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`eye: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(m) || m < 0) throw new Error(`eye: m must be a non-negative integer, got ${m}`);
  const values = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return make('eye', n * m === 1 ? [1] : values, [n, m], opts, defaultFloatDType);
}
