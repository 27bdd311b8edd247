/**
 * Tree verification for any token mixer, one layer at a time.
 *
 * Softmax attention (MultiHeadAttention) verifies a tree of candidates in one
 * pass with the tree attention mask (`extend(x, cache, { parents })`, Cai et
 * al. 2024 §2.1.2): every candidate attends to the cache and to its own
 * ancestors, and `KVCache.select` keeps the accepted path afterwards.
 *
 * A recurrent mixer (linear attention's recurrent form, Performer, SSMs,
 * RNNs, RetNet, ...) has no mask to apply: its state after a token already
 * summarises everything before it. We verify a tree by *branching the
 * state*: the nodes are visited in order (a parent before its children), and
 * node i steps from a copy of its parent's state (the cache's state for a
 * root). A branch costs one `step` per node, and the states share storage
 * until a step makes new tensors (states are immutable: steps never write
 * into their input), so a copy costs a handle, not the data. Accepting a path
 * keeps the state of its last node and frees the others.
 *
 * Nodes of one depth are stepped together as a batch: their parents' states
 * are stacked along the state's batch axis (found once per mixer by comparing
 * `initState(1)` with `initState(2)`), one `step` runs the whole level, and
 * the result is sliced back into one state per node. A tree of depth D then
 * costs D steps per layer instead of one per node. Mixers whose states do
 * not reveal a batch axis are stepped node by node.
 */
import { Tensor } from '../../core/tensor.js';
import { keep, tidy } from '../../core/memory.js';
import { reshape } from '../../ops/views.js';
import { concat } from '../../ops/join.js';
import { indexSelect } from '../../ops/indexing.js';
import { tensor } from '../../ops/creation.js';
import { slice } from '../../ops/slice.js';
import { stack } from '../../ops/join.js';
import type { Mixer, MixerState } from '../mixer.js';
import { KVCache, MultiHeadAttention } from '../attention/mha.js';
import { checkTree } from '../attention/masks.js';

/**
 * A second handle on a decoding state: the same class, its tensors shared
 * (new handles on the same storage, which is reference-counted), so both the
 * copy and the original can be stepped or disposed independently.
 */
export function branchState<S extends MixerState>(s: S): S {
  if (s.disposed) throw new Error('branchState: the state was already consumed');
  const share = (t: Tensor): Tensor => keep(t.detach());
  const c = Object.create(Object.getPrototypeOf(s) as object) as Record<string, unknown>;
  for (const [name, v] of Object.entries(s as object)) {
    if (v instanceof Tensor) c[name] = share(v);
    else if (Array.isArray(v) && v.some((x) => x instanceof Tensor)) c[name] = v.map((x) => (x instanceof Tensor ? share(x) : x));
    else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).some((x) => x instanceof Tensor)) {
      c[name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, x instanceof Tensor ? share(x) : x]));
    } else c[name] = v;
  }
  return c as unknown as S;
}

/** The own field of a state that holds its named tensors (`t` or `tensors`), if there is exactly one. */
function tensorField(s: MixerState): string | null {
  const fields = Object.entries(s as object).filter(([, v]) => v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).length > 0 && Object.values(v).every((x) => x instanceof Tensor));
  const others = Object.values(s as object).some((v) => v instanceof Tensor || (Array.isArray(v) && v.some((x) => x instanceof Tensor)));
  return fields.length === 1 && !others ? fields[0]![0] : null;
}

const axesCache = new WeakMap<Mixer, Record<string, number> | null>();
let batching = true;

/** Whether recurrent trees are stepped a level at a time (default true; tests turn it off to exercise the node-by-node path). */
export function setTreeBatching(on: boolean): void {
  batching = on;
}

/** Per named state tensor: its batch axis, or −1 when it does not depend on the batch (null: not batchable). */
function batchAxes(mixer: Mixer): Record<string, number> | null {
  if (axesCache.has(mixer)) return axesCache.get(mixer)!;
  let axes: Record<string, number> | null = null;
  const [s1, s2] = [mixer.initState(1), mixer.initState(2)];
  try {
    const f = tensorField(s1);
    if (f && tensorField(s2) === f) {
      const [t1, t2] = [(s1 as unknown as Record<string, Record<string, Tensor>>)[f]!, (s2 as unknown as Record<string, Record<string, Tensor>>)[f]!];
      axes = {};
      for (const [name, a] of Object.entries(t1)) {
        const b = t2[name];
        if (!b || b.ndim !== a.ndim) {
          axes = null;
          break;
        }
        const diff = a.shape.map((d, i) => (d === b.shape[i] ? -1 : i)).filter((i) => i >= 0);
        if (diff.length > 1 || (diff.length === 1 && (a.shape[diff[0]!] !== 1 || b.shape[diff[0]!] !== 2))) {
          axes = null;
          break;
        }
        axes[name] = diff.length ? diff[0]! : -1;
      }
    }
  } finally {
    s1.dispose();
    s2.dispose();
  }
  axesCache.set(mixer, axes);
  return axes;
}

/** A state of the same class as `like` holding `tensors` (kept) at `position`. */
function withTensors<S extends MixerState>(like: S, field: string, tensors: Record<string, Tensor>): S {
  const c = Object.create(Object.getPrototypeOf(like) as object) as Record<string, unknown>;
  for (const [name, v] of Object.entries(like as object)) c[name] = v;
  for (const t of Object.values(tensors)) keep(t);
  c[field] = tensors;
  return c as unknown as S;
}

