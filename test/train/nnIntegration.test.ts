/**
 * The training systems with nn modules: checkpointSequential over an
 * nn.Sequential's items (dropout keyed as nn.Sequential keys it) equals
 * seq.forward(x, key) bit for bit in float64, gradients included;
 * checkpoint() finds a module's parameters (ModuleList items too); autocast
 * computes Linear and Conv1d in 16 bits with LayerNorm's statistics in
 * float32, and the module's float32 parameters get float32 gradients.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { autocast, checkpoint, checkpointSequential } from '../../src/train/index.js';

const { Linear, LayerNorm, Dropout, Sequential, ModuleList, Conv1d, namedParameters, dispose } = nb.nn;

const bits = (t: Tensor): number[] => Array.from(t.toF64());

function gradsOf(m: nb.nn.Module, x: Tensor, loss: () => Tensor): Record<string, number[]> {
  const named = namedParameters(m);
  const names = Object.keys(named);
  return nb.tidy(() => {
    const gs = nb.gradients([loss()], [...names.map((n) => named[n]!), x]);
    const out: Record<string, number[]> = Object.fromEntries(names.map((n, i) => [n, bits(gs[i]!)]));
    out.x = bits(gs[names.length]!);
    return out;
  });
}

describe('training systems with nn modules', () => {
  it('checkpointSequential over nn.Sequential items equals seq.forward(x, key), dropout and gradients included', () => {
    const ks = nb.splitKey(nb.randomKey(1), 4);
    const d = 16;
    const seq = new Sequential([
      new Linear(d, 32, { key: ks[0]!, dtype: 'f64' }),
      (x: Tensor) => nb.gelu(x),
      new Dropout(0.2),
      new Linear(32, d, { key: ks[1]!, dtype: 'f64' }),
      new LayerNorm(d, { dtype: 'f64' }),
      new Linear(d, 32, { key: ks[2]!, dtype: 'f64' }),
      new Dropout(0.3),
      new Linear(32, 4, { key: ks[3]!, dtype: 'f64' }),
    ]);
    const x = nb.normal(nb.randomKey(2), [8, d], { dtype: 'f64' }).requiresGrad_();
    const key = nb.randomKey(3);
    const plain = gradsOf(seq, x, () => nb.sum(nb.square(seq.forward(x, key))));
    for (const segments of [undefined, 2, 8]) {
      const ck = gradsOf(seq, x, () => nb.sum(nb.square(checkpointSequential(seq.items, segments, x, { key }))));
      expect(ck).toEqual(plain);
    }
    // without the key the dropout layers refuse to run: randomness is never implicit
    expect(() => nb.tidy(() => checkpointSequential(seq.items, 2, x))).toThrow(/key/);
    dispose(seq);
    x.dispose();
  });

  it('checkpoint() collects a module’s parameters, ModuleList items included', () => {
    const ks = nb.splitKey(nb.randomKey(4), 3);
    const blocks = new ModuleList([0, 1, 2].map((i) => new Linear(8, 8, { key: ks[i]!, dtype: 'f64' })));
    const x = nb.normal(nb.randomKey(5), [3, 8], { dtype: 'f64' }).requiresGrad_();
    const run = (h: Tensor): Tensor => [...blocks].reduce((a, b) => nb.tanh(b.forward(a)), h);
    expect(gradsOf(blocks, x, () => nb.sum(checkpoint(run, x, blocks)))).toEqual(gradsOf(blocks, x, () => nb.sum(run(x))));
    // a segment given no parameters fails in backward, naming the tensor it would have dropped
    const y = checkpoint(run, x);
    expect(() => nb.backward(nb.sum(y))).toThrow(/uses f64\[8(,8)?\], which requires grad but is neither among its inputs nor its params/);
    y.dispose();
    dispose(blocks);
    x.dispose();
  });

  it.each(['f16', 'bf16'] as const)('autocast %s: Linear and Conv1d compute in 16 bits, LayerNorm normalises in float32, masters get float32 grads', (dt) => {
    const ks = nb.splitKey(nb.randomKey(6), 2);
    const conv = new Conv1d(4, 8, 3, { key: ks[0]!, padding: 'same' });
    const norm = new LayerNorm(8);
    const lin = new Linear(8, 2, { key: ks[1]! });
    const x = nb.normal(nb.randomKey(7), [2, 4, 10]); // (b, c, n)
    const seen: Record<string, string> = {};
    const loss = autocast(dt, () =>
      nb.tidy(() => {
        const c = conv.forward(x); // (b, 8, n)
        const n = norm.forward(nb.transpose(c, 1, 2)); // (b, n, 8)
        const y = lin.forward(n);
        Object.assign(seen, { conv: c.dtype, norm: n.dtype, linear: y.dtype });
        return nb.mean(nb.square(y));
      }),
    );
    expect(seen).toEqual({ conv: dt, norm: dt, linear: dt });
    expect(loss.dtype).toBe('f32');
    nb.backward(loss);
    for (const m of [conv, norm, lin]) for (const [name, p] of Object.entries(namedParameters(m))) expect(p.grad?.dtype, name).toBe('f32');
    loss.dispose();
    for (const m of [conv, norm, lin]) dispose(m);
    x.dispose();
  });
});
