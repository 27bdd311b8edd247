/**
 * Exact resume: everything a training run needs to continue bit for bit,
 * saved together and crash-safely through `checkpointFile.ts` (weights and
 * optimiser buffers in safetensors, the rest as JSON beside them, the whole
 * directory renamed into place and `latest.json` replaced atomically).
 *
 * What "everything" is, and why each part is needed:
 * - the weights (float32 masters), exactly;
 * - the optimiser's buffers and per-parameter step counts (Adam's bias
 *   correction depends on them);
 * - the step: schedules, data order and per-step keys are functions of it;
 * - the RNG key: nabla's generator is keyed, not stateful, so a run's
 *   randomness is (key, step) and derived keys (`foldIn(key, step)`) replay
 *   exactly; there is no hidden generator state to capture;
 * - the loss-scale state (scale, clean-step count, skips);
 * - the config, so a resume with different hyperparameters is caught.
 *
 * Loading writes into the caller's *fresh* parameter tensors in place and
 * rebuilds the optimiser state from `optimizer.init(params)`, so nothing from
 * the old process is reused; mismatched names or shapes fail naming the tensor.
 */
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../core/random.js';
import { assignWeights, loadCheckpoint, saveCheckpoint } from './checkpointFile.js';
import { disposeOptimizerState, type Optimizer, type OptimizerState, type Params } from '../optim/optimizer.js';
import { restoreOptimizerState } from '../optim/state.js';
import type { LossScaler, LossScaleState } from './lossScale.js';

const FORMAT = 'nabla.training/1';

export interface TrainingState {
  /** steps completed (the next step to run) */
  step: number;
  params: Params;
  optState?: OptimizerState;
  scaleState?: LossScaleState;
  /** the run's base PRNG key */
  key?: Key;
  /** hyperparameters and model config (JSON) */
  config?: Record<string, unknown>;
  /** anything else JSON-serialisable: data position, metrics, best loss */
  extra?: Record<string, unknown>;
}

export interface ResumeTarget {
  /** fresh parameters of the same names and shapes; the weights are copied into them */
  params: Params;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer?: Optimizer<any>;
  scaler?: LossScaler;
  /** when given, the saved config must equal it (deep, JSON) */
  config?: Record<string, unknown>;
  /** load the checkpoint of this step instead of the newest */
  step?: number;
}

export interface ResumedState {
  step: number;
  /** the checkpoint directory it came from */
  dir: string;
  optState?: OptimizerState;
  scaleState?: LossScaleState;
  key?: Key;
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

function checkKey(k: unknown, where: string): Key {
  const ok = (w: unknown): boolean => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < 2 ** 32;
  if (!Array.isArray(k) || k.length !== 2 || !ok(k[0]) || !ok(k[1])) throw new Error(`${where}: key must be a pair of uint32 words, got ${JSON.stringify(k)}`);
  return [k[0], k[1]] as const;
}

/** Save a training state under `root` (a directory of checkpoints); keeps the newest `keep` (default 3). Returns the checkpoint's directory. */
export function saveTrainingState(root: string, s: TrainingState, opts: { keep?: number } = {}): string {
  if (!s || typeof s !== 'object') throw new Error('saveTrainingState: state must be an object');
  if (s.key !== undefined) checkKey(s.key, 'saveTrainingState');
  for (const [name, v] of [['config', s.config], ['extra', s.extra]] as const) {
    if (v !== undefined && (v === null || typeof v !== 'object')) throw new Error(`saveTrainingState: ${name} must be a JSON object`);
  }
  const state: Record<string, unknown> = { format: FORMAT, key: s.key ?? null, config: s.config ?? null, extra: s.extra ?? null };
  return saveCheckpoint(root, { step: s.step, model: s.params, optimizer: s.optState, lossScale: s.scaleState, state }, opts);
}

/** The first path where two JSON values differ ('' when equal). */
function firstDifference(a: unknown, b: unknown, path = 'config'): string {
  if (Object.is(a, b)) return '';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of [...keys].sort()) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
    if (d) return d;
  }
  return '';
}

/**
 * Load the newest training state under `root` (or the one of `target.step`)
 * into `target`: weights copied into `target.params`, optimiser state rebuilt
 * with `target.optimizer`, loss-scale state validated with `target.scaler`.
 */
export function loadTrainingState(root: string, target: ResumeTarget): ResumedState {
  if (!target || typeof target !== 'object' || !target.params) throw new Error('loadTrainingState: target must hold the fresh params to load into');
  const loaded = loadCheckpoint(root, target.step === undefined ? {} : { step: target.step });
  const owned: Tensor[] = [...Object.values(loaded.model), ...Object.values(loaded.optimizer?.tensors ?? {}), ...Object.values(loaded.ema?.shadow ?? {})];
  let fresh: OptimizerState | undefined;
  try {
    const st = (loaded.state ?? {}) as { format?: unknown; key?: unknown; config?: Record<string, unknown> | null; extra?: Record<string, unknown> | null };
    if (st.format !== FORMAT) throw new Error(`loadTrainingState: ${loaded.dir} was not written by saveTrainingState (format ${JSON.stringify(st.format)}, expected '${FORMAT}')`);
    if (target.config !== undefined) {
      const d = firstDifference(st.config ?? undefined, JSON.parse(JSON.stringify(target.config)));
      if (d) throw new Error(`loadTrainingState: the checkpoint's ${d} differs from the config given (saved ${JSON.stringify(st.config)})`);
    }
    const out: ResumedState = { step: loaded.step, dir: loaded.dir };
    assignWeights(target.params, loaded.model);
    if (target.optimizer) {
      if (!loaded.optimizer) throw new Error(`loadTrainingState: ${loaded.dir} holds no optimiser state`);
      fresh = target.optimizer.init(target.params);
      out.optState = restoreOptimizerState(fresh, loaded.optimizer);
    }
    if (target.scaler) {
      if (!loaded.lossScale) throw new Error(`loadTrainingState: ${loaded.dir} holds no loss-scale state`);
      out.scaleState = target.scaler.fromJSON(loaded.lossScale);
    }
    if (st.key !== null && st.key !== undefined) out.key = checkKey(st.key, 'loadTrainingState');
    if (st.config) out.config = st.config;
    if (st.extra) out.extra = st.extra;
    return out;
  } catch (e) {
    if (fresh) disposeOptimizerState(fresh);
    throw e;
  } finally {
    for (const t of owned) t.dispose();
  }
}
