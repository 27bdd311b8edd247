/**
 * `nabla train diffusion|flow|vq`: train a generative model on a 2-D toy
 * data set, save the run directory (run.ts), and draw its pictures.
 *
 * The loop: AdamW (Loshchilov & Hutter, arXiv 1711.05101) with a linear
 * warmup (5% of the steps) and a cosine decay to a tenth of the peak,
 * gradients clipped at global norm 1. Step i trains on data
 * sample(foldIn(kData, i)) with noise from foldIn(kLoss, i), so the run is a
 * function of (config, step) and `--resume` continues it exactly. Between
 * steps the loop yields to the event loop, so Ctrl-C (SIGINT) is seen: it
 * finishes the step, saves a checkpoint and exits cleanly.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { gradients } from '../../autodiff/backward.js';
import { foldIn, randomKey, splitKey } from '../../ops/random.js';
import { dispose, trainableParameters } from '../../nn/module.js';
import { adamw } from '../../optim/adam.js';
import { warmupCosine } from '../../optim/schedules.js';
import { disposeOptimizerState, type OptimizerState } from '../../optim/optimizer.js';
import { readConfigFile, resolveConfig, RESUMABLE_FIELDS, type GenConfig, type GenKind } from './config.js';
import { buildModel, checkSampler } from './model.js';
import { genData } from './data.js';
import { appendMetrics, hasCheckpoint, loadRunCheckpoint, readMetrics, readRunConfig, runPaths, saveRunCheckpoint, truncateMetrics, writeRunConfig } from './run.js';
import { progress } from './progress.js';
import { drawPictures, lossCurve } from './pictures.js';

export interface TrainGenOptions {
  /** the run directory */
  out: string;
  config?: string;
  resume?: boolean;
  /** stop after this step this time (the schedule still spans `steps`); the run can be resumed */
  until?: number;
  /** plain progress lines even on a terminal */
  plain?: boolean;
  /** skip the pictures at the end */
  noPictures?: boolean;
  /** flag overrides of the config */
  flags: Partial<GenConfig>;
}

export interface TrainGenResult {
  dir: string;
  config: GenConfig;
  /** the loss of each step run this time */
  losses: number[];
  /** steps done in all */
  step: number;
  interrupted: boolean;
  pictures: string[];
}

