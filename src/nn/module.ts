/**
 * Modules as plain typed data, in the style of Equinox (Kidger & Garcia,
 * "Equinox: neural networks in JAX via callable PyTrees and filtered
 * transformations", 2021): a module is an object whose Tensor fields are its
 * parameters, whose Module fields (and arrays or plain objects of them) are
 * its children, and whose configuration lives apart in a JSON-able `config`.
 * Initialisation takes an explicit PRNG key; nothing is global.
 *
 * Parameters are found by walking the tree: own enumerable fields in
 * declaration order (`Object.entries`), arrays by index, plain objects by key.
 * Names are the dotted paths (`layers.0.attn.wq.weight`), the same as
 * PyTorch's `named_parameters()` where a layer mirrors a torch layer (`weight`,
 * `bias`; a ModuleList's items by index). A tensor reached twice (tied
 * weights) is listed once, under the first name, as PyTorch does. Caches and
 * constants that are not state belong in `#private` fields, which the walk
 * does not see.
 *
 * Parameters are leaves with `requiresGrad` that no scope owns (`keep`): a
 * model built inside `tidy` survives it, and forward passes inside `tidy`
 * free their activations but never the weights. Free a model with
 * `dispose(m)` (or `using m = ...`).
 */
import { Tensor } from '../core/tensor.js';
import { keep } from '../core/memory.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { isContiguous } from '../backends/cpu/strided.js';

/** The base of every layer: a `training` flag and the tree protocol. Subclasses add Tensor and Module fields. */
export abstract class Module {
  /** training mode (dropout active); set for a whole tree with `train(m)` / `evalMode(m)` */
  training = true;

  /**
   * The named fields the tree walk visits, in order. The default is the own
   * enumerable properties in declaration order; containers override it (a
   * ModuleList names its items by index, as PyTorch does).
   */
  fields(): [string, unknown][] {
    return Object.entries(this);
  }

  /** Free every parameter (`using m = new Linear(...)` calls this at the end of the block). */
  [Symbol.dispose](): void {
    dispose(this);
  }
}

