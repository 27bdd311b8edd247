/**
 * Medusa: trees, acceptance rules, heads and losses, tree verification for
 * attention and recurrent mixers, and the key property — with greedy
 * acceptance Medusa's output equals plain greedy decoding token for token.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import '../../src/zoo/rnn/index.js';
import '../../src/zoo/ssm/index.js';
import {
  MedusaHeads, MixerLM, buildTree, cartesianTree, chainTree, compareDecoding, DEFAULT_TREE, fitMedusa, generate, greedyAccept,
  medusa1Loss, medusa2Loss, medusaGenerate, setTreeBatching, treeTokens, typicalAccept, topKIndices,
} from '../../src/zoo/medusa/index.js';
import type { MixerSpec } from '../../src/zoo/mixer.js';
import { expectClose } from '../helpers/check.js';

const root = nb.randomKey(11);
const kk = (i: number): nb.Key => nb.foldIn(root, i);
const V = 8;
const D = 16;

function model(mixer: MixerSpec | MixerSpec[], seed: number): MixerLM {
  return new MixerLM({ key: kk(seed), vocab: V, dModel: D, layers: 2, mixer, hidden: 32, dtype: 'f64' });
}

describe('candidate trees', () => {
  it('paths become nodes (prefixes added, sorted by depth); tokens come from each head\'s ranking', () => {
    const t = buildTree([[1, 0], [0]]);
    expect(t.paths).toEqual([[0], [1], [1, 0]]);
    expect(t.parents).toEqual([-1, 0, 0, 2]);
    expect(t.depth).toEqual([0, 1, 1, 2]);
    expect(t.choice).toEqual([0, 0, 1, 0]);
    expect(t.children).toEqual([[1, 2], [], [3], []]);
    expect(t.topK).toEqual([2, 1]);
    expect(treeTokens(t, 7, [[4, 5], [6]])).toEqual([7, 4, 5, 6]);
    expect(cartesianTree([2, 3]).length).toBe(2 + 6);
    expect(chainTree(3)).toEqual([[0], [0, 0], [0, 0, 0]]);
    expect(buildTree(DEFAULT_TREE).parents.length).toBe(25);
    expect(() => buildTree([[0, 0, 0]], 2)).toThrow(/3 deep but there are only 2 heads/);
    expect(() => buildTree([[-1]])).toThrow(/integers ≥ 0/);
    expect(topKIndices([0.1, 3, 3, -1], 3)).toEqual([1, 2, 0]);
  });
});

describe('acceptance', () => {
  // tree: 0 → {1, 2}, 1 → {3}; rows are the base model's logits after each node
  const tree = buildTree([[0], [1], [0, 0]]);
  const logits = [
    [0, 5, 1, 0], // after root: argmax 1
    [0, 0, 0, 9], // after node 1: argmax 3
    [9, 0, 0, 0],
    [0, 0, 0, 0],
  ].flat();
  it('greedy: the longest chain of argmax matches', () => {
    expect(greedyAccept(tree, [0, 1, 2, 3], logits, 4)).toEqual([0, 1, 3]);
    expect(greedyAccept(tree, [0, 2, 1, 3], logits, 4)).toEqual([0, 2]);
    expect(greedyAccept(tree, [0, 2, 3, 0], logits, 4)).toEqual([0]);
  });
  it('typical: p > min(ε, δ·exp(−H)); temperature 0 is greedy; zero thresholds accept the deepest path', () => {
    // after root at T = 1: p = softmax([0, 5, 1, 0]) ≈ [0.0066, 0.9752, 0.0179, 0.0066]
    // ε = 0.01: node 1 (token 2, p ≈ 0.018) passes and leads deeper (node 3: token 3, p ≈ 1) than node 2
    expect(typicalAccept(tree, [0, 2, 1, 3], logits, 4, { temperature: 1, epsilon: 0.01, delta: 1 })).toEqual([0, 1, 3]);
    expect(typicalAccept(tree, [0, 2, 1, 3], logits, 4, { temperature: 1, epsilon: 0.02, delta: 1 })).toEqual([0, 2]);
    expect(typicalAccept(tree, [0, 2, 1, 3], logits, 4, { temperature: 0 })).toEqual(greedyAccept(tree, [0, 2, 1, 3], logits, 4));
    expect(typicalAccept(tree, [0, 0, 0, 0], logits, 4, { temperature: 1, epsilon: 0, delta: 0 })).toEqual([0, 1, 3]);
  });
});

describe('Medusa heads and losses', () => {
  it('a fresh head (W₁ = 0, W₂ = the LM head) predicts what the LM head predicts', () => {
    nb.tidy(() => {
      const lm = model({ kind: 'softmax', heads: 2 }, 1);
      const heads = new MedusaHeads(D, V, { key: kk(2), heads: 3, lmHead: lm.lmHeadWeight(), dtype: 'f64' });
      const toks = nb.tensor(Int32Array.from([1, 2, 3, 4, 5]), [1, 5], { dtype: 'i32' });
      const { hidden, logits } = lm.forwardHidden(toks);
      const hl = heads.forward(hidden);
      expect(hl.shape).toEqual([3, 1, 5, V]);
      for (let k = 0; k < 3; k++) expectClose(nb.slice(hl, [k]).toF64(), logits.toF64(), 1e-12, `head ${k}`);
      nn.dispose(lm);
      nn.dispose(heads);
    });
  });

  it('Medusa-1 leaves the base without gradient, Medusa-2 trains it; head k is scored against the token k + 2 ahead', () => {
    nb.tidy(() => {
      const lm = model({ kind: 'softmax', heads: 2 }, 3);
      const heads = new MedusaHeads(D, V, { key: kk(4), heads: 2, dtype: 'f64' });
      const toks = nb.tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4]), [2, 6], { dtype: 'i32' });
      const basePs = [lm.embed.weight, lm.head.weight];
      const g1 = nb.gradients([nb.tidy(() => medusa1Loss(heads, lm.forwardHidden(toks).hidden, toks).total)], [...basePs, heads.heads[0]!.proj.weight]);
      expect(g1[0]).toBeNull();
      expect(g1[1]).toBeNull();
      expect(g1[2]).not.toBeNull();
      const l2 = nb.tidy(() => {
        const { hidden, logits } = lm.forwardHidden(toks);
        return medusa2Loss(heads, hidden, logits, toks, { lambda: 0.5, decay: 0.8 });
      });
      const g2 = nb.gradients([l2.total], basePs);
      expect(g2.every((g) => g !== null && nb.sum(nb.abs(g)).item() > 0)).toBe(true);
      // the value: L_LM + 0.5 (CE_1 + 0.8 CE_2), CE_k against tokens k + 1 places ahead of the base's target
      const { hidden, logits } = lm.forwardHidden(toks);
      const hl = heads.forward(hidden);
      const ce = (lg: nb.Tensor, shift: number) => nb.crossEntropy(nb.slice(lg, [null, { stop: 6 - shift }]), nb.slice(toks, [null, { start: shift }])).item();
      const want = ce(logits, 1) + 0.5 * (ce(nb.slice(hl, [0]), 2) + 0.8 * ce(nb.slice(hl, [1]), 3));
      expect(l2.total.item()).toBeCloseTo(want, 10);
      expect(l2.perHead.length).toBe(2);
      nn.dispose(lm);
      nn.dispose(heads);
    });
  });
});

/** Logits of a full causal pass over `tokens` at its last position. */
const lastLogits = (lm: MixerLM, tokens: number[]): Float64Array =>
  nb.tidy(() => nb.slice(lm.forward(nb.tensor(Int32Array.from(tokens), [1, tokens.length], { dtype: 'i32' })), [0, -1]).toF64());

