/**
 * `nabla bench speed` (also plain `nabla bench`): runs the benchmark harness
 * of the source checkout, bench/run.ts, in a child process through tsx, with
 * the flags passed on (bench/driver.ts documents them). A child process
 * rather than an import because the harness is TypeScript outside src/ (it
 * is not compiled into dist/), it starts peer processes and it parses its own
 * argv; the child inherits the terminal, and its exit code becomes ours.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';

/** The checkout root: two levels above both src/cli and dist/cli. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export interface BenchFlags {
  quick?: boolean;
  peers?: string;
  family?: string;
  filter?: string;
  out?: string;
  docs?: boolean;
  threads?: number;
}

/** The harness's argv for these flags. */
export function benchArgs(f: BenchFlags): string[] {
  const a: string[] = [];
  if (f.quick) a.push('--quick');
  if (f.peers !== undefined) a.push('--peers', f.peers);
  if (f.family !== undefined) a.push('--family', f.family);
  if (f.filter !== undefined) a.push('--filter', f.filter);
  if (f.out !== undefined) a.push('--out', f.out);
  if (f.docs === true) a.push('--docs');
  if (f.docs === false) a.push('--no-docs');
  if (f.threads !== undefined) a.push('--threads', String(f.threads));
  return a;
}

/** The command line that runs the harness: [node, tsx's cli, bench/run.ts, ...flags]; one clear error when a part is missing. */
export function benchCommand(f: BenchFlags, root = packageRoot()): string[] {
  const harness = join(root, 'bench', 'run.ts');
  if (!existsSync(harness)) throw new Error(`bench: no benchmark harness at ${harness}; it ships with the source checkout, not the npm package (clone the repository and run nabla bench there)`);
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  if (!existsSync(tsx)) throw new Error(`bench: tsx is not installed in ${root} (a dev dependency); run npm install there first`);
  return [process.execPath, tsx, harness, ...benchArgs(f)];
}

/** Run the harness; resolves with its exit code. */
export function runBench(f: BenchFlags, out: (line: string) => void = console.log, root = packageRoot()): Promise<number> {
  const [cmd, ...args] = benchCommand(f, root);
  out(`nabla bench: ${['tsx', ...args.slice(1).map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a))].join(' ')}`);
  return new Promise((res, rej) => {
    const child = spawn(cmd!, args, { cwd: root, stdio: 'inherit' });
    child.on('error', rej);
    child.on('exit', (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`--threads must be a positive integer, got '${v}'.`);
  return n;
};

/** Adds `bench speed` as the default subcommand of `bench` (creating the group if no one has yet). */
export function registerBench(program: Command, out: (line: string) => void = console.log): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks: speed against peers, and what models can learn (quality)');
  return bench
    .command('speed', { isDefault: true })
    .description('speed against PyTorch, TensorFlow.js and onnxruntime: runs bench/run.ts (the default of nabla bench)')
    .option('--quick', 'tiny sizes, few samples, no peers (proves it works; what CI runs)')
    .option('--peers <list>', 'peers to start: torch, tfjs, onnxruntime, or none')
    .option('--family <list>', 'only these families (sgemm, threads, elementwise, gpt)')
    .option('--filter <text>', 'only cases whose name contains text')
    .option('--out <file>', 'where the JSON goes (default bench/results/<date>.json)')
    .option('--docs', 'update docs/benchmarks.md')
    .option('--no-docs', 'do not update docs/benchmarks.md')
    .option('--threads <n>', 'threads for nabla and the peers', int)
    .addHelpText('after', '\nExamples:\n  nabla bench --quick\n  nabla bench --family sgemm --peers torch\n  nabla bench quality --task mqar     (what mixers learn; see nabla bench quality --help)')
    .action(async (f: BenchFlags) => {
      const code = await runBench(f, out);
      if (code !== 0) process.exitCode = code;
    });
}
