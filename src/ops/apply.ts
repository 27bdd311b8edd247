/**
 * The dispatcher: every primitive op goes through `apply`. It validates,
 * runs the backend kernel (or builds a view), records a tape node for reverse
 * mode, pushes tangents for forward mode, and checks for NaN/inf in anomaly
 * mode. Nothing here knows any op's math.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { Node, anomaly, isGradEnabled, jvpState, type Edge } from '../autodiff/tape.js';
import type { OpDef, RuleCtx } from './registry.js';
import { keep, tidy } from '../core/memory.js';
import { shapeStr } from '../core/shape.js';

/** A new handle on the same data that carries the same autodiff identity (for saving on the tape). */
export function aliasOf(x: Tensor, internal = true): Tensor {
  const a = new Tensor({ storage: x.storage, shape: x.shape, strides: x.strides, offset: x.offset, dtype: x.dtype, internal });
  if (x.node) a.setNode(x.node, x.outIndex, true);
  else if (x.requiresGrad) a.leaf = x.leaf ?? x;
  copyTangents(x, a);
  return a;
}

/**
 * Give `to` its own handles on `from`'s forward-mode tangents. An alias must
 * carry them: VJP rules read saved aliases, and grad() starts from an alias of
 * its argument, so without them jvp of a gradient (forward-over-reverse
 * Hessian-vector products) would see zero tangents.
 */
function copyTangents(from: Tensor, to: Tensor): void {
  if (!from.tangents || from.tangents.size === 0) return;
  to.tangents ??= new Map();
  for (const [level, t] of from.tangents) if (!to.tangents.has(level)) to.tangents.set(level, aliasOf(t, true));
}

export function edgeOf(x: Tensor): Edge {
  if (!x.requiresGrad || !isFloat(x.dtype)) return null;
  if (x.node) return { node: x.node, index: x.outIndex };
  return { leaf: x.leaf ?? x };
}

function checkFinite(op: OpDef<unknown>, inputs: readonly Tensor[], outs: readonly Tensor[]): void {
  const bad = (t: Tensor): string | null => {
    if (!isFloat(t.dtype)) return null;
    const v = t.toF64();
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return Number.isNaN(v[i]!) ? 'NaN' : 'inf';
    return null;
  };
  if (inputs.some((x) => bad(x) !== null)) return; // not the first op to see it
  outs.forEach((o, k) => {
    const what = bad(o);
    if (what) {
      const ins = inputs.map((x) => x.describe()).join(', ');
      const where = anomaly.phase === 'backward' && anomaly.vjpOf ? `, in the VJP of '${anomaly.vjpOf}'` : '';
      throw new Error(`anomaly: '${op.name}' produced ${what} in output ${k} ${shapeStr(o.shape)} during the ${anomaly.phase} pass${where} (inputs: ${ins})`);
    }
  });
}

// ---- input policy (mixed precision) ----------------------------------------------

/**
 * A dispatch-level policy that may replace an op's inputs before it runs:
 * `train/autocast.ts` installs one to cast float inputs at the op boundary
 * (16 bits for matmul and elementwise ops, float32 for reductions). It returns
 * null to leave the inputs alone, or the inputs to use, some of them new
 * tensors it created; `apply` disposes those once the op has run (the tape
 * keeps its own aliases, so gradients still flow back through the casts).
 * The policy runs before validation, so it must pass through anything that is
 * not a live Tensor unchanged.
 */
export type InputPolicy = (op: OpDef<unknown>, inputs: readonly Tensor[]) => Tensor[] | null;

let inputPolicy: InputPolicy | null = null;

/** Install (or with null remove) the input policy; returns the previous one so callers can restore it. */
export function setInputPolicy(policy: InputPolicy | null): InputPolicy | null {
  const prev = inputPolicy;
  inputPolicy = policy;
  return prev;
}

export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const replaced = inputPolicy ? inputPolicy(op as OpDef<unknown>, inputs) : null;
  if (!replaced) return dispatch(op, inputs, attrs);
  try {
    return dispatch(op, replaced, attrs);
  } finally {
    replaced.forEach((t, i) => {
      if (t !== inputs[i]) t.dispose();
    });
  }
}

