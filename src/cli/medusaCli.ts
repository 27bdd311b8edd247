/**
 * Medusa on the command line (Cai et al., "Medusa: Simple LLM Inference
 * Acceleration Framework with Multiple Decoding Heads", arXiv 2401.10774):
 *
 *   nabla train medusa <run>       fit K heads on a run of `nabla train lm`
 *   nabla generate <run> --medusa  decode with them; report the mean accepted
 *                                  length and tokens/s against plain decoding
 *
 * A separate command rather than an option of `train lm`: the heads are
 * trained after (and on top of) a finished base model, with their own few
 * settings, and one run can get heads many times without touching its
 * checkpoints. The heads live in `<run>/medusa/heads.safetensors`; their
 * metadata names the base model they were fitted on (mixer, width, layers,
 * vocabulary), so heads copied next to another model are refused. Medusa-2
 * (joint training) changes the base model too: its weights go to
 * `<run>/medusa/base.safetensors` and `generate --medusa` decodes with them
 * (plain decoding in the comparison uses the same weights), leaving the run's
 * own checkpoints as they were.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadSafetensors, saveSafetensors } from '../io/index.js';
import { readCorpus, splitTokens, batchAt } from '../zoo/lm/index.js';
import { randomKey } from '../ops/random.js';
import { dispose, namedParameters } from '../nn/module.js';
import { assignWeights } from '../train/checkpointFile.js';
import { MedusaHeads, cartesianTree, chainTree, fitMedusa, medusaBase, type TreePaths } from '../zoo/medusa/index.js';
import { loadRun, type LoadedRun } from './lmConfig.js';

export const medusaFiles = (dir: string) => ({ dir: join(dir, 'medusa'), heads: join(dir, 'medusa', 'heads.safetensors'), base: join(dir, 'medusa', 'base.safetensors') });

export interface TrainMedusaOptions {
  heads: number;
  steps: number;
  lr: number;
  mode: 'medusa1' | 'medusa2';
  /** Medusa-2: the base model's learning rate is lr × this */
  baseLrScale: number;
  /** Medusa-2: weight λ₀ of the heads' loss */
  lambda: number;
  /** windows per step and their length (default: the run's) */
  batch?: number;
  context?: number;
  seed: number;
  checkpoint?: string;
}

/** What identifies the base model the heads belong to (kept in the safetensors metadata). */
function baseIdentity(run: LoadedRun): Record<string, string> {
  const m = run.model.config;
  return { mixer: String(m.mixer), dModel: String(m.dModel), layers: String(m.layers), vocab: String(m.vocabSize), tokenizer: run.config.tokenizer };
}
const describeBase = (id: Record<string, string>): string => `mixer ${id.mixer}, d-model ${id.dModel}, ${id.layers} layers, vocabulary ${id.vocab} (${id.tokenizer})`;