const stacks: [string, MixerSpec | MixerSpec[]][] = [
  ['softmax (tree attention)', { kind: 'softmax', heads: 2 }],
  ['linear (branched recurrent state)', { kind: 'linear', heads: 2 }],
  ['lstm (branched recurrent state)', { kind: 'lstm' }],
  ['hybrid: linear then softmax', [{ kind: 'linear', heads: 2 }, { kind: 'softmax', heads: 2 }]],
  ['gru, mamba (branched; a state tensor without a batch axis)', [{ kind: 'gru' }, { kind: 'mamba' }]],
  ['transformer-vq, sparse-local (branched caches)', [{ kind: 'transformer-vq', heads: 2, block: 2, codes: 4 }, { kind: 'sparse-local', heads: 2, window: 3 }]],
];

describe('tree verification', () => {
  const cases: [string, MixerSpec | MixerSpec[], boolean][] = [...stacks.map(([n, m]) => [n, m, true] as [string, MixerSpec | MixerSpec[], boolean]), ['lstm + linear, node by node (batching off)', [{ kind: 'lstm' }, { kind: 'linear', heads: 2 }], false]];
  it.each(cases)('%s: each candidate gets the logits of a plain pass over prompt + its path; decoding continues after the accepted path', (_n, mixer, batched) => {
    setTreeBatching(batched);
    onTestFinished(() => setTreeBatching(true));
    nb.tidy(() => {
      const lm = model(mixer, 5);
      nn.evalMode(lm); // Transformer-VQ's codebook moves (EMA) in training passes
      const prompt = [3, 1, 4, 1, 5];
      const tree = buildTree([[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0]]);
      const toks = [2, 6, 7, 0, 3, 5, 1];
      const pre = lm.extendDecode(prompt, lm.initDecode());
      const v = lm.extendDecode(toks, pre.state, tree.parents);
      const lg = v.logits.toF64();
      const pathTo = (i: number): number[] => (i < 0 ? [] : [...pathTo(tree.parents[i]!), i]);
      for (let i = 0; i < toks.length; i++) {
        const seq = [...prompt, ...pathTo(i).map((n) => toks[n]!)];
        expectClose(lg.subarray(i * V, (i + 1) * V), lastLogits(lm, seq), 1e-9, `node ${i}`);
      }
      const path = [0, 1, 3, 6];
      const st = lm.acceptPath(v.state, path);
      const nxt = lm.extendDecode([4], st);
      expectClose(nxt.logits.toF64(), lastLogits(lm, [...prompt, ...path.map((n) => toks[n]!), 4]), 1e-9, 'after accept');
      nxt.state.dispose();
      nn.dispose(lm);
    });
  });
});

