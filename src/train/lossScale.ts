/**
 * Dynamic loss scaling for float16 training (Micikevicius et al., "Mixed
 * Precision Training", arXiv 1710.03740, section 3.2; the schedule of
 * PyTorch's GradScaler):
 *
 * - multiply the loss by the scale S (start 2¹⁶) so small gradients survive
 *   float16's range in the backward pass;
 * - unscale the gradients (×1/S) before the optimiser sees them;
 * - if any gradient is inf or NaN, skip the update, halve S and restart the
 *   count of clean steps;
 * - after `growthInterval` (2000) consecutive clean steps, double S.
 *
 * The state is three plain numbers (JSON-serialisable, for checkpoints). With
 * the default factors the scale is always a power of two, so scaling and
 * unscaling are exact.
 *
 * Backends that cannot read synchronously (WebGPU; a browser has no blocking
 * readback at all) use the asynchronous twins: `unscaleOnDevice` multiplies
 * the gradients by 1/S with tensor ops written back into their storage and
 * reduces "every entry is finite" to one boolean scalar on the device, and
 * `unscaleAsync`/`stepAsync` read that one flag with `await` (one readback a
 * step) before deciding to skip. They run on the CPU too, with the same result.
 */
import { Tensor } from '../core/tensor.js';
import { tidy } from '../core/memory.js';
import { isfinite, logicalAnd, mul } from '../ops/elementwise.js';
import { all } from '../ops/reduce.js';
import { scalar } from '../ops/creation.js';
import { assignOnDevice, onHost, updateInPlace } from '../optim/inplace.js';

export interface LossScaleConfig {
  /** starting scale (default 2^16) */
  initScale?: number;
  /** multiply the scale by this after growthInterval clean steps (default 2) */
  growthFactor?: number;
  /** multiply the scale by this after a step with inf/NaN gradients (default 0.5) */
  backoffFactor?: number;
  /** consecutive clean steps before growing (default 2000) */
  growthInterval?: number;
  /** the scale never goes below this (default 2^-24, the smallest float16 subnormal) */
  minScale?: number;
  /** the scale never goes above this (default Infinity) */
  maxScale?: number;
}

export interface LossScaleState {
  readonly scale: number;
  /** consecutive clean steps since the last growth or overflow */
  readonly goodSteps: number;
  /** total steps skipped because of inf/NaN gradients */
  readonly skipped: number;
}

/** Gradients as a list or a record (null entries are parameters without a gradient). */
export type GradSet = Iterable<Tensor | null | undefined> | Readonly<Record<string, Tensor | null | undefined>>;

const gradList = (grads: GradSet): (Tensor | null | undefined)[] =>
  Symbol.iterator in (grads as object) ? [...(grads as Iterable<Tensor | null | undefined>)] : Object.values(grads as Record<string, Tensor | null | undefined>);

export interface LossScaler {
  readonly config: Readonly<Required<LossScaleConfig>>;
  init(): LossScaleState;
  /** loss × scale (a new tensor; differentiate this one) */
  scaleLoss(loss: Tensor, state: LossScaleState): Tensor;
  /** multiply every gradient by 1/scale in place; returns whether all of them are finite */
  unscale(grads: Iterable<Tensor | null | undefined> | Readonly<Record<string, Tensor | null | undefined>>, state: LossScaleState): boolean;
  /** the state after a step whose gradients were (or were not) finite */
  update(state: LossScaleState, finite: boolean): LossScaleState;
  /**
   * Unscale, then run `applyUpdate` only if the gradients are finite; returns
   * the next state and whether the step was skipped.
   */
  step(
    state: LossScaleState,
    grads: Iterable<Tensor | null | undefined> | Readonly<Record<string, Tensor | null | undefined>>,
    applyUpdate: () => void,
  ): { state: LossScaleState; skipped: boolean };
  /**
   * `unscale` without a host read, on any backend: the gradients are multiplied by 1/scale in
   * place with tensor ops, and the result is a boolean scalar tensor (on the gradients'
   * backend, owned by the caller) that is true when every unscaled entry is finite.
   */
  unscaleOnDevice(grads: GradSet, state: LossScaleState): Tensor;
  /** `unscale` for backends that read asynchronously: one awaited readback of the finite flag. */
  unscaleAsync(grads: GradSet, state: LossScaleState): Promise<boolean>;
  /** `step` with `unscaleAsync`: the skip decision waits for the flag; `applyUpdate` may be async. */
  stepAsync(state: LossScaleState, grads: GradSet, applyUpdate: () => void | Promise<void>): Promise<{ state: LossScaleState; skipped: boolean }>;
  /** validate a state read back from JSON */
  fromJSON(value: unknown): LossScaleState;
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !(v > 0) || Number.isNaN(v)) throw new Error(`dynamicLossScale: ${name} must be a positive number, got ${String(v)}`);
  return v;
}

