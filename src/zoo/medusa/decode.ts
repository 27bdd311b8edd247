/**
 * Medusa decoding (Cai et al., arXiv 2401.10774, §2.1): each step
 *
 * 1. takes the base model's next token (the root) from the last accepted
 *    position's logits, and the Medusa heads' top-k from its hidden state;
 * 2. lays the candidates out as a tree (tree.ts) and verifies all of them in
 *    ONE forward pass of the base model (tree attention / branched states);
 * 3. accepts the longest passing path (accept.ts), keeps its tokens in the
 *    cache, and continues from its last node's logits and hidden state.
 *
 * A step emits (accepted path length) tokens, at least 1 (the root), for one
 * base-model call on (tree size) tokens; plain decoding emits 1 per call on 1
 * token. The speedup is mean accepted length × (cost of a 1-token call / cost
 * of a tree call): large on a GPU, where a call costs about the same for 1 or
 * 64 tokens (memory-bound), smaller on a CPU, where a call's cost grows with
 * its tokens.
 *
 * `generate` and `compareDecoding` are what the command line calls
 * (`nabla generate --medusa`).
 */
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import type { Tensor } from '../../core/tensor.js';
import { foldIn, randomKey, uniform } from '../../ops/random.js';
import { slice } from '../../ops/slice.js';
import { noGrad } from '../../autodiff/tape.js';
import { evalMode, train, type Module } from '../../nn/module.js';
import type { MixerState } from '../mixer.js';
import type { MedusaBase } from './base.js';
import type { MedusaHeads } from './heads.js';
import { DEFAULT_TREE, buildTree, topKIndices, treeTokens, type CandidateTree, type TreePaths } from './tree.js';
import { greedyAccept, sampleRow, typicalAccept } from './accept.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) = greedy */
  temperature?: number;
  /** for sampling (default a fixed seed) */
  key?: Key;
  /** stop after emitting this token */
  stopToken?: number;
  /** called with each step's new tokens (streaming) */
  onTokens?: (tokens: readonly number[]) => void;
}

export interface MedusaOptions extends GenerateOptions {
  /** candidate tree paths (default DEFAULT_TREE cut to the number of heads) */
  tree?: TreePaths;
  /** 'greedy' (default at temperature 0) or 'typical' */
  acceptance?: 'greedy' | 'typical';
  /** typical acceptance's ε (default 0.09) and δ (default 0.3) */
  epsilon?: number;
  delta?: number;
}

export interface GenerateResult {
  /** the new tokens (the prompt excluded) */
  tokens: number[];
  /** base-model calls after the prompt */
  steps: number;
  /** tokens emitted per step */
  acceptedLengths: number[];
  /** mean tokens per step (1 for plain decoding) */
  meanAccepted: number;
  /** wall time after the prompt, seconds */
  seconds: number;
  tokensPerSecond: number;
}

function checkPrompt(op: string, base: MedusaBase, prompt: readonly number[], maxNew: number): void {
  if (prompt.length === 0) throw new Error(`${op}: the prompt is empty; give at least one token`);
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new Error(`${op}: maxNewTokens must be a positive integer, got ${maxNew}`);
  prompt.forEach((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= base.vocabSize) throw new Error(`${op}: prompt token ${t} is outside the vocabulary of ${base.vocabSize}`);
  });
}

/** Run `fn` with the modules in eval mode (no dropout), restoring their training flags after. */
function inEval<T>(mods: (Module | undefined)[], fn: () => T): T {
  const live = mods.filter((m): m is Module => m !== undefined);
  const was = live.map((m) => m.training);
  live.forEach((m) => evalMode(m));
  try {
    return noGrad(fn);
  } finally {
    live.forEach((m, i) => train(m, was[i]));
  }
}

/** A uniform number for draw `i` (Philox, so a key gives the same text every time). */
const draw = (key: Key, i: number): number => tidy(() => uniform(foldIn(key, i), []).item());

/** Emit `toks` into `out`, honouring the stop token and the budget; returns true when generation is over. */
function emit(out: number[], toks: readonly number[], opts: GenerateOptions): { added: number[]; done: boolean } {
  const added: number[] = [];
  let done = false;
  for (const t of toks) {
    if (out.length >= opts.maxNewTokens) break;
    out.push(t);
    added.push(t);
    if (t === opts.stopToken) {
      done = true;
      break;
    }
  }
  if (added.length) opts.onTokens?.(added);
  return { added, done: done || out.length >= opts.maxNewTokens };
}

const finish = (tokens: number[], lens: number[], t0: number): GenerateResult => {
  const seconds = (performance.now() - t0) / 1000;
  const steps = lens.length;
  return { tokens, steps, acceptedLengths: lens, meanAccepted: steps ? lens.reduce((a, b) => a + b, 0) / steps : 0, seconds, tokensPerSecond: tokens.length / Math.max(seconds, 1e-9) };
};

