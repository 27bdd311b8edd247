/**
 * Learning-rate schedules as plain functions of the step.
 *
 * A schedule maps the number of updates already applied (0 for the first
 * update) to the learning rate of the next one. Being pure functions of the
 * step, they need no state to save in a checkpoint: resuming at step t gives
 * the same learning rate as running straight through.
 *
 * `oneCycle`, `stepDecay` and `multiStep` follow PyTorch's `OneCycleLR`,
 * `StepLR` and `MultiStepLR` step for step (a test checks them against PyTorch
 * when it is installed).
 */
export type Schedule = (step: number) => number;

function check(fn: string, name: string, v: number, ok: (v: number) => boolean, want: string): void {
  if (typeof v !== 'number' || !ok(v)) throw new Error(`${fn}: ${name} must be ${want}, got ${String(v)}`);
}
const finite = (v: number): boolean => Number.isFinite(v);
const nonNeg = (v: number): boolean => Number.isFinite(v) && v >= 0;
const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
const count = (v: number): boolean => Number.isInteger(v) && v >= 0;

function checkStep(fn: string, t: number): void {
  if (!Number.isInteger(t) || t < 0) throw new Error(`${fn}: step must be a non-negative integer, got ${t}`);
}

/** Cosine interpolation from `a` (pct 0) to `b` (pct 1). */
function cosAnneal(a: number, b: number, pct: number): number {
  return b + ((a - b) / 2) * (1 + Math.cos(Math.PI * pct));
}
function linAnneal(a: number, b: number, pct: number): number {
  return a + (b - a) * pct;
}

/** The same learning rate at every step. */
export function constant(lr: number): Schedule {
  check('constant', 'lr', lr, finite, 'a finite number');
  return (t) => {
    checkStep('constant', t);
    return lr;
  };
}

export interface WarmupDecayOptions {
  /** the learning rate reached at the end of warmup */
  peak: number;
  /** warmup steps: the rate rises linearly from `start` at step 0 to `peak` at step `warmup` */
  warmup: number;
  /** the step at which the decay reaches `final` (and stays there) */
  total: number;
  /** learning rate at the start of warmup (default 0) */
  start?: number;
  /** learning rate at and after `total` (default 0) */
  final?: number;
}

function warmupDecay(fn: string, o: WarmupDecayOptions, anneal: (a: number, b: number, pct: number) => number): Schedule {
  check(fn, 'peak', o.peak, finite, 'a finite number');
  check(fn, 'warmup', o.warmup, count, 'a non-negative integer');
  check(fn, 'total', o.total, count, 'a non-negative integer');
  if (o.total < o.warmup) throw new Error(`${fn}: total (${o.total}) must be at least warmup (${o.warmup})`);
  const start = o.start ?? 0;
  const final = o.final ?? 0;
  check(fn, 'start', start, finite, 'a finite number');
  check(fn, 'final', final, finite, 'a finite number');
  return (t) => {
    checkStep(fn, t);
    if (t < o.warmup) return linAnneal(start, o.peak, t / o.warmup);
    if (t >= o.total) return o.total === o.warmup ? o.peak : final;
    return anneal(o.peak, final, (t - o.warmup) / (o.total - o.warmup));
  };
}

/**
 * Linear warmup then cosine decay to `final` (SGDR without restarts: Loshchilov & Hutter,
 * "SGDR: Stochastic Gradient Descent with Warm Restarts", arXiv 1608.03983, eq. 5).
 * With warmup 0 it equals PyTorch's `CosineAnnealingLR(T_max=total, eta_min=final)`.
 */
export function warmupCosine(o: WarmupDecayOptions): Schedule {
  return warmupDecay('warmupCosine', o, cosAnneal);
}

/** Linear warmup then linear decay to `final` (the BERT schedule). */
export function warmupLinear(o: WarmupDecayOptions): Schedule {
  return warmupDecay('warmupLinear', o, linAnneal);
}

