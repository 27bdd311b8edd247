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
 */
import { Tensor } from '../../core/tensor.js';
import { keep, tidy } from '../../core/memory.js';
import { reshape } from '../../ops/views.js';
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
