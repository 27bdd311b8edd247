/**
 * Reverse mode: backward(), grad, valueAndGrad, vjp.
 *
 * One engine serves all of them: walk the tape from the outputs in reverse
 * topological order, call each node's VJP rule with the summed cotangents of
 * its outputs, and route the results along the node's edges: into parent
 * nodes, into leaves' `.grad` (backward) or into the requested results (grad,
 * vjp). With `createGraph` the VJP rules are themselves recorded, which gives
 * gradients of gradients.
 */
import { Tensor } from '../core/tensor.js';
import { Node, anomaly, isGradEnabled, withGrad } from './tape.js';
import { currentScope, keep, tidy } from '../core/memory.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { isFloat } from '../core/dtype.js';
import { add, astype, identity, onesLike, zerosLike } from '../ops/index.js';
import { aliasOf } from '../ops/apply.js';

export interface BackwardOptions {
  /** keep saved tensors so backward can run again over the same graph (default false, or createGraph) */
  retainGraph?: boolean;
  /** record the backward pass so its results can be differentiated again (default false) */
  createGraph?: boolean;
}

type Target = { kind: 'node'; node: Node; index: number } | { kind: 'leaf'; leaf: Tensor };

function targetOf(t: Tensor): Target {
  if (t.node) return { kind: 'node', node: t.node, index: t.outIndex };
  return { kind: 'leaf', leaf: t.leaf ?? t };
}

/** Nodes reachable from the roots, in an order where every node comes before the nodes it feeds from (reverse topological). */
function topoOrder(roots: Node[]): Node[] {
  const order: Node[] = [];
  const state = new Map<Node, 1 | 2>(); // 1 visiting, 2 done
  for (const r of roots) {
    if (state.has(r)) continue;
    const stack: [Node, number][] = [[r, 0]];
    state.set(r, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i < n.edges.length) {
        top[1]++;
        const e = n.edges[i];
        if (e && 'node' in e && !state.has(e.node)) {
          state.set(e.node, 1);
          stack.push([e.node, 0]);
        }
      } else {
        state.set(n, 2);
        order.push(n);
        stack.pop();
      }
    }
  }
  return order.reverse();
}

/**
 * The engine. Returns, for each target, the gradient reaching it (null if none);
 * with `targets` undefined, accumulates into every reached leaf's `.grad`.
 */