export function dynamicLossScale(cfg: LossScaleConfig = {}): LossScaler {
  const config: Required<LossScaleConfig> = {
    initScale: positive('initScale', cfg.initScale ?? 2 ** 16),
    growthFactor: positive('growthFactor', cfg.growthFactor ?? 2),
    backoffFactor: positive('backoffFactor', cfg.backoffFactor ?? 0.5),
    growthInterval: cfg.growthInterval ?? 2000,
    minScale: positive('minScale', cfg.minScale ?? 2 ** -24),
    maxScale: positive('maxScale', cfg.maxScale ?? Infinity),
  };
  if (!Number.isInteger(config.growthInterval) || config.growthInterval < 1) {
    throw new Error(`dynamicLossScale: growthInterval must be a positive integer, got ${config.growthInterval}`);
  }
  if (config.growthFactor <= 1) throw new Error(`dynamicLossScale: growthFactor must be > 1, got ${config.growthFactor}`);
  if (config.backoffFactor >= 1) throw new Error(`dynamicLossScale: backoffFactor must be < 1, got ${config.backoffFactor}`);
  if (config.minScale > config.maxScale) throw new Error(`dynamicLossScale: minScale ${config.minScale} exceeds maxScale ${config.maxScale}`);

  const clampScale = (s: number): number => Math.min(config.maxScale, Math.max(config.minScale, s));

  const scaler: LossScaler = {
    config,
    init: () => ({ scale: clampScale(config.initScale), goodSteps: 0, skipped: 0 }),
    scaleLoss(loss, state) {
      if (!(loss instanceof Tensor)) throw new Error('lossScale.scaleLoss: loss must be a Tensor');
      return mul(loss, state.scale);
    },
    unscale(grads, state) {
      const inv = 1 / state.scale;
      const list: Iterable<Tensor | null | undefined> =
        Symbol.iterator in (grads as object) ? (grads as Iterable<Tensor | null | undefined>) : Object.values(grads as Record<string, Tensor | null | undefined>);
      let finite = true;
      for (const g of list) {
        if (g === null || g === undefined) continue;
        updateInPlace(
          g,
          (d) => {
            for (let i = 0; i < d.length; i++) {
              const v = d[i]! * inv;
              // v - v is 0 for finite v and NaN for ±inf and NaN: one test for both
              if (v - v !== 0) finite = false;
              d[i] = v;
            }
          },
          'lossScale.unscale',
        );
      }
      return finite;
    },
    update(state, finite) {
      if (!finite) return { scale: clampScale(state.scale * config.backoffFactor), goodSteps: 0, skipped: state.skipped + 1 };
      const good = state.goodSteps + 1;
      if (good >= config.growthInterval) return { scale: clampScale(state.scale * config.growthFactor), goodSteps: 0, skipped: state.skipped };
      return { scale: state.scale, goodSteps: good, skipped: state.skipped };
    },
    step(state, grads, applyUpdate) {
      const finite = scaler.unscale(grads, state);
      if (finite) applyUpdate();
      return { state: scaler.update(state, finite), skipped: !finite };
    },
    unscaleOnDevice(grads, state) {
      const inv = 1 / state.scale;
      const list = gradList(grads).filter((g): g is Tensor => g !== null && g !== undefined);
      if (list.length === 0) return scalar(1, { dtype: 'bool' });
      return tidy(() => {
        let flag: Tensor | null = null;
        for (const g of list) {
          g.assertAlive('lossScale.unscaleOnDevice');
          const u = mul(g, inv);
          const ok = all(isfinite(u));
          flag = flag ? logicalAnd(flag, ok) : ok;
          if (onHost(g)) updateInPlace(g, (d) => d.set(u.toF64()), 'lossScale.unscaleOnDevice');
          else assignOnDevice(g, u, 'lossScale.unscaleOnDevice');
        }
        return flag!;
      });
    },
    async unscaleAsync(grads, state) {
      const flag = scaler.unscaleOnDevice(grads, state);
      try {
        return (await flag.data())[0] !== 0;
      } finally {
        flag.dispose();
      }
    },
    async stepAsync(state, grads, applyUpdate) {
      const finite = await scaler.unscaleAsync(grads, state);
      if (finite) await applyUpdate();
      return { state: scaler.update(state, finite), skipped: !finite };
    },
    fromJSON(value) {
      const v = value as Partial<LossScaleState> | null;
      const ok =
        v !== null &&
        typeof v === 'object' &&
        typeof v.scale === 'number' &&
        v.scale > 0 &&
        Number.isFinite(v.scale) &&
        Number.isInteger(v.goodSteps) &&
        v.goodSteps! >= 0 &&
        Number.isInteger(v.skipped) &&
        v.skipped! >= 0;
      if (!ok) throw new Error(`lossScale.fromJSON: expected {scale > 0, goodSteps ≥ 0, skipped ≥ 0}, got ${JSON.stringify(value)}`);
      return { scale: v.scale!, goodSteps: v.goodSteps!, skipped: v.skipped! };
    },
  };
  return scaler;
}
