/**
 * The eager tape. Each differentiable op applied to inputs that require
 * gradients records a Node: the op, its attributes, edges to where each
 * input's gradient goes, and aliases of the tensors its VJP rule needs.
 *
 * Lifetime is deterministic: a node is reference-counted by the handles it
 * produced and by the nodes that consume them. When the count reaches zero it
 * frees what it saved and lets go of its parents. backward() frees saved
 * tensors as it goes unless asked to retain the graph.
 */
import type { OpDef } from '../ops/registry.js';
import type { Tensor } from '../core/tensor.js';
import type { Meta } from '../ops/registry.js';

/** Where an input's gradient goes: another node's output, or a leaf's .grad. */
export type Edge = { node: Node; index: number } | { leaf: Tensor } | null;

export class Node {
  readonly op: OpDef<unknown>;
  readonly attrs: unknown;
  readonly edges: Edge[];
  readonly outMetas: Meta[];
  /** input shapes and dtypes, to check what VJP rules return */
  readonly inMetas: Meta[];
  saved: { inputs: (Tensor | null)[]; outputs: (Tensor | null)[] } | null;
  private refs = 0;
  /** set when saved tensors were freed by a backward pass without retainGraph */
  freedByBackward = false;

  constructor(op: OpDef<unknown>, attrs: unknown, edges: Edge[], inMetas: Meta[], outMetas: Meta[], saved: Node['saved']) {
    this.op = op;
    this.inMetas = inMetas;
    this.attrs = attrs;
    this.edges = edges;
    this.outMetas = outMetas;
    this.saved = saved;
    for (const e of edges) if (e && 'node' in e) e.node.retain();
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const e of this.edges) if (e && 'node' in e) e.node.release();
    this.edges.length = 0;
  }

  freeSaved(): void {
    if (!this.saved) return;
    for (const t of this.saved.inputs) t?.dispose();
    for (const t of this.saved.outputs) t?.dispose();
    this.saved = null;
  }
}

// ---- grad mode ----------------------------------------------------------------

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording on the tape. */
export function noGrad<R>(fn: () => R): R {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run `fn` with recording switched on or off. */
export function withGrad<R>(enabled: boolean, fn: () => R): R {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---- forward-mode levels -------------------------------------------------------

/** Active jvp levels (innermost last) and levels whose tangents are hidden while their own rule runs. */
export const jvpState = { active: [] as number[], suspended: new Set<number>(), next: 1 };

// ---- anomaly mode ---------------------------------------------------------------

export const anomaly = {
  enabled: false,
  phase: 'forward' as 'forward' | 'backward',
  /** during backward: the op whose VJP rule is running, so a report can name it */
  vjpOf: null as string | null,
};

/** Report the first op whose output holds NaN or ±inf (forward or backward). Costs a scan per op; for debugging. */
export function setAnomalyMode(on: boolean): void {
  anomaly.enabled = on;
}

export function withAnomalyMode<R>(fn: () => R): R {
  const prev = anomaly.enabled;
  anomaly.enabled = true;
  try {
    return fn();
  } finally {
    anomaly.enabled = prev;
  }
}
