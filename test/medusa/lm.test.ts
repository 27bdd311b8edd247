/**
 * Medusa on the zoo's LanguageModel (float32): the adapter's hidden states
 * and logits match the model's own forward; greedy Medusa reproduces the
 * model's own greedy generation (generateTokens) for softmax and hybrid
 * recurrent stacks; Medusa-2 trains the base, Medusa-1 does not.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { nn } from '../../src/index.js';
import { LanguageModel, generateTokens } from '../../src/zoo/lm/index.js';
import { MedusaHeads, cartesianTree, fitMedusa, medusaBase, medusaGenerate } from '../../src/zoo/medusa/index.js';
import { expectClose } from '../helpers/check.js';

const V = 12;

describe('Medusa on LanguageModel', () => {
  it.each([
    ['softmax', 'softmax'],
    ['hybrid lstm + softmax', 'lstm,softmax'],
    ['mamba', 'mamba'],
  ])('%s: greedy Medusa equals the model\'s own greedy generation', (_n, mixer) => {
    const lm = new LanguageModel({ vocabSize: V, dModel: 16, layers: 2, mixer, mixerOptions: mixer === 'mamba' ? {} : { heads: 2 }, tieEmbeddings: mixer === 'mamba' }, 3);
    const base = medusaBase(lm);
    const toks = nb.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [1, 6], { dtype: 'i32' });
    nb.tidy(() => expectClose(base.forwardHidden(toks).logits.toF64(), lm.forward(toks).toF64(), 1e-5, 'logits'));
    const heads = new MedusaHeads(16, V, { key: nb.randomKey(4), heads: 3, lmHead: base.lmHeadWeight() });
    for (const prompt of [[1], [4, 9, 2, 2]]) {
      const want = generateTokens(lm, prompt, { maxTokens: 8, temperature: 0 }).tokens;
      for (const tree of [undefined, cartesianTree([3, 2])]) expect(medusaGenerate(base, heads, prompt, { maxNewTokens: 8, tree }).tokens).toEqual(want);
    }
    toks.dispose();
    nn.dispose(heads);
    nn.dispose(lm);
  });

  it('Medusa-2 moves the base model; Medusa-1 leaves it', () => {
    const lm = new LanguageModel({ vocabSize: V, dModel: 16, layers: 1, mixer: 'softmax', mixerOptions: { heads: 2 } }, 5);
    const base = medusaBase(lm);
    const heads = new MedusaHeads(16, V, { key: nb.randomKey(6), heads: 2, lmHead: base.lmHeadWeight() });
    const data = nb.tensor(Int32Array.from({ length: 2 * 10 }, (_, i) => (i * 5) % V), [2, 10], { dtype: 'i32' });
    const w0 = lm.embed.weight.toF64();
    fitMedusa(base, heads, () => nb.copy(data), { steps: 2 });
    expectClose(lm.embed.weight.toF64(), w0, 0, 'Medusa-1');
    const losses = fitMedusa(base, heads, () => nb.copy(data), { steps: 3, mode: 'medusa2' });
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Array.from(lm.embed.weight.toF64())).not.toEqual(Array.from(w0));
    data.dispose();
    nn.dispose(heads);
    nn.dispose(lm);
  });
});
