/**
 * The vector quantiser of VQ-VAE (van den Oord, Vinyals & Kavukcuoglu,
 * arXiv 1711.00937, §3.1–3.2, eq. 3):
 *
 *   k = argminⱼ ‖z − eⱼ‖,   z_q = e_k
 *   L_vq = ‖sg(z) − e_k‖² + β·‖z − sg(e_k)‖²      (codebook + commitment)
 *
 * The argmin has no gradient, so the decoder's gradient is carried to the
 * encoder by the straight-through estimator z_q = z + sg(e_k − z) (value e_k,
 * Jacobian I) or by the rotation trick (rotation.ts). The codebook learns
 * through the codebook loss, or by exponential moving averages (ema.ts, then
 * only the commitment term is a loss). Dead codes can be restarted from the
 * batch. The losses are means over elements (as in the reference code), and
 * the encoder output is (…, d): the last axis is the code dimension.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { shapeStr } from '../../core/shape.js';
import { add, mul, square, sub } from '../../ops/elementwise.js';
import { ones, scalar } from '../../ops/creation.js';
import { indexSelect } from '../../ops/indexing.js';
import { mean } from '../../ops/stats.js';
import { reshape } from '../../ops/views.js';
import { foldIn, normal, uniform } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { checkPositiveInt } from '../../nn/util.js';
import { readable, updateInPlace, writable } from '../../optim/inplace.js';
import { nearestCode } from './codebook.js';
import { rotationTrick } from './rotation.js';
import { emaCodebookStep, emaUsageStep, restartDeadCodes } from './ema.js';

export type GradientPath = 'ste' | 'rotation';

export interface QuantizeResult {
  /** the quantised output (…, d): value e_k, gradient path by STE or rotation */
  zq: Tensor;
  /** the chosen code of each vector (…), i32 */
  indices: Tensor;
  /** codebookLoss + β·commitLoss (scalar) */
  loss: Tensor;
  /** mean ‖sg(z) − e_k‖² (zero for EMA codebooks) */
  codebookLoss: Tensor;
  /** mean ‖z − sg(e_k)‖² (not yet multiplied by β) */
  commitLoss: Tensor;
}

/** z_q = z + sg(e − z): the value of e, the gradient of the identity. */
export function straightThrough(z: Tensor, e: Tensor): Tensor {
  return tidy(() => add(z, sub(e, z).detach()));
}

export interface QuantizeOptions {
  beta?: number;
  gradient?: GradientPath;
  /** include the codebook loss (false for EMA codebooks) */
  codebookLoss?: boolean;
}

/** Quantise z (…, d) against the codebook C (K, d): the nearest code, the gradient path and the losses. */
export function quantize(z: Tensor, codebook: Tensor, opts: QuantizeOptions = {}): QuantizeResult {
  const d = codebook.shape[1]!;
  if (codebook.ndim !== 2 || z.ndim < 1 || z.shape[z.ndim - 1] !== d) throw new Error(`quantize: z is ${shapeStr(z.shape)} but the codebook is ${shapeStr(codebook.shape)}; z's last axis must be the code dimension`);
  const beta = opts.beta ?? 0.25;
  const gradient = opts.gradient ?? 'ste';
  if (gradient !== 'ste' && gradient !== 'rotation') throw new Error(`quantize: gradient must be 'ste' or 'rotation', got ${String(gradient)}`);
  return tidy(() => {
    const lead = z.shape.slice(0, -1);
    const flat = reshape(z, [lead.reduce((a, b) => a * b, 1), d]); // (n, d)
    const idx = nearestCode(flat, codebook); // (n,)
    const e = indexSelect(codebook, 0, idx); // (n, d), differentiable w.r.t. the codebook
    const eSg = e.detach();
    const zq = gradient === 'ste' ? straightThrough(flat, eSg) : rotationTrick(flat, eSg);
    const commitLoss = mean(square(sub(flat, eSg)));
    const codebookLoss = opts.codebookLoss === false ? scalar(0, { dtype: z.dtype }) : mean(square(sub(flat.detach(), e)));
    return { zq: reshape(zq, z.shape), indices: reshape(idx, lead), loss: add(codebookLoss, mul(commitLoss, beta)), codebookLoss, commitLoss };
  });
}