/** The config a run starts (or resumes) with; refuses to overwrite or silently change a run. */
function settle(kind: GenKind, o: TrainGenOptions): GenConfig {
  const dir = o.out;
  const file = o.config ? readConfigFile(o.config) : {};
  if (o.resume) {
    const saved = readRunConfig(dir);
    if (saved.kind !== kind) throw new Error(`the run at ${resolve(dir)} is a ${saved.kind} run; resume it with nabla train ${saved.kind} --out ${dir} --resume`);
    const c = resolveConfig(kind, { ...saved, ...file }, o.flags, o.config ?? 'config');
    for (const k of Object.keys(c) as (keyof GenConfig)[]) {
      if (!RESUMABLE_FIELDS.has(k) && JSON.stringify(c[k]) !== JSON.stringify(saved[k])) {
        throw new Error(`--resume: '${k}' is ${JSON.stringify(saved[k])} in the run but ${JSON.stringify(c[k])} now; only ${[...RESUMABLE_FIELDS].join(', ')} may change (start a new run with another --out)`);
      }
    }
    return c;
  }
  if (existsSync(runPaths(dir).config)) throw new Error(`${resolve(dir)} already holds a run; pass --resume to continue it, or choose another --out`);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${resolve(dir)} exists and is not empty; choose another --out (nothing was written)`);
  return resolveConfig(kind, file, o.flags, o.config ?? 'config');
}

export async function runTrainGen(kind: GenKind, o: TrainGenOptions, out: (line: string) => void = console.log): Promise<TrainGenResult> {
  const c = settle(kind, o);
  const dir = o.out;
  const [kInit, kData, kLoss, kSample] = splitKey(randomKey(c.seed), 4);
  const model = buildModel(c, kInit!);
  if (c.sampler !== undefined) checkSampler(model, c, c.sampler);
  const data = genData(c.data);
  const trainable = trainableParameters(model.module);
  const names = Object.keys(trainable);
  const optimizer = adamw({ lr: warmupCosine({ peak: c.lr, warmup: Math.floor(c.steps / 20), total: c.steps, final: c.lr / 10 }), clipNorm: 1 });
  let state: OptimizerState;
  let step = 0;
  if (o.resume && hasCheckpoint(dir)) {
    const r = loadRunCheckpoint(dir, model, c, { optimizer, trainable });
    state = r.optState!;
    step = r.step;
    truncateMetrics(dir, step);
  } else {
    mkdirSync(dir, { recursive: true });
    writeRunConfig(dir, c);
    truncateMetrics(dir, 0);
    state = optimizer.init(trainable);
    if (model.init) {
      const x0 = data.sample(foldIn(kData!, -1 >>> 0), c.batch);
      model.init(x0);
      x0.dispose();
    }
  }
  writeRunConfig(dir, c);
  const stopAt = Math.min(c.steps, o.until ?? c.steps);
  out(`nabla train ${kind}: ${model.describe} on ${c.data}${data.imageShape ? ` (${data.imageShape.join('×')} images)` : ''}, ${c.steps} steps of batch ${c.batch}, lr ${c.lr}, seed ${c.seed}`);
  out(step > 0 ? `resuming ${resolve(dir)} at step ${step}` : `run directory ${resolve(dir)}`);

  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    out('Ctrl-C: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
  };
  process.on('SIGINT', onSigint);
  const losses: number[] = [];
  const bar = progress(stopAt, step, out, { tty: o.plain ? false : undefined });
  const t0 = performance.now();
  try {
    let pending: Record<string, unknown>[] = [];
    while (step < stopAt && !interrupted) {
      const i = step;
      const value = tidy(() => {
        const x: Tensor = data.sample(foldIn(kData!, i), c.batch);
        const l = model.loss(x, foldIn(kLoss!, i));
        const gs = gradients([l], names.map((n) => trainable[n]!));
        const grads: Record<string, Tensor | null> = {};
        names.forEach((n, k) => (grads[n] = gs[k] ?? null));
        state = optimizer.update(grads, state, trainable).state;
        return l.item();
      });
      if (!Number.isFinite(value)) throw new Error(`the loss is ${value} at step ${i}; lower --lr (now ${c.lr}) or the batch's scale`);
      losses.push(value);
      step = i + 1;
      pending.push({ step: i, loss: value, lr: optimizer.lrAt(i), seconds: +((performance.now() - t0) / 1000).toFixed(3) });
      bar.update(step, { loss: value.toFixed(4) });
      if (step % c.checkpointEvery === 0 || step === stopAt) {
        appendMetrics(dir, pending);
        pending = [];
        saveRunCheckpoint(dir, step, model, state, c);
      }
      // let signals in
      if (step % 4 === 0) await new Promise((r) => setImmediate(r));
    }
    bar.stop();
    if (pending.length) {
      appendMetrics(dir, pending);
      saveRunCheckpoint(dir, step, model, state, c);
    }
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    disposeOptimizerState(state);
  }
  const secs = (performance.now() - t0) / 1000;
  const pictures: string[] = [];
  if (interrupted || step < c.steps) {
    out(`${interrupted ? 'interrupted' : 'stopped'} after step ${step} of ${c.steps}; checkpoint saved in ${runPaths(dir).checkpoints}`);
    out(`continue:  nabla train ${kind} --out ${dir} --resume`);
  } else {
    if (model.summary) {
      const s = model.summary(kSample!);
      appendMetrics(dir, [{ summary: true, step, ...s }]);
      out(Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', '));
    }
    out(`done: ${step} steps${losses.length ? ` (${losses.length} this time) in ${secs.toFixed(1)} s, last loss ${losses.at(-1)!.toFixed(4)}` : ''}`);
    if (!o.noPictures) {
      pictures.push(lossCurve(dir, readMetrics(dir), c));
      const sampler = c.sampler ?? model.samplers[0]!;
      const drawn = drawPictures(dir, model, c, { sampler, steps: c.sampleSteps ?? model.defaultSteps, n: c.samples, key: kSample! });
      pictures.push(...drawn.paths);
      appendMetrics(dir, [{ summary: true, step, sampler, sw2: drawn.quality.sw2, sw2Floor: drawn.quality.floor }]);
      out(`samples (${sampler}): sliced W2 to fresh data ${drawn.quality.sw2.toFixed(4)} (data against data: ${drawn.quality.floor.toFixed(4)})`);
      for (const p of pictures) out(`wrote ${p}`);
    }
    out(`continue:  nabla train ${kind} --out ${dir} --resume --steps ${c.steps * 2}`);
    out(`sample:    nabla sample ${dir} --sampler ${model.samplers[0]}${model.defaultSteps ? ` --steps ${model.defaultSteps}` : ''}   (samplers: ${model.samplers.join(', ')})`);
  }
  dispose(model.module);
  return { dir, config: c, losses, step, interrupted, pictures };
}
