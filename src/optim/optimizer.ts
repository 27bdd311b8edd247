/**
 * The optimiser driver: parameter groups, learning-rate schedules, gradient
 * hooks and global-norm clipping around an update rule (SGD, Adam, AdamW,
 * Lion, ...), in the `{init, update}` style of optax.
 *
 * - `init(params)` resolves each named parameter to its group and allocates
 *   the rule's state buffers ("slots": momentum, first and second moments).
 * - `update(grads, state, params)` applies one step. Parameters and slots are
 *   updated *in place* (see `inplace.ts` for why and how): a step allocates no
 *   tensors unless hooks are used. It returns the same parameter tensors and a
 *   new state object whose step counters moved on (the slot tensors inside it
 *   are the same, updated, tensors). Keep using the returned state.
 *
 * Semantics follow PyTorch where it defines them: a parameter whose gradient
 * is null is skipped and its state left alone; each parameter counts its own
 * updates for bias correction (PyTorch's per-parameter `state['step']`); the
 * learning rate of group g is its schedule at the global step times its
 * multiplier. Parameters are matched to groups in order; the first group that
 * matches wins, the rest use the defaults (group 0).
 */
import { Tensor } from '../core/tensor.js';
import { isFloat, type DType } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { zeros } from '../ops/creation.js';
import { assignOnDevice, onHost, readable, writable, type Floats } from './inplace.js';
import { tidy } from '../core/memory.js';
import { mul } from '../ops/elementwise.js';
import { asSchedule, type Schedule } from './schedules.js';
import { matches, runHooks, type GradHook, type ParamMatch } from './hooks.js';
import { clipCoefficient, clipCoefficientTensor, globalNorm, globalNormTensor } from './clip.js';

export type Params = Readonly<Record<string, Tensor>>;
export type Grads = Readonly<Record<string, Tensor | null | undefined>>;

export interface ParamState {
  /** the group this parameter belongs to: 0 for the defaults, k for `groups[k-1]` */
  readonly group: number;
  /** updates applied to this parameter so far */
  readonly count: number;
  /** learning-rate multiplier: the group's `lrScale` times `lrMultiplier(name)` */
  readonly lrScale: number;
  /** state buffers of the rule, by slot name (same shape as the parameter) */
  readonly slots: Readonly<Record<string, Tensor>>;
}

export interface OptimizerState {
  /** the rule that made this state ('adamw', ...) */
  readonly kind: string;
  /** updates applied (the step schedules see) */
  readonly step: number;
  readonly params: Readonly<Record<string, ParamState>>;
}

export interface UpdateInfo {
  /** the step this update was (0 for the first) */
  step: number;
  /** learning rate of each group at this step (index 0: the defaults) */
  lr: number[];
  /** global gradient norm before clipping (when `clipNorm` is set) */
  gradNorm?: number;
  /** how many parameters had a gradient and were updated */
  updated: number;
}

export interface UpdateResult {
  params: Params;
  state: OptimizerState;
  info: UpdateInfo;
}

/** What a rule's kernel sees for one parameter: flat arrays it updates in place. */
export interface RuleArgs<H> {
  p: Floats;
  g: ArrayLike<number>;
  /** multiply every gradient entry by this first (global-norm clipping) */
  gScale: number;
  slots: Floats[];
  h: H;
  lr: number;
  /** this parameter's update count including this one (1 on its first update) */
  count: number;
}

/** The same step in tensor ops, for backends without synchronous reads (WebGPU): tensors in, new values out. */
export interface TensorRuleArgs<H> {
  p: Tensor;
  /** the gradient, already multiplied by any clipping factor */
  g: Tensor;
  slots: Tensor[];
  h: H;
  lr: number;
  count: number;
}

