/**
 * A generative run directory:
 *
 *   config.json            the merged config (what --resume and `nabla sample` rebuild the model from)
 *   metrics.jsonl          one JSON object per training step ({step, loss, lr, seconds}) and a final summary
 *   checkpoints/ckpt-N/    weights and AdamW state (safetensors) + trainer.json, via src/train/checkpointFile.ts;
 *                          checkpoints/latest.json names the newest complete one
 *   pictures/*.png         samples, density, trajectories, loss curve
 *
 * Checkpoints hold every named parameter (frozen ones too: an EMA codebook,
 * a quantiser's usage counts) and the optimiser state of the trainable ones,
 * so a resumed run continues exactly: each step's data and noise are drawn
 * from foldIn(key, step), the learning rate is a function of the step.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { atomicWriteFileSync } from '../../io/atomicWrite.js';
import { namedParameters } from '../../nn/module.js';
import type { Optimizer, OptimizerState } from '../../optim/optimizer.js';
import { disposeOptimizerState } from '../../optim/optimizer.js';
import { restoreOptimizerState } from '../../optim/state.js';
import { assignWeights, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../train/checkpointFile.js';
import { GEN_KINDS, type GenConfig } from './config.js';
import type { GenModel } from './model.js';

const FORMAT = 'nabla.gen/1';

export const runPaths = (dir: string) => ({
  config: join(dir, 'config.json'),
  metrics: join(dir, 'metrics.jsonl'),
  checkpoints: join(dir, 'checkpoints'),
  pictures: join(dir, 'pictures'),
});

/** The run's saved config; one clear line when the directory holds no run. */
export function readRunConfig(dir: string): GenConfig {
  const p = runPaths(dir).config;
  if (!existsSync(p)) throw new Error(`no run at ${resolve(dir)} (no config.json there); train one first, e.g. nabla train diffusion --out ${dir}`);
  let c: GenConfig;
  try {
    c = JSON.parse(readFileSync(p, 'utf8')) as GenConfig;
  } catch (e) {
    throw new Error(`${p} is not valid JSON (${(e as Error).message}); the run directory is damaged`, { cause: e });
  }
  if (!c || !GEN_KINDS.includes(c.kind)) throw new Error(`${p} is not the config of a generative run (kind ${JSON.stringify(c?.kind)}); nabla sample reads runs of nabla train diffusion|flow|vq`);
  return c;
}

export function writeRunConfig(dir: string, c: GenConfig): void {
  atomicWriteFileSync(runPaths(dir).config, new TextEncoder().encode(JSON.stringify(c, null, 2) + '\n'));
}

/** Append metric records (one JSON object per line). */
export function appendMetrics(dir: string, records: readonly Record<string, unknown>[]): void {
  if (records.length) appendFileSync(runPaths(dir).metrics, records.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** The metric records so far (lines that do not parse are skipped). */
export function readMetrics(dir: string): Record<string, unknown>[] {
  const p = runPaths(dir).metrics;
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Drop the step records at or after `step` (a resume redoes them) and any summaries. */
export function truncateMetrics(dir: string, step: number): void {
  const keep = readMetrics(dir).filter((r) => typeof r.step === 'number' && r.step < step && r.summary === undefined);
  writeFileSync(runPaths(dir).metrics, keep.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Save the model and the optimiser state after `step` steps. */
export function saveRunCheckpoint(dir: string, step: number, model: GenModel, opt: OptimizerState | undefined, c: GenConfig): string {
  return saveCheckpoint(runPaths(dir).checkpoints, { step, model: namedParameters(model.module), optimizer: opt, state: { format: FORMAT, model: c.model, kind: c.kind } }, { keep: 2 });
}

/** True when the run has at least one checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(runPaths(dir).checkpoints) && listCheckpoints(runPaths(dir).checkpoints).length > 0;
}

/**
 * Load the newest checkpoint into the model (in place) and, with an
 * optimiser, rebuild its state for `trainable`. Returns the step reached.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadRunCheckpoint(dir: string, model: GenModel, c: GenConfig, opt?: { optimizer: Optimizer<any>; trainable: Record<string, Tensor> }): { step: number; optState?: OptimizerState } {
  if (!hasCheckpoint(dir)) throw new Error(`the run at ${resolve(dir)} has no checkpoint yet; train it (nabla train ${c.kind} --out ${dir}) first`);
  const loaded = loadCheckpoint(runPaths(dir).checkpoints);
  const owned = [...Object.values(loaded.model), ...Object.values(loaded.optimizer?.tensors ?? {})];
  let fresh: OptimizerState | undefined;
  try {
    const st = (loaded.state ?? {}) as { format?: string; model?: string; kind?: string };
    if (st.format !== FORMAT) throw new Error(`${loaded.dir} was not written by nabla train ${c.kind} (format ${JSON.stringify(st.format)})`);
    if (st.model !== c.model || st.kind !== c.kind) throw new Error(`${loaded.dir} holds a ${st.kind} model '${st.model}' but config.json says ${c.kind} '${c.model}'; the run directory is inconsistent`);
    try {
      assignWeights(namedParameters(model.module), loaded.model);
    } catch (e) {
      throw new Error(`the checkpoint in ${loaded.dir} does not fit the model of config.json (${(e as Error).message}); was config.json edited?`, { cause: e });
    }
    model.afterLoad?.();
    if (!opt) return { step: loaded.step };
    if (!loaded.optimizer) throw new Error(`${loaded.dir} holds no optimiser state, so the run cannot be resumed exactly`);
    fresh = opt.optimizer.init(opt.trainable);
    return { step: loaded.step, optState: restoreOptimizerState(fresh, loaded.optimizer) };
  } catch (e) {
    if (fresh) disposeOptimizerState(fresh);
    throw e;
  } finally {
    for (const t of owned) t.dispose();
  }
}