/** `nabla train medusa`: fit heads on a run's training split; returns the loss per step. */
export function runTrainMedusa(dir: string, o: TrainMedusaOptions, out: (line: string) => void): { losses: number[]; file: string } {
  const run = loadRun(dir, o.checkpoint);
  try {
    const c = run.config;
    const context = o.context ?? c.context;
    if (context < o.heads + 2) throw new Error(`--context ${context} is too short for ${o.heads} heads: head k predicts k + 1 tokens past the next one; use --context ≥ ${o.heads + 2} or fewer --heads`);
    const tokens = splitTokens(run.tokenizer.encode(readCorpus(c.data).text), c.heldOut, context + 1).train;
    const base = medusaBase(run.model);
    const heads = new MedusaHeads(base.dModel, base.vocabSize, { key: randomKey(o.seed), heads: o.heads, lmHead: base.lmHeadWeight() });
    try {
      out(`fitting ${o.heads} Medusa heads (${o.mode === 'medusa2' ? 'Medusa-2: heads and base jointly' : 'Medusa-1: base frozen'}) on ${dir}, model of step ${run.step}: ${o.steps} steps of ${o.batch ?? c.batch} windows of ${context} tokens`);
      const every = Math.max(1, Math.round(o.steps / 10));
      const t0 = performance.now();
      const losses = fitMedusa(base, heads, (s) => {
        const { x, y } = batchAt(tokens, s, o.batch ?? c.batch, context, o.seed + 7919);
        y.dispose();
        return x;
      }, {
        steps: o.steps,
        lr: o.lr,
        mode: o.mode,
        baseLrScale: o.baseLrScale,
        lambda: o.lambda,
        onStep: (s, l, per) => {
          if ((s + 1) % every === 0 || s === 0) out(`step ${s + 1}/${o.steps}: loss ${l.toFixed(4)}, per head ${per.map((p) => p.toFixed(3)).join(' ')} nats`);
        },
      });
      const f = medusaFiles(dir);
      mkdirSync(f.dir, { recursive: true });
      const meta = { format: 'nabla-medusa', heads: String(o.heads), mode: o.mode, steps: String(o.steps), baseStep: String(run.step), ...baseIdentity(run) };
      saveSafetensors(f.heads, namedParameters(heads), meta);
      if (o.mode === 'medusa2') saveSafetensors(f.base, namedParameters(run.model), { ...meta, format: 'nabla-medusa-base' });
      out(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s: loss ${losses[0]!.toFixed(4)} → ${losses[losses.length - 1]!.toFixed(4)}; heads saved to ${f.heads}${o.mode === 'medusa2' ? ` (and the jointly trained base to ${f.base})` : ''}`);
      out(`decode with them: nabla generate ${dir} --medusa -n 200`);
      return { losses, file: f.heads };
    } finally {
      dispose(heads);
    }
  } finally {
    dispose(run.model);
  }
}

/** Load a run's heads (and a Medusa-2 base into `run.model`), checking they belong to this model. */
export function loadMedusaHeads(dir: string, run: LoadedRun): { heads: MedusaHeads; meta: Record<string, string> } {
  const f = medusaFiles(dir);
  if (!existsSync(f.heads)) throw new Error(`${dir} has no Medusa heads (no medusa/heads.safetensors); train them first: nabla train medusa ${dir}`);
  const st = loadSafetensors(f.heads);
  try {
    const meta = st.metadata;
    const K = Number(meta.heads);
    if (meta.format !== 'nabla-medusa' || !Number.isInteger(K) || K < 1) throw new Error(`${f.heads} is not a file of Medusa heads written by nabla train medusa; train them again: nabla train medusa ${dir}`);
    const want = baseIdentity(run);
    if (Object.keys(want).some((k) => meta[k] !== want[k])) {
      throw new Error(`the Medusa heads in ${f.heads} were trained on another model (${describeBase(meta)}) than this run's (${describeBase(want)}); train them again: nabla train medusa ${dir}`);
    }
    const heads = new MedusaHeads(run.model.config.dModel, run.model.config.vocabSize, { key: randomKey(0), heads: K });
    try {
      assignWeights(namedParameters(heads), st.tensors);
    } catch (e) {
      dispose(heads);
      throw new Error(`${f.heads} does not hold ${K} heads for this model (${(e as Error).message.replace(/^assignWeights: /, '')}); train them again: nabla train medusa ${dir}`, { cause: e });
    }
    if (meta.mode === 'medusa2') {
      if (!existsSync(f.base)) throw new Error(`${dir}: Medusa-2 heads need the jointly trained base medusa/base.safetensors, which is missing; train them again: nabla train medusa ${dir} --mode medusa2`);
      const b = loadSafetensors(f.base);
      try {
        assignWeights(namedParameters(run.model), b.tensors);
      } finally {
        for (const t of Object.values(b.tensors)) t.dispose();
      }
    }
    return { heads, meta };
  } finally {
    for (const t of Object.values(st.tensors)) t.dispose();
  }
}

/** --tree: 'default', 'chain' (top-1 of each head), 'cartesian:3x2x1' (the paper's dense tree) or JSON paths like [[0],[1],[0,0]]. */
export function parseTree(spec: string, heads: number): { paths: TreePaths | undefined; name: string } {
  const s = spec.trim();
  if (s === 'default') return { paths: undefined, name: 'default' };
  if (s === 'chain') return { paths: chainTree(heads), name: `chain of ${heads}` };
  const m = /^cartesian:(\d+(?:x\d+)*)$/.exec(s);
  if (m) {
    const sizes = m[1]!.split('x').map(Number);
    if (sizes.some((k) => k < 1)) throw new Error(`--tree ${spec}: every size must be ≥ 1`);
    return { paths: cartesianTree(sizes), name: `cartesian ${m[1]}` };
  }
  if (s.startsWith('[')) {
    let p: unknown;
    try {
      p = JSON.parse(s);
    } catch (e) {
      throw new Error(`--tree: ${spec} is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    if (!Array.isArray(p) || p.length === 0 || !p.every((q) => Array.isArray(q) && q.length > 0 && q.every((i) => Number.isInteger(i) && i >= 0))) {
      throw new Error(`--tree: give JSON paths of top-k indices such as [[0],[1],[0,0]], got ${spec}`);
    }
    return { paths: p as number[][], name: `custom (${p.length} paths)` };
  }
  throw new Error(`--tree must be default, chain, cartesian:3x2x1 or JSON paths like [[0],[1],[0,0]], got '${spec}'`);
}

function num(name: string, ok: (n: number) => boolean, want: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !ok(n)) throw new InvalidArgumentError(`${name} must be ${want}, got '${v}'`);
    return n;
  };
}
const posInt = (name: string) => num(name, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer');
const posNum = (name: string) => num(name, (n) => Number.isFinite(n) && n > 0, 'a positive number');

/** `nabla train medusa <run>` under the program's `train` command. */
export function registerTrainMedusa(program: Command, out: (line: string) => void): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train a model');
  train
    .command('medusa')
    .description('fit Medusa heads (extra next-next-token heads for speculative decoding) on a run of `nabla train lm`')
    .argument('<run>', 'the run directory (the --out of nabla train lm); the heads go to <run>/medusa/')
    .option('--heads <k>', 'number of heads K (head k predicts the token k + 1 places after the next)', posInt('--heads'), 3)
    .option('--steps <n>', 'Adam steps', posInt('--steps'), 150)
    .option('--lr <x>', 'learning rate of the heads', posNum('--lr'), 3e-3)
    .option('--mode <m>', 'medusa1: the base stays frozen (its output is unchanged); medusa2: heads and base learn jointly', (v: string) => {
      if (v !== 'medusa1' && v !== 'medusa2') throw new InvalidArgumentError(`--mode must be medusa1 or medusa2, got '${v}'`);
      return v;
    }, 'medusa1')
    .option('--base-lr-scale <x>', "Medusa-2: the base model's learning rate is --lr times this", posNum('--base-lr-scale'), 0.1)
    .option('--lambda <x>', "Medusa-2: weight λ₀ of the heads' loss next to the LM loss", posNum('--lambda'), 0.2)
    .option('--batch <n>', "windows per step (default: the run's)", posInt('--batch'))
    .option('--context <n>', "tokens per window (default: the run's)", posInt('--context'))
    .option('--seed <n>', 'seed of the heads and the batches', num('--seed', (n) => Number.isSafeInteger(n) && n >= 0, 'an integer ≥ 0'), 0)
    .option('--checkpoint <dir>', "fit on the weights of this checkpoints/ directory instead of the run's newest")
    .addHelpText(
      'after',
      `
Examples:
  nabla train medusa runs/my-run                          3 heads, 150 steps, base frozen (Medusa-1)
  nabla train medusa runs/my-run --heads 4 --steps 400 --lr 1e-3
  nabla train medusa runs/my-run --mode medusa2           joint training (the base is saved in <run>/medusa/)
Then: nabla generate runs/my-run --medusa -n 200`,
    )
    .action((dir: string, opts: TrainMedusaOptions) => {
      runTrainMedusa(dir, opts, out);
    });
}