export interface UpdateRule<H> {
  readonly kind: string;
  readonly defaults: H;
  /** the default learning rate, when the caller gives none */
  readonly lr: number;
  /** throw a clear error for bad hyperparameters; `where` says which group */
  validate(h: H, where: string): void;
  /** the slots one parameter needs under these hyperparameters */
  slotNames(h: H): readonly string[];
  apply(a: RuleArgs<H>): void;
  /**
   * Optional: the step as tensor ops, returning the new parameter and slot
   * values (the driver writes them into the existing buffers). Used for
   * tensors off the CPU when the backend has no fused kernel for the rule.
   */
  applyTensors?(a: TensorRuleArgs<H>): { p: Tensor; slots: Tensor[] };
}

export type GroupOptions<H> = Partial<H> & {
  /** which parameters belong to this group */
  match: ParamMatch;
  lr?: number | Schedule;
  /** multiplies the group's learning rate (layer-wise learning rates) */
  lrScale?: number;
  /** hooks for this group's gradients, run after the optimiser-wide hooks */
  hooks?: GradHook[];
};

export type OptimizerOptions<H> = Partial<H> & {
  lr?: number | Schedule;
  groups?: GroupOptions<H>[];
  hooks?: GradHook[];
  /** clip the global gradient norm (over all parameters, after hooks) to this */
  clipNorm?: number;
  /** per-parameter learning-rate multiplier, e.g. `layerwiseDecay(...)` */
  lrMultiplier?: (name: string, param: Tensor) => number;
};

export interface ResolvedGroup<H> {
  readonly h: H;
  readonly lr: Schedule;
  readonly lrScale: number;
  readonly hooks: readonly GradHook[];
}

export interface Optimizer<H = unknown> {
  readonly kind: string;
  /** index 0: the defaults; k: `options.groups[k-1]` */
  readonly groups: readonly ResolvedGroup<H>[];
  init(params: Params): OptimizerState;
  update(grads: Grads, state: OptimizerState, params: Params): UpdateResult;
  /** the learning rate of a group at a step (group 0 by default), before per-parameter multipliers */
  lrAt(step: number, group?: number): number;
}

const DRIVER_KEYS = new Set(['lr', 'groups', 'hooks', 'clipNorm', 'lrMultiplier', 'match', 'lrScale']);

function hyperOf<H>(rule: UpdateRule<H>, o: Record<string, unknown>, base: H, where: string): H {
  const h = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (DRIVER_KEYS.has(k) || v === undefined) continue;
    if (!(k in (rule.defaults as object))) {
      const known = [...Object.keys(rule.defaults as object), ...DRIVER_KEYS].join(', ');
      throw new Error(`${rule.kind}: unknown option '${k}'${where} (known: ${known})`);
    }
    h[k] = v;
  }
  rule.validate(h as H, where);
  return h as H;
}

/** Slot dtype: the parameter's for f32/f64; f32 for 16-bit parameters (moments in half precision lose too much). */
export function slotDType(d: DType): DType {
  return d === 'f64' ? 'f64' : 'f32';
}

