/**
 * Gradient checkpointing (Chen, Xu, Zhang & Guestrin, "Training Deep Nets
 * with Sublinear Memory Cost", arXiv 1604.06174): trade compute for memory by
 * dropping a segment's activations in the forward pass and recomputing them
 * in the backward pass.
 *
 * `checkpoint(fn, inputs, params)` is a custom-VJP op (`autodiff/custom.ts`):
 * - forward: `fn(...inputs)` runs without recording, so none of its
 *   intermediates outlive it; the tape keeps only the inputs (aliases, no
 *   copies) and the outputs;
 * - backward: `fn` runs again, recorded, on detached copies of the inputs,
 *   and the outputs' cotangents are backpropagated through that fresh graph
 *   to the inputs AND to the parameters `fn` uses. Parameters reach `fn`
 *   through its closure, so they must be named in `params` (a list, a record,
 *   or any object tree, such as a module, whose fields hold them) to give the
 *   op an edge to each one. A tensor that requires grad, is used inside and
 *   is not named there would silently lose its gradient, so the backward pass
 *   checks the recomputed graph and throws naming it.
 *
 * Exact replay: the recomputation runs under the autocast precision the
 * forward pass ran with. Randomness replays because nabla's RNG is keyed, not
 * stateful: pass keys to `fn` explicitly (or close over them) and the same key
 * draws the same dropout mask again. Do not derive keys from a counter that
 * `fn` advances.
 *
 * `checkpointSequential(layers, segments, x, {key})` splits a stack of n layers into
 * `segments` (default ⌈√n⌉) consecutive runs and checkpoints each but the
 * last (its activations are needed by the backward pass straight away), so
 * the tape holds the segment boundaries plus one segment: O(√n) activations
 * for one extra forward pass (Chen et al., section 4.1). With the same key,
 * it computes exactly what `nn.Sequential(layers).forward(x, key)` does.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { tidy } from '../core/memory.js';
import { customVjp } from '../autodiff/custom.js';
import { gradients } from '../autodiff/backward.js';
import { anomaly, isGradEnabled, withGrad, type Node } from '../autodiff/tape.js';
import type { Key } from '../core/random.js';
import { foldIn } from '../ops/random.js';
import { Module, namedParameters } from '../nn/module.js';
import { autocastPrecision, withAutocast } from './autocast.js';

/** Where the parameters of a segment are: a list, a record, or any object tree holding them (a module). */
export type ParamTree = unknown;

/**
 * The tensors that require grad in an object tree (nn Modules through their
 * own parameter walk; arrays, Maps, plain and class objects' own enumerable
 * fields), each once, in a stable order.
 */
export function collectParams(tree: ParamTree, fn = 'checkpoint'): Tensor[] {
  const out: Tensor[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Tensor) {
      if (v.disposed || !v.requiresGrad) return;
      if (v.node) {
        throw new Error(
          `${fn}: parameter ${path || '(root)'} ${v.describe()} was computed by '${v.node.op.name}'; parameters must be leaf tensors (pass computed tensors as inputs instead)`,
        );
      }
      out.push(v);
      return;
    }
    if (v instanceof Module) {
      // a module lists its own parameters (it knows its fields, e.g. a ModuleList's items)
      for (const [name, t] of Object.entries(namedParameters(v))) visit(t, path ? `${path}.${name}` : name, depth + 1);
      return;
    }
    if (depth > 64) throw new Error(`${fn}: the parameter tree is nested more than 64 levels deep at ${path}`);
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`, depth + 1));
    else if (v instanceof Map) for (const [k, x] of v) visit(x, `${path}.${String(k)}`, depth + 1);
    else for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k, depth + 1);
  };
  visit(tree, '', 0);
  return out;
}

/** Throw if the recomputed graph reaches a leaf that requires grad and is neither an input nor a parameter. */
function checkClosure(outs: readonly Tensor[], allowed: ReadonlySet<Tensor>): void {
  const seen = new Set<Node>();
  const stack: Node[] = outs.map((o) => o.node).filter((n): n is Node => n !== null);
  const bad = (t: Tensor): never => {
    throw new Error(
      `checkpoint: the segment uses ${t.describe()}, which requires grad but is neither among its inputs nor its params; ` +
        'pass it in params, or pass the tensor computed from it as an input; otherwise its gradient would be lost',
    );
  };
  for (const o of outs) if (!o.node && o.requiresGrad && !allowed.has(o.leaf ?? o)) bad(o.leaf ?? o);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.edges) {
      if (!e) continue;
      if ('node' in e) stack.push(e.node);
      else if (!allowed.has(e.leaf)) bad(e.leaf);
    }
  }
}

export type SegmentFn = (...inputs: Tensor[]) => Tensor | Tensor[];

/**
 * Run `fn(...inputs)` keeping none of its activations; they are recomputed in
 * the backward pass. Returns what `fn` returns (one tensor or an array).
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor | readonly Tensor[], params?: ParamTree): Tensor;
export function checkpoint(fn: SegmentFn, inputs: Tensor | readonly Tensor[], params?: ParamTree): Tensor | Tensor[];
export function checkpoint(fn: SegmentFn, inputs: Tensor | readonly Tensor[], params?: ParamTree): Tensor | Tensor[] {
  if (typeof fn !== 'function') throw new Error('checkpoint: fn must be a function of the input tensors');
  const ins = inputs instanceof Tensor ? [inputs] : inputs;
  if (!Array.isArray(ins)) throw new Error('checkpoint: inputs must be a Tensor or an array of Tensors');
  ins.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`checkpoint: inputs[${i}] must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  });
  const inputSet = new Set(ins);
  const ps = collectParams(params).filter((p) => !inputSet.has(p));
  const nIn = ins.length;
  const precision = autocastPrecision();

  const op = customVjp(
    'checkpoint',
    (...xs: Tensor[]) => ({ out: fn(...xs.slice(0, nIn)) }),
    (_saved, cts, xs) => {
      if (isGradEnabled()) {
        throw new Error('checkpoint: differentiating through a checkpointed segment twice (createGraph, grad of grad) is not supported; call fn without checkpoint');
      }
      return tidy(() => {
        const leaves = xs.slice(0, nIn).map((x) => {
          const l = x.detach();
          if (x.requiresGrad && isFloat(x.dtype)) l.requiresGrad = true;
          return l;
        });
        // the recomputation is a forward pass: autocast applies as it did the first time
        const prevPhase = anomaly.phase;
        anomaly.phase = 'forward';
        let r: Tensor | Tensor[];
        try {
          r = withGrad(true, () => withAutocast(precision, () => fn(...leaves)));
        } finally {
          anomaly.phase = prevPhase;
        }
        const outs = Array.isArray(r) ? r : [r];
        if (outs.length !== cts.length) throw new Error(`checkpoint: fn returned ${cts.length} outputs the first time and ${outs.length} when recomputed`);
        checkClosure(outs, new Set([...leaves, ...ps]));
        const live = outs.map((o, k) => o.requiresGrad && cts[k] !== null);
        const targets = [...leaves, ...ps];
        if (!live.some(Boolean)) return targets.map(() => null);
        return gradients(
          outs.filter((_, k) => live[k]),
          targets,
          cts.filter((_, k) => live[k]) as Tensor[],
        );
      });
    },
  );
  return op(...ins, ...ps);
}

