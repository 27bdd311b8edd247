/**
 * Mixed-precision training end to end (autocast + dynamic loss scaling +
 * float32 masters through `trainStep`), on a student MLP fitting a fixed
 * random teacher:
 * - float16 (with loss scaling) and bfloat16 reach the float32 run's held-out
 *   loss within 2% and 5% (measured: 0.07% and 0.3%);
 * - a loss weighted by 2⁻²⁴, whose gradients underflow float16 to zero,
 *   trains with loss scaling exactly as in float32 and does not train without;
 * - a loss scale too large for float16 overflows: those steps are skipped
 *   (weights untouched) and the scale halves until the gradients fit; then
 *   it trains like float32 on the remaining steps.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { adam } from '../../src/optim/index.js';
import { autocast, dynamicLossScale, trainStep, type LossScaleState, type Precision } from '../../src/train/index.js';
import { batch, disposeAll, initMlp, makeTeacher, mlp } from './mlp.js';

const STEPS = 200;
const [kInit, kTeach, kData] = nb.splitKey(nb.randomKey(7), 3) as [nb.Key, nb.Key, nb.Key];
const teacher = makeTeacher(kTeach, [8, 32, 1]);
const evalSet = batch(kData, 1e6, teacher, 512, 8);

interface RunResult {
  evalLoss: number;
  skippedSteps: number[];
  finalScale?: number;
  /** W0 after the first step, to check a skipped step leaves the weights alone */
  firstW0: Float64Array;
  initW0: Float64Array;
}

function train(precision: Precision, o: { lossWeight?: number; scaling?: boolean; initScale?: number; firstStep?: number } = {}): RunResult {
  const p = initMlp(kInit, [8, 64, 64, 1]);
  const initW0 = p.W0!.toF64();
  let firstW0 = initW0;
  const opt = adam({ lr: 3e-3 });
  let optState = opt.init(p);
  const scaler = o.scaling ? dynamicLossScale({ initScale: o.initScale ?? 2 ** 16 }) : undefined;
  let scaleState: LossScaleState | undefined = scaler?.init();
  const w = o.lossWeight ?? 1;
  const skippedSteps: number[] = [];
  for (let i = o.firstStep ?? 0; i < STEPS; i++) {
    const { x, y } = batch(kData, i, teacher, 64, 8);
    const r = trainStep({ params: p, optimizer: opt, optState, precision, scaler, scaleState, loss: () => nb.mul(nb.mseLoss(mlp(p, x), y), w) });
    optState = r.optState;
    scaleState = r.scaleState;
    if (r.skipped) skippedSteps.push(i);
    if (i === (o.firstStep ?? 0)) firstW0 = p.W0!.toF64();
    x.dispose();
    y.dispose();
  }
  const evalLoss = nb.noGrad(() => nb.tidy(() => nb.mseLoss(mlp(p, evalSet.x), evalSet.y).item()));
  disposeAll(p);
  nb.optim.disposeOptimizerState(optState);
  return { evalLoss, skippedSteps, finalScale: scaleState?.scale, firstW0, initW0 };
}

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('mixed-precision training', () => {
  const f32 = train('f32');

  it('float16 with loss scaling and bfloat16 reach the float32 loss (tolerance 2% and 5%)', () => {
    const f16 = train('f16', { scaling: true });
    const bf16 = train('bf16');
    const variance = nb.tidy(() => nb.mean(nb.square(evalSet.y)).item());
    console.log(`held-out MSE after ${STEPS} Adam steps: f32 ${f32.evalLoss.toFixed(5)}, f16+scaling ${f16.evalLoss.toFixed(5)}, bf16 ${bf16.evalLoss.toFixed(5)} (target mean square ${variance.toFixed(3)})`);
    expect(f32.evalLoss).toBeLessThan(0.1 * variance); // it learned
    expect(relDiff(f16.evalLoss, f32.evalLoss)).toBeLessThan(0.02);
    expect(relDiff(bf16.evalLoss, f32.evalLoss)).toBeLessThan(0.05);
    expect(f16.evalLoss).not.toBe(f32.evalLoss); // the 16-bit runs really differ
    expect(bf16.evalLoss).not.toBe(f32.evalLoss);
    expect(f16.skippedSteps).toEqual([]);
  });

  it('a model whose float16 gradients underflow to zero trains with loss scaling, not without', () => {
    const w = 2 ** -24;
    // without scaling, every first-layer gradient is exactly zero in float16
    const zeros = nb.tidy(() => {
      const p = initMlp(kInit, [8, 64, 64, 1]);
      const { x, y } = batch(kData, 0, teacher, 64, 8);
      const loss = autocast('f16', () => nb.mul(nb.mseLoss(mlp(p, x), y), w));
      const g = nb.gradients([loss], [p.W0!])[0]!.toF64();
      return g.filter((v) => v === 0).length / g.length;
    });
    expect(zeros).toBe(1);
    const ref = train('f32', { lossWeight: w });
    const scaled = train('f16', { lossWeight: w, scaling: true });
    const unscaled = train('f16', { lossWeight: w });
    console.log(`loss weighted by 2^-24: f32 ${ref.evalLoss.toFixed(5)}, f16+scaling ${scaled.evalLoss.toFixed(5)}, f16 without scaling ${unscaled.evalLoss.toFixed(5)}`);
    expect(relDiff(scaled.evalLoss, ref.evalLoss)).toBeLessThan(0.02);
    expect(unscaled.evalLoss).toBeGreaterThan(5 * ref.evalLoss);
  });

  it('skips overflowing steps, leaving the weights alone, and halves the scale until the gradients fit', () => {
    const r = train('f16', { scaling: true, initScale: 2 ** 30 });
    console.log(`initial scale 2^30: skipped steps ${r.skippedSteps.join(',')}; final scale 2^${Math.log2(r.finalScale!)}; loss ${r.evalLoss.toFixed(5)}`);
    expect(r.skippedSteps.length).toBeGreaterThan(0);
    // overflow happens at the start, while the scale is too large: the skips are consecutive from step 0
    expect(r.skippedSteps).toEqual(r.skippedSteps.map((_, i) => i));
    expect(Array.from(r.firstW0)).toEqual(Array.from(r.initW0));
    expect(r.finalScale).toBe(2 ** (30 - r.skippedSteps.length));
    // after the skips it trains like float32 on the remaining steps (a skipped step changes no state but the scale)
    const rest = train('f32', { firstStep: r.skippedSteps.length });
    expect(relDiff(r.evalLoss, rest.evalLoss)).toBeLessThan(0.02);
  });
});