/** Build an optimiser from an update rule and options. */
export function makeOptimizer<H>(rule: UpdateRule<H>, opts: OptimizerOptions<H> = {} as OptimizerOptions<H>): Optimizer<H> {
  const kind = rule.kind;
  const o = opts as Record<string, unknown>;
  if (opts.clipNorm !== undefined && !(opts.clipNorm > 0)) throw new Error(`${kind}: clipNorm must be a positive number, got ${opts.clipNorm}`);
  const baseH = hyperOf(rule, o, rule.defaults, '');
  const baseLr = asSchedule(opts.lr ?? rule.lr, kind);
  const groups: ResolvedGroup<H>[] = [{ h: baseH, lr: baseLr, lrScale: 1, hooks: opts.hooks ?? [] }];
  (opts.groups ?? []).forEach((g, i) => {
    const where = ` in groups[${i}]`;
    if (!g || g.match === undefined) throw new Error(`${kind}: groups[${i}] needs a 'match' (names, a RegExp or a predicate)`);
    const lrScale = g.lrScale ?? 1;
    if (!Number.isFinite(lrScale)) throw new Error(`${kind}: lrScale${where} must be a finite number, got ${lrScale}`);
    groups.push({
      h: hyperOf(rule, g as Record<string, unknown>, baseH, where),
      lr: g.lr === undefined ? baseLr : asSchedule(g.lr, kind),
      lrScale,
      hooks: [...(opts.hooks ?? []), ...(g.hooks ?? [])],
    });
  });

  const lrAt = (step: number, group = 0): number => {
    const g = groups[group];
    if (!g) throw new Error(`${kind}: no group ${group} (there are ${groups.length})`);
    return g.lr(step) * g.lrScale;
  };

  function init(params: Params): OptimizerState {
    const names = Object.keys(params);
    (opts.groups ?? []).forEach((g, i) => {
      if (Array.isArray(g.match)) for (const n of g.match) if (!(n in params)) throw new Error(`${kind}: groups[${i}] names '${n}', which is not a parameter`);
    });
    const out: Record<string, ParamState> = {};
    for (const name of names) {
      const p = params[name];
      if (!(p instanceof Tensor)) throw new Error(`${kind}.init: parameter '${name}' is not a Tensor`);
      p.assertAlive(`${kind}.init`, `parameter '${name}'`);
      if (!isFloat(p.dtype)) throw new Error(`${kind}.init: parameter '${name}' is ${p.describe()}; only floating tensors can be optimised`);
      let group = 0;
      for (let k = 1; k < groups.length; k++) {
        if (matches(opts.groups![k - 1]!.match, name, p)) {
          group = k;
          break;
        }
      }
      const mult = opts.lrMultiplier ? opts.lrMultiplier(name, p) : 1;
      if (!Number.isFinite(mult)) throw new Error(`${kind}.init: lrMultiplier('${name}') returned ${mult}`);
      const slots: Record<string, Tensor> = {};
      for (const s of rule.slotNames(groups[group]!.h)) slots[s] = zeros(p.shape, { dtype: slotDType(p.dtype), backend: p.storage.backend });
      out[name] = { group, count: 0, lrScale: groups[group]!.lrScale * mult, slots };
    }
    return { kind, step: 0, params: out };
  }

  function update(grads: Grads, state: OptimizerState, params: Params): UpdateResult {
    if (!state || state.kind !== kind) throw new Error(`${kind}.update: the state was made by '${state?.kind}', not by ${kind}`);
    const t = state.step;
    for (const name of Object.keys(grads)) {
      if (!(name in params)) throw new Error(`${kind}.update: gradient '${name}' has no parameter of that name`);
    }
    // hooks first (they may allocate; their results are freed below)
    const gs = new Map<string, Tensor>();
    const owned: Tensor[] = [];
    try {
      for (const [name, p] of Object.entries(params)) {
        const ps = state.params[name];
        if (!ps) throw new Error(`${kind}.update: parameter '${name}' has no optimiser state (was init() given these parameters?)`);
        const g = grads[name];
        if (g === null || g === undefined) continue;
        if (!(g instanceof Tensor)) throw new Error(`${kind}.update: gradient '${name}' is not a Tensor`);
        g.assertAlive(`${kind}.update`, `gradient '${name}'`);
        if (!shapesEqual(g.shape, p.shape)) throw new Error(`${kind}.update: gradient '${name}' is ${shapeStr(g.shape)} but the parameter is ${shapeStr(p.shape)}`);
        const hooked = runHooks(groups[ps.group]!.hooks, g, p, name, { step: t });
        if (hooked !== g) owned.push(hooked);
        gs.set(name, hooked);
      }
      let gScale = 1;
      let gradNorm: number | undefined;
      if (opts.clipNorm !== undefined) {
        if ([...gs.values()].every(onHost)) {
          gradNorm = globalNorm(gs.values());
          gScale = clipCoefficient(gradNorm, opts.clipNorm);
        } else {
          // no host read: the factor stays a tensor and scales copies of the gradients (info.gradNorm is absent)
          const maxNorm = opts.clipNorm;
          const c = tidy(() => clipCoefficientTensor(globalNormTensor(gs.values()), maxNorm));
          for (const [name, g] of gs) {
            const scaled = mul(g, c);
            owned.push(scaled);
            gs.set(name, scaled);
          }
          c.dispose();
        }
      }
      const lrs = groups.map((g) => g.lr(t)); // group multipliers are folded into each ParamState.lrScale
      const next: Record<string, ParamState> = {};
      for (const [name, ps] of Object.entries(state.params)) {
        const g = gs.get(name);
        const p = params[name];
        if (!g || !p) {
          next[name] = ps;
          continue;
        }
        const count = ps.count + 1;
        const group = groups[ps.group]!;
        const slotTensors = rule.slotNames(group.h).map((s) => {
          const st = ps.slots[s];
          if (!st) throw new Error(`${kind}.update: parameter '${name}' has no '${s}' state buffer`);
          return st;
        });
        const lr = lrs[ps.group]! * ps.lrScale;
        // a backend with a fused kernel for this rule (WebGPU) updates in place on the device
        const dev = p.storage.backend as { fusedUpdate?: (a: { kind: string; p: Tensor; g: Tensor; slots: Tensor[]; h: unknown; lr: number; count: number; gScale: number }) => boolean };
        if (dev.fusedUpdate?.({ kind, p, g, slots: slotTensors, h: group.h, lr, count, gScale })) {
          next[name] = { ...ps, count };
          continue;
        }
        // no heap allocation from here to commit: raw views stay valid
        if (rule.applyTensors && (!onHost(p) || !onHost(g))) {
          const apply = rule.applyTensors.bind(rule);
          tidy(() => {
            const r = apply({ p, g: gScale === 1 ? g : mul(g, gScale), slots: slotTensors, h: group.h, lr, count });
            r.slots.forEach((v, i) => assignOnDevice(slotTensors[i]!, v, `${kind}.update`));
            assignOnDevice(p, r.p, `${kind}.update`);
            return undefined;
          });
          next[name] = { ...ps, count };
          continue;
        }
        const gv = readable(g, `${kind}.update`);
        const pw = writable(p, `${kind}.update`);
        const sw = slotTensors.map((st) => writable(st, `${kind}.update`));
        rule.apply({ p: pw.data, g: gv, gScale, slots: sw.map((w) => w.data), h: group.h, lr, count });
        pw.commit();
        for (const w of sw) w.commit();
        next[name] = { ...ps, count };
      }
      const info: UpdateInfo = { step: t, lr: groups.map((_, k) => lrAt(t, k)), updated: gs.size };
      if (gradNorm !== undefined) info.gradNorm = gradNorm;
      return { params, state: { kind, step: t + 1, params: next }, info };
    } finally {
      for (const x of owned) x.dispose();
    }
  }

  return { kind, groups, init, update, lrAt };
}