describe('greedy Medusa equals plain greedy decoding, token for token', () => {
  const prompts = [[1], [2, 7, 7], [5, 0, 3, 3, 6, 1]];
  const trees: [string, nb.Key | null, readonly (readonly number[])[] | undefined][] = [
    ['default tree', null, undefined],
    ['cartesian 3×2×2', null, cartesianTree([3, 2, 2])],
    ['chain of 3', null, chainTree(3)],
    ['wide, one level', null, [[0], [1], [2], [3], [4]]],
  ];
  it.each(stacks.slice(0, 2))('%s, several prompts and trees', (_n, mixer) => {
    const before = nb.memory().liveTensors;
    const lm = model(mixer, 7);
    const heads = new MedusaHeads(D, V, { key: kk(8), heads: 4, lmHead: lm.lmHeadWeight(), dtype: 'f64' });
    const heads0 = nb.memory().liveTensors;
    let accepted = 0;
    for (const p of prompts) {
      const plain = generate(lm, p, { maxNewTokens: 14 });
      for (const [, , tree] of trees) {
        const m = medusaGenerate(lm, heads, p, { maxNewTokens: 14, tree });
        expect(m.tokens).toEqual(plain.tokens);
        expect(m.acceptedLengths.reduce((a, b) => a + b, 0)).toBe(14);
        accepted = Math.max(accepted, m.meanAccepted);
      }
    }
    expect(accepted).toBeGreaterThan(1.5); // candidates were accepted, not only the base model's own token
    expect(nb.memory().liveTensors).toBe(heads0); // decoding leaks nothing
    nn.dispose(lm);
    nn.dispose(heads);
    expect(nb.memory().liveTensors).toBe(before);
  });

  it('stop token, streaming, and the comparison report', () => {
    const lm = model({ kind: 'softmax', heads: 2 }, 7);
    const heads = new MedusaHeads(D, V, { key: kk(8), heads: 3, lmHead: lm.lmHeadWeight(), dtype: 'f64' });
    const plain = generate(lm, [2, 7, 7], { maxNewTokens: 12 });
    const stop = plain.tokens[4]!;
    const streamed: number[] = [];
    const m = medusaGenerate(lm, heads, [2, 7, 7], { maxNewTokens: 12, stopToken: stop, onTokens: (t) => streamed.push(...t) });
    expect(m.tokens).toEqual(plain.tokens.slice(0, plain.tokens.indexOf(stop) + 1));
    expect(streamed).toEqual(m.tokens);
    const c = compareDecoding(lm, heads, [2, 7, 7], { maxNewTokens: 12 });
    expect(c.sameOutput).toBe(true);
    expect(c.plain.meanAccepted).toBe(1);
    expect(c.medusa.steps).toBeLessThanOrEqual(12);
    expect(c.speedup).toBeGreaterThan(0);
    expect(() => medusaGenerate(lm, heads, [], { maxNewTokens: 3 })).toThrow(/prompt is empty/);
    expect(() => medusaGenerate(lm, heads, [1], { maxNewTokens: 3, temperature: 1 })).toThrow(/typical/);
    expect(() => medusaGenerate(lm, heads, [1], { maxNewTokens: 3, tree: [[9]] })).toThrow(/top 10 of a vocabulary of 8/);
    nn.dispose(lm);
    nn.dispose(heads);
  });
});

