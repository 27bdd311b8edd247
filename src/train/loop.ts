/**
 * A training loop helper: plain functions around a `step(i)` you write, not a
 * framework. It runs steps `startStep … steps−1`, each inside its own scope
 * (so a step leaks nothing), and around them:
 *
 * - evaluation every `evalEvery` steps and after the last one;
 * - logging every `logEvery` steps (mean loss over the window) and progress
 *   after every step (step, loss, steps/s, tokens/s, elapsed, ETA), both as
 *   plain data the CLI renders as it likes (`formatProgress` is one way);
 * - an early stop, with a message naming the step, when the loss turns NaN
 *   or ±inf, or when loss scaling has skipped `maxConsecutiveSkips` steps in
 *   a row (the forward pass overflows at any scale);
 * - `shouldStop()` for a clean stop on request (Ctrl-C), and `onStepEnd`
 *   after each step (for checkpoints).
 *
 * Gradient accumulation is part of the step: `trainStep({ microBatches })`.
 * The loop is async so a step may await (GPU reads), and it yields to the
 * event loop now and then so signals and progress output get through.
 */
import { Tensor } from '../core/tensor.js';
import { scope } from '../core/memory.js';
import { onHost } from '../optim/inplace.js';

/** What a step returns: its loss (a number or a scalar Tensor), or a record with it. */
export type StepOutput = number | Tensor | { loss: number | Tensor; skipped?: boolean; tokens?: number; [k: string]: unknown };

export interface Progress {
  /** the step just finished (0-based) and how many steps there are in all */
  step: number;
  totalSteps: number;
  loss: number;
  /** the loss-scaling (or other) skip of this step */
  skipped: boolean;
  /** steps per second and tokens per second over this run so far */
  stepsPerSec: number;
  tokensPerSec: number;
  elapsedSec: number;
  /** estimated seconds to the last step at the rate so far */
  etaSec: number;
}

export interface LogEntry {
  step: number;
  /** mean loss over the steps since the last log (skipped steps left out) */
  loss: number;
  /** anything else the last step returned (learning rate, grad norm, ...) */
  extra: Record<string, unknown>;
  progress: Progress;
}

export interface EvalEntry {
  step: number;
  metrics: Record<string, number>;
}

export interface StopInfo {
  step: number;
  reason: 'nonfinite' | 'skips' | 'requested';
  message: string;
}

export interface TrainLoopOptions {
  /** total number of steps (the loop ends after step steps−1) */
  steps: number;
  /** first step to run (resume), default 0 */
  startStep?: number;
  step: (i: number) => StepOutput | Promise<StepOutput>;
  evalEvery?: number;
  /** run after step i when (i+1) is a multiple of evalEvery, and after the last step */
  evaluate?: (i: number) => number | Record<string, number> | Promise<number | Record<string, number>>;
  /** default 1 */
  logEvery?: number;
  onLog?: (e: LogEntry) => void;
  onEval?: (e: EvalEntry) => void;
  onProgress?: (p: Progress) => void;
  /** called after each step (and its log/eval), e.g. to save a checkpoint */
  onStepEnd?: (i: number, p: Progress) => void | Promise<void>;
  /** tokens (or examples) one step consumes, for tokens/s; a step may also return `tokens` */
  tokensPerStep?: number;
  /** 'stop' (default): end the loop and report; 'throw': throw an Error with the message */
  onNonFinite?: 'stop' | 'throw';
  /** stop after this many consecutive skipped steps (default 50) */
  maxConsecutiveSkips?: number;
  shouldStop?: () => boolean;
  /** milliseconds clock (default performance.now), injectable for tests */
  clock?: () => number;
}

export interface TrainLoopResult {
  /** the last step that ran (startStep−1 if none) */
  lastStep: number;
  /** loss of every step that ran, in order */
  losses: number[];
  evals: EvalEntry[];
  stopped: StopInfo | null;
  elapsedSec: number;
}

/** The loss as a number: read synchronously on the CPU, awaited on a backend that reads asynchronously (WebGPU). */
async function readLoss(v: number | Tensor, i: number): Promise<number> {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor) {
    if (v.size !== 1) throw new Error(`trainLoop: step ${i} returned a loss of shape ${v.describe()}; it must be a scalar`);
    if (!onHost(v)) return Number((await v.data())[0]);
    return v.item();
  }
  throw new Error(`trainLoop: step ${i} must return a loss (number or scalar Tensor), got ${v === null ? 'null' : typeof v}`);
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new Error(`trainLoop: ${name} must be a positive integer, got ${x}`);
  return x;
}

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    const si = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
    if (si) si(resolve);
    else setTimeout(resolve, 0);
  });

function fmtNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
}

