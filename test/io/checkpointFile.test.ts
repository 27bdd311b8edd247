/**
 * Checkpoint directories: a resumed run equals the straight run bit for bit
 * (weights, optimiser, EMA, loss scale), old checkpoints are pruned, a crashed
 * save is invisible, and weights load into a model with clear errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { add, mul, square, sub, sum, tensor, valueAndGrad, type Tensor } from '../../src/index.js';
import { adamw, ema, emaWarmup, restoreOptimizerState, warmupCosine } from '../../src/optim/index.js';
import { dynamicLossScale } from '../../src/train/lossScale.js';
import { assignWeights, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpointFile.js';
import { mulberry32, randn } from '../helpers/rng.js';

const root = mkdtempSync(join(tmpdir(), 'nabla-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const vals = (n: number, seed: number): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => randn(r));
};

describe('resume', () => {
  // a least-squares fit: loss(w, b) = Σ (x·w + b − y)² over a fixed batch that changes with the step
  const init = () => ({ w: tensor(vals(6, 1), [6]), b: tensor([0.5], [1]) });
  const batch = (t: number) => ({ x: tensor(vals(6, 100 + t), [6]), y: tensor([Math.sin(t)], [1]) });
  const opt = adamw({ lr: warmupCosine({ peak: 0.05, warmup: 3, total: 20 }), weightDecay: 0.01 });
  const avg = ema({ decay: emaWarmup() });
  const ls = dynamicLossScale({ growthInterval: 4 });

  function train(params: Record<string, Tensor>, from: number, to: number, st: { opt: ReturnType<typeof opt.init>; ema: ReturnType<typeof avg.init>; ls: ReturnType<typeof ls.init> }, losses: number[]) {
    for (let t = from; t < to; t++) {
      const { x, y } = batch(t);
      const f = (w: Tensor, b: Tensor) => mul(sum(square(sub(add(sum(mul(x, w), 0, true), b), y))), st.ls.scale);
      const [loss, [gw, gb]] = valueAndGrad(f)(params.w!, params.b!);
      losses.push(loss.item() / st.ls.scale);
      const r = ls.step(st.ls, { w: gw, b: gb }, () => {
        st.opt = opt.update({ w: gw, b: gb }, st.opt, params).state;
      });
      st.ls = r.state;
      st.ema = avg.update(st.ema, params);
    }
  }

  it('continues exactly where the straight run goes', () => {
    const straight = init();
    const s1 = { opt: opt.init(straight), ema: avg.init(straight), ls: ls.init() };
    const l1: number[] = [];
    train(straight, 0, 12, s1, l1);

    const first = init();
    const s2 = { opt: opt.init(first), ema: avg.init(first), ls: ls.init() };
    const l2: number[] = [];
    train(first, 0, 6, s2, l2);
    saveCheckpoint(join(root, 'resume'), { step: 6, model: first, optimizer: s2.opt, ema: s2.ema, lossScale: s2.ls, state: { losses: l2, config: { lr: 0.05 } } });

    // a fresh process would start from here: new parameters, fresh optimiser state
    const c = loadCheckpoint(join(root, 'resume'));
    expect(c.step).toBe(6);
    const params = init();
    assignWeights(params, c.model);
    const s3 = { opt: restoreOptimizerState(opt.init(params), c.optimizer!), ema: c.ema!, ls: ls.fromJSON(c.lossScale) };
    const l3 = [...(c.state!.losses as number[])];
    train(params, 6, 12, s3, l3);
    expect(l3).toEqual(l1);
    for (const n of ['w', 'b'] as const) {
      expect([...params[n]!.dataSync()], n).toEqual([...straight[n]!.dataSync()]);
      expect([...s3.ema.shadow[n]!.dataSync()], `ema ${n}`).toEqual([...s1.ema.shadow[n]!.dataSync()]);
    }
    expect(s3.ls).toEqual(s1.ls);
    expect(c.state!.config).toEqual({ lr: 0.05 });
  });
});

describe('the checkpoint directory', () => {
  const model = (v: number) => ({ w: tensor([v, v], [2]) });

  it('keeps the newest `keep` checkpoints and loads any of them by step', () => {
    const r = join(root, 'prune');
    for (let s = 1; s <= 5; s++) saveCheckpoint(r, { step: s * 10, model: model(s) }, { keep: 2 });
    expect(listCheckpoints(r).map((c) => c.step)).toEqual([50, 40]);
    expect(readdirSync(r).sort()).toEqual(['ckpt-000000040', 'ckpt-000000050', 'latest.json']);
    expect(loadCheckpoint(r).model.w!.toArray()).toEqual([5, 5]);
    expect(loadCheckpoint(r, { step: 40 }).model.w!.toArray()).toEqual([4, 4]);
    expect(() => loadCheckpoint(r, { step: 10 })).toThrow(/no checkpoint of step 10 .* \(have 50, 40\)/);
    expect(() => loadCheckpoint(join(root, 'nothing'))).toThrow(/no checkpoint under .*nothing \(no latest.json\)/);
  });

  it('saves the same step again under a fresh name, never over the one latest.json names', () => {
    const r = join(root, 'again');
    saveCheckpoint(r, { step: 3, model: model(1) });
    const dir2 = saveCheckpoint(r, { step: 3, model: model(2) });
    expect(dir2.endsWith('ckpt-000000003-r1')).toBe(true);
    expect(loadCheckpoint(r).model.w!.toArray()).toEqual([2, 2]);
    expect(existsSync(join(r, 'ckpt-000000003', 'model.safetensors'))).toBe(true);
  });

  it('ignores, then removes, what a crashed save left behind', () => {
    const r = join(root, 'crash');
    saveCheckpoint(r, { step: 1, model: model(1) });
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const tmp = join(r, `.ckpt-000000002.tmp-${dead}-abc`);
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'model.safetensors'), 'half a fi');
    expect(loadCheckpoint(r).step).toBe(1);
    saveCheckpoint(r, { step: 2, model: model(2) });
    expect(existsSync(tmp)).toBe(false);
    expect(loadCheckpoint(r).model.w!.toArray()).toEqual([2, 2]);
  });

  it('writes weights PyTorch can read as they are (plain names, nabla metadata)', () => {
    const r = join(root, 'names');
    const dir = saveCheckpoint(r, { step: 7, model: { 'layers.0.weight': tensor([1], [1]) } });
    expect(readdirSync(dir).sort()).toEqual(['model.safetensors', 'trainer.json']);
  });
});

describe('assignWeights', () => {
  it('copies into the model in place, casting floats, and names what does not fit', () => {
    const params = { a: tensor([0, 0], [2], { dtype: 'bf16' }), b: tensor([0], [1]) };
    const storage = params.a.storage;
    assignWeights(params, { a: tensor([1 / 3, 2], [2], { dtype: 'f64' }), b: tensor([5], [1]) });
    expect(params.a.storage).toBe(storage);
    expect(params.a.toArray()).toEqual([0.333984375, 2]);
    expect(() => assignWeights(params, { a: tensor([1, 2, 3], [3]), b: tensor([1], [1]) })).toThrow("assignWeights: tensor 'a' is [3] in the checkpoint but [2] in the model");
    expect(() => assignWeights(params, { a: tensor([1, 2], [2]), c: tensor([1], [1]) })).toThrow("missing from the checkpoint: 'b'; not in the model: 'c'");
    expect(assignWeights(params, { a: tensor([7, 7], [2]), c: tensor([1], [1]) }, { strict: false })).toEqual({ missing: ['b'], unexpected: ['c'] });
    expect(params.a.toArray()).toEqual([7, 7]);
  });
});