describe('typical acceptance and training', () => {
  it('sampling is keyed; zero thresholds accept the whole chain every step', () => {
    const lm = model({ kind: 'softmax', heads: 2 }, 9);
    const heads = new MedusaHeads(D, V, { key: kk(10), heads: 3, dtype: 'f64' });
    const o = { maxNewTokens: 12, acceptance: 'typical' as const, temperature: 0.8, key: kk(12) };
    const a = medusaGenerate(lm, heads, [1, 2], o);
    expect(medusaGenerate(lm, heads, [1, 2], o).tokens).toEqual(a.tokens);
    const all = medusaGenerate(lm, heads, [1, 2], { ...o, tree: chainTree(3), epsilon: 0, delta: 0 });
    expect(all.acceptedLengths).toEqual([4, 4, 4]);
    expect(medusaGenerate(lm, heads, [1, 2], { ...o, temperature: 0 }).tokens).toEqual(generate(lm, [1, 2], { maxNewTokens: 12 }).tokens);
    nn.dispose(lm);
    nn.dispose(heads);
  });

  it('Medusa-1 fitting lowers the heads\' loss and leaves the base model as it was', () => {
    const lm = model({ kind: 'softmax', heads: 2 }, 13);
    const heads = new MedusaHeads(D, V, { key: kk(14), heads: 2, dtype: 'f64' });
    const w0 = lm.head.weight.toF64();
    const data = nb.tensor(Int32Array.from({ length: 4 * 12 }, (_, i) => (i * 3 + Math.floor(i / 12)) % V), [4, 12], { dtype: 'i32' });
    const losses = fitMedusa(lm, heads, () => nb.copy(data), { steps: 12, lr: 5e-2 });
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expectClose(lm.head.weight.toF64(), w0, 0, 'base unchanged');
    data.dispose();
    nn.dispose(lm);
    nn.dispose(heads);
  });
});
