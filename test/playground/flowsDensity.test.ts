/**
 * The diffusion panel's additions in Node (the browser runs the same code in
 * its worker): the drawn data set (resampling, scale, jitter, seeding,
 * errors), the Real NVP task (training, sampling through the layers, weights
 * reloading in Node and into a fresh task), density maps (the flow's map integrates to ≈ 1 and is its
 * exact log p at the cell centres; the probability-flow ODE map of the exact
 * denoiser of a Gaussian is that Gaussian's density) and the sampler
 * comparison (Euler at NFE 32 beats Euler at NFE 1).
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { gaussianDenoiser, gaussianLogDensity } from '../../src/zoo/diffusion/analytic.js';
import { drawnDataset, normalizeDrawing, strokesToPoints } from '../../playground/src/drawn.js';
import { buildFlow, FlowTask, flowWeightsConfig } from '../../playground/src/flowTask.js';
import { exactDensityMap, gridPoints, odeDensityMap, riemannMass, densityPixels } from '../../playground/src/density.js';
import { applicableSamplers, compareSamplers } from '../../playground/src/compare.js';
import { DiffusionTask } from '../../playground/src/tasks.js';

/** Mean and overall standard deviation √(mean squared deviation over both axes) of x, y pairs. */
function spread(v: Float64Array): { mx: number; my: number; std: number } {
  const n = v.length / 2;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) [mx, my] = [mx + v[2 * i]! / n, my + v[2 * i + 1]! / n];
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[2 * i]! - mx) ** 2 + (v[2 * i + 1]! - my) ** 2;
  return { mx, my, std: Math.sqrt(ss / (2 * n)) };
}

describe('drawn data set', () => {
  it('resamples strokes at equal arc length, whatever the pointer speed', () => {
    // one stroke from (0, 0) to (10, 0) given as 2 uneven segments, and a click at (5, 5)
    const p = strokesToPoints([[0, 0, 1, 0, 10, 0], [5, 5]], 2);
    expect(Array.from(p)).toEqual([0, 0, 2, 0, 4, 0, 6, 0, 8, 0, 10, 0, 5, 5]);
    expect(() => strokesToPoints([[0, 0]], 0)).toThrow(/spacing must be positive/);
  });

  it('normalises to the toy sets\' scale, samples with seeded jitter, and names an empty drawing', () => {
    // a wide, off-centre line in canvas pixels
    const line = strokesToPoints([[100, 300, 400, 300]], 3);
    const base = normalizeDrawing(line);
    const s0 = spread(base);
    expect(Math.abs(s0.mx)).toBeLessThan(1e-12);
    expect(s0.std).toBeCloseTo(1.5, 12);
    expect(Math.max(...base.map(Math.abs))).toBeLessThanOrEqual(4 + 1e-12);

    const ds = drawnDataset(line, { jitter: 0.1 });
    const a = ds.sample(nb.randomKey(1), 4000).toF64();
    expect(Array.from(ds.sample(nb.randomKey(1), 4000).toF64())).toEqual(Array.from(a)); // seeded
    expect(Array.from(ds.sample(nb.randomKey(2), 10).toF64())).not.toEqual(Array.from(a.slice(0, 20)));
    const s = spread(a);
    // √(1.5² + 0.1²) in all, and the jitter alone across the (horizontal) line: y's spread
    expect(s.std).toBeCloseTo(Math.hypot(1.5, 0.1), 1);
    let sy = 0;
    for (let i = 0; i < 4000; i++) sy += a[2 * i + 1]! ** 2;
    expect(Math.sqrt(sy / 4000)).toBeGreaterThan(0.09);
    expect(Math.sqrt(sy / 4000)).toBeLessThan(0.11);

    // a single click: only the jitter, around the origin
    const dot = drawnDataset([7, 9]).sample(nb.randomKey(3), 2000).toF64();
    const sd = spread(dot);
    expect(Math.abs(sd.mx) + Math.abs(sd.my)).toBeLessThan(0.02);
    expect(sd.std).toBeGreaterThan(0.07);
    expect(sd.std).toBeLessThan(0.09);

    expect(() => drawnDataset([])).toThrow(/drawnDataset: points is empty/);
    expect(() => drawnDataset([1, 2, 3])).toThrow(/x, y pairs/);
    expect(() => new DiffusionTask({ dataset: 'drawn', method: 'flow', lr: 1e-3, seed: 0 })).toThrow(/'drawn' data set needs points/);
  });

  it('a diffusion task trains on a drawing', async () => {
    const task = new DiffusionTask({ dataset: 'drawn', method: 'flow', lr: 3e-3, seed: 0, hidden: [16], batch: 32, points: strokesToPoints([[0, 0, 50, 50]], 2) });
    const losses = await task.train(3);
    expect(losses.every(Number.isFinite)).toBe(true);
  });
});

