/**
 * Figures of docs/flows.md: NLL of NICE, RealNVP, Glow, FFJORD and the
 * diffusion issue's probability-flow ODE likelihood on 2-D toys beside the
 * known entropy floors; bits/dim on the 8×8 digits; the VQ table. Seeded;
 * prints Markdown tables.
 *
 *   npx tsx bench/generative/flows.ts [nll|bpd|vq ...] [--steps n] [--toys a,b]
 */
import * as nb from '../../src/index.js';
import * as fl from '../../src/zoo/flows/index.js';
import * as df from '../../src/zoo/diffusion/index.js';
import * as vq from '../../src/zoo/vq/index.js';
import { TOY_DATASETS } from '../../src/zoo/data/toy2d.js';
import { loadDigits, sampleBatch, DIGITS_LEVELS } from '../../src/zoo/data/digits.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const parts = argv.filter((a, i) => !a.startsWith('--') && !/^\d+$/.test(a) && argv[i - 1] !== '--toys');
const want = (p: string): boolean => parts.length === 0 || parts.includes(p);
const STEPS = flag('--steps', 1000);
const log = (s: string): void => void process.stdout.write(s + '\n');
const secs = (t0: number): string => ((Date.now() - t0) / 1000).toFixed(0);

function nllTable(): void {
  const toys = argv.includes('--toys') ? argv[argv.indexOf('--toys') + 1]!.split(',') : ['eightGaussians', 'checkerboard', 'twoMoons'];
  log(`\n### NLL on 2-D toys (nats, 4000 held-out points; ${STEPS} Adam steps of batch 256 for the discrete flows)\n`);
  log('| model | ' + toys.join(' | ') + ' |');
  log('| --- |' + toys.map(() => ' ---: |').join(''));
  log('| entropy floor | ' + toys.map((t) => (TOY_DATASETS[t]!.entropy !== undefined ? TOY_DATASETS[t]!.entropy!.toFixed(3) : 'unknown')).join(' | ') + ' |');
  type Make = (key: nb.Key) => { model: fl.DensityModel; init?: (x: nb.Tensor) => void; steps: number; lr: number };
  const models: [string, Make][] = [
    ['NICE (4 additive couplings, logistic prior)', (key) => ({ model: fl.nice({ key, eventShape: [2], couplings: 4, hidden: [64, 64] }), steps: STEPS, lr: 2e-3 })],
    ['RealNVP (8 affine couplings)', (key) => ({ model: fl.realNVP({ key, eventShape: [2], couplings: 8, hidden: [64, 64], prior: 'gaussian' }), steps: STEPS, lr: 2e-3 })],
    ['Glow (8 steps, LU 1×1)', (key) => {
      const m = fl.glow({ key, eventShape: [2], steps: 8, hidden: [64, 64] });
      return { model: m, init: (x) => m.initialize(x), steps: STEPS, lr: 2e-3 };
    }],
    ['FFJORD (exact trace, RK4 × 8)', (key) => ({ model: new fl.CNF(2, new fl.ODENet(2, [64, 64], { key }), { steps: 8 }), steps: Math.round(STEPS / 2), lr: 3e-3 })],
  ];
  const rows: Record<string, string[]> = {};
  for (const t of toys) {
    const data = TOY_DATASETS[t]!;
    for (const [name, make] of models) {
      const t0 = Date.now();
      const m = make(nb.randomKey(1));
      fl.fitDensity(m.model, data.sample, { key: nb.randomKey(2), steps: m.steps, batch: 256, lr: m.lr, init: m.init });
      const nll = fl.evalNll(m.model, data.sample, nb.randomKey(99), 1000, 4);
      (rows[name] ??= []).push(nll.toFixed(3));
      process.stderr.write(`${t} ${name}: ${nll.toFixed(3)} (${secs(t0)} s)\n`);
    }
    // the diffusion issue's ODE likelihood: a flow-matching MLP, scored through the probability-flow ODE
    const t0 = Date.now();
    const net = new df.TimeMlp(2, { key: nb.randomKey(3), hidden: [128, 128] });
    const f: df.Net = (x, c) => net.forward(x, c);
    df.fit(net, (k, s) => nb.tidy(() => df.flowMatchingLoss(f, data.sample(nb.foldIn(nb.randomKey(4), s), 256), { key: k })), { steps: 2 * STEPS, key: nb.randomKey(5), lr: 2e-3 });
    const model = df.denoiserFromPrediction(f, df.flowMatching(), 'velocity');
    const x = data.sample(nb.randomKey(99), 1000);
    const ll = df.logLikelihood(model, x, { sigmaMin: 1e-3, sigmaMax: 200, method: 'rk4', steps: 48 });
    const nll = -nb.mean(ll.logp).item();
    (rows['flow matching, PF-ODE likelihood (RK4 × 48)'] ??= []).push(nll.toFixed(3));
    process.stderr.write(`${t} PF-ODE: ${nll.toFixed(3)} (${secs(t0)} s)\n`);
  }
  for (const [name, vals] of Object.entries(rows)) log(`| ${name} | ${vals.join(' | ')} |`);
}

