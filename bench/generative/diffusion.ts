/**
 * Figures of docs/diffusion.md (bench family `diffusion`):
 *
 * - `samplers`: quality vs NFE of every sampler on eight Gaussians with the
 *   exact (analytic) denoiser, so the error is the sampler's own: MMD (a sum
 *   of Gaussian kernels, h ∈ {0.1, 0.25, 0.5, 1} × the data scale) and
 *   sliced W2 to fresh data, 1000 samples each;
 * - `reflow`: flow matching from eight Gaussians to two moons, 1-step Euler
 *   W2 and straightness before and after one reflow;
 * - `digits`: flow matching on the 8×8 digits, scored by a nabla-trained
 *   classifier at several NFEs.
 *
 *   npx tsx bench/generative/diffusion.ts [samplers|reflow|digits ...] [--steps n]
 */
import * as nb from '../../src/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import { eightGaussiansGmm } from '../../src/zoo/data/gmm.js';
import { eightGaussians, twoMoons } from '../../src/zoo/data/toy2d.js';
import { loadDigits, sampleBatch } from '../../src/zoo/data/digits.js';
import { mmd, slicedWasserstein, wasserstein2, trainClassifier, classifierScore } from '../../src/zoo/metrics/index.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const parts = argv.filter((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const want = (p: string): boolean => parts.length === 0 || parts.includes(p);
const STEPS = flag('--steps', 2000);
const log = (s: string): void => void process.stdout.write(s + '\n');
const N = 1000;
const KERNEL = { bandwidth: [0.3, 0.75, 1.5, 3] }; // eight Gaussians: std 0.35, radius 2.83

