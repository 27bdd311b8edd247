/**
 * `nabla playground`: serve the playground page (playground/, a Vite app)
 * with the COOP/COEP headers that make it cross-origin isolated, or build it
 * to static files with --build. Vite is loaded only when the command runs.
 *
 *   nabla playground [--port 5173] [--host 127.0.0.1] [--open]
 *   nabla playground --build [--out playground/dist]
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';

/** playground/ beside src/ and dist/ (this file is src/cli or dist/cli). */
export function playgroundRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playground');
}

interface Flags {
  port: number;
  host: string;
  open?: boolean;
  build?: boolean;
  out?: string;
  /** false: no file watching and no hot reload (tests: an edit elsewhere in the tree must not reload the page mid-run) */
  hmr?: boolean;
}

/** Start the dev server (returns its URL and a close function) or build the static site (returns the output folder). */
export async function runPlayground(flags: Flags, out: (line: string) => void = console.log): Promise<{ url?: string; outDir?: string; close: () => Promise<void> }> {
  const root = playgroundRoot();
  if (!existsSync(join(root, 'index.html'))) throw new Error(`nabla playground: no playground at ${root} (it ships with the source tree)`);
  const vite = await import('vite');
  const configFile = join(root, 'vite.config.ts');
  if (flags.build) {
    const outDir = resolve(flags.out ?? join(root, 'dist'));
    await vite.build({ root, configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    out(`playground built into ${outDir} (serve it with COOP/COEP headers for threads)`);
    return { outDir, close: async () => {} };
  }
  const server = await vite.createServer({ root, configFile, server: { port: flags.port, host: flags.host, strictPort: false, open: flags.open ?? false, ...(flags.hmr === false ? { hmr: false, watch: null } : {}) } });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://${flags.host}:${flags.port}/`;
  out(`nabla playground at ${url} (Ctrl-C to stop)`);
  return { url, close: () => server.close() };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be an integer 0…65535, got '${v}'.`);
  return n;
}

export function registerPlayground(program: Command, out: (line: string) => void = console.log): Command {
  return program
    .command('playground')
    .description('the web playground: train and sample models in the browser (a Vite dev server, or --build for static files)')
    .option('--port <n>', 'port of the dev server', port, 5173)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--open', 'open a browser')
    .option('--build', 'build static files instead of serving')
    .option('--out <dir>', 'where --build writes (default playground/dist)')
    .action(async (f: Flags) => {
      await runPlayground(f, out);
    });
}
