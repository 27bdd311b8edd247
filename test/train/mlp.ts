/**
 * Small models written with plain ops (no nn modules), for the training tests:
 * an MLP with float32 master weights, a teacher that makes regression
 * targets, and step-keyed batches, so every run is a function of (key, step).
 */
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { Key } from '../../src/ops/random.js';

export type Params = Record<string, Tensor>;

/** Layer sizes [in, h1, ..., out] → W0, b0, W1, b1, ... (Kaiming-uniform-like init from `key`). */
export function initMlp(key: Key, sizes: number[], dtype: 'f32' | 'f64' = 'f32'): Params {
  const p: Params = {};
  const keys = nb.splitKey(key, sizes.length - 1);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [kw, kb] = nb.splitKey(keys[l]!, 2);
    const bound = 1 / Math.sqrt(sizes[l]!);
    p[`W${l}`] = nb.uniform(kw!, [sizes[l]!, sizes[l + 1]!], { lo: -bound, hi: bound, dtype }).requiresGrad_();
    p[`b${l}`] = nb.uniform(kb!, [sizes[l + 1]!], { lo: -bound, hi: bound, dtype }).requiresGrad_();
  }
  return p;
}

export function layerCount(p: Params): number {
  return Object.keys(p).filter((k) => k.startsWith('W')).length;
}

/** One dense layer: x·W + b, then tanh unless it is the last. */
export function dense(p: Params, l: number, x: Tensor, last: boolean): Tensor {
  const y = nb.add(nb.matmul(x, p[`W${l}`]!), p[`b${l}`]!);
  return last ? y : nb.tanh(y);
}

export function mlp(p: Params, x: Tensor): Tensor {
  const L = layerCount(p);
  let h = x;
  for (let l = 0; l < L; l++) h = dense(p, l, h, l === L - 1);
  return h;
}

/** A fixed random teacher: targets y = teacher(x). */
export function makeTeacher(key: Key, sizes: number[]): Params {
  // larger weights than the student's init, so the function is not trivial
  return nb.tidy(() => Object.fromEntries(Object.entries(initMlp(key, sizes, 'f64')).map(([k, v]) => [k, nb.mul(v.detach(), 2.5)])));
}

/** The batch of step `step`: x ~ N(0, 1) from foldIn(key, step), y = teacher(x), both float32. */
export function batch(key: Key, step: number, teacher: Params, n: number, inDim: number): { x: Tensor; y: Tensor } {
  return nb.tidy(() => {
    const x64 = nb.normal(nb.foldIn(key, step), [n, inDim], { dtype: 'f64' });
    const y64 = nb.noGrad(() => mlp(teacher, x64));
    return { x: nb.astype(x64, 'f32'), y: nb.astype(y64, 'f32') };
  });
}

export function disposeAll(p: Params): void {
  for (const v of Object.values(p)) v.dispose();
}

/** Bitwise-equal float32 contents. */
export function sameBits(a: Tensor, b: Tensor): boolean {
  const x = new Uint32Array(new Float32Array(a.toF64()).buffer);
  const y = new Uint32Array(new Float32Array(b.toF64()).buffer);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