function samplersTable(): void {
  const g = eightGaussiansGmm();
  const D = df.gmmDenoiser(g);
  const ref = eightGaussians.sample(nb.randomKey(100), N);
  const score = (x: nb.Tensor): string => `${mmd(x, ref, KERNEL).toFixed(4)} | ${slicedWasserstein(x, ref, { key: nb.randomKey(5) }).toFixed(3)}`;
  log('\n### Quality vs NFE, eight Gaussians, exact denoiser (the error is the sampler\'s)\n');
  log(`Reference: fresh data scores MMD ${mmd(eightGaussians.sample(nb.randomKey(101), N), ref, KERNEL).toFixed(4)}, sliced W2 ${slicedWasserstein(eightGaussians.sample(nb.randomKey(101), N), ref, { key: nb.randomKey(5) }).toFixed(3)}.\n`);
  log('| sampler | steps | NFE | MMD² | sliced W2 |');
  log('| --- | ---: | ---: | ---: | ---: |');
  const key = nb.randomKey(7);
  const proc = df.ddpm();
  const flowNet: df.Net = (xt, c) =>
    nb.tidy(() => {
      const t = c.toF64()[0]!;
      if (t >= 1) return xt; // v = x₁ − E[x₀] = x₁ (the mixture has mean 0)
      const sigma = t / (1 - t);
      return nb.div(nb.sub(xt, D(nb.mul(xt, 1 + sigma), sigma)), t);
    });
  const flow = df.denoiserFromPrediction(flowNet, df.flowMatching(), 'velocity');
  const vpStart = (grid: number[]): nb.Tensor => df.initialNoise(nb.randomKey(1), [N, 2], grid[0]!);
  type Row = [string, number[], (n: number) => df.SampleResult];
  const rows: Row[] = [
    ['DDPM ancestral', [1000, 100, 50, 20, 10], (n) => { const gr = df.ddpmSigmas(proc, n); return df.sampleDdpm(D, vpStart(gr), gr, { key }); }],
    ['DDIM η = 0', [100, 50, 20, 10, 5], (n) => { const gr = df.ddpmSigmas(proc, n); return df.sampleDdim(D, vpStart(gr), gr); }],
    ['Euler–Maruyama (reverse SDE)', [1000, 100, 50, 20], (n) => { const gr = df.ddpmSigmas(proc, n); return df.sampleEulerMaruyama(D, vpStart(gr), gr, { key }); }],
    ['PF-ODE Euler (ρ = 7 grid)', [100, 50, 20, 10], (n) => { const gr = df.karrasSigmas(n); return df.sampleEuler(D, vpStart(gr), gr); }],
    ['EDM Heun (ρ = 7)', [50, 18, 10, 5], (n) => { const gr = df.karrasSigmas(n); return df.sampleHeun(D, vpStart(gr), gr); }],
    ['EDM Heun + churn (S_churn = 40)', [50, 18, 10], (n) => { const gr = df.karrasSigmas(n); return df.sampleHeun(D, vpStart(gr), gr, { sChurn: 40, sTmin: 0.05, sTmax: 50, sNoise: 1.003, key }); }],
    ['PF-ODE RK45 (rtol = atol)', [1e-2, 1e-3, 1e-4], (tol) => { const gr = df.karrasSigmas(2); return df.sampleRk45(D, vpStart(gr), gr, { rtol: tol, atol: tol }); }],
    ['DPM-Solver++(2M) (ρ = 7)', [20, 10, 5], (n) => { const gr = df.karrasSigmas(n); return df.sampleDpmSolverPP2M(D, vpStart(gr), gr); }],
    ['rectified-flow Euler (exact 1-RF)', [64, 16, 4, 2, 1], (n) => df.sampleFlowEuler(flow, nb.normal(nb.randomKey(1), [N, 2]), df.flowSigmas(n))],
  ];
  for (const [name, settings, run] of rows) {
    for (const s of settings) {
      const t0 = Date.now();
      const r = run(s);
      log(`| ${name} | ${name.includes('RK45') ? `tol ${s}` : s} | ${r.nfe} | ${score(r.x)} |`);
      process.stderr.write(`${name} ${s}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      r.x.dispose();
    }
  }
}

function reflowTable(): void {
  // flow matching from x₁ ~ eight Gaussians (scaled to radius ≈ 1.4) to x₀ ~ two moons (centred)
  const src = (k: nb.Key, n: number): nb.Tensor => nb.tidy(() => nb.mul(eightGaussians.sample(k, n), 0.5));
  const tgt = (k: nb.Key, n: number): nb.Tensor => nb.tidy(() => nb.sub(twoMoons.sample(k, n), nb.tensor([[0.5, 0.25]])));
  const key = nb.randomKey(21);
  const train = (net: df.TimeMlp, batch: (k: nb.Key) => { x0: nb.Tensor; x1: nb.Tensor }, steps: number): void => {
    const f: df.Net = (x, c) => net.forward(x, c);
    df.fit(net, (k) => nb.tidy(() => {
      const [kb, kl] = nb.splitKey(k);
      const b = batch(kb!);
      return df.flowMatchingLoss(f, b.x0, { key: kl!, x1: b.x1 });
    }), { steps, key: nb.foldIn(key, steps), lr: 2e-3 });
  };
  const modelOf = (net: df.TimeMlp): df.Denoiser => df.denoiserFromPrediction((x, c) => net.forward(x, c), df.flowMatching(), 'velocity');
  const rf1 = new df.TimeMlp(2, { key: nb.foldIn(key, 1), hidden: [128, 128, 128] });
  train(rf1, (k) => { const [a, b] = nb.splitKey(k); return { x0: tgt(a!, 256), x1: src(b!, 256) }; }, STEPS);
  const pairs = df.reflowCouplings(modelOf(rf1), src(nb.foldIn(key, 2), 4096), { sigmas: df.flowSigmas(64) });
  const rf2 = new df.TimeMlp(2, { key: nb.foldIn(key, 3), hidden: [128, 128, 128] });
  nb.nn.loadStateDict(rf2, nb.nn.stateDict(rf1));
  train(rf2, (k) => { const idx = nb.randint(k, [256], 0, 4096); return { x0: nb.indexSelect(pairs.x0, 0, idx), x1: nb.indexSelect(pairs.x1, 0, idx) }; }, STEPS);
  const probe = src(nb.foldIn(key, 4), 500);
  const target = tgt(nb.foldIn(key, 5), 500);
  log(`\n### Flow matching, eight Gaussians → two moons: one reflow (${STEPS} steps each, 4096 couplings from 64 Heun steps)\n`);
  log('| flow | straightness | W2, 1 Euler step | W2, 2 steps | W2, 4 steps | W2, 64 steps |');
  log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, net] of [['1-rectified (conditional FM)', rf1], ['2-rectified (after one reflow)', rf2]] as const) {
    const m = modelOf(net);
    const s = df.straightness(m, probe, 64).straightness;
    const w = [1, 2, 4, 64].map((n) => wasserstein2(df.sampleFlowEuler(m, probe, df.flowSigmas(n)).x, target).distance.toFixed(3));
    log(`| ${name} | ${s.toFixed(4)} | ${w.join(' | ')} |`);
  }
  log(`\nReference: W2 between two independent 500-point samples of the moons: ${wasserstein2(tgt(nb.foldIn(key, 6), 500), target).distance.toFixed(3)}.`);
}

function digitsTable(): void {
  const tr = loadDigits({ layout: 'flat', scale: 'symmetric' });
  const te = loadDigits({ layout: 'flat', scale: 'symmetric', split: 'test' });
  const clf = trainClassifier(tr.x, tr.labels, { key: nb.randomKey(2), steps: 600 });
  const key = nb.randomKey(31);
  const net = new df.TimeMlp(64, { key, hidden: [512, 512, 512], embedDim: 64 });
  const f: df.Net = (x, c) => net.forward(x, c);
  const t0 = Date.now();
  df.fit(net, (k) => nb.tidy(() => {
    const [kb, kl] = nb.splitKey(k);
    return df.flowMatchingLoss(f, sampleBatch(kb!, tr.x, 128).x, { key: kl! });
  }), { steps: STEPS, key, lr: 1e-3, emaDecay: 0.995 });
  const model = df.denoiserFromPrediction(f, df.flowMatching(), 'velocity');
  log(`\n### Flow matching on the 8×8 digits (MLP 3×512, ${STEPS} steps of batch 128, ${((Date.now() - t0) / 1000).toFixed(0)} s), scored by a nabla-trained classifier (held-out accuracy ${(100 * clf.accuracy(te.x, te.labels)).toFixed(1)}%)\n`);
  log('| sampler | NFE | confidence | label entropy (max 2.303) | classifier IS (max 10) |');
  log('| --- | ---: | ---: | ---: | ---: |');
  const real = classifierScore(clf, te.x);
  log(`| held-out data | — | ${real.confidence.toFixed(3)} | ${real.labelEntropy.toFixed(3)} | ${real.inceptionScore.toFixed(2)} |`);
  const noise = nb.normal(nb.randomKey(8), [500, 64]);
  for (const [name, sampler, ns] of [['flow Euler', df.sampleFlowEuler, [1, 4, 16, 64]], ['flow Heun', df.sampleFlowHeun, [4, 16]]] as const) {
    for (const n of ns) {
      const r = sampler(model, noise, df.flowSigmas(n));
      const s = classifierScore(clf, nb.clamp(r.x, -1, 1));
      log(`| ${name} | ${r.nfe} | ${s.confidence.toFixed(3)} | ${s.labelEntropy.toFixed(3)} | ${s.inceptionScore.toFixed(2)} |`);
    }
  }
}

if (want('samplers')) samplersTable();
if (want('reflow')) reflowTable();
if (want('digits')) digitsTable();