describe('normalising flow task and density maps', () => {
  it('Real NVP trains by maximum likelihood, samples through its layers, reloads, and its map integrates to ≈ 1', async () => {
    const task = new FlowTask({ dataset: 'twoMoons', lr: 3e-3, seed: 0, couplings: 4, hidden: [32, 32], batch: 128 });
    const first = await task.train(10);
    const later = [...(await task.train(30)), ...(await task.train(30))];
    const mean = (a: number[]): number => a.reduce((s, v) => s + v) / a.length;
    expect(mean(later.slice(-10))).toBeLessThan(mean(first) - 0.3);

    const s = await task.sample(200, 3);
    expect(s.points.length).toBe(400);
    expect(s.trajectories.length).toBe(3);
    const stages = task.net.body.layers.length + 1;
    expect(s.trajectories[1]!.length).toBe(2 * stages);
    // the path ends at the sample
    expect(s.trajectories[1]!.slice(-2)).toEqual(s.points.slice(2, 4));

    const map = await exactDensityMap((x) => task.logProb(x));
    expect(map.nx).toBe(64);
    // two moons lies well inside ±4.5: the midpoint rule over 64² cells gives the mass to ≈ 1%
    expect(Math.abs(riemannMass(map) - 1)).toBeLessThan(0.03);
    // the map is exp(log p) at the cell centres, row 0 at the top
    const cells = [[0, 0], [10, 40], [32, 20], [63, 63]] as const;
    const step = 9 / 64;
    const xs = cells.flatMap(([r, c]) => [-4.5 + (c + 0.5) * step, 4.5 - (r + 0.5) * step]);
    const lp = task.logProb(nb.tensor(xs, [cells.length, 2])).toF64();
    // (float32: relative agreement, as the batch sizes differ)
    cells.forEach(([r, c], i) => expect(Math.abs(map.logp[r * 64 + c]! - lp[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(lp[i]!))));
    expect(densityPixels(map).length).toBe(4 * 64 * 64);

    // the download rebuilds the flow in Node with equal log-densities
    const st = nb.parseSafetensors(await task.weights());
    expect(st.metadata).toMatchObject({ method: 'nf', couplings: '4', hidden: '32,32' });
    const fresh = buildFlow(nb.randomKey(9), Number(st.metadata!.couplings), st.metadata!.hidden!.split(',').map(Number));
    nb.nn.loadStateDict(fresh, st.tensors);
    const x = nb.normal(nb.randomKey(4), [6, 2]);
    expect(Array.from(fresh.logProb(x).toF64())).toEqual(Array.from(task.logProb(x).toF64()));
    // and back into a page task: flowWeightsConfig reads the architecture, loadWeights the tensors and the step
    const cfg = flowWeightsConfig(st.metadata);
    expect(cfg).toEqual({ dataset: 'twoMoons', couplings: 4, hidden: [32, 32] });
    const again = new FlowTask({ ...cfg, lr: 1e-3, seed: 5 });
    again.loadWeights(st);
    expect(again.step).toBe(70);
    expect(Array.from(again.logProb(x).toF64())).toEqual(Array.from(task.logProb(x).toF64()));
    expect(() => new FlowTask({ ...cfg, dataset: 'circles', lr: 1e-3, seed: 0 }).loadWeights(st)).toThrow(/of 'twoMoons', this task is a normalising flow of 'circles'/);
    expect(() => flowWeightsConfig({ method: 'flow', dataset: 'twoMoons' })).toThrow(/not of a normalising flow/);
  });

  it('the probability-flow ODE map of the exact denoiser of a Gaussian is the Gaussian density at σ_min', async () => {
    const mean = [0.5, -0.3];
    const cov = [
      [1, 0.3],
      [0.3, 0.6],
    ];
    const box = { xmin: -3, xmax: 3, ymin: -3, ymax: 3 };
    const truth = gaussianLogDensity(nb.tensor(gridPoints(box, 6), [36, 2]), mean, cov, 0.05).toF64();
    const peak = Math.max(...truth);
    /** the largest |error| of a map over the cells where log p is within 6 nats of the peak, and over all */
    const errors = (logp: Float64Array): [number, number] =>
      Array.from(truth).reduce<[number, number]>(([bulk, all], v, i) => {
        const e = Math.abs(logp[i]! - v);
        return [v > peak - 6 ? Math.max(bulk, e) : bulk, Math.max(all, e)];
      }, [0, 0]);
    // a careful solve: RK4 × 24 in log σ up to σ = 80 (measured 0.023 and 0.050)
    const fine = await odeDensityMap(gaussianDenoiser(mean, cov), { box, n: 6, steps: 24, sigmaMax: 80 });
    const [fineBulk, fineAll] = errors(fine.logp);
    expect(fineBulk).toBeLessThan(0.03);
    expect(fineAll).toBeLessThan(0.08);
    // the page's quick map (RK4 × 8 up to σ = 10): right to a few tenths of a nat where the mass is (measured 0.19)
    const quick = await odeDensityMap(gaussianDenoiser(mean, cov), { box, n: 6 });
    expect(quick.method).toMatch(/probability-flow ODE.*exact divergence.*rk4 × 8/);
    expect(errors(quick.logp)[0]).toBeLessThan(0.3);
  });
});

describe('sampler comparison', () => {
  it('lists the samplers that apply, and Euler at NFE 32 is closer to the data than at NFE 1', async () => {
    expect(applicableSamplers('ddpm')).not.toContain('flow-euler');
    expect(applicableSamplers('flow')).toContain('flow-euler');
    const task = new DiffusionTask({ dataset: 'twoMoons', method: 'flow', lr: 3e-3, seed: 0, hidden: [64, 64], batch: 128 });
    await task.train(80);
    const [lo, hi] = [await compareSamplers(task, 1, 300, ['euler']), await compareSamplers(task, 32, 300, ['euler'])];
    expect(hi.results[0]!.points.length).toBe(600);
    expect(hi.results[0]!.nfe).toBeGreaterThan(20);
    // at NFE 1 every sample lands near the data's mean (D(x; 80) ≈ E[x₀]): about the data's spread away
    expect(hi.results[0]!.sw).toBeLessThan(0.7 * lo.results[0]!.sw);
    expect(hi.floor).toBeLessThan(hi.results[0]!.sw);
    await expect(compareSamplers(task, 0)).rejects.toThrow(/nfe must be a positive integer/);
  });
});
