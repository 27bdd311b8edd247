/**
 * SGD, Adam and AdamW against PyTorch: the same starting parameters, the same
 * gradient at every step (some steps with a missing gradient), ten steps,
 * parameter groups with their own hyperparameters. Trajectories and final
 * state buffers must agree to 1e-6 relative in float32 and 1e-12 in float64
 * (where the per-step updates are compared too).
 */
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { adam, adamw, sgd } from '../../src/optim/index.js';
import type { Optimizer } from '../../src/optim/index.js';
import { hasTorch, runJson, torchSkipReason } from '../fixtures/torch/torch.js';
import { mulberry32, randn } from '../helpers/rng.js';

type Kind = 'sgd' | 'adam' | 'adamw';
interface Case {
  name: string;
  optimizer: Kind;
  dtype: 'float32' | 'float64';
  options: Record<string, unknown>;
  groups: { names: string[]; options: Record<string, unknown> }[];
}

const SHAPES: Record<string, number[]> = { w: [3, 4], b: [4], u: [2, 2, 2] };
const STEPS = 10;

const CASES: Case[] = [
  { name: 'SGD, momentum + dampening + weight decay', optimizer: 'sgd', dtype: 'float64', options: { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, groups: [] },
  { name: 'SGD, plain', optimizer: 'sgd', dtype: 'float32', options: { lr: 0.05 }, groups: [] },
  {
    name: 'SGD, Nesterov + weight decay, two groups',
    optimizer: 'sgd',
    dtype: 'float32',
    options: { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
    groups: [{ names: ['b'], options: { lr: 0.03, momentum: 0.5, weightDecay: 0 } }],
  },
  { name: 'SGD, Nesterov, float64', optimizer: 'sgd', dtype: 'float64', options: { lr: 0.1, momentum: 0.8, nesterov: true, weightDecay: 0.05 }, groups: [] },
  { name: 'Adam, L2 weight decay', optimizer: 'adam', dtype: 'float64', options: { lr: 1e-2, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1 }, groups: [] },
  { name: 'Adam, float32, AMSGrad', optimizer: 'adam', dtype: 'float32', options: { lr: 3e-2, amsgrad: true }, groups: [] },
  {
    name: 'AdamW, groups (no decay on biases)',
    optimizer: 'adamw',
    dtype: 'float32',
    options: { lr: 1e-2, weightDecay: 0.05 },
    groups: [{ names: ['b'], options: { lr: 3e-2, weightDecay: 0 } }, { names: ['u'], options: { betas: [0.5, 0.9], eps: 1e-3 } }],
  },
  { name: 'AdamW, float64, AMSGrad', optimizer: 'adamw', dtype: 'float64', options: { lr: 5e-2, weightDecay: 0.2, amsgrad: true, betas: [0.9, 0.99] }, groups: [] },
];

const TORCH_NAMES: Record<string, string> = { weightDecay: 'weight_decay' };
const toTorch = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [TORCH_NAMES[k] ?? k, v]));
const TORCH_SLOTS: Record<string, string> = { momentum: 'momentum_buffer', expAvg: 'exp_avg', expAvgSq: 'exp_avg_sq', maxExpAvgSq: 'max_exp_avg_sq' };

function makeData(seed: number): { init: Record<string, number[]>; grads: Record<string, number[] | null>[] } {
  const rng = mulberry32(seed);
  const init: Record<string, number[]> = {};
  for (const [n, s] of Object.entries(SHAPES)) init[n] = Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => randn(rng));
  const grads = Array.from({ length: STEPS }, (_, t) => {
    const step: Record<string, number[] | null> = {};
    for (const [n, s] of Object.entries(SHAPES)) {
      // 'u' has no gradient on steps 3 and 4: PyTorch skips it and its step count lags
      if (n === 'u' && (t === 3 || t === 4)) step[n] = null;
      // magnitudes over several decades, so eps and the bias corrections matter
      else step[n] = Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => randn(rng) * 10 ** ((i % 5) - 3));
    }
    return step;
  });
  return { init, grads };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

const FACTORIES: Record<Kind, (o: never) => Optimizer<unknown>> = { sgd: sgd as never, adam: adam as never, adamw: adamw as never };

describe.skipIf(!hasTorch())(`optimisers match PyTorch step for step${torchSkipReason()}`, () => {
  it.each(CASES)('$name ($dtype)', (c) => {
    const { init, grads } = makeData(c.name.length * 7919);
    const torchOut = runJson<{ trajectory: Record<string, number[]>[]; state: Record<string, Record<string, number[]>> }>('optim_trajectory.py', {
      optimizer: c.optimizer,
      dtype: c.dtype,
      options: toTorch(c.options),
      groups: c.groups.map((g) => ({ names: g.names, options: toTorch(g.options) })),
      params: Object.entries(SHAPES).map(([name, shape]) => ({ name, shape, values: init[name] })),
      grads,
    });

    const dtype = c.dtype === 'float64' ? 'f64' : 'f32';
    const params: Record<string, Tensor> = {};
    for (const [n, s] of Object.entries(SHAPES)) params[n] = tensor(init[n]!, s, { dtype });
    const opt = FACTORIES[c.optimizer]({ ...c.options, groups: c.groups.map((g) => ({ match: g.names, ...g.options })) } as never);
    let state = opt.init(params);
    const tol = dtype === 'f64' ? 1e-12 : 1e-6;
    let prevMine: Record<string, ArrayLike<number>> = { ...init };
    let prevTheirs: Record<string, ArrayLike<number>> = { ...init };
    for (let t = 0; t < STEPS; t++) {
      const g: Record<string, Tensor | null> = {};
      for (const [n, s] of Object.entries(SHAPES)) g[n] = grads[t]![n] ? tensor(grads[t]![n]!, s, { dtype }) : null;
      state = opt.update(g, state, params).state;
      for (const x of Object.values(g)) x?.dispose();
      for (const n of Object.keys(SHAPES)) {
        const mine = params[n]!.toF64();
        const theirs = torchOut.trajectory[t]![n]!;
        expect(relErr(mine, theirs), `${n} after step ${t + 1}`).toBeLessThan(tol);
        if (dtype === 'f64') {
          // the update itself, not just the parameter it lands on
          const dMine = mine.map((v, i) => v - prevMine[n]![i]!);
          const dTheirs = theirs.map((v, i) => v - prevTheirs[n]![i]!);
          if (dTheirs.every((v) => v === 0)) expect(dMine.every((v) => v === 0), `${n} left alone at step ${t + 1}`).toBe(true);
          else expect(relErr(dMine, dTheirs), `update of ${n} at step ${t + 1}`).toBeLessThan(1e-10);
        }
        prevMine = { ...prevMine, [n]: mine };
        prevTheirs = { ...prevTheirs, [n]: theirs };
      }
    }
    for (const [n, ps] of Object.entries(state.params)) {
      expect(ps.count, `steps counted for ${n}`).toBe(n === 'u' ? STEPS - 2 : STEPS);
      for (const [slot, tns] of Object.entries(ps.slots)) {
        const theirs = torchOut.state[n]![TORCH_SLOTS[slot]!];
        expect(theirs, `PyTorch has ${TORCH_SLOTS[slot]} for ${n}`).toBeDefined();
        expect(relErr(tns.toF64(), theirs!), `${slot} of ${n}`).toBeLessThan(tol);
      }
    }
  });
});