export interface VectorQuantizerOptions {
  key: Key;
  /** commitment weight β (default 0.25) */
  beta?: number;
  gradient?: GradientPath;
  /** EMA codebook updates instead of the codebook loss (default false) */
  ema?: boolean;
  /** the EMA decay γ, also used for the usage statistics (default 0.99) */
  decay?: number;
  /** Laplace smoothing ε of the EMA counts (default 1e-5) */
  eps?: number;
  /** restart codes whose running usage falls below this many assignments per batch (default 0: never) */
  deadCodeThreshold?: number;
  /** initial codebook: U(−a, a) with a = initScale (default 1/K, as the reference code) or N(0, initScale²) with initKind 'normal' */
  initScale?: number;
  initKind?: 'uniform' | 'normal';
  dtype?: DType;
}

export class VectorQuantizer extends Module {
  readonly config: Readonly<{ codes: number; dim: number; beta: number; gradient: GradientPath; ema: boolean; decay: number; eps: number; deadCodeThreshold: number }>;
  /** e (K, d): trained by the codebook loss, or by EMA (then frozen to the optimiser) */
  codebook: Tensor;
  /** Nⱼ, the running usage of each code (frozen) */
  clusterSize: Tensor;
  /** mⱼ, the running sums of the EMA (frozen; null without EMA) */
  embedSum: Tensor | null;
  #restartKey: Key;
  #steps = 0;

  constructor(codes: number, dim: number, opts: VectorQuantizerOptions) {
    super();
    checkPositiveInt('VectorQuantizer', 'codes', codes);
    checkPositiveInt('VectorQuantizer', 'dim', dim);
    const ema = opts.ema ?? false;
    this.config = { codes, dim, beta: opts.beta ?? 0.25, gradient: opts.gradient ?? 'ste', ema, decay: opts.decay ?? 0.99, eps: opts.eps ?? 1e-5, deadCodeThreshold: opts.deadCodeThreshold ?? 0 };
    const [kInit, kRestart] = prng.split(opts.key, 2);
    const a = opts.initScale ?? 1 / codes;
    const init = opts.initKind === 'normal' ? normal(kInit!, [codes, dim], { dtype: opts.dtype, std: a }) : uniform(kInit!, [codes, dim], { dtype: opts.dtype, lo: -a, hi: a });
    this.codebook = param(init, !ema);
    // usage starts at 1 per code (a grace period before a restart) and, with EMA, m = e so that e = m/N at the start
    this.clusterSize = param(ones([codes], { dtype: opts.dtype }), false);
    this.embedSum = ema ? param(tidy(() => mul(init, 1)), false) : null;
    this.#restartKey = kRestart!;
  }

  /**
   * Quantise z (…, d). In training mode this also moves the EMA codebook (or
   * the usage statistics) and restarts dead codes — after the outputs are
   * computed, so they use the codebook as it was. `key` picks the restart rows.
   */
  forward(z: Tensor, key?: Key): QuantizeResult {
    const c = this.config;
    const out = quantize(z, this.codebook, { beta: c.beta, gradient: c.gradient, codebookLoss: !c.ema });
    if (this.training) this.#update(z, out.indices, key ?? foldIn(this.#restartKey, this.#steps));
    this.#steps++;
    return out;
  }

  #update(z: Tensor, indices: Tensor, key: Key): void {
    const { dim: d, decay, eps, deadCodeThreshold } = this.config;
    const zv = tidy(() => z.detach().toF64());
    const idx = indices.toF64();
    const cs = writable(this.clusterSize);
    const cb = writable(this.codebook);
    const es = this.embedSum ? writable(this.embedSum) : null;
    if (es) emaCodebookStep({ clusterSize: cs.data, embedSum: es.data, codebook: cb.data }, zv, idx, d, decay, eps);
    else emaUsageStep(cs.data, idx, decay);
    if (deadCodeThreshold > 0) {
      const n = idx.length;
      const rows = prng.randint(key, this.config.codes, 0, n);
      restartDeadCodes({ clusterSize: cs.data, codebook: cb.data, embedSum: es?.data ?? null }, zv, d, deadCodeThreshold, (r) => rows[r]!);
    }
    cs.commit();
    cb.commit();
    es?.commit();
  }

  /** The current running usage Nⱼ as numbers. */
  usageCounts(): Float64Array {
    return Float64Array.from(readable(this.clusterSize));
  }
}

/** Overwrite a codebook in place (tests and warm starts). */
export function setCodebook(q: { codebook: Tensor }, values: ArrayLike<number>): void {
  updateInPlace(q.codebook, (data) => data.set(Array.from(values)));
}