function bpdTable(): void {
  log(`\n### Bits/dim on the 8×8 digits (17 levels, uniform dequantisation, 297 held-out images; ${STEPS} steps of batch 64)\n`);
  log('| model | bits/dim | training time |');
  log('| --- | ---: | ---: |');
  const tr = loadDigits({ scale: 'counts' });
  const te = loadDigits({ scale: 'counts', split: 'test' });
  const models: [string, () => fl.Flow][] = [
    ['RealNVP (2 scales, checkerboard + channel couplings)', () => fl.realNVP({ key: nb.randomKey(1), eventShape: [1, 8, 8], scales: 2, hidden: 32 })],
    ['Glow (L = 2, K = 4, LU 1×1)', () => fl.glow({ key: nb.randomKey(1), eventShape: [1, 8, 8], levels: 2, steps: 4, hidden: 32 })],
  ];
  for (const [name, make] of models) {
    const t0 = Date.now();
    const m = make();
    const deq = (k: nb.Key, n: number): nb.Tensor => nb.tidy(() => {
      const [kb, ku] = nb.splitKey(k);
      return fl.uniformDequantize(sampleBatch(kb!, tr.x, n).x, ku!, { bins: DIGITS_LEVELS, center: true }).y;
    });
    fl.fitDensity(m, deq, { key: nb.randomKey(2), steps: STEPS, batch: 64, lr: 1e-3, init: (x) => m.initialize(x) });
    const bpd = m.bitsPerDim(te.x, nb.randomKey(3), { bins: DIGITS_LEVELS, center: true });
    log(`| ${name} | ${bpd.toFixed(3)} | ${secs(t0)} s |`);
  }
  log(`| uniform over 17 levels | ${Math.log2(17).toFixed(3)} | |`);
}

function vqTable(): void {
  const K = 256;
  const d = 8;
  log(`\n### VQ on the 8×8 digits (MLP VQ-VAE 64→64→${d}, K = ${K}, ${STEPS} Adam steps of batch 64, held-out 297 images)\n`);
  log('| quantiser | usage | perplexity | reconstruction MSE |');
  log('| --- | ---: | ---: | ---: |');
  const tr = loadDigits({ layout: 'flat' });
  const te = loadDigits({ split: 'test', layout: 'flat' });
  const key = nb.randomKey(0);
  const variants: [string, () => vq.QuantizerLike][] = [
    ['straight-through (codebook + commitment loss)', () => new vq.VectorQuantizer(K, d, { key })],
    ['rotation trick', () => new vq.VectorQuantizer(K, d, { key, gradient: 'rotation' })],
    ['SimVQ (frozen codebook × learned linear)', () => new vq.SimVQ(K, d, { key })],
    ['EMA codebook', () => new vq.VectorQuantizer(K, d, { key, ema: true })],
    ['EMA + dead-code restart', () => new vq.VectorQuantizer(K, d, { key, ema: true, deadCodeThreshold: 0.03 })],
    ['residual VQ (2 stages × 128 codes)', () => new vq.ResidualVQ([new vq.VectorQuantizer(K / 2, d, { key }), new vq.VectorQuantizer(K / 2, d, { key: nb.foldIn(key, 1) })])],
  ];
  for (const [name, mk] of variants) {
    const m = vq.mlpVQVAE({ key: nb.foldIn(key, 7), dim: 64, latentDim: d, hidden: 64, quantizer: mk() });
    vq.trainVq(m, (k, n) => sampleBatch(k, tr.x, n).x, { key, steps: STEPS, batch: 64, lr: 2e-3 });
    const r = vq.evaluateVq(m, te.x);
    log(`| ${name} | ${(100 * r.usage).toFixed(1)}% | ${r.perplexity.toFixed(1)} | ${r.mse.toFixed(4)} |`);
  }
}

if (want('vq')) vqTable();
if (want('nll')) nllTable();
if (want('bpd')) bpdTable();
