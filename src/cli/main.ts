#!/usr/bin/env node
/**
 * The `nabla` command. Subcommands:
 *   nabla demo [--steps N] [--seed S] [--lr X] [--every N]   fit a tiny MLP and watch the loss fall
 *   nabla info                                               backend, heap, shared memory, Node version
 *   nabla ops [--native] [--json]                            which ops run natively per backend and dtype
 *   nabla train words --corpus <file> --method sgns|svd      word vectors (see src/cli/words.ts)
 *   nabla bench quality --task mqar --mixers softmax,mamba   what mixers learn on synthetic tasks (src/cli/quality.ts)
 *   nabla train lm | generate <run> | eval <run>             language models (src/cli/trainLm.ts, generateLm.ts, evalLm.ts)
 *   nabla train medusa <run> | generate <run> --medusa       Medusa heads and speculative decoding (src/cli/medusaCli.ts, medusaGenerate.ts)
 *   nabla train diffusion|flow|vq | sample <run>             generative models and their pictures (src/cli/gen/)
 *   nabla bench [speed] [--quick] [--family f]               the speed benchmarks of bench/ (src/cli/bench.ts)
 *   nabla playground [--port N] [--build]                    the web playground (src/cli/playground.ts)
 * More (train, sample, bench) join as the library grows.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './demo.js';
import { registerTrainWords } from './words.js';
import { registerBenchQuality } from './quality.js';
import { registerTrainLm } from './trainLm.js';
import { registerGenerate } from './generateLm.js';
import { registerTrainMedusa } from './medusaCli.js';
import { registerEval } from './evalLm.js';
import { registerGen } from './gen/commands.js';
import { registerBench } from './bench.js';
import { registerPlayground } from './playground.js';
import { runtimeLines, webgpuLine } from './info.js';
import { backendOps, formatBackendOps } from '../backends/cpu/report.js';
import { cpu } from '../backends/cpu/index.js';
import { HEAP_LIMIT_BYTES } from '../core/heap.js';
import { memory } from '../core/memory.js';

/** The package version (package.json sits two levels above both src/cli and dist/cli). */
function version(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function intOption(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'.`);
    return n;
  };
}

function positiveNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'.`);
    return n;
  };
}

const MiB = 1024 * 1024;

/** What `nabla info` prints, one `key: value` per line. */
export function infoLines(): string[] {
  const backend = cpu();
  const heap = backend.heap;
  const m = memory();
  return [
    `nabla ${version()}`,
    `backend: ${backend.name} (float64 reference kernels${backend.kernels.size ? `, ${backend.kernels.size} native kernels` : ''})`,
    `heap: ${(heap.capacity / MiB).toFixed(1)} MiB now, grows on demand up to ${HEAP_LIMIT_BYTES / (1024 * MiB)} GiB (32-bit WebAssembly memory)`,
    `shared memory: ${heap.shared ? 'yes (SharedArrayBuffer: worker threads can work in place)' : 'no'}`,
    ...runtimeLines(),
    `live tensors: ${m.liveTensors}, live bytes: ${m.liveBytes}`,
    `node: ${process.version} (${process.platform} ${process.arch})`,
  ];
}

/** The command-line program (exported so tests can drive it without a subprocess). */
export function buildProgram(out: (line: string) => void = console.log): Command {
  const program = new Command();
  program.name('nabla').description('Deep learning in TypeScript: tensors, autodiff and models.').version(version());

  program
    .command('demo')
    .description('fit a small MLP (2→32→1, tanh) to y = sin(3·x1)·x2 with plain gradient descent')
    .option('--steps <n>', 'gradient steps', intOption('--steps', 1), 1000)
    .option('--seed <n>', 'PRNG seed for data and initialisation', intOption('--seed', 0), 0)
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'), 0.15)
    .option('--every <n>', 'print the loss every n steps (default: steps / 10)', intOption('--every', 1))
    .action((opts: { steps: number; seed: number; lr: number; every?: number }) => {
      runDemo(opts, out);
    });

  program
    .command('info')
    .description('show the backend, heap size, shared memory, threads, BLAS, WebGPU adapter and Node version')
    .action(async () => {
      for (const line of infoLines()) out(line);
      out(await webgpuLine());
    });

  program
    .command('ops')
    .description('list which ops each backend runs natively, per dtype, and which fall back to the float64 reference')
    .option('--native', 'only the ops with a native kernel')
    .option('--json', 'print the table as JSON')
    .option('--webgpu', 'include the WebGPU backend (when an adapter exists; its "reference" ops run on the CPU)')
    .action(async (opts: { native?: boolean; json?: boolean; webgpu?: boolean }) => {
      let tables = backendOps();
      if (opts.webgpu) {
        const { webgpu, releaseWebGpu, webgpuUnavailableReason } = await import('../backends/webgpu/index.js');
        if (await webgpu()) tables = backendOps();
        else out(`webgpu: no adapter (${webgpuUnavailableReason()})`);
        await releaseWebGpu();
      }
      if (opts.json) out(JSON.stringify(tables, null, 2));
      else for (const line of formatBackendOps(tables, { nativeOnly: opts.native })) out(line);
    });

  registerTrainWords(program, out);
  registerBenchQuality(program, out);
  registerTrainLm(program, out);
  registerTrainMedusa(program, out);
  registerGenerate(program, out);
  registerEval(program, out);
  registerGen(program, out);
  registerBench(program, out);
  registerPlayground(program, out);

  return program;
}

/** True when this file is the program being run (also through npm's bin symlink), not an import. */
function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(`nabla: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    });
}
