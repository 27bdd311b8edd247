/**
 * `nabla eval <run>`: bits per byte and perplexity of a trained language
 * model on its held-out split (or on its training split, the whole corpus,
 * or another text with --data).
 */
import type { Command } from 'commander';
import { evaluateLM, readCorpus, splitTokens, type EvalResult } from '../zoo/lm/index.js';
import { dispose } from '../nn/module.js';
import { loadRun } from './lmConfig.js';

export interface EvalCliOptions {
  data?: string;
  split: string;
  maxTokens?: number;
  checkpoint?: string;
  json?: boolean;
}

export function runEval(dir: string, o: EvalCliOptions, out: (s: string) => void): EvalResult {
  if (!['held-out', 'train', 'all'].includes(o.split)) throw new Error(`--split must be held-out, train or all, got '${o.split}'`);
  const run = loadRun(dir, o.checkpoint);
  try {
    const c = run.config;
    const corpus = readCorpus(o.data ?? c.data);
    const tokens = Int32Array.from(run.tokenizer.encode(corpus.text));
    const part = o.split === 'all' ? tokens : o.split === 'train' ? splitTokens(tokens, c.heldOut, c.context + 1).train : splitTokens(tokens, c.heldOut, c.context + 1).heldOut;
    const r = evaluateLM(run.model, run.tokenizer, part, { context: c.context, maxTokens: o.maxTokens });
    if (o.json) out(JSON.stringify({ run: dir, step: run.step, split: o.split, data: o.data ?? c.data, ...r }));
    else {
      out(`${dir} (step ${run.step}, ${c.mixer}) on the ${o.split} split of ${o.data ?? c.data}:`);
      out(`  ${r.bitsPerByte.toFixed(4)} bits per byte, loss ${r.loss.toFixed(4)} nats per token, perplexity ${r.perplexity.toFixed(3)} (${r.tokens} tokens, ${r.bytes} bytes)`);
    }
    return r;
  } finally {
    dispose(run.model);
  }
}

export function registerEval(program: Command, out: (line: string) => void): void {
  program
    .command('eval')
    .description('bits per byte and perplexity of a language model trained by `nabla train lm`')
    .argument('<run>', 'the run directory')
    .option('--data <path>', "evaluate on this text file or directory instead of the run's corpus")
    .option('--split <name>', 'held-out, train or all', 'held-out')
    .option('--max-tokens <n>', 'predict at most this many tokens', (v: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--max-tokens must be a positive integer, got '${v}'`);
      return n;
    })
    .option('--checkpoint <dir>', "load weights from this checkpoints/ directory instead of the run's own")
    .option('--json', 'print one JSON line')
    .addHelpText(
      'after',
      `
Examples:
  nabla eval runs/my-run                         held-out bits per byte of the newest checkpoint
  nabla eval runs/my-run --split all --json
  nabla eval runs/my-run --data other.txt        (with the chars tokenizer, the text must use the corpus' characters)`,
    )
    .action((dir: string, opts: EvalCliOptions) => {
      runEval(dir, opts, out);
    });
}
