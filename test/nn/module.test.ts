/**
 * The module tree: parameter names and order, tied weights and shared
 * modules, containers, freezing, train/eval, state dicts (round trips,
 * safetensors, shape and name errors), mapParameters, and memory: models
 * survive scopes, forward/backward in tidy leaks nothing, dispose frees all.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { expectClose } from '../helpers/check.js';

const key = nb.randomKey(3);
const k = (i: number): nb.Key => nb.foldIn(key, i);

class Block extends nn.Module {
  readonly config: { dim: number };
  ln: nn.LayerNorm;
  ff: nn.SwiGLU;
  heads: { q: nn.Linear; k: nn.Linear };
  drop = new nn.Dropout(0.5);
  // private state the walk must not see (a tensor here would not be a parameter)
  #scratch: nb.Tensor | null = null;

  constructor(dim: number, kk: nb.Key) {
    super();
    const [a, b, c] = nb.splitKey(kk, 3);
    this.config = { dim };
    this.ln = new nn.LayerNorm(dim);
    this.ff = new nn.SwiGLU(dim, 2 * dim, { key: a! });
    this.heads = { q: new nn.Linear(dim, dim, { key: b!, bias: false }), k: new nn.Linear(dim, dim, { key: c!, bias: false }) };
  }

  forward(x: nb.Tensor, kk?: nb.Key): nb.Tensor {
    this.#scratch?.dispose();
    this.#scratch = null;
    return nb.tidy(() => nb.add(x, this.drop.forward(this.ff.forward(this.ln.forward(x)), kk)));
  }
}

class Model extends nn.Module {
  emb: nn.Embedding;
  layers: Block[];
  norm: nn.RMSNorm;
  head: nn.Linear;
  readonly act = nb.relu;

  constructor(vocab: number, dim: number, depth: number, kk: nb.Key, tie = false) {
    super();
    const ks = nb.splitKey(kk, depth + 2);
    this.emb = new nn.Embedding(vocab, dim, { key: ks[0]! });
    this.layers = Array.from({ length: depth }, (_, i) => new Block(dim, ks[i + 1]!));
    this.norm = new nn.RMSNorm(dim);
    this.head = new nn.Linear(dim, vocab, { key: ks[depth + 1]!, bias: false });
    if (tie) {
      this.head.weight.dispose();
      this.head.weight = this.emb.weight;
    }
  }

  forward(idx: nb.Tensor, kk?: nb.Key): nb.Tensor {
    return nb.tidy(() => {
      let h = this.emb.forward(idx);
      this.layers.forEach((l, i) => (h = l.forward(h, kk ? nb.foldIn(kk, i) : undefined)));
      return this.head.forward(this.norm.forward(h));
    });
  }
}

const BLOCK_NAMES = ['ln.weight', 'ln.bias', 'ff.w1.weight', 'ff.w2.weight', 'ff.w3.weight', 'heads.q.weight', 'heads.k.weight'];

describe('parameter walk', () => {
  it('names parameters by dotted path in declaration order, arrays by index, skipping config, functions and #private fields', () => {
    const m = new Model(10, 4, 2, k(1));
    const names = Object.keys(nn.namedParameters(m));
    expect(names).toEqual(['emb.weight', ...BLOCK_NAMES.map((n) => `layers.0.${n}`), ...BLOCK_NAMES.map((n) => `layers.1.${n}`), 'norm.weight', 'head.weight']);
    expect(nn.parameters(m)).toHaveLength(names.length);
    expect(nn.parameterCount(m)).toBe(40 + 2 * (4 + 4 + 3 * 32 + 2 * 16) + 4 + 40);
    expect(nn.namedModules(m).map(([n]) => n).slice(0, 5)).toEqual(['', 'emb', 'layers.0', 'layers.0.ln', 'layers.0.ff']);
    nn.dispose(m);
  });

  it('lists a tied weight once, under its first name, and keeps it tied through mapParameters', () => {
    const m = new Model(10, 4, 1, k(2), true);
    const names = Object.keys(nn.namedParameters(m));
    expect(names).toContain('emb.weight');
    expect(names).not.toContain('head.weight');
    nn.mapParameters(m, (_n, t) => nb.astype(t, 'f64'));
    expect(m.head.weight).toBe(m.emb.weight);
    expect(m.emb.weight.dtype).toBe('f64');
    expect(m.emb.weight.requiresGrad).toBe(true);
    nn.dispose(m);
  });

  it('visits a shared module once and survives cycles', () => {
    const shared = new nn.Linear(2, 2, { key: k(3) });
    const seq = new nn.Sequential([shared, nb.relu, shared]);
    expect(Object.keys(nn.namedParameters(seq))).toEqual(['0.weight', '0.bias']);
    const a = new nn.ModuleList([shared]) as nn.ModuleList & { parent?: unknown };
    (shared as unknown as { owner: unknown }).owner = a; // a cycle
    expect(Object.keys(nn.namedParameters(a))).toEqual(['0.weight', '0.bias']);
    nn.dispose(seq);
  });

  it('Sequential names match torch.nn.Sequential (functions take an index) and chains forward', () => {
    nb.tidy(() => {
      const l1 = new nn.Linear(3, 5, { key: k(4) });
      const l2 = new nn.Linear(5, 2, { key: k(5) });
      const s = new nn.Sequential([l1, nb.tanh, new nn.Dropout(0.1), l2]);
      expect(Object.keys(nn.namedParameters(s))).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
      nn.eval(s);
      const x = nb.normal(k(6), [4, 3]);
      expectClose(s.forward(x).toF64(), l2.forward(nb.tanh(l1.forward(x))).toF64(), 0, 'chain');
      const list = new nn.ModuleList([l1, l2]);
      expect(list.length).toBe(2);
      expect(list.at(-1)).toBe(l2);
      expect([...list]).toEqual([l1, l2]);
      expect(() => new nn.ModuleList([nb.relu as never])).toThrow(/item 0 is not a Module/);
    });
  });
});

describe('modes and freezing', () => {
  it('train/eval reach every module and switch dropout', () => {
    nb.tidy(() => {
      const m = new Model(10, 4, 2, k(7));
      const idx = nb.tensor([[1, 2, 3]], { dtype: 'i32' });
      expect(() => m.forward(idx)).toThrow(/training mode needs a PRNG key/);
      const a = m.forward(idx, k(1)).toF64();
      expect(m.forward(idx, k(2)).toF64()).not.toEqual(a);
      nn.eval(m);
      expect(nn.namedModules(m).every(([, mod]) => !mod.training)).toBe(true);
      expect(m.forward(idx, k(1)).toF64()).toEqual(m.forward(idx, k(2)).toF64());
      nn.train(m);
      expect(m.layers[1]!.drop.training).toBe(true);
      nn.dispose(m);
    });
  });

  it('freeze stops gradients to the matching parameters; unfreeze restores them', () => {
    const m = new Model(10, 4, 2, k(8));
    nn.eval(m);
    const frozen = nn.freeze(m, (name) => name.startsWith('layers.0.') || name === 'emb.weight');
    expect(frozen).toEqual(['emb.weight', ...BLOCK_NAMES.map((n) => `layers.0.${n}`)]);
    expect(Object.keys(nn.trainableParameters(m))).toEqual([...BLOCK_NAMES.map((n) => `layers.1.${n}`), 'norm.weight', 'head.weight']);
    expect(nn.parameterCount(m, { trainable: true })).toBe(nn.parameterCount(m) - 40 - (4 + 4 + 96 + 32));
    nb.tidy(() => nb.backward(nb.sum(m.forward(nb.tensor([[1, 2]], { dtype: 'i32' })))));
    const grads = nn.namedGrads(m);
    expect(grads['emb.weight']).toBeNull();
    expect(grads['layers.0.ff.w1.weight']).toBeNull();
    expect(grads['layers.1.ff.w1.weight']).toBeInstanceOf(nb.Tensor);
    expect(grads['head.weight']).toBeInstanceOf(nb.Tensor);
    nn.zeroGrad(m);
    expect(Object.values(nn.namedGrads(m)).every((g) => g === null)).toBe(true);
    nn.unfreeze(m);
    expect(nn.parameterCount(m, { trainable: true })).toBe(nn.parameterCount(m));
    nn.dispose(m);
  });
});

describe('state dicts', () => {
  it('round trip: another model loads the state in place and computes the same function', () => {
    nb.tidy(() => {
      const a = nn.eval(new Model(10, 4, 2, k(9)));
      const b = nn.eval(new Model(10, 4, 2, k(10)));
      const idx = nb.tensor([[0, 5, 9]], { dtype: 'i32' });
      expect(b.forward(idx).toF64()).not.toEqual(a.forward(idx).toF64());
      const before = b.layers[1]!.ff.w2.weight;
      expect(nn.loadStateDict(b, nn.stateDict(a))).toEqual({ missing: [], unexpected: [] });
      expect(b.layers[1]!.ff.w2.weight).toBe(before);
      expect(b.forward(idx).toF64()).toEqual(a.forward(idx).toF64());
      nn.dispose(a);
      nn.dispose(b);
    });
  });

  it('round trip through safetensors bytes, converting f64 values into an f32 model', () => {
    nb.tidy(() => {
      const a = new nn.Conv1d(3, 6, 3, { key: k(11), groups: 3, dtype: 'f64' });
      const b = new nn.Conv1d(3, 6, 3, { key: k(12), groups: 3 });
      const parsed = nb.parseSafetensors(nb.serializeSafetensors(nn.stateDict(a)));
      nn.loadStateDict(b, parsed.tensors);
      expect(b.weight.dtype).toBe('f32');
      expectClose(b.weight.toF64(), a.weight.toF64(), 1e-7, 'weights');
      expectClose(b.bias!.toF64(), a.bias!.toF64(), 1e-7, 'bias');
      nn.dispose(a);
      nn.dispose(b);
    });
  });

  it('shape mismatches name the parameter and write nothing; names must match unless strict is off', () => {
    nb.tidy(() => {
      const small = new Model(10, 4, 2, k(13));
      const wide = new Model(12, 4, 2, k(14));
      const snapshot = small.emb.weight.toF64();
      expect(() => nn.loadStateDict(small, nn.stateDict(wide))).toThrow("loadStateDict: parameter 'emb.weight' is [10,4] in the model but [12,4] in the state");
      expect(small.emb.weight.toF64()).toEqual(snapshot);
      const deep = new Model(10, 4, 3, k(15));
      expect(() => nn.loadStateDict(small, nn.stateDict(deep))).toThrow(/not in the model: 'layers\.2\.ln\.weight'.*pass strict: false/);
      const r = nn.loadStateDict(deep, nn.stateDict(small), { strict: false });
      expect(r.unexpected).toEqual([]);
      expect(r.missing).toEqual(BLOCK_NAMES.map((n) => `layers.2.${n}`));
      expect(() => nn.loadStateDict(small, { ...nn.stateDict(small), 'norm.weight': nb.zeros([4], { dtype: 'i32' }) })).toThrow(/'norm.weight' is f32 in the model but i32/);
      for (const m of [small, wide, deep]) nn.dispose(m);
    });
  });
});

describe('with the optimisers', () => {
  it('namedParameters and namedGrads feed an optimiser; frozen parameters stay put', () => {
    const m = nb.tidy(() => new nn.Sequential([new nn.Linear(3, 8, { key: k(20) }), nb.tanh, new nn.Linear(8, 1, { key: k(21) })]));
    nn.freeze(m, (name) => name === '0.bias');
    const frozenBias = m.items[0] instanceof nn.Linear ? m.items[0].bias!.toF64().slice() : null;
    const x = nb.normal(k(22), [16, 3]);
    const target = nb.sum(x, -1, true);
    const params = nn.namedParameters(m);
    const opt = nb.adamw({ lr: 0.05, weightDecay: 0 });
    let state = opt.init(params);
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      nb.tidy(() => {
        const loss = nb.mseLoss(m.forward(x), target);
        losses.push(loss.item());
        nb.backward(loss);
      });
      state = opt.update(nn.namedGrads(m), state, params).state;
      nn.zeroGrad(m);
    }
    expect(losses.at(-1)!).toBeLessThan(0.2 * losses[0]!);
    expect((m.items[0] as nn.Linear).bias!.toF64()).toEqual(frozenBias);
    nn.dispose(m);
    x.dispose();
    target.dispose();
  });
});

describe('memory', () => {
  it('a model built in tidy survives it; forward + backward in tidy leaks nothing; dispose frees everything', () => {
    const base = nb.memory().liveTensors;
    const m = nb.tidy(() => new Model(10, 8, 2, k(16)));
    const nParams = nn.parameters(m).length;
    expect(nb.memory().liveTensors - base).toBe(nParams);
    const idx = nb.tensor([[1, 2, 3, 4]], { dtype: 'i32' });
    for (let step = 0; step < 2; step++) {
      nb.tidy(() => {
        const logits = m.forward(idx, nb.foldIn(k(17), step));
        nb.backward(nb.crossEntropy(nb.reshape(logits, [4, 10]), nb.tensor([2, 3, 4, 5], { dtype: 'i32' })));
      });
      // parameters, their gradients (all but the unused heads.q/heads.k of each block) and the index: nothing else
      const withGrad = nn.parameters(m).filter((p) => p.grad !== null).length;
      expect(withGrad).toBe(nParams - 4);
      expect(nb.memory().liveTensors - base).toBe(nParams + withGrad + 1);
      nn.zeroGrad(m);
    }
    nn.dispose(m);
    idx.dispose();
    expect(nb.memory().liveTensors).toBe(base);
    expect(nn.parameters(m).every((t) => t.disposed)).toBe(true);
  });

  it('param() refuses computed tensors; mapParameters disposes what it replaces', () => {
    nb.tidy(() => {
      const x = nb.ones([2], { requiresGrad: true });
      expect(() => nn.param(nb.mul(x, 2))).toThrow(/computed by an op; parameters must be leaves/);
      const lin = new nn.Linear(2, 2, { key: k(18) });
      const old = lin.weight;
      nn.mapParameters(lin, (name, t) => (name === 'weight' ? nb.zerosLike(t) : t));
      expect(old.disposed).toBe(true);
      expect(lin.weight.toArray()).toEqual([
        [0, 0],
        [0, 0],
      ]);
      expect(lin.weight.requiresGrad).toBe(true);
      nn.dispose(lin);
    });
  });
});
