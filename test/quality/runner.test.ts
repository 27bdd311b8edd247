/**
 * The runner, the records and the figures on a grid of a few steps: one
 * record per (mixer, width, length, lr, test length), JSONL that reads back,
 * PNGs that decode, learning-rate selection that never peeks at test lengths,
 * the model's scored-rows loss equal to the full head's, and the CLI's
 * `bench quality` end to end.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/plot/index.js';
import { tidy } from '../../src/core/memory.js';
import { tensor } from '../../src/ops/creation.js';
import { crossEntropy } from '../../src/ops/nn.js';
import { dispose } from '../../src/nn/module.js';
import { runQuality, resolveMixer } from '../../src/quality/runner.js';
import { readRecords, type QualityRecord } from '../../src/quality/records.js';
import { accuracyByLength, accuracyByWidth, bestByTrainLr, bestOverLr } from '../../src/quality/plot.js';
import { batchLoss, buildModel } from '../../src/quality/train.js';
import { Mqar } from '../../src/zoo/tasks/mqar.js';
import { Adding } from '../../src/zoo/tasks/adding.js';
import { drawBatch, taskRng } from '../../src/zoo/tasks/task.js';
import { buildProgram } from '../../src/cli/main.js';

const rec = (o: Partial<QualityRecord>): QualityRecord => ({
  task: 'mqar', mixer: 'softmax', dModel: 64, seqLen: 64, lr: 1e-3, steps: 1, batch: 1, seed: 0, accuracy: 0, loss: 0, trainLoss: 0, params: 0, seconds: 0, ...o,
});

describe('quality runner', () => {
  it('writes one record per configuration, learning rate and test length, and they read back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-quality-'));
    const out = join(dir, 'r.jsonl');
    const lines: string[] = [];
    const records = runQuality(
      { task: 'induction-heads', mixers: ['softmax-abs', 'mamba'], dModels: [16], seqLens: [16], lrs: [1e-3, 3e-3], steps: 2, batch: 4, evalBatches: 1, evalBatch: 8, seed: 1, testLens: [16, 32] },
      { out, log: (l) => lines.push(l) },
    );
    expect(records).toHaveLength(2 * 2 * 2);
    expect(lines).toHaveLength(4);
    expect(readRecords(out)).toEqual(records);
    for (const r of records) {
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
      expect(r.params).toBeGreaterThan(0);
    }
    expect(records.filter((r) => r.testLen === 32)).toHaveLength(4);
    const png = decodePng(accuracyByLength(records).toPng());
    expect(png.width).toBe(640);
  });

  it('chooses the learning rate by training-length accuracy only', () => {
    const rs = [
      rec({ lr: 1, accuracy: 0.9 }), rec({ lr: 1, testLen: 256, accuracy: 0.1 }),
      rec({ lr: 2, accuracy: 0.8 }), rec({ lr: 2, testLen: 256, accuracy: 0.7 }),
    ];
    expect(bestByTrainLr(rs).map((r) => r.lr)).toEqual([1, 1]);
    // without test lengths, the best of the sweep per configuration
    const best = bestOverLr([rec({ lr: 1, accuracy: 0.5 }), rec({ lr: 2, accuracy: 0.6 }), rec({ dModel: 128, lr: 1, accuracy: 0.2 })]);
    expect(best.map((r) => [r.dModel, r.lr])).toEqual([[64, 2], [128, 1]]);
    const canvas = accuracyByWidth([rec({ seqLen: 64 }), rec({ seqLen: 128, dModel: 128, accuracy: 1 })]);
    expect(canvas.width).toBe(2 * 420);
  });

  it('resolves mixer aliases and rejects unknown names', () => {
    expect(resolveMixer('softmax-abs', false)).toEqual({ spec: { kind: 'softmax', rope: false }, positions: 'sinusoidal' });
    expect(resolveMixer('softmax', false).positions).toBe('none');
    expect(resolveMixer('linear', false).positions).toBe('learned');
    expect(resolveMixer('linear', true).positions).toBe('sinusoidal');
    expect(resolveMixer('mamba', true).positions).toBe('none');
    expect(() => resolveMixer('nope', false)).toThrow(/unknown mixer 'nope'/);
    expect(resolveMixer('s4d:dState=16:mode=direct', false).spec).toEqual({ kind: 's4d', dState: 16, mode: 'direct' });
    expect(resolveMixer('softmax-abs:heads=4:qkNorm=true', true).spec).toEqual({ kind: 'softmax', rope: false, heads: 4, qkNorm: true });
    expect(() => resolveMixer('mamba:dState', false)).toThrow(/must be key=value/);
  });

  it('the loss on gathered scored rows equals cross-entropy of the full head with ignored positions', () => {
    const task = new Mqar({ vocabSize: 64, seqLen: 32, numPairs: 4 });
    const model = buildModel(task, { mixer: { kind: 'softmax' }, dModel: 16, seed: 3 });
    const b = drawBatch(task, taskRng(4), 3);
    if (b.kind !== 'tokens') throw new Error('expected tokens');
    const [fast, full] = tidy(() => {
      const fastLoss = batchLoss(model, b).loss.item();
      const logits = model.forward(tensor(b.inputs, [3, 32], { dtype: 'i32' }));
      const fullLoss = crossEntropy(logits, tensor(b.targets, [3, 32], { dtype: 'i32' }), { ignoreIndex: -100 }).item();
      return [fastLoss, fullLoss];
    });
    expect(fast).toBeCloseTo(full, 5);
    dispose(model);
    // regression reads the last position: MSE against the targets
    const adding = new Adding({ seqLen: 10 });
    const m2 = buildModel(adding, { mixer: { kind: 'lstm' }, dModel: 8, seed: 0 });
    const rb = drawBatch(adding, taskRng(0), 5);
    const mse = tidy(() => {
      const r = batchLoss(m2, rb);
      expect(r.count).toBe(5);
      return r.loss.item();
    });
    expect(mse).toBeGreaterThan(0);
    dispose(m2);
  });
});

describe('nabla bench quality', () => {
  it('runs a grid, writes JSONL, summary and figure, and redraws from JSONL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-quality-cli-'));
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l)).parseAsync(['bench', 'quality', '--task', 'mqar', '--mixers', 'softmax,s4d', '--d-model', '16', '--seq-len', '32', '--vocab', '64', '--lr', '1e-3', '--steps', '2', '--batch', '4', '--eval-batches', '1', '--eval-batch', '4', '--out', dir], { from: 'user' });
    const records = readRecords(join(dir, 'results.jsonl'));
    expect(records.map((r) => r.mixer)).toEqual(['softmax', 's4d']);
    expect(records[0]!.taskOptions).toEqual({ vocabSize: 64, numPairs: 2 });
    expect(decodePng(readFileSync(join(dir, 'mqar.png'))).width).toBe(420);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/\| mqar \| 32 \| 32 \| s4d \| 16 \|/);
    const replot: string[] = [];
    await buildProgram((l) => replot.push(l)).parseAsync(['bench', 'quality', '--plot', join(dir, 'results.jsonl')], { from: 'user' });
    expect(replot[0]).toMatch(/figure: .*mqar\.png/);
    writeFileSync(join(dir, 'bad.jsonl'), '{"x":1}\n');
    expect(() => readRecords(join(dir, 'bad.jsonl'))).toThrow(/bad\.jsonl:1 is not a quality record/);
    await expect(buildProgram(() => {}).exitOverride().parseAsync(['bench', 'quality', '--task', 'nope', '--out', dir], { from: 'user' })).rejects.toThrow(/unknown task 'nope'/);
  });
});
