/**
 * Optimiser state to and from named tensors plus a JSON string, so it can be
 * saved beside the weights in a safetensors file. Slot tensors are named
 * `<parameter>.<slot>` (slot names hold no dots, so the last dot splits them);
 * the JSON holds the step counters.
 */
import type { Tensor } from '../core/tensor.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { copyInto } from './inplace.js';
import type { OptimizerState, ParamState } from './optimizer.js';

export interface SavedOptimizerState {
  tensors: Record<string, Tensor>;
  /** JSON: { kind, step, params: { name: { count } } } */
  meta: string;
}

interface Meta {
  kind: string;
  step: number;
  params: Record<string, { count: number }>;
}

/** The state as named tensors (the slot tensors themselves, not copies) and a JSON string. */
export function optimizerStateToTensors(state: OptimizerState): SavedOptimizerState {
  const tensors: Record<string, Tensor> = {};
  const params: Meta['params'] = {};
  for (const [name, ps] of Object.entries(state.params)) {
    params[name] = { count: ps.count };
    for (const [slot, t] of Object.entries(ps.slots)) tensors[`${name}.${slot}`] = t;
  }
  const meta: Meta = { kind: state.kind, step: state.step, params };
  return { tensors, meta: JSON.stringify(meta) };
}

function parseMeta(s: string): Meta {
  let m: unknown;
  try {
    m = JSON.parse(s);
  } catch (e) {
    throw new Error(`restoreOptimizerState: the saved metadata is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const o = m as Partial<Meta>;
  if (!o || typeof o !== 'object' || typeof o.kind !== 'string' || !Number.isInteger(o.step) || o.step! < 0 || !o.params || typeof o.params !== 'object') {
    throw new Error('restoreOptimizerState: the saved metadata must be {kind, step, params}');
  }
  for (const [name, p] of Object.entries(o.params)) {
    if (!p || !Number.isInteger(p.count) || p.count < 0) throw new Error(`restoreOptimizerState: the saved count of '${name}' must be a non-negative integer`);
  }
  return o as Meta;
}

/**
 * Load saved state into a fresh state from `optimizer.init(params)` (which
 * fixes the groups and the slots the current options need): slot values are
 * copied in place and the step counters restored. Every parameter of `fresh`
 * must be in the saved state and every saved tensor must be used, so a
 * mismatched checkpoint fails loudly, naming the tensor.
 */
export function restoreOptimizerState(fresh: OptimizerState, saved: SavedOptimizerState): OptimizerState {
  const meta = parseMeta(saved.meta);
  if (meta.kind !== fresh.kind) throw new Error(`restoreOptimizerState: the checkpoint holds '${meta.kind}' state but the optimiser is '${fresh.kind}'`);
  const used = new Set<string>();
  const params: Record<string, ParamState> = {};
  for (const [name, ps] of Object.entries(fresh.params)) {
    const m = meta.params[name];
    if (!m) throw new Error(`restoreOptimizerState: the checkpoint has no state for parameter '${name}'`);
    for (const [slot, dst] of Object.entries(ps.slots)) {
      const key = `${name}.${slot}`;
      const src = saved.tensors[key];
      if (!src) throw new Error(`restoreOptimizerState: the checkpoint has no tensor '${key}'`);
      if (!shapesEqual(src.shape, dst.shape)) throw new Error(`restoreOptimizerState: '${key}' is ${shapeStr(src.shape)} in the checkpoint but ${shapeStr(dst.shape)} here`);
      copyInto(dst, src);
      used.add(key);
    }
    params[name] = { ...ps, count: m.count };
  }
  for (const name of Object.keys(meta.params)) {
    if (!(name in fresh.params)) throw new Error(`restoreOptimizerState: the checkpoint has state for '${name}', which is not a parameter here`);
  }
  for (const key of Object.keys(saved.tensors)) {
    if (!used.has(key)) throw new Error(`restoreOptimizerState: the checkpoint tensor '${key}' matches no parameter slot here`);
  }
  return { kind: fresh.kind, step: meta.step, params };
}