/** Run the loop; resolves when the last step is done or the loop stopped early. */
export async function trainLoop(o: TrainLoopOptions): Promise<TrainLoopResult> {
  if (typeof o.step !== 'function') throw new Error('trainLoop: step must be a function (i) => loss');
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new Error(`trainLoop: steps must be a non-negative integer, got ${o.steps}`);
  const start = o.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0) throw new Error(`trainLoop: startStep must be a non-negative integer, got ${start}`);
  const logEvery = positiveInt('logEvery', o.logEvery, 1);
  const evalEvery = o.evalEvery === undefined ? undefined : positiveInt('evalEvery', o.evalEvery, 1);
  const maxSkips = positiveInt('maxConsecutiveSkips', o.maxConsecutiveSkips, 50);
  if (o.onNonFinite !== undefined && o.onNonFinite !== 'stop' && o.onNonFinite !== 'throw') {
    throw new Error(`trainLoop: onNonFinite must be 'stop' or 'throw', got ${String(o.onNonFinite)}`);
  }
  const clock = o.clock ?? (() => performance.now());
  const t0 = clock();
  let lastYield = t0;
  const losses: number[] = [];
  const evals: EvalEntry[] = [];
  let stopped: StopInfo | null = null;
  let tokens = 0;
  let window: number[] = [];
  let skipsInARow = 0;
  let lastFinite: { step: number; loss: number } | null = null;
  let i = start;

  const runEval = async (step: number): Promise<void> => {
    if (!o.evaluate) return;
    const r = await scope(async () => o.evaluate!(step));
    const metrics = typeof r === 'number' ? { loss: r } : r;
    const e = { step, metrics };
    evals.push(e);
    o.onEval?.(e);
  };

  for (; i < o.steps; i++) {
    if (o.shouldStop?.()) {
      stopped = { step: i, reason: 'requested', message: `trainLoop: stopped on request before step ${i}` };
      break;
    }
    const out = await scope(async () => {
      const r = await o.step(i);
      // read the loss inside the scope, so a Tensor loss is freed with the step's other tensors
      if (typeof r === 'object' && !(r instanceof Tensor) && r !== null) return { ...r, loss: await readLoss(r.loss, i) };
      return { loss: await readLoss(r as number | Tensor, i) };
    });
    const loss = out.loss;
    const skipped = out.skipped === true;
    losses.push(loss);
    tokens += typeof out.tokens === 'number' ? out.tokens : (o.tokensPerStep ?? 0);
    const elapsedSec = (clock() - t0) / 1000;
    const done = i - start + 1;
    const stepsPerSec = elapsedSec > 0 ? done / elapsedSec : 0;
    const progress: Progress = {
      step: i,
      totalSteps: o.steps,
      loss,
      skipped,
      stepsPerSec,
      tokensPerSec: elapsedSec > 0 ? tokens / elapsedSec : 0,
      elapsedSec,
      etaSec: stepsPerSec > 0 ? (o.steps - i - 1) / stepsPerSec : 0,
    };
    o.onProgress?.(progress);

    skipsInARow = skipped ? skipsInARow + 1 : 0;
    if (!Number.isFinite(loss) && !skipped) {
      const last = lastFinite ? ` (last finite loss ${fmtNumber(lastFinite.loss)} at step ${lastFinite.step})` : '';
      stopped = { step: i, reason: 'nonfinite', message: `trainLoop: the loss became ${loss} at step ${i}${last}; stopping` };
    } else if (skipsInARow >= maxSkips) {
      stopped = {
        step: i,
        reason: 'skips',
        message: `trainLoop: ${skipsInARow} steps in a row were skipped (steps ${i - skipsInARow + 1}–${i}, last loss ${fmtNumber(loss)}); the gradients overflow at every loss scale; stopping`,
      };
    }
    if (Number.isFinite(loss) && !skipped) {
      lastFinite = { step: i, loss };
      window.push(loss);
    }
    if (stopped) {
      if (o.onNonFinite === 'throw') throw new Error(stopped.message);
      break;
    }

    const last = i === o.steps - 1;
    if (o.onLog && ((i + 1) % logEvery === 0 || last)) {
      const extra = Object.fromEntries(Object.entries(out).filter(([k]) => k !== 'loss' && k !== 'skipped' && k !== 'tokens'));
      const mean = window.length > 0 ? window.reduce((a, b) => a + b, 0) / window.length : NaN;
      o.onLog({ step: i, loss: mean, extra, progress });
      window = [];
    }
    if (evalEvery !== undefined && ((i + 1) % evalEvery === 0 || last)) await runEval(i);
    else if (evalEvery === undefined && last) await runEval(i);
    await o.onStepEnd?.(i, progress);
    if (clock() - lastYield > 50) {
      await yieldToEventLoop();
      lastYield = clock();
    }
  }
  const lastStep = stopped ? (stopped.reason === 'requested' ? i - 1 : i) : o.steps - 1;
  return { lastStep: Math.max(lastStep, start - 1), losses, evals, stopped, elapsedSec: (clock() - t0) / 1000 };
}

function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** One line for a terminal: `step 120/1000  loss 2.3104  1.8k tok/s  12.5 it/s  eta 1m10s`. */
export function formatProgress(p: Progress): string {
  const width = String(p.totalSteps).length;
  const tok = p.tokensPerSec >= 1000 ? `${(p.tokensPerSec / 1000).toFixed(1)}k` : p.tokensPerSec.toFixed(0);
  const parts = [
    `step ${String(p.step + 1).padStart(width)}/${p.totalSteps}`,
    `loss ${fmtNumber(p.loss)}${p.skipped ? ' (skipped)' : ''}`,
    ...(p.tokensPerSec > 0 ? [`${tok} tok/s`] : []),
    `${p.stepsPerSec.toFixed(p.stepsPerSec >= 10 ? 1 : 2)} it/s`,
    `eta ${fmtDuration(p.etaSec)}`,
  ];
  return parts.join('  ');
}
