/**
 * Medusa on the CPU (docs/models.md): train the default language model of
 * `nabla train lm` (softmax attention, 2 layers, d = 64, characters) for a CPU
 * budget, or take an existing run; fit Medusa-1 heads on the corpus (base
 * frozen); then decode held-out prompts plainly and with Medusa and report
 * the mean accepted length (tokens per base-model call) and tokens/s of each.
 *
 *   npx tsx scripts/medusa-cpu.ts [--run runs/lm-softmax] [--mixer softmax] [--budget 60] [--head-steps 150] [--heads 3] [--tokens 200] [--prompts 4] [--repeats 3] [--no-blas]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrainLm } from '../src/cli/trainLm.js';
import { loadRun } from '../src/cli/lmConfig.js';
import { readCorpus, batchAt } from '../src/zoo/lm/data.js';
import { randomKey } from '../src/ops/random.js';
import { setBlasMinFlops } from '../src/backends/cpu/blas.js';
import { MedusaHeads, compareDecoding, fitMedusa, medusaBase, medusaGenerate, cartesianTree, type TreePaths, type GenerateResult } from '../src/zoo/medusa/index.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function main(): Promise<void> {
  const budget = Number(arg('--budget', '60'));
  const headSteps = Number(arg('--head-steps', '150'));
  const nHeads = Number(arg('--heads', '3'));
  const newTokens = Number(arg('--tokens', '200'));
  const nPrompts = Number(arg('--prompts', '4'));
  const repeats = Number(arg('--repeats', '3'));
  let dir = arg('--run', '');
  const mixer = arg('--mixer', 'softmax');
  // --no-blas: every product on the WebAssembly kernels (small products on a busy host wait on BLAS threads)
  if (process.argv.includes('--no-blas')) setBlasMinFlops(Number.POSITIVE_INFINITY);
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  if (!dir) {
    dir = join(mkdtempSync(join(tmpdir(), 'nabla-medusa-')), 'run');
    const r = await runTrainLm({ flags: { mixer, steps: 100000, evalEvery: 100000, sampleEvery: 0, logEvery: 50, saveEvery: 100000 }, out: dir, time: budget, budgetClock: cpuMs, plain: true, handleSignals: false }, () => {});
    console.log(`base: ${r.step} steps in ${budget} CPU-s, last loss ${r.losses[r.losses.length - 1]?.toFixed(3)} (run ${dir})`);
  }
  const { model, tokenizer, config } = loadRun(dir);
  const text = readCorpus(config.data).text;
  const ids = Int32Array.from(tokenizer.encode(text));
  const cut = Math.floor(ids.length * (1 - config.heldOut));
  const trainIds = ids.subarray(0, cut);
  const base = medusaBase(model);
  const heads = new MedusaHeads(base.dModel, base.vocabSize, { key: randomKey(1), heads: nHeads, lmHead: base.lmHeadWeight() });
  const t0 = performance.now();
  const losses = fitMedusa(base, heads, (s) => {
    const { x, y } = batchAt(trainIds, s, 16, 64, 123);
    y.dispose();
    return x;
  }, { steps: headSteps, lr: 3e-3, onStep: (s, l, per) => s % 25 === 0 && console.log(`heads step ${s}: loss ${l.toFixed(3)} per head ${per.map((p) => p.toFixed(2)).join(' ')}`) });
  console.log(`heads: ${headSteps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s, loss ${losses[0]!.toFixed(3)} → ${losses[losses.length - 1]!.toFixed(3)}`);

  const held = text.slice(Math.floor(text.length * (1 - config.heldOut)));
  const prompts = Array.from({ length: nPrompts }, (_, i) => tokenizer.encode(held.slice(1000 * i + 200, 1000 * i + 232)));
  const trees: [string, TreePaths | undefined][] = [['default (sparse, 24 candidates)', undefined], ['chain of heads (top-1 each)', cartesianTree(Array.from({ length: nHeads }, () => 1))], ['cartesian 3×2×1', cartesianTree([3, 2, 1].slice(0, nHeads))]];
  console.log(`\nbase mixer: ${config.mixer}, ${nHeads} heads, ${newTokens} new tokens from each of ${prompts.length} held-out prompts`);
  console.log('| tree | acceptance | mean accepted length | plain ms/call | Medusa ms/call | plain tokens/s | Medusa tokens/s | speedup | same text as greedy |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const [name, tree] of trees) {
    let acc = 0, plainTps = 0, medTps = 0, plainCall = 0, medCall = 0, same = true;
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    for (const p of prompts) {
      // interleaved repeats, medians: the host's load moves a lot between calls
      const runs: { plain: GenerateResult; medusa: GenerateResult }[] = [];
      for (let r = 0; r < repeats; r++) {
        const c = compareDecoding(base, heads, p, { maxNewTokens: newTokens, tree });
        same &&= c.sameOutput;
        runs.push(c);
      }
      const m = runs[0]!.medusa;
      acc += m.meanAccepted / prompts.length;
      plainTps += median(runs.map((r) => r.plain.tokensPerSecond)) / prompts.length;
      medTps += median(runs.map((r) => r.medusa.tokensPerSecond)) / prompts.length;
      plainCall += median(runs.map((r) => (1000 * r.plain.seconds) / r.plain.steps)) / prompts.length;
      medCall += median(runs.map((r) => (1000 * r.medusa.seconds) / r.medusa.steps)) / prompts.length;
    }
    console.log(`| ${name} | greedy | ${acc.toFixed(2)} | ${plainCall.toFixed(1)} | ${medCall.toFixed(1)} | ${plainTps.toFixed(0)} | ${medTps.toFixed(0)} | ${(medTps / plainTps).toFixed(2)}x | ${same ? 'yes' : 'NO'} |`);
  }
  let acc = 0;
  for (const p of prompts) acc += medusaGenerate(base, heads, p, { maxNewTokens: newTokens, acceptance: 'typical', temperature: 0.7, key: randomKey(5) }).meanAccepted / prompts.length;
  console.log(`| default | typical (T 0.7, ε 0.09, δ 0.3) | ${acc.toFixed(2)} | | | | | | |`);
  const sample = medusaGenerate(base, heads, prompts[0]!, { maxNewTokens: 120 });
  console.log(`\nprompt: ${JSON.stringify(tokenizer.decode(prompts[0]!))}\ngreedy Medusa: ${JSON.stringify(tokenizer.decode(sample.tokens))}`);
  process.exit(0);
}

void main();
