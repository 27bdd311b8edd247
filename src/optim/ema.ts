/**
 * Exponential moving average of weights (Polyak & Juditsky 1992; the "EMA
 * model" diffusion models sample from):
 *
 *   θ̄ ← d·θ̄ + (1 − d)·θ
 *
 * with d constant or a function of the number of EMA updates already applied.
 * Warmups keep early averages from being dominated by the random
 * initialisation: `emaWarmup` is the power schedule 1 − (1 + t/γ)^(−p) used by
 * k-diffusion and Karras et al. (arXiv 2206.00364); `emaTfWarmup` is
 * TensorFlow's min(d, (1 + t)/(10 + t)).
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { zeros } from '../ops/creation.js';
import { assignOnDevice, copyInto, onHost, readable, updateInPlace } from './inplace.js';
import { tidy } from '../core/memory.js';
import { add, mul } from '../ops/elementwise.js';
import { slotDType, type Params } from './optimizer.js';

export interface EmaState {
  /** EMA updates applied */
  readonly step: number;
  /** the averaged weights, by parameter name */
  readonly shadow: Readonly<Record<string, Tensor>>;
}

export interface Ema {
  init(params: Params): EmaState;
  /** fold the current weights into the average (in place); returns the new state */
  update(state: EmaState, params: Params): EmaState;
  /** the decay used by the update after `step` updates */
  decayAt(step: number): number;
  /** copy the averaged weights into `params` (e.g. to evaluate or to sample) */
  copyTo(state: EmaState, params: Params): void;
}

function checkDecay(d: number, step: number): number {
  if (typeof d !== 'number' || !(d >= 0 && d <= 1)) throw new Error(`ema: decay at step ${step} must be in [0, 1], got ${String(d)}`);
  return d;
}

/** EMA of weights; `decay` is a number (default 0.999) or a function of the step. */
export function ema(opts: { decay?: number | ((step: number) => number) } = {}): Ema {
  const decay = opts.decay ?? 0.999;
  if (typeof decay === 'number') checkDecay(decay, 0);
  const decayAt = (step: number): number => checkDecay(typeof decay === 'function' ? decay(step) : decay, step);
  return {
    decayAt,
    init(params) {
      const shadow: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(params)) {
        if (!(p instanceof Tensor) || !isFloat(p.dtype)) throw new Error(`ema.init: parameter '${name}' must be a floating Tensor`);
        p.assertAlive('ema.init', `parameter '${name}'`);
        const s = zeros(p.shape, { dtype: slotDType(p.dtype), backend: p.storage.backend });
        copyInto(s, p);
        shadow[name] = s;
      }
      return { step: 0, shadow };
    },
    update(state, params) {
      const d = decayAt(state.step);
      for (const [name, s] of Object.entries(state.shadow)) {
        const p = params[name];
        if (!p) throw new Error(`ema.update: parameter '${name}' is missing`);
        if (!shapesEqual(p.shape, s.shape)) throw new Error(`ema.update: parameter '${name}' is ${shapeStr(p.shape)} but its average is ${shapeStr(s.shape)}`);
        if (!onHost(s) || !onHost(p)) {
          // off the CPU: the same update in tensor ops, written back on the device
          tidy(() => assignOnDevice(s, add(mul(s, d), mul(p, 1 - d)), 'ema.update'));
          continue;
        }
        const pv = readable(p, 'ema.update');
        updateInPlace(
          s,
          (sv) => {
            for (let i = 0; i < sv.length; i++) sv[i] = d * sv[i]! + (1 - d) * pv[i]!;
          },
          'ema.update',
        );
      }
      return { step: state.step + 1, shadow: state.shadow };
    },
    copyTo(state, params) {
      for (const [name, s] of Object.entries(state.shadow)) {
        const p = params[name];
        if (!p) throw new Error(`ema.copyTo: parameter '${name}' is missing`);
        copyInto(p, s);
      }
    },
  };
}

export interface EmaWarmupOptions {
  /** γ: the time scale of the warmup (default 1) */
  invGamma?: number;
  /** p: 2/3 suits runs of ~100k steps, 3/4 shorter ones (default 2/3) */
  power?: number;
  minDecay?: number;
  maxDecay?: number;
}

/** Decay schedule d(t) = clamp(1 − (1 + t/γ)^(−p), minDecay, maxDecay); d(0) = 0 copies the weights. */
export function emaWarmup(o: EmaWarmupOptions = {}): (step: number) => number {
  const invGamma = o.invGamma ?? 1;
  const power = o.power ?? 2 / 3;
  const lo = o.minDecay ?? 0;
  const hi = o.maxDecay ?? 0.9999;
  if (!(invGamma > 0)) throw new Error(`emaWarmup: invGamma must be positive, got ${invGamma}`);
  if (!(power > 0)) throw new Error(`emaWarmup: power must be positive, got ${power}`);
  if (!(lo >= 0 && lo <= hi && hi <= 1)) throw new Error(`emaWarmup: need 0 ≤ minDecay ≤ maxDecay ≤ 1, got ${lo} and ${hi}`);
  return (t) => Math.min(hi, Math.max(lo, 1 - (1 + t / invGamma) ** -power));
}

/** TensorFlow's ExponentialMovingAverage with num_updates: min(decay, (1 + t)/(10 + t)). */
export function emaTfWarmup(decay: number): (step: number) => number {
  if (!(decay >= 0 && decay <= 1)) throw new Error(`emaTfWarmup: decay must be in [0, 1], got ${decay}`);
  return (t) => Math.min(decay, (1 + t) / (10 + t));
}
