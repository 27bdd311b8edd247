/** Learning-rate schedules: closed-form values, and PyTorch's schedulers step for step. */
import { beforeAll, describe, expect, it } from 'vitest';
import { constant, multiStep, oneCycle, stepDecay, warmupCosine, warmupLinear, scaled, type Schedule } from '../../src/optim/index.js';
import { hasTorch, runJson, torchSkipReason } from '../fixtures/torch/torch.js';

const take = (s: Schedule, n: number): number[] => Array.from({ length: n }, (_, t) => s(t));

describe('schedules', () => {
  it('warmup + cosine: linear rise, cosine fall, flat after total', () => {
    const s = warmupCosine({ peak: 1, warmup: 10, total: 110, start: 0.1, final: 0.01 });
    expect(s(0)).toBe(0.1);
    expect(s(5)).toBeCloseTo(0.55, 15);
    expect(s(10)).toBe(1);
    expect(s(60)).toBeCloseTo((1 + 0.01) / 2, 15); // halfway down the cosine
    expect(s(110)).toBe(0.01);
    expect(s(500)).toBe(0.01);
    const fall = take(s, 111).slice(10);
    for (let i = 1; i < fall.length; i++) expect(fall[i]).toBeLessThanOrEqual(fall[i - 1]!);
  });

  it('warmup + linear, step decay, milestones, constant, scaled', () => {
    expect(take(warmupLinear({ peak: 2, warmup: 2, total: 6 }), 8)).toEqual([0, 1, 2, 1.5, 1, 0.5, 0, 0]);
    expect(take(stepDecay({ lr: 1, stepSize: 2, gamma: 0.5 }), 6)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
    expect(take(multiStep({ lr: 1, milestones: [1, 4], gamma: 0.1 }), 5).map((x) => +x.toPrecision(12))).toEqual([1, 0.1, 0.1, 0.1, 0.01]);
    expect(take(constant(3), 3)).toEqual([3, 3, 3]);
    expect(scaled(constant(3), 0.5)(7)).toBe(1.5);
  });

  it('one-cycle rises from maxLr/divFactor to maxLr, then falls to the minimum', () => {
    const s = oneCycle({ maxLr: 1, total: 100 });
    expect(s(0)).toBeCloseTo(1 / 25, 15);
    expect(Math.max(...take(s, 100))).toBeCloseTo(1, 12);
    expect(s(99)).toBeCloseTo(1 / 25 / 1e4, 18);
    expect(s(1000)).toBeCloseTo(1 / 25 / 1e4, 18);
  });

  it('reject bad arguments and steps', () => {
    expect(() => warmupCosine({ peak: 1, warmup: 10, total: 5 })).toThrow('warmupCosine: total (5) must be at least warmup (10)');
    expect(() => stepDecay({ lr: 1, stepSize: 0 })).toThrow('stepDecay: stepSize must be a positive integer, got 0');
    expect(() => oneCycle({ maxLr: 1, total: 10, pctStart: 1 })).toThrow('oneCycle: pctStart must be in (0, 1), got 1');
    expect(() => constant(1)(-1)).toThrow('constant: step must be a non-negative integer, got -1');
    expect(() => constant(1)(0.5)).toThrow(/non-negative integer/);
  });
});

describe.skipIf(!hasTorch())(`schedules match PyTorch's schedulers${torchSkipReason()}`, () => {
  const N = 60;
  const cases: { name: string; torch: { kind: string; kwargs: Record<string, unknown>; lr?: number }; mine: Schedule }[] = [
    { name: 'OneCycleLR', torch: { kind: 'OneCycleLR', kwargs: { max_lr: 0.5, total_steps: N } }, mine: oneCycle({ maxLr: 0.5, total: N }) },
    {
      name: 'OneCycleLR, three phases, linear',
      torch: { kind: 'OneCycleLR', kwargs: { max_lr: 2, total_steps: N, pct_start: 0.25, anneal_strategy: 'linear', three_phase: true, div_factor: 10, final_div_factor: 100 } },
      mine: oneCycle({ maxLr: 2, total: N, pctStart: 0.25, anneal: 'linear', threePhase: true, divFactor: 10, finalDivFactor: 100 }),
    },
    { name: 'StepLR', torch: { kind: 'StepLR', lr: 0.3, kwargs: { step_size: 7, gamma: 0.5 } }, mine: stepDecay({ lr: 0.3, stepSize: 7, gamma: 0.5 }) },
    { name: 'MultiStepLR', torch: { kind: 'MultiStepLR', lr: 0.3, kwargs: { milestones: [5, 20, 21], gamma: 0.3 } }, mine: multiStep({ lr: 0.3, milestones: [5, 20, 21], gamma: 0.3 }) },
    { name: 'CosineAnnealingLR', torch: { kind: 'CosineAnnealingLR', lr: 0.1, kwargs: { T_max: N, eta_min: 0.001 } }, mine: warmupCosine({ peak: 0.1, warmup: 0, total: N, final: 0.001 }) },
    { name: 'LinearLR (warmup)', torch: { kind: 'LinearLR', lr: 0.1, kwargs: { start_factor: 0.25, end_factor: 1, total_iters: 12 } }, mine: warmupLinear({ peak: 0.1, warmup: 12, total: 12, start: 0.025 }) },
  ];
  let all: number[][] = [];
  beforeAll(() => {
    all = runJson<number[][]>('lr_schedules.py', cases.map((c) => ({ ...c.torch, steps: N }))); // one Python start for all
  });
  it.each(cases)('$name', (c) => {
    const theirs = all[cases.indexOf(c)];
    const mine = take(c.mine, N);
    // PyTorch's CosineAnnealingLR and LinearLR apply their formulas recursively, so they drift by rounding
    theirs!.forEach((v, t) => expect(Math.abs(mine[t]! - v), `step ${t}: ${mine[t]} vs ${v}`).toBeLessThanOrEqual(1e-12 * Math.abs(v) + 1e-15));
  });
});