function run(roots: Tensor[], cts: Tensor[], targets: Tensor[] | undefined, opts: BackwardOptions): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const wanted = targets?.map(targetOf);
  const results: (Tensor | null)[] = targets ? targets.map(() => null) : [];

  const prevPhase = anomaly.phase;
  anomaly.phase = 'backward';
  try {
    return tidy(() => {
      const nodeCts = new Map<Node, (Tensor | null)[]>();
      const leafGrads = new Map<Tensor, Tensor>();
      // Free each intermediate cotangent as soon as nothing needs it, rather than when the
      // whole pass ends, so backward's peak memory is the activations plus a frontier of
      // cotangents (what gradient checkpointing's savings rely on). A tensor may sit in
      // several slots at once (a VJP can return its cotangent itself, or one tensor for two
      // inputs), so slots are reference-counted. Only tensors this pass created (tracked by
      // its own scope) are ever freed: never the caller's cotangents or the tape's aliases.
      const own = currentScope();
      const holds = new Map<Tensor, number>();
      const hold = (t: Tensor): Tensor => {
        holds.set(t, (holds.get(t) ?? 0) + 1);
        return t;
      };
      const freeIfUnheld = (t: Tensor | null | undefined): void => {
        if (t && !holds.has(t) && t.scope === own && own !== undefined) t.dispose();
      };
      const drop = (t: Tensor | null | undefined): void => {
        if (!t) return;
        const n = (holds.get(t) ?? 1) - 1;
        if (n > 0) holds.set(t, n);
        else {
          holds.delete(t);
          freeIfUnheld(t);
        }
      };
      const accumulate = (prev: Tensor | null | undefined, g: Tensor): Tensor => {
        if (!prev) return hold(g);
        const s = hold(withGrad(createGraph, () => add(prev, g)));
        drop(prev);
        return s;
      };
      const toLeaf = (leaf: Tensor, g: Tensor): void => {
        if (wanted) {
          wanted.forEach((w, k) => {
            if (w.kind === 'leaf' && w.leaf === leaf) results[k] = accumulate(results[k], g);
          });
        } else leafGrads.set(leaf, accumulate(leafGrads.get(leaf), g));
      };
      const toNode = (node: Node, index: number, g: Tensor): void => {
        let arr = nodeCts.get(node);
        if (!arr) nodeCts.set(node, (arr = node.outMetas.map(() => null)));
        arr[index] = accumulate(arr[index], g);
      };

      roots.forEach((r, k) => {
        const g = cts[k]!;
        if (r.node) toNode(r.node, r.outIndex, g);
        else toLeaf(r.leaf ?? r, g);
      });

      for (const node of topoOrder(roots.map((r) => r.node).filter((n): n is Node => n !== null))) {
        const arr = nodeCts.get(node);
        if (wanted && arr) {
          wanted.forEach((w, k) => {
            if (w.kind === 'node' && w.node === node && arr[w.index]) {
              drop(results[k]);
              results[k] = hold(arr[w.index]!);
            }
          });
        }
        if (!arr || arr.every((g) => g === null)) continue;
        if (!node.saved) {
          throw new Error(
            `backward: the graph through '${node.op.name}' was already freed by an earlier backward pass; pass { retainGraph: true } to the first one`,
          );
        }
        const rule = node.op.vjp;
        if (rule === 'none') continue;
        const prevVjpOf = anomaly.vjpOf;
        anomaly.vjpOf = node.op.name;
        let gin: (Tensor | null)[];
        try {
          // in its own scope, so the rule's temporaries are freed now, not when the pass ends
          gin = tidy(() => withGrad(createGraph, () => rule({ inputs: node.saved!.inputs as Tensor[], outputs: node.saved!.outputs as Tensor[], attrs: node.attrs }, arr)));
        } finally {
          anomaly.vjpOf = prevVjpOf;
        }
        node.edges.forEach((e, i) => {
          let g = gin[i];
          if (!e || !g) return;
          const m = node.inMetas[i]!;
          if (!shapesEqual(g.shape, m.shape)) {
            throw new Error(`backward: the VJP of '${node.op.name}' returned a gradient of shape ${shapeStr(g.shape)} for input ${i} of shape ${shapeStr(m.shape)}`);
          }
          if (g.dtype !== m.dtype) g = withGrad(createGraph, () => astype(g!, m.dtype));
          if ('node' in e) toNode(e.node, e.index, g);
          else toLeaf(e.leaf, g);
          if (g !== gin[i]) freeIfUnheld(g);
        });
        nodeCts.delete(node);
        // this node's cotangents and the VJP's results that were not routed anywhere are done
        for (const g of gin) freeIfUnheld(g);
        for (const t of arr) drop(t);
        if (!retainGraph) {
          node.freeSaved();
          node.freedByBackward = true;
        }
      }

      if (!wanted) {
        for (const [leaf, g] of leafGrads) {
          if (leaf.disposed) continue;
          const fresh = createGraph ? aliasOf(g, false) : withGrad(false, () => aliasOf(g, false));
          const next = leaf.grad ? withGrad(createGraph, () => add(leaf.grad!, fresh)) : fresh;
          if (leaf.grad && leaf.grad !== next) leaf.grad.dispose();
          if (!createGraph && next.requiresGrad) throw new Error('backward: internal error, gradient kept a graph');
          leaf.grad = keep(next);
        }
        return [];
      }
      // results must be distinct handles the caller owns
      return results.map((g) => (g ? aliasOf(g, false) : null));
    });
  } finally {
    anomaly.phase = prevPhase;
  }
}

/** Accumulate d(root)/d(leaf) into every leaf's `.grad`. A non-scalar root needs a cotangent of its shape. */
export function backward(root: Tensor, cotangent?: Tensor, opts: BackwardOptions = {}): void {
  root.assertAlive('backward', 'tensor');
  if (!root.requiresGrad) {
    throw new Error(`backward: tensor ${root.describe()} does not require grad (no input was marked requiresGrad, or it was computed under noGrad)`);
  }
  let ct = cotangent;
  if (ct) {
    ct.assertAlive('backward', 'cotangent');
    if (!shapesEqual(ct.shape, root.shape)) throw new Error(`backward: cotangent is ${shapeStr(ct.shape)} but the tensor is ${shapeStr(root.shape)}`);
  } else if (root.size !== 1) {
    throw new Error(`backward: tensor is ${root.describe()}; pass a cotangent of the same shape, or reduce it to a scalar first`);
  }
  tidy(() => {
    ct ??= onesLike(root);
    run([root], [ct], undefined, opts);
  });
}

/** Set every tensor's .grad to null (disposing it). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) {
    t.grad?.dispose();
    t.grad = null;
  }
}

/**
 * Gradients of `outputs` (weighted by `cotangents`) with respect to `inputs`, returned rather
 * than accumulated (like torch.autograd.grad). Inputs may be leaves or intermediate tensors.
 */
export function gradients(outputs: Tensor[], inputs: Tensor[], cotangents?: Tensor[], opts: BackwardOptions & { allowUnused?: boolean } = {}): (Tensor | null)[] {
  outputs.forEach((o, i) => o.assertAlive('gradients', `outputs[${i}]`));
  inputs.forEach((x, i) => x.assertAlive('gradients', `inputs[${i}]`));
  return tidy(() => {
    const cts = outputs.map((o, i) => {
      const c = cotangents?.[i];
      if (c) {
        if (!shapesEqual(c.shape, o.shape)) throw new Error(`gradients: cotangents[${i}] is ${shapeStr(c.shape)} but outputs[${i}] is ${shapeStr(o.shape)}`);
        return c;
      }
      if (o.size !== 1) throw new Error(`gradients: outputs[${i}] is ${o.describe()}; pass a cotangent for non-scalar outputs`);
      return onesLike(o);
    });
    const live = outputs.map((o) => o.requiresGrad);
    const res = run(outputs.filter((_, i) => live[i]), cts.filter((_, i) => live[i]), inputs, opts);
    return res;
  });
}