/** A layer of a sequential stack: a function, or an object with a `forward` method (its fields are searched for parameters). */
export type SequentialLayer = ((x: Tensor) => Tensor) | { forward(x: Tensor, key?: Key): Tensor };

export interface CheckpointSequentialOptions {
  /** parameters used by function layers (any object tree); object layers are searched themselves */
  params?: ParamTree;
  /** randomness for the layers: layer i's forward gets foldIn(key, i), as in nn.Sequential (functions get none) */
  key?: Key;
}

function callLayer(layer: SequentialLayer, x: Tensor, i: number, key: Key | undefined): Tensor {
  const y = typeof layer === 'function' ? layer(x) : layer.forward(x, key ? foldIn(key, i) : undefined);
  if (!(y instanceof Tensor)) throw new Error(`checkpointSequential: layer ${i} returned ${y === null ? 'null' : typeof y}, not a Tensor`);
  return y;
}

/** Segment boundaries [start, end) splitting n layers into `segments` runs whose lengths differ by at most one. */
export function segmentBounds(n: number, segments: number): [number, number][] {
  const out: [number, number][] = [];
  const base = Math.floor(n / segments);
  const extra = n % segments;
  let start = 0;
  for (let s = 0; s < segments; s++) {
    const len = base + (s < extra ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/**
 * Apply `layers` in order to `x`, checkpointing every segment but the last.
 * `segments` defaults to ⌈√n⌉ (Chen et al.'s memory-optimal split for equal
 * layers); it is clamped to at most n.
 */
export function checkpointSequential(layers: readonly SequentialLayer[], segments: number | undefined, x: Tensor, opts: CheckpointSequentialOptions = {}): Tensor {
  if (!Array.isArray(layers) || layers.length === 0) throw new Error('checkpointSequential: layers must be a non-empty array');
  layers.forEach((l, i) => {
    if (typeof l !== 'function' && !(l && typeof (l as { forward?: unknown }).forward === 'function')) {
      throw new Error(`checkpointSequential: layer ${i} must be a function or have a forward(x) method`);
    }
  });
  if (!(x instanceof Tensor)) throw new Error('checkpointSequential: x must be a Tensor');
  const n = layers.length;
  const s = segments ?? Math.ceil(Math.sqrt(n));
  if (!Number.isInteger(s) || s < 1) throw new Error(`checkpointSequential: segments must be a positive integer, got ${s}`);
  const bounds = segmentBounds(n, Math.min(s, n));
  return tidy(() => {
    let h = x;
    bounds.forEach(([a, b], k) => {
      const seg = layers.slice(a, b);
      // each layer in its own scope, and the previous layer's output let go as soon as the next
      // one has run: in the unrecorded forward pass nothing else needs it (when recording, the
      // tape holds its own aliases), so the pass holds one layer's temporaries at a time
      const run = (t: Tensor): Tensor => {
        let h = t;
        seg.forEach((l, j) => {
          const y = tidy(() => callLayer(l, h, a + j, opts.key));
          if (h !== t && h !== y) h.dispose();
          h = y;
        });
        return h;
      };
      if (k === bounds.length - 1) {
        h = run(h);
        return;
      }
      const own = seg.filter((l) => typeof l !== 'function');
      h = checkpoint(run, h, [own, opts.params]);
    });
    return h;
  });
}
