/**
 * `nabla generate <run> --medusa`: decode with the Medusa heads of
 * `nabla train medusa` (Cai et al., arXiv 2401.10774): every step the heads
 * propose a tree of candidates and one base-model call verifies them all;
 * the longest path the base model agrees with is kept. Greedy acceptance
 * (the default, at temperature 0) gives exactly plain greedy decoding's
 * text; typical acceptance (ε, δ) samples at a temperature.
 *
 * Reports the mean accepted length (tokens per base-model call) and tokens/s
 * against plain decoding of the same prompt with the same weights (skip that
 * with --no-compare).
 */
import { Option, type Command } from 'commander';
import { dispose } from '../nn/module.js';
import { StreamDecoder } from '../tokenizers/index.js';
import { randomKey } from '../ops/random.js';
import { generate, medusaBase, medusaGenerate, resolveTree, type MedusaOptions } from '../zoo/medusa/index.js';
import { loadRun } from './lmConfig.js';
import { loadMedusaHeads, parseTree } from './medusaCli.js';
import type { GenerateCliOptions } from './generateLm.js';

export interface MedusaCliOptions {
  medusa?: boolean;
  acceptance?: 'greedy' | 'typical';
  tree: string;
  epsilon: number;
  delta: number;
  /** decode plainly too and compare (default true) */
  compare: boolean;
}

export interface MedusaGenerateResult {
  text: string;
  tokens: number[];
  meanAccepted: number;
  tokensPerSec: number;
  plain?: { tokens: number[]; tokensPerSec: number };
  speedup?: number;
  sameAsPlain?: boolean;
}

/** The options `generate --medusa` adds to `nabla generate`. */
export function addMedusaOptions(cmd: Command): Command {
  return cmd
    .option('--medusa', 'decode with the Medusa heads of `nabla train medusa` and compare with plain decoding')
    .addOption(new Option('--acceptance <rule>', 'Medusa: greedy (output = plain greedy) or typical (samples at -t)').choices(['greedy', 'typical']))
    .option('--tree <spec>', 'Medusa candidate tree: default, chain, cartesian:3x2x1, or JSON paths like [[0],[1],[0,0]]', 'default')
    .option('--epsilon <x>', "Medusa typical acceptance's ε (hard threshold)", Number, 0.09)
    .option('--delta <x>', "Medusa typical acceptance's δ (entropy-scaled threshold)", Number, 0.3)
    .option('--no-compare', 'Medusa: skip the plain decoding run used for the comparison');
}

/**
 * Run `generate --medusa`. `temperatureGiven` says whether -t was on the
 * command line: without it Medusa decodes greedily (the plain command's
 * default of 0.8 would otherwise turn on typical acceptance silently).
 */
export function runGenerateMedusa(dir: string, o: GenerateCliOptions & MedusaCliOptions, temperatureGiven: boolean, write: (s: string) => void, info: (s: string) => void): MedusaGenerateResult {
  const unsupported = [o.topK !== 0 && '--top-k', o.topP !== 1 && '--top-p', o.repetitionPenalty !== 1 && '--repetition-penalty', o.stop.length > 0 && '--stop'].filter(Boolean);
  if (unsupported.length) throw new Error(`--medusa does not combine with ${unsupported.join(', ')} (Medusa verifies candidates against the base model's plain distribution); drop them or --medusa`);
  if (!Number.isFinite(o.epsilon) || o.epsilon <= 0 || !Number.isFinite(o.delta) || o.delta <= 0) throw new Error(`--epsilon and --delta must be positive numbers, got ${o.epsilon} and ${o.delta}`);
  const temperature = temperatureGiven ? o.temperature : 0;
  const acceptance = o.acceptance ?? (temperature > 0 ? 'typical' : 'greedy');
  if (acceptance === 'greedy' && temperature > 0) throw new Error(`greedy acceptance decodes at temperature 0, but -t ${temperature} was given; drop -t or use --acceptance typical`);
  const run = loadRun(dir, o.checkpoint);
  try {
    const { heads, meta } = loadMedusaHeads(dir, run);
    try {
      const base = medusaBase(run.model);
      const tree = parseTree(o.tree, heads.count);
      const nodes = resolveTree(tree.paths, heads.count, base.vocabSize).parents.length;
      const prompt = o.prompt ?? run.config.prompt;
      const ids = run.tokenizer.encode(prompt);
      if (ids.length === 0) throw new Error('the prompt is empty; give --prompt with some text');
      if (o.maxTokens === 0) {
        write(`${prompt}\n`);
        return { text: '', tokens: [], meanAccepted: 0, tokensPerSec: 0 };
      }
      const opts: MedusaOptions = { maxNewTokens: o.maxTokens, temperature, key: randomKey(o.seed), tree: tree.paths, acceptance, epsilon: o.epsilon, delta: o.delta };
      if (o.compare) {
        // warm both paths up (first calls compile kernels and grow the heap) so the timed runs compare steady states
        const warm = { ...opts, maxNewTokens: Math.min(4, o.maxTokens) };
        generate(base, ids, warm);
        medusaGenerate(base, heads, ids, warm);
      }
      write(prompt);
      const dec = new StreamDecoder(run.tokenizer);
      const m = medusaGenerate(base, heads, ids, { ...opts, onTokens: (t) => write(t.map((id) => dec.push(id)).join('')) });
      write(`${dec.flush()}\n`);
      const text = run.tokenizer.decode(m.tokens);
      const stale = meta.baseStep !== String(run.step) ? `; the heads were fitted on the model of step ${meta.baseStep}, this is step ${run.step}: refit them (nabla train medusa ${dir}) for the best acceptance` : '';
      const how = `${heads.count} heads (${meta.mode === 'medusa2' ? 'Medusa-2' : 'Medusa-1'}), tree ${tree.name} (${nodes} nodes with the root), ${acceptance} acceptance${acceptance === 'typical' ? ` (T ${temperature}, ε ${o.epsilon}, δ ${o.delta})` : ''}${stale}`;
      info(`medusa: ${m.tokens.length} tokens in ${m.seconds.toFixed(2)} s (${m.tokensPerSecond.toFixed(1)} tokens/s), ${m.steps} base-model calls, mean accepted length ${m.meanAccepted.toFixed(2)} tokens per call; ${how}`);
      const r: MedusaGenerateResult = { text, tokens: m.tokens, meanAccepted: m.meanAccepted, tokensPerSec: m.tokensPerSecond };
      if (o.compare) {
        const p = generate(base, ids, opts);
        r.plain = { tokens: p.tokens, tokensPerSec: p.tokensPerSecond };
        r.speedup = m.tokensPerSecond / p.tokensPerSecond;
        r.sameAsPlain = p.tokens.length === m.tokens.length && p.tokens.every((t, i) => t === m.tokens[i]);
        info(`plain:  ${p.tokens.length} tokens in ${p.seconds.toFixed(2)} s (${p.tokensPerSecond.toFixed(1)} tokens/s), 1 token per call`);
        const same = acceptance === 'greedy' ? `same text as plain greedy decoding: ${r.sameAsPlain ? 'yes' : 'NO'}` : 'sampled (typical acceptance): texts differ from plain sampling by design';
        info(`speedup: ${r.speedup.toFixed(2)}x tokens/s over plain decoding; ${same}`);
      }
      return r;
    } finally {
      dispose(heads);
    }
  } finally {
    dispose(run.model);
  }
}