describe('trainStep', () => {
  const mk = (): Record<string, Tensor> => initMlp(nb.randomKey(3), [4, 8, 2], 'f64');
  const data = (): { x: Tensor; y: Tensor } => ({ x: nb.normal(nb.randomKey(4), [16, 4], { dtype: 'f64' }), y: nb.normal(nb.randomKey(5), [16, 2], { dtype: 'f64' }) });

  it('accumulates micro-batches into the gradient of the mean loss', () => {
    const { x, y } = data();
    const run = (micro: number): number[] => {
      const p = mk();
      const opt = nb.sgd({ lr: 0.1 });
      const s = opt.init(p);
      const n = 16 / micro;
      const r = trainStep({
        params: p,
        optimizer: opt,
        optState: s,
        microBatches: micro,
        loss: (k) => nb.mseLoss(mlp(p, nb.slice(x, [{ start: k * n, stop: (k + 1) * n }])), nb.slice(y, [{ start: k * n, stop: (k + 1) * n }])),
      });
      expect(r.skipped).toBe(false);
      expect(r.optState.step).toBe(1);
      const out = Object.values(p).flatMap((t) => Array.from(t.toF64()));
      disposeAll(p);
      return [r.loss, ...out];
    };
    const whole = run(1);
    for (const m of [2, 4]) run(m).forEach((v, i) => expect(v).toBeCloseTo(whole[i]!, 12));
    x.dispose();
    y.dispose();
  });

  it('leaves frozen parameters alone and skips a step whose loss is not finite', () => {
    const { x, y } = data();
    const p = mk();
    p.W1!.requiresGrad = false;
    const before = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.from(v.toF64())]));
    const opt = nb.sgd({ lr: 0.1 });
    const s = opt.init(p);
    const r = trainStep({ params: p, optimizer: opt, optState: s, loss: () => nb.mseLoss(mlp(p, x), y) });
    expect(Array.from(p.W1!.toF64())).toEqual(before.W1);
    expect(Array.from(p.W0!.toF64())).not.toEqual(before.W0);
    const now = Array.from(p.W0!.toF64());
    const bad = trainStep({ params: p, optimizer: opt, optState: r.optState, loss: () => nb.mul(nb.mseLoss(mlp(p, x), y), NaN) });
    expect(bad.skipped).toBe(true);
    expect(bad.loss).toBeNaN();
    expect(bad.optState).toBe(r.optState);
    expect(Array.from(p.W0!.toF64())).toEqual(now);
    disposeAll(p);
    x.dispose();
    y.dispose();
  });

  it('validates its arguments', () => {
    const p = mk();
    const opt = nb.sgd({ lr: 0.1 });
    const s = opt.init(p);
    const base = { params: p, optimizer: opt, optState: s, loss: () => nb.sum(p.W0!) };
    expect(() => trainStep({ ...base, microBatches: 0 })).toThrow(/microBatches must be a positive integer/);
    expect(() => trainStep({ ...base, scaler: dynamicLossScale() })).toThrow(/needs its state in scaleState/);
    expect(() => trainStep({ ...base, loss: () => p.W0! })).toThrow(/must return a scalar floating Tensor, got f64\[4,8\]/);
    expect(() => trainStep({ ...base, loss: () => nb.scalar(1) })).toThrow(/does not depend on any parameter/);
    const frozen = { a: nb.ones([2]) };
    expect(() => trainStep({ ...base, params: frozen })).toThrow(/no parameter requires grad/);
    frozen.a.dispose();
    disposeAll(p);
  });
});