function dispatch<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const opU = op as OpDef<unknown>;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (!(x instanceof Tensor)) throw new Error(`${op.name}: input ${i} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
    x.assertAlive(op.name, `input ${i}`);
  }
  const backend = inputs[0]?.storage.backend;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i]!.storage.backend !== backend) {
      throw new Error(`${op.name}: inputs are on different backends (input 0 on ${backend?.name}, input ${i} on ${inputs[i]!.backend}); move them with .to()`);
    }
  }
  if (!backend) throw new Error(`${op.name}: needs at least one tensor input`);
  const metas = op.infer(inputs, attrs);

  let outs: Tensor[];
  if (op.view) {
    const x = inputs[0]!;
    const v = op.view(x, attrs);
    outs = [new Tensor({ storage: x.storage, shape: v.shape, strides: v.strides, offset: v.offset, dtype: metas[0]!.dtype })];
  } else {
    const storages = backend.run(opU, inputs, attrs, metas);
    outs = storages.map((s, k) => new Tensor({ storage: s, shape: metas[k]!.shape, dtype: metas[k]!.dtype }));
  }

  if (anomaly.enabled) {
    try {
      checkFinite(opU, inputs, outs);
    } catch (e) {
      for (const o of outs) o.dispose(); // nothing refers to them yet
      throw e;
    }
  }

  // reverse mode: record a node
  let node: Node | null = null;
  if (op.vjp !== 'none' && isGradEnabled() && inputs.some((x) => x.requiresGrad && isFloat(x.dtype))) {
    const saveIn = op.saveInputs !== false;
    const savedInputs = saveIn ? inputs.map((x) => aliasOf(x)) : inputs.map(() => null);
    node = new Node(opU, attrs, inputs.map(edgeOf), inputs.map((x) => ({ shape: x.shape, dtype: x.dtype })), metas, { inputs: savedInputs, outputs: [] });
    if (op.saveOutputs) {
      const n = node;
      n.saved!.outputs = outs.map((o, k) => {
        const a = new Tensor({ storage: o.storage, shape: o.shape, strides: o.strides, offset: o.offset, dtype: o.dtype, internal: true });
        a.setNode(n, k, false); // weak: a node must not keep itself alive
        return a;
      });
    }
    const n = node;
    outs.forEach((o, k) => o.setNode(n, k));
  }

  // forward mode: push tangents through the JVP rule, one level at a time
  if (jvpState.active.length > 0 && op.jvp !== 'none') {
    pushTangents(opU, inputs, outs, attrs);
    // saved outputs carry the tangents too, for VJP rules run inside jvp (forward-over-reverse)
    node?.saved?.outputs.forEach((a, k) => a && copyTangents(outs[k]!, a));
  }
  return outs;
}

function pushTangents(op: OpDef<unknown>, inputs: readonly Tensor[], outs: Tensor[], attrs: unknown): void {
  const rule = op.jvp as Exclude<OpDef<unknown>['jvp'], 'none'>;
  for (const level of jvpState.active) {
    if (jvpState.suspended.has(level)) continue;
    const tin = inputs.map((x) => x.tangents?.get(level) ?? null);
    if (tin.every((t) => t === null)) continue;
    jvpState.suspended.add(level);
    let tout: (Tensor | null)[];
    try {
      const ctx: RuleCtx<unknown> = { inputs, outputs: outs, attrs };
      tout = tidy(() => rule(ctx, tin));
    } finally {
      jvpState.suspended.delete(level);
    }
    const seen = new Set<Tensor>(tin.filter((t): t is Tensor => t !== null));
    tout.forEach((t, k) => {
      if (!t) return;
      // each output owns its tangent handle: never share one with an input or another output
      if (seen.has(t)) t = aliasOf(t, false);
      seen.add(t);
      keep(t);
      const o = outs[k]!;
      (o.tangents ??= new Map()).set(level, t);
    });
  }
}