/** lr·gamma^⌊t/stepSize⌋ (PyTorch `StepLR`). */
export function stepDecay(o: { lr: number; stepSize: number; gamma?: number }): Schedule {
  const gamma = o.gamma ?? 0.1;
  check('stepDecay', 'lr', o.lr, finite, 'a finite number');
  check('stepDecay', 'stepSize', o.stepSize, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  check('stepDecay', 'gamma', gamma, nonNeg, 'a non-negative number');
  return (t) => {
    checkStep('stepDecay', t);
    return o.lr * gamma ** Math.floor(t / o.stepSize);
  };
}

/** lr·gamma^(number of milestones ≤ t) (PyTorch `MultiStepLR`). */
export function multiStep(o: { lr: number; milestones: readonly number[]; gamma?: number }): Schedule {
  const gamma = o.gamma ?? 0.1;
  check('multiStep', 'lr', o.lr, finite, 'a finite number');
  check('multiStep', 'gamma', gamma, nonNeg, 'a non-negative number');
  o.milestones.forEach((m, i) => check('multiStep', `milestones[${i}]`, m, count, 'a non-negative integer'));
  const ms = [...o.milestones];
  return (t) => {
    checkStep('multiStep', t);
    let k = 0;
    for (const m of ms) if (t >= m) k++;
    return o.lr * gamma ** k;
  };
}

export interface OneCycleOptions {
  maxLr: number;
  /** total number of updates the schedule spans */
  total: number;
  /** fraction of the steps spent rising (default 0.3) */
  pctStart?: number;
  /** initial lr = maxLr / divFactor (default 25) */
  divFactor?: number;
  /** minimum lr = initial lr / finalDivFactor (default 1e4) */
  finalDivFactor?: number;
  /** 'cos' (default) or 'linear' annealing within each phase */
  anneal?: 'cos' | 'linear';
  /** rise, fall back to the initial lr, then anneal to the minimum (fast.ai's variant; default false) */
  threePhase?: boolean;
}

/**
 * One-cycle policy (Smith & Topin, "Super-Convergence", arXiv 1708.07120), with
 * PyTorch `OneCycleLR`'s phase boundaries: phase k ends at step
 * pctStart·total − 1 (then total − 1), and steps past the end keep the minimum.
 */
export function oneCycle(o: OneCycleOptions): Schedule {
  const fn = 'oneCycle';
  const pctStart = o.pctStart ?? 0.3;
  const divFactor = o.divFactor ?? 25;
  const finalDiv = o.finalDivFactor ?? 1e4;
  check(fn, 'maxLr', o.maxLr, finite, 'a finite number');
  check(fn, 'total', o.total, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  check(fn, 'pctStart', pctStart, (v) => v > 0 && v < 1, 'in (0, 1)');
  check(fn, 'divFactor', divFactor, positive, 'a positive number');
  check(fn, 'finalDivFactor', finalDiv, positive, 'a positive number');
  const anneal = (o.anneal ?? 'cos') === 'cos' ? cosAnneal : linAnneal;
  const initial = o.maxLr / divFactor;
  const min = initial / finalDiv;
  const T = o.total;
  const phases = o.threePhase
    ? [
        { end: pctStart * T - 1, from: initial, to: o.maxLr },
        { end: 2 * pctStart * T - 2, from: o.maxLr, to: initial },
        { end: T - 1, from: initial, to: min },
      ]
    : [
        { end: pctStart * T - 1, from: initial, to: o.maxLr },
        { end: T - 1, from: o.maxLr, to: min },
      ];
  return (t) => {
    checkStep(fn, t);
    if (t >= T - 1) return min;
    let begin = 0;
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i]!;
      if (t <= p.end || i === phases.length - 1) return anneal(p.from, p.to, (t - begin) / (p.end - begin));
      begin = p.end;
    }
    return min;
  };
}

/** A schedule multiplied by a constant (e.g. a parameter group's learning-rate multiplier). */
export function scaled(s: Schedule, factor: number): Schedule {
  check('scaled', 'factor', factor, finite, 'a finite number');
  return (t) => s(t) * factor;
}

/** `number | Schedule` → Schedule. */
export function asSchedule(lr: number | Schedule, fn = 'schedule'): Schedule {
  if (typeof lr === 'function') return lr;
  check(fn, 'lr', lr, finite, 'a finite number or a schedule function');
  return () => lr;
}