type Fn = (...args: Tensor[]) => Tensor;

/** Prepare function arguments to be differentiated: a fresh node (or leaf) per argument to collect gradients at. */
/**
 * How many grad/vjp function evaluations enclose the current code. Inside one, an
 * inner grad must record its backward pass even when its own arguments do not
 * require grad: the function may capture a tensor the outer derivative is taken
 * with respect to (grad(w => f(x, w)) inside grad over x).
 */
let evalDepth = 0;

function evaluate<R>(fn: () => R): R {
  evalDepth++;
  try {
    return withGrad(true, fn);
  } finally {
    evalDepth--;
  }
}

function prepareArgs(args: Tensor[], argnums: number[]): { xs: Tensor[]; nested: boolean } {
  const nested = isGradEnabled() && (evalDepth > 0 || args.some((a) => a.requiresGrad));
  const xs = args.map((a, i) => {
    if (!argnums.includes(i)) return a;
    if (!isFloat(a.dtype)) throw new Error(`grad: argument ${i} is ${a.describe()}; only floating tensors can be differentiated`);
    if (a.requiresGrad && isGradEnabled()) return withGrad(true, () => identity(a));
    const leaf = aliasOf(a, false);
    leaf.leaf = null;
    leaf.requiresGrad = true;
    return leaf;
  });
  return { xs, nested };
}

function normArgnums(argnums: number | number[] | undefined, n: number): number[] {
  const list = argnums === undefined ? Array.from({ length: n }, (_, i) => i) : typeof argnums === 'number' ? [argnums] : argnums;
  for (const a of list) if (!Number.isInteger(a) || a < 0 || a >= n) throw new Error(`grad: argnums ${a} is out of range for ${n} arguments`);
  return list;
}

/**
 * `valueAndGrad(f)(...args)` → [f(...args), [∂f/∂args]]. f must return a scalar tensor.
 * Differentiable again when called where gradients are being recorded (grad of grad).
 */
export function valueAndGrad(f: Fn, opts: { argnums?: number | number[] } = {}): (...args: Tensor[]) => [Tensor, Tensor[]] {
  return (...args: Tensor[]) =>
    tidy(() => {
      const argnums = normArgnums(opts.argnums, args.length);
      const { xs, nested } = prepareArgs(args, argnums);
      const y = evaluate(() => f(...xs));
      if (!(y instanceof Tensor)) throw new Error('grad: the function must return a Tensor');
      if (y.size !== 1) throw new Error(`grad: the function must return a scalar, got ${y.describe()}; use vjp for non-scalar outputs`);
      const targets = argnums.map((i) => xs[i]!);
      const gs = y.requiresGrad ? run([y], [onesLike(y)], targets, { createGraph: nested, retainGraph: nested }) : targets.map(() => null);
      const grads = gs.map((g, k) => g ?? zerosFor(targets[k]!));
      // nested: the value stays on the outer tape; otherwise a plain value with no graph attached
      const value = nested ? y : y.detach();
      return [value, grads];
    });
}

function zerosFor(t: Tensor): Tensor {
  return zerosLike(t);
}

/** `grad(f)(...args)` → ∂f/∂args (an array when several argnums, else one tensor). */
export function grad(f: Fn, opts: { argnums?: number | number[] } = {}): (...args: Tensor[]) => Tensor | Tensor[] {
  const vg = valueAndGrad(f, opts);
  return (...args: Tensor[]) => {
    const [v, g] = vg(...args);
    v.dispose();
    return typeof opts.argnums === 'number' || (opts.argnums === undefined && args.length === 1) ? g[0]! : g;
  };
}

/**
 * `vjp(f, ...primals)` → [f(primals), pullback], where pullback(cotangent) returns the
 * cotangent of each primal. The pullback may be called several times.
 */
export function vjp(f: (...args: Tensor[]) => Tensor, ...primals: Tensor[]): [Tensor, (ct: Tensor) => Tensor[]] {
  const argnums = primals.map((_, i) => i);
  const { xs, nested } = prepareArgs(primals, argnums);
  const y = evaluate(() => f(...xs));
  const pullback = (ct: Tensor): Tensor[] => {
    if (!shapesEqual(ct.shape, y.shape)) throw new Error(`vjp: cotangent is ${shapeStr(ct.shape)} but the output is ${shapeStr(y.shape)}`);
    if (!y.requiresGrad) return xs.map((x) => zerosFor(x));
    const gs = run([y], [ct], xs, { createGraph: nested, retainGraph: true });
    return gs.map((g, k) => g ?? zerosFor(xs[k]!));
  };
  return [y, pullback];
}
