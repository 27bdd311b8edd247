/**
 * Per-parameter gradient hooks: any function `(grad, param, name, ctx) → grad`
 * applied to each gradient before the optimiser sees it, in order. Hooks are
 * written in tensor ops and return new tensors; the optimiser runs them under
 * `noGrad` and frees what they create.
 *
 * Helpers: clip by value, scale, mask (freeze some entries or whole
 * parameters), Gaussian gradient noise (Neelakantan et al., "Adding Gradient
 * Noise Improves Learning for Very Deep Networks", arXiv 1511.06807: variance
 * η/(1+t)^γ), and `onlyFor` to restrict any hook to some parameters.
 */
import { Tensor } from '../core/tensor.js';
import { add, astype, clamp, mul } from '../ops/elementwise.js';
import { broadcastTo } from '../ops/views.js';
import { tensor, zerosLike } from '../ops/creation.js';
import { foldIn, normal, type Key } from '../core/random.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../core/memory.js';
import { shapeStr } from '../core/shape.js';

export interface HookContext {
  /** updates already applied (0 during the first update) */
  step: number;
}

export type GradHook = (grad: Tensor, param: Tensor, name: string, ctx: HookContext) => Tensor;

/** Which parameters something applies to: a list of names, a RegExp on names, or a predicate. */
export type ParamMatch = readonly string[] | RegExp | ((name: string, param: Tensor) => boolean);

export function matches(m: ParamMatch, name: string, param: Tensor): boolean {
  if (typeof m === 'function') return m(name, param);
  if (m instanceof RegExp) {
    m.lastIndex = 0; // a /g or /y RegExp keeps state between test() calls
    return m.test(name);
  }
  return m.includes(name);
}

/** Clamp every gradient entry to [−limit, limit] (PyTorch's `clip_grad_value_`). */
export function clipValue(limit: number): GradHook {
  if (!(limit >= 0)) throw new Error(`clipValue: limit must be a non-negative number, got ${limit}`);
  return (g) => clamp(g, -limit, limit);
}

/** Multiply gradients by a constant, or by a per-parameter factor `(name) → number`. */
export function scaleGrad(factor: number | ((name: string, param: Tensor) => number)): GradHook {
  return (g, p, name) => {
    const f = typeof factor === 'function' ? factor(name, p) : factor;
    if (!Number.isFinite(f)) throw new Error(`scaleGrad: the factor for '${name}' must be finite, got ${f}`);
    return mul(g, f);
  };
}

/**
 * Zero gradients where a mask is 0. The mask is a tensor broadcastable to the
 * parameter, or a function returning one, or a boolean (false freezes the whole
 * parameter for this step).
 */
export function maskGrad(mask: Tensor | ((name: string, param: Tensor) => Tensor | boolean)): GradHook {
  return (g, p, name) => {
    const m = mask instanceof Tensor ? mask : mask(name, p);
    if (m === true) return g;
    if (m === false) return zerosLike(g);
    if (!(m instanceof Tensor)) throw new Error(`maskGrad: the mask for '${name}' must be a Tensor or a boolean`);
    try {
      broadcastTo(m, g.shape).dispose();
    } catch {
      throw new Error(`maskGrad: the mask for '${name}' is ${shapeStr(m.shape)}, which does not broadcast to the gradient ${shapeStr(g.shape)}`);
    }
    return mul(g, m.dtype === g.dtype ? m : astype(m, g.dtype));
  };
}

/** FNV-1a hash of a string, so each parameter draws its own noise stream. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface GradNoiseOptions {
  key: Key;
  /** η: the noise variance at step 0 (default 0.01) */
  eta?: number;
  /** γ: variance decays as η/(1+t)^γ (default 0.55, the paper's choice) */
  gamma?: number;
}

/** Add N(0, η/(1+t)^γ) noise to every gradient entry; deterministic given the key, the step and the name. */
export function addGradNoise(o: GradNoiseOptions): GradHook {
  const eta = o.eta ?? 0.01;
  const gamma = o.gamma ?? 0.55;
  if (!(eta >= 0)) throw new Error(`addGradNoise: eta must be non-negative, got ${eta}`);
  return (g, _p, name, ctx) => {
    const std = Math.sqrt(eta / (1 + ctx.step) ** gamma);
    const k = foldIn(foldIn(o.key, ctx.step), hashName(name));
    const z = tensor(normal(k, g.size, 0, std), [...g.shape], { dtype: g.dtype, backend: g.storage.backend });
    return add(g, z);
  };
}

/** Apply `hook` only to parameters matching `which`; others pass through. */
export function onlyFor(which: ParamMatch, hook: GradHook): GradHook {
  return (g, p, name, ctx) => (matches(which, name, p) ? hook(g, p, name, ctx) : g);
}

/** Run hooks in order on one gradient (under noGrad; intermediates are freed). */
export function runHooks(hooks: readonly GradHook[], grad: Tensor, param: Tensor, name: string, ctx: HookContext): Tensor {
  if (hooks.length === 0) return grad;
  return noGrad(() =>
    tidy(() => {
      let g = grad;
      for (const h of hooks) {
        const out = h(g, param, name, ctx);
        if (!(out instanceof Tensor)) throw new Error(`gradient hook for '${name}' returned ${out === null ? 'null' : typeof out}, expected a Tensor`);
        if (out.shape.length !== grad.shape.length || out.shape.some((d, i) => d !== grad.shape[i])) {
          throw new Error(`gradient hook for '${name}' returned ${shapeStr(out.shape)}, expected the gradient's shape ${shapeStr(grad.shape)}`);
        }
        g = out;
      }
      return g;
    }),
  );
}

/** Apply hooks to a whole set of gradients: returns new gradients (the inputs are untouched). */
export function applyHooks(
  grads: Readonly<Record<string, Tensor | null | undefined>>,
  params: Readonly<Record<string, Tensor>>,
  hooks: readonly GradHook[],
  step = 0,
): Record<string, Tensor | null> {
  const out: Record<string, Tensor | null> = {};
  for (const [name, g] of Object.entries(grads)) {
    const p = params[name];
    if (!p) throw new Error(`applyHooks: gradient '${name}' has no parameter of that name`);
    out[name] = g ? runHooks(hooks, g, p, name, { step }) : null;
  }
  return out;
}
