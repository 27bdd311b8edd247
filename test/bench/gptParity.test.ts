/**
 * The benchmark's GPT is the same model in nabla and in PyTorch: from the
 * same weights and tokens, the loss of a training step (forward) and the loss
 * after one AdamW update (backward + optimiser) agree. Skipped, with the
 * reason, where PyTorch is not installed.
 */
import { afterAll, expect, it } from 'vitest';
import { isSkip } from '../../bench/harness.js';
import { nablaGptStep } from '../../bench/gpt.js';
import { gptParams } from '../../bench/gptModel.js';
import { startPeer, type PeerProcess } from '../../bench/peers/peer.js';
import { namedParameters } from '../../src/nn/module.js';

const torch = await startPeer('torch');
afterAll(() => {
  if (!isSkip(torch)) torch.close();
});

it.skipIf(isSkip(torch))(`nabla and PyTorch agree on two training losses from the same weights${isSkip(torch) ? ` (skipped: ${torch.skip})` : ''}`, async () => {
  const spec = { vocab: 32, T: 8, d: 16, heads: 2, layers: 2, batch: 3 };
  const step = nablaGptStep(spec, 5);
  try {
    const params = namedParameters(step.model);
    expect(Object.values(params).reduce((n, t) => n + t.size, 0)).toBe(gptParams(spec));
    const weights = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, [t.shape, Array.from(t.toF64())]]));
    const payload = { spec, weights, idx: Array.from(step.idx.toF64()), targets: Array.from(step.targets.toF64()) };
    const reply = await (torch as PeerProcess).send({ impl: 'torch', gptcheck: payload });
    if (reply.skip !== undefined) throw new Error(reply.skip);
    const [t0, t1] = reply.values!;
    step.run();
    const n0 = step.loss();
    step.run();
    const n1 = step.loss();
    expect(Math.abs(n0 - t0!), `losses ${n0} vs ${t0}`).toBeLessThan(3e-6); // a few float32 ulps at a loss of ~3.6
    expect(Math.abs(n1 - t1!), `losses after one step ${n1} vs ${t1}`).toBeLessThan(3e-6); // a few float32 ulps at a loss of ~3.6
    // the update moved the loss, by the same amount in both
    expect(Math.abs(n0 - n1)).toBeGreaterThan(1e-4);
    expect(Math.abs(n0 - n1 - (t0! - t1!))).toBeLessThan(1e-3 * Math.abs(t0! - t1!));
  } finally {
    step.dispose();
  }
});