/** Plain autoregressive decoding with the model's cache/state: one base call per token. */
export function generate<S extends MixerState>(base: MedusaBase<S>, prompt: readonly number[], opts: GenerateOptions): GenerateResult {
  checkPrompt('generate', base, prompt, opts.maxNewTokens);
  const T = opts.temperature ?? 0;
  const key = opts.key ?? randomKey(0);
  const V = base.vocabSize;
  return inEval([base.module], () => {
    let o = base.extendDecode(prompt, base.initDecode());
    o.hidden.dispose();
    let row = lastRow(o.logits);
    let state = o.state;
    const out: number[] = [];
    const t0 = performance.now();
    try {
      for (let i = 0; ; i++) {
        const tok = sampleRow(row, 0, V, T, T > 0 ? draw(key, i) : 0);
        if (emit(out, [tok], opts).done) break;
        o = base.extendDecode([tok], state);
        o.hidden.dispose();
        state = o.state;
        row = lastRow(o.logits);
      }
    } finally {
      state.dispose();
    }
    return finish(out, out.map(() => 1), t0);
  });
}

/** The last row of logits (m, V) as numbers; disposes the logits. */
function lastRow(logits: Tensor): Float64Array {
  const m = logits.shape[0]!;
  const r = tidy(() => slice(logits, [{ start: m - 1 }]).toF64());
  logits.dispose();
  return r;
}

/** The tree to use with `heads` heads over a vocabulary of V tokens. */
export function resolveTree(paths: TreePaths | undefined, heads: number, vocab: number): CandidateTree {
  const src = paths ?? DEFAULT_TREE.filter((p) => p.length <= heads);
  if (!paths) return buildTree(src.filter((p) => p.every((c) => c < vocab)), heads);
  const t = buildTree(src, heads);
  const bad = t.topK.findIndex((k) => k > vocab);
  if (bad >= 0) throw new Error(`medusaGenerate: the tree asks head ${bad + 1} for its top ${t.topK[bad]} of a vocabulary of ${vocab}`);
  return t;
}

/** Medusa decoding: heads propose a tree, the base model verifies it in one call, the longest passing path is kept. */
export function medusaGenerate<S extends MixerState>(base: MedusaBase<S>, heads: MedusaHeads, prompt: readonly number[], opts: MedusaOptions): GenerateResult {
  checkPrompt('medusaGenerate', base, prompt, opts.maxNewTokens);
  if (heads.config.dModel !== base.dModel || heads.config.vocab !== base.vocabSize) {
    throw new Error(`medusaGenerate: heads are for width ${heads.config.dModel} and vocabulary ${heads.config.vocab}, the base model has ${base.dModel} and ${base.vocabSize}`);
  }
  const T = opts.temperature ?? 0;
  const acceptance = opts.acceptance ?? 'greedy';
  if (acceptance === 'greedy' && T > 0) throw new Error("medusaGenerate: greedy acceptance needs temperature 0; use acceptance 'typical' to sample");
  const tree = resolveTree(opts.tree, heads.count, base.vocabSize);
  const key = opts.key ?? randomKey(0);
  const V = base.vocabSize;
  return inEval([base.module, heads], () => {
    const o = base.extendDecode(prompt, base.initDecode());
    let state = o.state;
    let row = lastRow(o.logits);
    let hidden: Tensor = tidy(() => slice(o.hidden, [{ start: prompt.length - 1 }]));
    o.hidden.dispose();
    const out: number[] = [];
    const lens: number[] = [];
    const t0 = performance.now();
    try {
      for (let i = 0; ; i++) {
        const root = sampleRow(row, 0, V, T, T > 0 ? draw(key, i) : 0);
        const hl = tidy(() => heads.forward(hidden).toF64()); // (K, 1, V)
        hidden.dispose();
        const ranked = tree.topK.map((k, h) => topKIndices(hl.subarray(h * V, (h + 1) * V), k));
        const toks = treeTokens(tree, root, ranked);
        const v = base.extendDecode(toks, state, tree.parents);
        const logits = v.logits.toF64();
        v.logits.dispose();
        const path = acceptance === 'typical' ? typicalAccept(tree, toks, logits, V, { temperature: T, epsilon: opts.epsilon, delta: opts.delta }) : greedyAccept(tree, toks, logits, V);
        state = base.acceptPath(v.state, path);
        const last = path[path.length - 1]!;
        row = logits.slice(last * V, (last + 1) * V);
        hidden = tidy(() => slice(v.hidden, [{ start: last, stop: last + 1 }]));
        v.hidden.dispose();
        const { added, done } = emit(out, path.map((n) => toks[n]!), opts);
        lens.push(added.length);
        if (done) break;
      }
    } finally {
      hidden.dispose();
      state.dispose();
    }
    return finish(out, lens, t0);
  });
}

export interface Comparison {
  plain: GenerateResult;
  medusa: GenerateResult;
  /** medusa tokens/s over plain tokens/s */
  speedup: number;
  /** whether the two produced the same tokens (expected for greedy acceptance) */
  sameOutput: boolean;
}

/** Decode the same prompt plainly and with Medusa; report mean accepted length and tokens/s of each. */
export function compareDecoding<S extends MixerState>(base: MedusaBase<S>, heads: MedusaHeads, prompt: readonly number[], opts: MedusaOptions): Comparison {
  const plain = generate(base, prompt, opts);
  const medusa = medusaGenerate(base, heads, prompt, opts);
  const sameOutput = plain.tokens.length === medusa.tokens.length && plain.tokens.every((t, i) => t === medusa.tokens[i]);
  return { plain, medusa, speedup: medusa.tokensPerSecond / plain.tokensPerSecond, sameOutput };
}