/** Step every node of a tree level by level, each level as one batch; null when the states cannot be batched. */
function branchBatched(mixer: Mixer, x: Tensor, state: MixerState, parents: readonly number[]): [Tensor, MixerState[]] | null {
  if (!batching) return null;
  const axes = batchAxes(mixer);
  const field = tensorField(state);
  if (!axes || !field) return null;
  const depth: number[] = [];
  parents.forEach((p, i) => (depth[i] = p < 0 ? 0 : depth[p]! + 1));
  const nodes: MixerState[] = [];
  const ys: Tensor[] = new Array<Tensor>(parents.length);
  const get = (s: MixerState): Record<string, Tensor> => (s as unknown as Record<string, Record<string, Tensor>>)[field]!;
  for (let lvl = 0; lvl <= Math.max(...depth); lvl++) {
    const ids = parents.map((_, i) => i).filter((i) => depth[i] === lvl);
    const from = ids.map((i) => (parents[i]! < 0 ? state : nodes[parents[i]!]!));
    const stacked = tidy(() => {
      const out: Record<string, Tensor> = {};
      for (const [name, ax] of Object.entries(axes)) {
        const parts = from.map((s) => get(s)[name]!);
        out[name] = ax < 0 ? parts[0]!.detach() : parts.every((t) => t === parts[0]) ? indexSelect(parts[0]!, ax, tensor(new Int32Array(ids.length), [ids.length], { dtype: 'i32' })) : concat(parts, ax);
      }
      return out;
    });
    const xs = tidy(() => reshape(indexSelect(x, 1, tensor(Int32Array.from(ids), [ids.length], { dtype: 'i32' })), [ids.length, x.shape[2]!]));
    const [y, next] = mixer.step(xs, withTensors(from[0]!, field, stacked));
    xs.dispose();
    const nextT = get(next);
    ids.forEach((id, r) => {
      const own = tidy(() => {
        const o: Record<string, Tensor> = {};
        for (const [name, ax] of Object.entries(axes)) {
          const t = nextT[name]!;
          o[name] = ax < 0 ? t.detach() : slice(t, t.shape.map((_, a) => (a === ax ? { start: r, stop: r + 1 } : null)));
        }
        return o;
      });
      nodes[id] = withTensors(next, field, own);
      ys[id] = tidy(() => slice(y, [{ start: r, stop: r + 1 }]));
    });
    next.dispose();
    y.dispose();
  }
  const out = tidy(() => reshape(stack(ys.map((t) => reshape(t, [x.shape[2]!])), 0), [1, parents.length, x.shape[2]!]));
  ys.forEach((t) => t.dispose());
  return [out, nodes];
}

/** A layer's state during verification: the KV cache extended by the tree, or one branched state per node. */
export type LayerTree =
  | { kind: 'kv'; cache: KVCache; prefix: number }
  | { kind: 'branch'; prefix: MixerState; nodes: MixerState[] };

const supportsTree = (m: Mixer): m is MultiHeadAttention => m instanceof MultiHeadAttention;

/** x (1, m, d) continues the sequence: outputs (1, m, d); consumes `state`. */
export function mixerExtend(mixer: Mixer, x: Tensor, state: MixerState): [Tensor, MixerState] {
  if (supportsTree(mixer)) return mixer.extend(x, state as KVCache);
  const m = x.shape[1]!;
  const ys: Tensor[] = [];
  let st = state;
  for (let i = 0; i < m; i++) {
    const xi = tidy(() => reshape(slice(x, [null, { start: i, stop: i + 1 }]), [x.shape[0]!, x.shape[2]!]));
    const [y, next] = mixer.step(xi, st);
    xi.dispose();
    ys.push(y);
    st = next;
  }
  const y = stack(ys, 1);
  ys.forEach((t) => t.dispose());
  return [y, st];
}

/**
 * x (1, m, d) is a tree of candidates (parents[i] < i, −1: a child of the
 * last cached token): outputs (1, m, d), each as if its path alone had
 * followed the cache. Consumes `state`; pass the result to `acceptLayer`.
 */
export function mixerTree(mixer: Mixer, x: Tensor, state: MixerState, parents: readonly number[]): [Tensor, LayerTree] {
  checkTree('mixerTree', parents);
  if (parents.length !== x.shape[1]) throw new Error(`mixerTree: parents has ${parents.length} entries for ${x.shape[1]} tokens`);
  if (supportsTree(mixer)) {
    const prefix = (state as KVCache).length;
    const [y, cache] = mixer.extend(x, state as KVCache, { parents });
    return [y, { kind: 'kv', cache, prefix }];
  }
  const batched = branchBatched(mixer, x, state, parents);
  if (batched) return [batched[0], { kind: 'branch', prefix: state, nodes: batched[1] }];
  const nodes: MixerState[] = [];
  const ys: Tensor[] = [];
  parents.forEach((p, i) => {
    const from = branchState(p < 0 ? state : nodes[p]!);
    const xi = tidy(() => reshape(slice(x, [null, { start: i, stop: i + 1 }]), [x.shape[0]!, x.shape[2]!]));
    const [y, next] = mixer.step(xi, from);
    xi.dispose();
    ys.push(y);
    nodes.push(next);
  });
  const y = stack(ys, 1);
  ys.forEach((t) => t.dispose());
  return [y, { kind: 'branch', prefix: state, nodes }];
}

/** Keep the cache plus the accepted `path` (tree node indices, root first); frees the rest. */
export function acceptLayer(tree: LayerTree, path: readonly number[]): MixerState {
  if (tree.kind === 'kv') {
    const keepIdx = [...Array.from({ length: tree.prefix }, (_, i) => i), ...path.map((i) => tree.prefix + i)];
    return tree.cache.select(keepIdx);
  }
  const last = path.length ? tree.nodes[path[path.length - 1]!]! : tree.prefix;
  for (const s of [tree.prefix, ...tree.nodes]) if (s !== last) s.dispose();
  return last;
}
