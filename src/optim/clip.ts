/**
 * Global-norm gradient clipping (Pascanu, Mikolov & Bengio, "On the difficulty
 * of training recurrent neural networks", arXiv 1211.5063, algorithm 1), with
 * PyTorch `clip_grad_norm_`'s conventions: the norm is taken over all
 * gradients together, the scale is max_norm / (norm + 1e-6) clamped to 1, and
 * the norm before clipping is returned.
 */
import { Tensor } from '../core/tensor.js';
import { onHost, readable, scaleInPlace } from './inplace.js';
import { tidy } from '../core/memory.js';
import { abs, add, div, maximum, minimum, mul, pow, sqrt } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';

export type GradList = Iterable<Tensor | null | undefined> | Readonly<Record<string, Tensor | null | undefined>>;

function listOf(grads: GradList): Tensor[] {
  const it: Iterable<Tensor | null | undefined> =
    Symbol.iterator in (grads as object) ? (grads as Iterable<Tensor | null | undefined>) : Object.values(grads as Record<string, Tensor | null | undefined>);
  const out: Tensor[] = [];
  for (const g of it) {
    if (g === null || g === undefined) continue;
    if (!(g instanceof Tensor)) throw new Error('globalNorm: gradients must be Tensors (or null)');
    out.push(g);
  }
  return out;
}

/**
 * The p-norm of all gradients taken together, accumulated in float64:
 * (Σ|g|^p)^(1/p); p = Infinity gives the largest |g|. `scale` multiplies every
 * gradient first (used for gradients that are still loss-scaled or clipped).
 */
export function globalNorm(grads: GradList, normType = 2, scale = 1): number {
  if (!(normType > 0)) throw new Error(`globalNorm: normType must be positive (or Infinity), got ${normType}`);
  let acc = 0;
  const list = listOf(grads);
  const off = list.find((g) => !onHost(g));
  if (off) {
    throw new Error(`globalNorm: returns a number, which needs a synchronous read of ${off.describe()} on the ${off.storage.backend.name} backend; use globalNormTensor (a scalar tensor) there, or the CPU backend`);
  }
  for (const g of list) {
    const v = readable(g, 'globalNorm');
    if (normType === Infinity) {
      // Math.max propagates NaN, so a NaN anywhere gives a NaN norm
      for (let i = 0; i < v.length; i++) acc = Math.max(acc, Math.abs(v[i]! * scale));
    } else if (normType === 2) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]! * scale;
        acc += x * x;
      }
    } else {
      for (let i = 0; i < v.length; i++) acc += Math.abs(v[i]! * scale) ** normType;
    }
  }
  if (normType === Infinity) return acc;
  return normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
}

/**
 * `globalNorm` as a scalar tensor on the gradients' backend, computed with
 * tensor ops (no host read, so it runs on WebGPU); f32 accumulation there.
 */
export function globalNormTensor(grads: GradList, normType = 2): Tensor {
  if (!(normType > 0)) throw new Error(`globalNormTensor: normType must be positive (or Infinity), got ${normType}`);
  const list = listOf(grads);
  if (list.length === 0) throw new Error('globalNormTensor: no gradients');
  return tidy(() => {
    const parts = list.map((g) => (normType === Infinity ? max(abs(g)) : normType === 2 ? sum(mul(g, g)) : sum(pow(abs(g), normType))));
    const total = parts.reduce((a, b) => (normType === Infinity ? maximum(a, b) : add(a, b)));
    if (normType === Infinity) return total;
    return normType === 2 ? sqrt(total) : pow(total, 1 / normType);
  });
}

/** `clipCoefficient` in tensor ops: min(1, maxNorm / (norm + 1e-6)) as a scalar tensor. */
export function clipCoefficientTensor(norm: Tensor, maxNorm: number): Tensor {
  return tidy(() => minimum(div(maxNorm, add(norm, 1e-6)), 1));
}

/** The factor clipping multiplies gradients by: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  const c = maxNorm / (norm + 1e-6);
  return c < 1 ? c : 1;
}

export interface ClipOptions {
  /** 2 (default), any p > 0, or Infinity */
  normType?: number;
  /** throw when the norm is NaN or infinite instead of scaling by a non-finite factor (default false) */
  errorIfNonfinite?: boolean;
}

/**
 * Scale all gradients in place so that their global norm is at most `maxNorm`;
 * returns the norm they had before clipping.
 */
export function clipGradNorm(grads: GradList, maxNorm: number, opts: ClipOptions = {}): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be a non-negative number, got ${maxNorm}`);
  const list = listOf(grads);
  const off = list.find((g) => !onHost(g));
  if (off) {
    throw new Error(`clipGradNorm: returns the norm as a number, which needs a synchronous read of ${off.describe()} on the ${off.storage.backend.name} backend; use the optimiser's clipNorm option (or globalNormTensor and clipCoefficientTensor) there, or the CPU backend`);
  }
  const norm = globalNorm(list, opts.normType ?? 2);
  if (!Number.isFinite(norm) && opts.errorIfNonfinite) {
    throw new Error(`clipGradNorm: the total norm of the gradients is ${norm}; the gradients hold NaN or inf (pass errorIfNonfinite: false to scale anyway)`);
  }
  const c = clipCoefficient(norm, maxNorm);
  if (c !== 1) for (const g of list) scaleInPlace(g, c);
  return norm;
}