/** Free every state buffer of an optimiser state. */
export function disposeOptimizerState(state: OptimizerState): void {
  for (const ps of Object.values(state.params)) for (const t of Object.values(ps.slots)) t.dispose();
}

/**
 * Layer-wise learning-rate decay (as in BEiT/ELECTRA fine-tuning): parameter
 * at depth d of L layers gets multiplier decay^(L − d). `depthOf` returns the
 * depth (0 = embeddings, L = the head) or undefined for multiplier 1.
 */
export function layerwiseDecay(o: { decay: number; layers: number; depthOf: (name: string) => number | undefined }): (name: string) => number {
  if (!(o.decay > 0 && o.decay <= 1)) throw new Error(`layerwiseDecay: decay must be in (0, 1], got ${o.decay}`);
  if (!Number.isInteger(o.layers) || o.layers < 0) throw new Error(`layerwiseDecay: layers must be a non-negative integer, got ${o.layers}`);
  return (name) => {
    const d = o.depthOf(name);
    if (d === undefined) return 1;
    if (!Number.isInteger(d) || d < 0 || d > o.layers) throw new Error(`layerwiseDecay: depthOf('${name}') returned ${d}, expected an integer in [0, ${o.layers}]`);
    return o.decay ** (o.layers - d);
  };
}