/** Make `t` a parameter: a leaf that requires grad (unless told otherwise) and that no scope will free. */
export function param(t: Tensor, requiresGrad = true): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`param: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (t.node !== null) throw new Error(`param: ${t.describe()} was computed by an op; parameters must be leaves (detach() it first)`);
  keep(t);
  t.requiresGrad = requiresGrad && isFloat(t.dtype);
  return t;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
};

const join = (prefix: string, k: string): string => (prefix ? `${prefix}.${k}` : k);

interface Visitor {
  tensor?(name: string, t: Tensor, owner: object, key: string | number): void;
  module?(name: string, m: Module): void;
  /** a tensor reached again by another path (tied weights) */
  alias?(name: string, t: Tensor, owner: object, key: string | number): void;
}

/**
 * Depth-first walk in field order. Each module and each tensor is visited once
 * (the first path that reaches it), so shared submodules, tied weights and
 * cycles are safe.
 */
function walk(root: Module, v: Visitor): void {
  const seen = new Set<unknown>();
  const visit = (value: unknown, name: string, owner: object, key: string | number): void => {
    if (value instanceof Tensor) {
      if (seen.has(value)) return v.alias?.(name, value, owner, key);
      seen.add(value);
      v.tensor?.(name, value, owner, key);
    } else if (value instanceof Module) {
      if (seen.has(value)) return;
      seen.add(value);
      v.module?.(name, value);
      for (const [k, child] of value.fields()) visit(child, join(name, k), value, k);
    } else if (Array.isArray(value)) {
      if (seen.has(value)) return;
      seen.add(value);
      value.forEach((child, i) => visit(child, join(name, String(i)), value, i));
    } else if (isPlainObject(value)) {
      if (seen.has(value)) return;
      seen.add(value);
      for (const [k, child] of Object.entries(value)) visit(child, join(name, k), value, k);
    }
  };
  if (!(root instanceof Module)) throw new Error(`nn: expected a Module, got ${root === null ? 'null' : typeof root}`);
  visit(root, '', root, '');
}

/** Every parameter by dotted name, in walk order (a plain object: what optimisers and safetensors take). */
export function namedParameters(m: Module): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  walk(m, { tensor: (name, t) => (out[name] = t) });
  return out;
}

/** Every parameter, in walk order. */
export function parameters(m: Module): Tensor[] {
  return Object.values(namedParameters(m));
}

/** The parameters that currently require grad (not frozen), by name. */
export function trainableParameters(m: Module): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(namedParameters(m)).filter(([, t]) => t.requiresGrad));
}

/** Every module in the tree with its dotted path ('' for the root), parents before children. */
export function namedModules(m: Module): [string, Module][] {
  const out: [string, Module][] = [];
  walk(m, { module: (name, mod) => out.push([name, mod]) });
  return out;
}

/** Number of scalar parameters (only the trainable ones with `{trainable: true}`). */
export function parameterCount(m: Module, opts: { trainable?: boolean } = {}): number {
  return parameters(m).reduce((n, t) => n + (opts.trainable && !t.requiresGrad ? 0 : t.size), 0);
}

/** Set training mode (default true) on every module of the tree; returns m. */
export function train<M extends Module>(m: M, mode = true): M {
  for (const [, mod] of namedModules(m)) mod.training = mode;
  return m;
}

/** Evaluation mode for the whole tree (dropout off); exported as `nn.eval` too. Returns m. */
export function evalMode<M extends Module>(m: M): M {
  return train(m, false);
}

type NamePredicate = (name: string, t: Tensor) => boolean;

/** Stop gradients to the parameters matching `predicate` (all when omitted); returns their names. */
export function freeze(m: Module, predicate: NamePredicate = () => true): string[] {
  return setRequiresGrad(m, predicate, false);
}

/** Undo `freeze` for the parameters matching `predicate` (all floating ones when omitted); returns their names. */
export function unfreeze(m: Module, predicate: NamePredicate = () => true): string[] {
  return setRequiresGrad(m, predicate, true);
}

function setRequiresGrad(m: Module, predicate: NamePredicate, on: boolean): string[] {
  const names: string[] = [];
  for (const [name, t] of Object.entries(namedParameters(m))) {
    if (!isFloat(t.dtype) || !predicate(name, t)) continue;
    t.requiresGrad = on;
    names.push(name);
  }
  return names;
}

/** Each parameter's accumulated gradient (null where backward has not reached it), by name: the optimisers' `grads`. */
export function namedGrads(m: Module): Record<string, Tensor | null> {
  return Object.fromEntries(Object.entries(namedParameters(m)).map(([n, t]) => [n, t.grad]));
}

/** Dispose and clear every parameter's `.grad`. */
export function zeroGrad(m: Module): void {
  for (const t of parameters(m)) {
    t.grad?.dispose();
    t.grad = null;
  }
}

/** Free every parameter of the tree (and their gradients). The module must not be used afterwards. */
export function dispose(m: Module): void {
  for (const t of parameters(m)) t.dispose();
}

/**
 * The state to save: name → the live parameter tensors (not copies; do not
 * dispose them). Pass it to `saveSafetensors`, or to `loadStateDict` of a
 * model of the same architecture.
 */
export function stateDict(m: Module): Record<string, Tensor> {
  return namedParameters(m);
}

export interface LoadResult {
  /** parameters of the model that the state did not have (only with strict: false) */
  missing: string[];
  /** entries of the state the model does not have (only with strict: false) */
  unexpected: string[];
}

/**
 * Copy a state dict's values into the model's parameters, in place (so
 * optimiser states and other references stay valid), converting floating
 * dtypes. Every shape is checked before anything is written, and an error names
 * the parameter. With `strict` (the default) the names must match exactly.
 */
export function loadStateDict(m: Module, state: Readonly<Record<string, Tensor>>, opts: { strict?: boolean } = {}): LoadResult {
  const strict = opts.strict ?? true;
  const params = namedParameters(m);
  const missing = Object.keys(params).filter((n) => !(n in state));
  const unexpected = Object.keys(state).filter((n) => !(n in params));
  if (strict && (missing.length > 0 || unexpected.length > 0)) {
    const list = (xs: string[]): string => xs.slice(0, 8).map((x) => `'${x}'`).join(', ') + (xs.length > 8 ? ` and ${xs.length - 8} more` : '');
    const parts = [missing.length ? `missing from the state: ${list(missing)}` : '', unexpected.length ? `not in the model: ${list(unexpected)}` : ''].filter(Boolean);
    throw new Error(`loadStateDict: ${parts.join('; ')} (pass strict: false to load the rest)`);
  }
  const pending: [Tensor, Tensor][] = [];
  for (const [name, p] of Object.entries(params)) {
    const src = state[name];
    if (src === undefined) continue;
    if (!(src instanceof Tensor)) throw new Error(`loadStateDict: state['${name}'] must be a Tensor, got ${src === null ? 'null' : typeof src}`);
    src.assertAlive('loadStateDict', `state['${name}']`);
    p.assertAlive('loadStateDict', `parameter '${name}'`);
    if (!shapesEqual(src.shape, p.shape)) throw new Error(`loadStateDict: parameter '${name}' is ${shapeStr(p.shape)} in the model but ${shapeStr(src.shape)} in the state`);
    if (isFloat(p.dtype) !== isFloat(src.dtype)) throw new Error(`loadStateDict: parameter '${name}' is ${p.dtype} in the model but ${src.dtype} in the state`);
    if (!isContiguous(p.shape, p.strides)) throw new Error(`loadStateDict: parameter '${name}' ${p.describe()} is a strided view; cannot write it in place`);
    pending.push([p, src]);
  }
  for (const [p, src] of pending) if (p !== src) p.storage.backend.write(p.storage, src.toF64(), p.offset);
  return { missing, unexpected };
}

/**
 * Replace parameters: `fn(name, t)` returns the tensor to put in t's field
 * (cast, re-initialised, loaded, ...). A returned new tensor becomes a
 * parameter (kept, with t's requiresGrad) and t is disposed. Returns m.
 */
export function mapParameters<M extends Module>(m: M, fn: (name: string, t: Tensor) => Tensor): M {
  type Site = [Tensor, object, string | number];
  const sites: [string, Site][] = [];
  const aliases: Site[] = [];
  walk(m, { tensor: (name, t, owner, key) => sites.push([name, [t, owner, key]]), alias: (_n, t, owner, key) => aliases.push([t, owner, key]) });
  const replaced = new Map<Tensor, Tensor>();
  for (const [name, [t, owner, key]] of sites) {
    let r = fn(name, t);
    if (!(r instanceof Tensor)) throw new Error(`mapParameters: the function returned ${r === null ? 'null' : typeof r} for '${name}', expected a Tensor`);
    if (r === t) continue;
    if (r.node) {
      const leaf = r.detach();
      r.dispose();
      r = leaf;
    }
    (owner as Record<string | number, unknown>)[key] = param(r, t.requiresGrad);
    replaced.set(t, r);
  }
  // tied weights stay tied: every other field holding a replaced tensor gets the same replacement
  for (const [t, owner, key] of aliases) {
    const r = replaced.get(t);
    if (r) (owner as Record<string | number, unknown>)[key] = r;
  }
  for (const t of replaced.keys()) t.dispose();
  return m;
}
