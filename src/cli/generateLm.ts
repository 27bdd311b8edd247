/**
 * `nabla generate <run>`: load a trained language model and stream text
 * after a prompt, with temperature, top-k, top-p, repetition penalty, stop
 * strings and a seed. Decoding steps the mixers' state (KV cache or
 * recurrent state), so each token costs the same whatever came before for
 * the recurrent mixers.
 */
import type { Command } from 'commander';
import { generateText } from '../zoo/lm/index.js';
import { dispose } from '../nn/module.js';
import { loadRun } from './lmConfig.js';
import { addMedusaOptions, runGenerateMedusa, type MedusaCliOptions } from './medusaGenerate.js';

export interface GenerateCliOptions {
  prompt?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  stop: string[];
  seed: number;
  checkpoint?: string;
}

/** Run `nabla generate`; `write` receives the streamed text, `info` the summary lines. */
export function runGenerate(dir: string, o: GenerateCliOptions, write: (s: string) => void, info: (s: string) => void): { text: string; tokensPerSec: number } {
  const run = loadRun(dir, o.checkpoint);
  try {
    const prompt = o.prompt ?? run.config.prompt;
    run.tokenizer.encode(prompt); // a prompt the tokenizer cannot encode fails before anything is printed
    write(prompt);
    const r = generateText(run.model, run.tokenizer, prompt, {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      repetitionPenalty: o.repetitionPenalty,
      stop: o.stop,
      seed: o.seed,
      onText: write,
    });
    write('\n');
    const n = r.tokens.length;
    const tps = r.decodeSec > 0 ? n / r.decodeSec : 0;
    info(`${n} tokens in ${r.decodeSec.toFixed(2)} s (${tps.toFixed(1)} tokens/s, prompt ${r.prefillSec.toFixed(2)} s); ${r.finish === 'stop' ? 'ended at a stop string' : 'reached --max-tokens'}; model of step ${run.step} (${run.checkpoint})`);
    return { text: r.text, tokensPerSec: tps };
  } finally {
    dispose(run.model);
  }
}

function num(name: string, ok: (n: number) => boolean, want: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !ok(n)) throw new Error(`${name} must be ${want}, got '${v}'`);
    return n;
  };
}

export function registerGenerate(program: Command, out: (line: string) => void): void {
  const cmd = program
    .command('generate')
    .description('generate text with a language model trained by `nabla train lm`')
    .argument('<run>', 'the run directory (the --out of nabla train lm)')
    .option('-p, --prompt <text>', "text to continue (default: the run's prompt)")
    .option('-n, --max-tokens <n>', 'new tokens at most', num('--max-tokens', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'), 200)
    .option('-t, --temperature <x>', 'sampling temperature; 0 = greedy', num('--temperature', (n) => n >= 0 && Number.isFinite(n), 'a number ≥ 0'), 0.8)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = all)', num('--top-k', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'), 0)
    .option('--top-p <p>', 'nucleus sampling: keep tokens up to this cumulative probability', num('--top-p', (n) => n > 0 && n <= 1, 'in (0, 1]'), 1)
    .option('--repetition-penalty <x>', "CTRL's penalty on tokens already present (1 = none)", num('--repetition-penalty', (n) => n >= 1 && Number.isFinite(n), 'a number ≥ 1'), 1)
    .option('--stop <text>', 'stop at this string (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--seed <n>', 'seed of the sampler', num('--seed', (n) => Number.isSafeInteger(n) && n >= 0, 'an integer ≥ 0'), 0)
    .option('--checkpoint <dir>', "load weights from this checkpoints/ directory instead of the run's own")
    .addHelpText(
      'after',
      `
Examples:
  nabla generate runs/lm-softmax-20250101-120000 --prompt "Gentlemen of the " -n 300
  nabla generate runs/my-run -t 0 -n 50                   greedy decoding
  nabla generate runs/my-run --top-p 0.9 --repetition-penalty 1.2 --stop "." --seed 7
  nabla generate runs/my-run --medusa -n 200              Medusa heads of nabla train medusa, greedy, vs plain
  nabla generate runs/my-run --medusa --tree cartesian:3x2x1 -t 0.7 --acceptance typical`,
    );
  addMedusaOptions(cmd).action((dir: string, opts: GenerateCliOptions & MedusaCliOptions, c: Command) => {
    if (opts.medusa) runGenerateMedusa(dir, opts, c.getOptionValueSource('temperature') === 'cli', (s) => process.stdout.write(s), out);
    else runGenerate(dir, opts, (s) => process.stdout.write(s), out);
  });
}
